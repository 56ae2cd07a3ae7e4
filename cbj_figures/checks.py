"""Declarative consistency rules (checks/*.yaml) evaluated on printed intervals.

Why: the articles print the same facts several ways (a total and its parts, a share and the
amounts it divides). A rule recomputes one printed figure from others and holds when the
computed interval meets the printed one; every figure enters as the interval its printed
text stands for (printed.py), so there is no tolerance to tune and nothing to eval.

Rule file format (YAML, read with the safe loader only):

    rules:
      - id: jiliu-segments-sum-2025          # unique across all rule files
        kind: sum                             # see KINDS
        description: product + operations revenue = total revenue (2025)
        parts: [company_financials/jiliu-revenue-2025-products, company_financials/jiliu-revenue-2025-operations]
        total: company_financials/jiliu-revenue-2025-total
    waivers:                                  # optional; one rule a record, a reason each
      - rule: some-rule-id
        reason: why this record is known to be inconsistent in the source

Operands are figure references `<table>/<figure_id>` (or `<table>/<figure_id>/<field>` when a
table has several figure fields), integers or `{const: "0.5"}`, a printed literal
`{printed: 十余家, qualifier: more_than, unit: count, quote: ..., source: ...}` (its quote is
checked against the text by provenance.py), or expression trees
`{sum: [...]}`, `{product: [...]}`, `{difference: [a, b]}`, `{ratio: [a, b]}`,
`{before_growth: [value, growth_percent]}` (= value / (1 + growth/100)),
`{count: {table: t, where: {field: value}, distinct: field}}` (rows or distinct values).

Kind `group_sum` checks a whole long table at once: see group_sum.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from .group_sum import compile_group_sum, eval_group_sum
from .intervals import Interval, le, lt, meets
from .printed import QUALIFIERS, UNITS, parse
from .report import Finding, Reconciliation
from .rulefile import (
    CAP,
    COMMON_KEYS,
    EXPR_OPS,
    FILE_RULE,
    KINDS,
    LAYER,
    MAX_WEIGHTS,
    OP_WORDS,
    OPS,
    RULES_DIR,
    Check,
    Const,
    Count,
    Expr,
    FigureIndex,
    Literal,
    Op,
    Ref,
    Rule,
    RuleError,
    Tables,
    UnreadableTable,
    WeightedMean,
    canon,
    line_of,
    yaml_tree,
)

__all__ = ["CAP", "KINDS", "Literal", "Rule", "Tables", "literals", "load_rules", "run_checks"]


def literals(rules: list[Rule]) -> list[Literal]:
    """Every printed literal the rules use, for the provenance layer to check against the text."""
    found: list[Literal] = []

    def walk(x: Any) -> None:
        if isinstance(x, Literal):
            found.append(x)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name))
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)

    for rule in rules:
        walk(rule)
    return list(dict.fromkeys(found))


# ------------------------------------------------------------------ loading


def load_rules(root: Path, tables: Tables, unreadable: Iterable[str] = ()) -> tuple[list[Rule], list[Finding]]:
    """Read every checks/*.yaml under `root`; bad files or rules become located findings.

    Rules on `unreadable` tables (declared, but the table layer could not read them) are left out
    without a finding of their own, so one broken file gives one message, not one a rule.
    """
    root = Path(root)
    idx = FigureIndex.build(tables, frozenset(unreadable))
    rules: list[Rule] = []
    findings: list[Finding] = []
    seen: dict[str, Rule] = {}
    waivers: list[tuple[str, str, str, int | None]] = []  # (rule id, reason, file, line)
    folder = root / RULES_DIR
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []
    for path in files:
        rel = path.relative_to(root).as_posix()
        idx.file = rel

        def bad(message: str, line: int | None, rule: str = FILE_RULE, rel: str = rel) -> None:
            findings.append(Finding(LAYER, rule, message, file=rel, line=line))

        try:
            doc = yaml_tree(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            bad(f"broken YAML: {e.problem or e.context}", mark.line + 1 if mark else None)
            continue
        except yaml.YAMLError as e:
            bad(f"broken YAML: {e}", None)
            continue
        except RuleError as e:
            bad(e.message, e.line)
            continue
        except UnicodeDecodeError as e:
            bad(f"not UTF-8: {e.reason}", None)
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            bad("a rule file must be a mapping with a 'rules' list", getattr(doc, "line", 1))
            continue
        unknown = set(doc) - {"rules", "waivers"}
        if unknown:
            key = sorted(map(str, unknown))[0]
            bad(f"unknown top-level key {key!r} (expected 'rules' and optionally 'waivers')", line_of(doc, key, 1))
        items = doc.get("rules", [])
        if not isinstance(items, list):
            bad("'rules' must be a list", line_of(doc, "rules", 1))
            items = []
        for i, item in enumerate(items):
            line = line_of(items, i, None)
            rid = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else FILE_RULE
            try:
                rule = _compile_rule(item, idx, rel, line)
            except UnreadableTable:
                continue
            except RuleError as e:
                bad(e.message, e.line or line, rule=rid)
                continue
            except (TypeError, ValueError, AttributeError, KeyError) as e:  # a shape no check above foresaw
                bad(f"malformed rule: {type(e).__name__}: {e}", line, rule=rid)
                continue
            if rule.id in seen:
                other = seen[rule.id]
                bad(f"duplicate rule id {rule.id!r} (first at {other.file}:{other.line})", line, rule=rule.id)
                continue
            seen[rule.id] = rule
            rules.append(rule)
        w_items = doc.get("waivers", [])
        if not isinstance(w_items, list):
            bad("'waivers' must be a list", line_of(doc, "waivers", 1))
            w_items = []
        for i, w in enumerate(w_items):
            line = line_of(w_items, i, None)
            if not isinstance(w, dict) or set(w) - {"rule", "reason"}:
                bad("a waiver is a mapping with exactly 'rule' and 'reason'", line)
                continue
            reason = w.get("reason")
            if not isinstance(w.get("rule"), str):
                bad("a waiver needs the 'rule' id it waives", line)
            elif not isinstance(reason, str) or not reason.strip():
                bad(f"waiver of {w['rule']!r} needs a non-empty written 'reason'", line, rule=w["rule"])
            else:
                waivers.append((w["rule"], reason.strip(), rel, line))
    by_id = {r.id: r for r in rules}
    for rid, reason, rel, line in waivers:
        if rid not in by_id:
            findings.append(Finding(LAYER, FILE_RULE, f"waiver names unknown rule {rid!r}", file=rel, line=line))
        elif by_id[rid].waiver is not None:
            findings.append(Finding(LAYER, rid, f"rule {rid!r} is waived twice", file=rel, line=line))
        else:
            by_id[rid].waiver = reason
    return rules, findings


def _compile_rule(item: Any, idx: FigureIndex, rel: str, line: int | None) -> Rule:
    if not isinstance(item, dict):
        raise RuleError("a rule must be a mapping with id, kind and the kind's keys", line)
    rid = item.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise RuleError("a rule needs a string 'id'", line)
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        where = line_of(item, "kind", line)
        raise RuleError(f"rule {rid!r}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})", where)
    required, optional = KINDS[kind]
    missing = [k for k in required if k not in item]
    if missing:
        raise RuleError(f"rule {rid!r} ({kind}): missing key(s) {', '.join(missing)}", line)
    extra = sorted(set(item) - set(required) - set(optional) - set(COMMON_KEYS), key=str)
    if extra:
        raise RuleError(
            f"rule {rid!r} ({kind}): unknown key {extra[0]!r} (allowed: {', '.join(required + optional)})",
            line_of(item, extra[0], line),
        )
    description = item.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"rule {rid!r}: description must be text", line_of(item, "description", line))

    def ex(key: str) -> Expr:
        return _expr(item[key], idx, line_of(item, key, line), rid)

    def exprs(key: str, minimum: int = 1) -> list[Expr]:
        value = item[key]
        if not isinstance(value, list) or len(value) < minimum:
            where = line_of(item, key, line)
            raise RuleError(f"rule {rid!r}: {key!r} must be a list of at least {minimum} operand(s)", where)
        return [_expr(v, idx, line_of(value, i, line_of(item, key, line)), rid) for i, v in enumerate(value)]

    def flag(key: str) -> bool:
        value = item.get(key, False)
        if not isinstance(value, bool):
            raise RuleError(f"rule {rid!r}: {key!r} must be true or false", line_of(item, key, line))
        return value

    def at(target: Expr, *others: Expr) -> Ref | Count | None:
        """Where a failure is reported: the compared figure itself, else a figure inside it."""
        candidates = (target, *others)
        direct = [e for e in candidates if isinstance(e, Ref)]
        if direct:
            return direct[0]
        return next((r for r in map(_first_ref, candidates) if r is not None), None)

    if kind == "group_sum":
        group = compile_group_sum(item, idx, rid, line)
        return Rule(rid, kind, description, rel, line or 1, [], group=group)

    hundred = Const(Decimal(100))
    checks: list[Check]
    if kind == "sum":
        parts, total = exprs("parts"), ex("total")
        checks = [Check(Op("sum", tuple(parts)), total, "meets", at(total, *parts))]
    elif kind == "shares_sum":
        parts = exprs("parts")
        total = ex("total") if "total" in item else hundred
        checks = [Check(Op("sum", tuple(parts)), total, "meets", at(total, *parts))]
    elif kind == "share":
        part, total, share = ex("part"), ex("total"), ex("share")
        checks = [Check(Op("product", (Op("ratio", (part, total)), hundred)), share, "meets", at(share, part))]
    elif kind == "growth":
        new, old, growth = ex("new"), ex("old"), ex("growth")
        computed = Op("product", (Op("difference", (Op("ratio", (new, old)), Const(Decimal(1)))), hundred))
        checks = [Check(computed, growth, "meets", at(growth, new))]
    elif kind == "cagr":
        start, end, cagr = ex("start"), ex("end"), ex("cagr")
        years = _years(item, idx, rid, start, end, cagr, line)
        computed = Op("cagr", (start, end, Const(Decimal(years))))
        checks = [Check(computed, cagr, "meets", at(cagr, end))]
    elif kind == "ratio":
        num, den, value = ex("numerator"), ex("denominator"), ex("value")
        computed: Expr = Op("ratio", (num, den))
        if flag("complement"):
            computed = Op("difference", (Const(Decimal(1)), computed))
        if "scale" in item:
            computed = Op("product", (computed, ex("scale")))
        checks = [Check(computed, value, "meets", at(value, num))]
    elif kind == "weighted_mean":
        values, weights, mean = exprs("values"), exprs("weights"), ex("mean")
        if len(values) != len(weights) or len(values) > MAX_WEIGHTS:
            raise RuleError(
                f"rule {rid!r}: 'values' and 'weights' must have the same length (at most {MAX_WEIGHTS})", line
            )
        checks = [Check(WeightedMean(tuple(values), tuple(weights)), mean, "meets", at(mean, *values))]
    elif kind == "order":
        operands = exprs("operands", minimum=2)
        op = "lt" if flag("strict") else "le"
        checks = [Check(a, b, op, at(b, a)) for a, b in itertools.pairwise(operands)]
    elif kind == "bound":
        value, bound = ex("value"), ex("bound")
        side = item.get("side") or _default_side(bound, idx)
        if side not in ("above", "below"):
            raise RuleError(
                f"rule {rid!r}: 'side' must be above or below (it can only be omitted when the bound is printed "
                "as more_than, at_least or at_most)",
                line_of(item, "side", line),
            )
        checks = [Check(value, bound, side, at(bound, value))]
    elif kind == "count":
        count = _count(item, idx, rid, line)
        target = ex("target")
        op = item.get("op", "eq")
        ops = {"eq": "meets", "le": "le", "ge": "ge", "lt": "lt", "gt": "gt"}
        if not isinstance(op, str) or op not in ops:
            raise RuleError(f"rule {rid!r}: count 'op' must be one of {', '.join(ops)}", line_of(item, "op", line))
        checks = [Check(count, target, ops[op], at(target) or count)]
    else:  # compare
        computed, printed = ex("computed"), ex("printed")
        op = item.get("op", "meets")
        if not isinstance(op, str) or op not in OPS:
            raise RuleError(f"rule {rid!r}: 'op' must be one of {', '.join(OPS)}", line_of(item, "op", line))
        checks = [Check(computed, printed, op, at(printed, computed))]
    return Rule(rid, kind, description, rel, line or 1, checks)


def _expr(value: Any, idx: FigureIndex, line: int | None, rid: str) -> Expr:
    """An operand written in YAML -> Expr (references checked against the tables now)."""
    if isinstance(value, bool):
        raise RuleError(f"rule {rid!r}: {value!r} is not an operand", line)
    if isinstance(value, (int, Decimal)):
        return Const(Decimal(value))
    if isinstance(value, str):
        try:
            return idx.resolve(value)
        except RuleError as e:
            raise RuleError(f"rule {rid!r}: {e.message}", line) from None
    if isinstance(value, dict) and len(value) >= 1:
        if "printed" in value:
            keys = set(value)
            if keys - {"printed", "qualifier", "unit", "quote", "source"} or {"unit", "quote", "source"} - keys:
                message = "a printed literal has 'printed', 'unit', 'quote', 'source' and optional 'qualifier'"
                raise RuleError(f"rule {rid!r}: {message}", line)
            lit = Literal(
                str(value["printed"]),
                str(value.get("qualifier") or "exact"),
                str(value["unit"]),
                str(value["quote"]),
                str(value["source"]),
                idx.file,
                getattr(value, "line", line),
            )
            if lit.unit not in UNITS or lit.qualifier not in QUALIFIERS:
                raise RuleError(f"rule {rid!r}: unknown unit or qualifier in printed literal {lit.printed!r}", line)
            try:
                parse(lit.printed, lit.qualifier, lit.unit)
            except ValueError as e:
                raise RuleError(f"rule {rid!r}: {e}", line) from None
            return lit
        if len(value) != 1:
            known = ", ".join([*EXPR_OPS, "const", "count"])
            raise RuleError(f"rule {rid!r}: an expression has exactly one key ({known})", line)
        ((name, args),) = value.items()
        inner = line_of(value, name, line)
        if name == "count":
            if not isinstance(args, dict) or set(args) - {"table", "where", "distinct"} or "table" not in args:
                raise RuleError(f"rule {rid!r}: count takes a mapping with table, optional where and distinct", inner)
            return _count(args, idx, rid, inner)
        if name == "const":
            if isinstance(args, bool) or not isinstance(args, (int, str, Decimal)):
                raise RuleError(f"rule {rid!r}: const takes a number (write decimals as strings)", inner)
            try:
                return Const(Decimal(str(args)))
            except InvalidOperation:
                raise RuleError(f"rule {rid!r}: const {args!r} is not a number", inner) from None
        if name not in EXPR_OPS:
            known = ", ".join([*EXPR_OPS, "const", "count"])
            raise RuleError(f"rule {rid!r}: unknown expression {name!r} (expressions: {known})", inner)
        lo, hi = EXPR_OPS[name]
        if not isinstance(args, list) or len(args) < lo or (hi is not None and len(args) > hi):
            n = f"{lo}" if lo == hi else f"at least {lo}"
            raise RuleError(f"rule {rid!r}: {name} takes a list of {n} operand(s)", inner)
        return Op(name, tuple(_expr(a, idx, line_of(args, i, inner), rid) for i, a in enumerate(args)))
    raise RuleError(f"rule {rid!r}: cannot read operand {value!r}", line)


def _first_ref(e: Expr) -> Ref | None:
    if isinstance(e, Ref):
        return e
    children: tuple[Expr, ...] = ()
    if isinstance(e, Op):
        children = e.args
    elif isinstance(e, WeightedMean):
        children = e.values + e.weights
    for c in children:
        r = _first_ref(c)
        if r is not None:
            return r
    return None


def _default_side(bound: Expr, idx: FigureIndex) -> str | None:
    qualifier = None
    if isinstance(bound, Literal):
        qualifier = bound.qualifier
    elif isinstance(bound, Ref):
        try:
            qualifier = idx.printed(bound).qualifier
        except ValueError:
            return None
    return {"more_than": "above", "at_least": "above", "at_most": "below"}.get(qualifier or "")


def _year(text: Any) -> int | None:
    s = str(text) if text is not None else ""
    return int(s[:4]) if len(s) >= 4 and s[:4].isdigit() else None


def _years(item: dict, idx: FigureIndex, rid: str, start: Expr, end: Expr, cagr: Expr, line: int | None) -> int:
    """Years of a CAGR: given, or from the periods of the figures (which must then agree)."""
    if "years" in item:
        years = item["years"]
        if isinstance(years, bool) or not isinstance(years, int) or years <= 0:
            raise RuleError(f"rule {rid!r}: 'years' must be a positive integer", line_of(item, "years", line))
        return years
    spans = []
    if isinstance(start, Ref) and isinstance(end, Ref):
        a, b = _year(idx.row(start).get("period")), _year(idx.row(end).get("period"))
        if a is not None and b is not None:
            spans.append((a, b, f"periods of {start} and {end}"))
    if isinstance(cagr, Ref):
        row = idx.row(cagr)
        a, b = _year(row.get("base_period")), _year(row.get("period"))
        if a is not None and b is not None:
            spans.append((a, b, f"base_period..period of {cagr}"))
    if not spans:
        raise RuleError(f"rule {rid!r}: cannot tell the years of the CAGR from the figures; give 'years'", line)
    if len({(a, b) for a, b, _ in spans}) > 1:
        detail = "; ".join(f"{a}..{b} from {why}" for a, b, why in spans)
        raise RuleError(f"rule {rid!r}: the figures disagree on the CAGR period ({detail})", line)
    a, b, why = spans[0]
    if b <= a:
        raise RuleError(f"rule {rid!r}: CAGR period {a}..{b} ({why}) is empty", line)
    return b - a


def _count(item: dict, idx: FigureIndex, rid: str, line: int | None) -> Count:
    table = item["table"]
    if not isinstance(table, str) or table not in idx.tables:
        idx.unknown_table(table, f"rule {rid!r}: unknown table {table!r}", line_of(item, "table", line))
    columns = idx.columns[table]
    where = item.get("where") or {}
    if not isinstance(where, dict):
        where_line = line_of(item, "where", line)
        raise RuleError(f"rule {rid!r}: 'where' must map field names to a value or a list of values", where_line)
    conds = []
    for name, wanted in where.items():
        if name not in columns:
            raise RuleError(f"rule {rid!r}: table {table!r} has no field {name!r}", line_of(where, name, line))
        values = tuple(wanted) if isinstance(wanted, list) else (wanted,)
        conds.append((name, tuple(canon(v) for v in values)))
    distinct = item.get("distinct")
    if distinct is not None and (not isinstance(distinct, str) or distinct not in columns):
        raise RuleError(f"rule {rid!r}: table {table!r} has no field {distinct!r}", line_of(item, "distinct", line))
    return Count(table, tuple(conds), distinct)


# ------------------------------------------------------------------ evaluation


def _eval(e: Expr, idx: FigureIndex) -> Interval:
    if isinstance(e, Ref):
        return idx.printed(e).interval
    if isinstance(e, Const):
        return Interval.point(e.value)
    if isinstance(e, Literal):
        return parse(e.printed, e.qualifier, e.unit).interval
    if isinstance(e, Count):
        return Interval.point(_count_rows(e, idx))
    if isinstance(e, WeightedMean):
        return _weighted_mean([_eval(v, idx) for v in e.values], [_eval(w, idx) for w in e.weights])
    args = [_eval(a, idx) for a in e.args]
    if e.name == "sum":
        out = args[0]
        for a in args[1:]:
            out = out + a
        return out
    if e.name == "product":
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if e.name == "difference":
        return args[0] - args[1]
    if e.name == "ratio":
        return args[0] / args[1]
    if e.name == "before_growth":
        return args[0] / (1 + args[1] / 100)
    if e.name == "cagr":
        start, end, years = args
        return ((end / start) ** Fraction(1, int(years.lo)) - 1) * 100
    raise ValueError(f"unknown expression {e.name!r}")  # pragma: no cover


def _weighted_mean(values: list[Interval], weights: list[Interval]) -> Interval:
    """Tight range of sum(w v) / sum(w).

    Why not plain interval arithmetic: each weight appears twice (numerator and denominator),
    which would widen the result. The mean is monotone in each v, and in each w separately,
    so its extremes sit at the weights' end points (2**n vertices, each rounded outward).
    """
    if not all(v.bounded for v in values) or any(not w.bounded or w.lo < 0 for w in weights):
        raise ValueError("weighted_mean needs bounded values and bounded, non-negative weights")
    lows, highs = [], []
    for vertex in itertools.product(*[(w.lo, w.hi) for w in weights]):
        ws = [Interval.point(w) for w in vertex]
        total = sum(ws[1:], ws[0])
        if not total.excludes_zero():
            raise ValueError("the weights can sum to 0")
        low = sum((w * Interval.point(v.lo) for w, v in zip(ws, values, strict=True)), Interval.point(0))
        high = sum((w * Interval.point(v.hi) for w, v in zip(ws, values, strict=True)), Interval.point(0))
        lows.append((low / total).lo)
        highs.append((high / total).hi)
    return Interval(min(lows), max(highs))


def _count_rows(c: Count, idx: FigureIndex) -> int:
    frame = idx.tables[c.table].frame
    matching = []
    for row in frame.iter_rows(named=True):
        if all(canon(row.get(name)) in values for name, values in c.where):
            matching.append(row)
    if c.distinct is None:
        return len(matching)
    return len({canon(r.get(c.distinct)) for r in matching} - {None})


def _holds(op: str, computed: Interval, target: Interval, number: Decimal | None = None) -> bool:
    """`number` is the printed number of the target, used by above/below where the target's
    interval is unbounded on the compared side (above 不超过1倍 means above 1)."""
    if op == "meets":
        return meets(computed, target)
    if op == "le":
        return le(computed, target)
    if op == "lt":
        return lt(computed, target)
    if op == "ge":
        return le(target, computed)
    if op == "gt":
        return lt(target, computed)
    if op == "above":
        return computed.lo >= (target.lo if target.lo.is_finite() or number is None else number)
    if op == "below":
        return computed.hi <= (target.hi if target.hi.is_finite() or number is None else number)
    raise ValueError(f"unknown op {op!r}")  # pragma: no cover


def _printed_number(e: Expr, idx: FigureIndex) -> Decimal | None:
    if isinstance(e, Ref):
        return idx.printed(e).value
    if isinstance(e, Literal):
        return parse(e.printed, e.qualifier, e.unit).value
    return None


def _describe(e: Expr, idx: FigureIndex) -> str:
    if isinstance(e, Ref):
        try:
            return f"{e} ({idx.printed(e).printed})"
        except ValueError:
            return str(e)
    if isinstance(e, Count):
        what = f"distinct {e.distinct}" if e.distinct else "rows"
        cond = ", ".join(f"{n} in {list(v)}" if len(v) > 1 else f"{n} = {v[0]}" for n, v in e.where)
        return f"{what} of {e.table}" + (f" where {cond}" if cond else "")
    return str(e) if isinstance(e, (Const, Literal)) else "the computed value"


def _location(at: Ref | Count | None, idx: FigureIndex, rule: Rule) -> tuple[str | None, int | None, str | None]:
    if isinstance(at, Ref) and at.table in idx.rows and at.figure_id in idx.rows[at.table]:
        return idx.tables[at.table].spec.path, idx.line(at), at.field
    if isinstance(at, Count) and at.table in idx.tables:
        return idx.tables[at.table].spec.path, None, at.distinct
    return rule.file, rule.line, None


def run_checks(rules: list[Rule], tables: Tables) -> tuple[list[Finding], list[Reconciliation]]:
    """Evaluate every rule: a finding at the data row of each failing comparison, and one
    reconciliation row a rule (the evidence table)."""
    idx = FigureIndex.build(tables)
    findings: list[Finding] = []
    recs: list[Reconciliation] = []
    for rule in rules:
        computed_s, printed_s, failures = [], [], []
        if rule.group is not None:
            failures, computed, printed = eval_group_sum(rule, rule.group, tables)
            computed_s.append(computed)
            printed_s.append(printed)
        for check in rule.checks:
            file, line, fld = _location(check.at, idx, rule)
            try:
                c, t = _eval(check.computed, idx), _eval(check.target, idx)
            except (ValueError, ZeroDivisionError, KeyError, ArithmeticError) as e:
                computed_s.append("?")
                printed_s.append("?")
                failures.append(Finding(LAYER, rule.id, f"cannot evaluate: {e}", file=file, line=line, field=fld))
                continue
            computed_s.append(str(c))
            printed_s.append(str(t))
            if not _holds(check.op, c, t, _printed_number(check.target, idx)):
                what = _describe(check.target, idx)
                message = f"{rule.description or rule.kind}: computed {c} {OP_WORDS[check.op]} {what} {t}"
                failures.append(
                    Finding(LAYER, rule.id, message, file=file, line=line, field=fld, computed=str(c), printed=str(t))
                )
        holds = not failures
        if rule.waiver is not None and holds:
            findings.append(
                Finding(LAYER, rule.id, "waived rule now holds: remove its waiver", file=rule.file, line=rule.line)
            )
        elif rule.waiver is None:
            findings.extend(failures)
        computed, printed = "; ".join(computed_s), "; ".join(printed_s)
        recs.append(Reconciliation(rule.id, rule.kind, rule.description, computed, printed, holds, rule.waiver))
    return findings, recs
