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
from collections.abc import Callable, Iterable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from . import safeio
from .evidence import Claims
from .findings import Finding, Reconciliation
from .group_sum import eval_group_sum
from .intervals import Interval, le, lt, meets
from .kinds import KINDS, compile_rule
from .printed import Unit, parse
from .rulefile import (
    FILE_RULE,
    LAYER,
    OP_WORDS,
    RULES_DIR,
    Const,
    Count,
    DateRef,
    Expr,
    FigureIndex,
    Literal,
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

__all__ = ["KINDS", "Literal", "Rule", "Tables", "literals", "load_rules", "run_checks"]


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


def load_rules(
    root: Path, tables: Tables, unreadable: Iterable[str] = (), units: dict[str, Unit] | None = None,
    claims: Claims | None = None,
) -> tuple[list[Rule], list[Finding]]:
    """Read every checks/*.yaml under `root`; bad files or rules become located findings.
    `units`: the package's declared units, which printed figures and literals are read in; `claims`: the
    fields of its figure ids and periods, and the years each metric spans (`conventions.claims`).

    Rules on `unreadable` tables (declared, but the table layer could not read them) are left out
    without a finding of their own, so one broken file gives one message, not one a rule.
    """
    root = Path(root)
    idx = FigureIndex.build(tables, frozenset(unreadable), units, claims)
    rules: list[Rule] = []
    findings: list[Finding] = []
    seen: dict[str, Rule] = {}
    waivers: list[tuple[str, str, str, int | None]] = []  # (rule id, reason, file, line)
    read = 0  # rules read, good or bad: at most MAX_RULES
    folder = root / RULES_DIR
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml")) if folder.is_dir() else []
    for path in files:
        rel = path.relative_to(root).as_posix()
        idx.file = rel
        if read >= safeio.MAX_RULES:
            findings.append(Finding("too-large", f"more than {safeio.MAX_RULES:,} rules: {rel} and the files after "
                                    "it are not read", file=rel, layer=LAYER))
            break

        def bad(message: str, line: int | None, rule: str = FILE_RULE, rel: str = rel) -> None:
            findings.append(Finding("rule-error", message, file=rel, line=line, layer=LAYER, rule=rule))

        try:
            doc = yaml_tree(safeio.read_inside(root, rel, what="rule file", limit=safeio.MAX_RULE_FILE).decode("utf-8"))
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
        except safeio.UnsafeInput as e:
            bad(e.message, None)
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
            if read >= safeio.MAX_RULES:
                findings.append(Finding("too-large", f"more than {safeio.MAX_RULES:,} rules: this one and the rest "
                                        "are not read", file=rel, line=line, layer=LAYER))
                break
            read += 1
            rid = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else FILE_RULE
            try:
                rule = compile_rule(item, idx, rel, line)
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
            findings.append(Finding("waiver-error", f"waiver names unknown rule {rid!r}", file=rel, line=line,
                                    layer=LAYER, rule=FILE_RULE))
        elif by_id[rid].waiver is not None:
            findings.append(Finding("waiver-error", f"rule {rid!r} is waived twice", file=rel, line=line, layer=LAYER,
                                    rule=rid))
        else:
            by_id[rid].waiver = reason
    return rules, findings


# ------------------------------------------------------------------ evaluation


def _sum(args: list[Interval]) -> Interval:
    out = args[0]
    for a in args[1:]:
        out = out + a
    return out


def _product(args: list[Interval]) -> Interval:
    out = args[0]
    for a in args[1:]:
        out = out * a
    return out


def _cagr(args: list[Interval]) -> Interval:
    start, end, years = args
    return ((end / start) ** Fraction(1, int(years.lo)) - 1) * 100


# The operations of expressions (`{sum: [...]}`, ...): one function each, on the operands' intervals.
OPERATIONS: dict[str, Callable[[list[Interval]], Interval]] = {
    "sum": _sum,
    "product": _product,
    "difference": lambda a: a[0] - a[1],
    "ratio": lambda a: a[0] / a[1],
    "before_growth": lambda a: a[0] / (1 + a[1] / 100),
    "cagr": _cagr,  # built by the cagr kind, not written in YAML
}


def _days(e: DateRef, idx: FigureIndex) -> Interval:
    """A date as precise as printed, as the interval of the days (ordinals) it stands for."""
    from .dates import date_span

    value = idx.row(e).get(e.field)
    span = date_span(str(value)) if value else None
    if span is None:
        raise ValueError(f"{e} is {value!r}, not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    return Interval.of(span[0].toordinal(), span[1].toordinal())


def _eval(e: Expr, idx: FigureIndex) -> Interval:
    if isinstance(e, DateRef):
        return _days(e, idx)
    if isinstance(e, Ref):
        return idx.printed(e).interval
    if isinstance(e, Const):
        return Interval.point(e.value)
    if isinstance(e, Literal):
        return parse(e.printed, e.qualifier, idx.unit(e.unit)).interval
    if isinstance(e, Count):
        return Interval.point(_count_rows(e, idx))
    if isinstance(e, WeightedMean):
        return _weighted_mean([_eval(v, idx) for v in e.values], [_eval(w, idx) for w in e.weights])
    return OPERATIONS[e.name]([_eval(a, idx) for a in e.args])


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
    if isinstance(e, DateRef):
        return None
    if isinstance(e, Ref):
        return idx.printed(e).value
    if isinstance(e, Literal):
        return parse(e.printed, e.qualifier, idx.unit(e.unit)).value
    return None


def _describe(e: Expr, idx: FigureIndex) -> str:
    if isinstance(e, DateRef):
        return f"{e} ({idx.row(e).get(e.field)})"
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


def _location(
    at: Ref | Count | None, idx: FigureIndex, rule: Rule
) -> tuple[str | None, int | None, int | None, str | None]:
    """(file, line, row, field) where a failing comparison is reported."""
    if isinstance(at, Ref) and at.table in idx.rows and at.figure_id in idx.rows[at.table]:
        return idx.tables[at.table].path, idx.line(at), idx.row_number(at), at.field
    if isinstance(at, Count) and at.table in idx.tables:
        return idx.tables[at.table].path, None, None, at.distinct
    return rule.file, rule.line, None, None


def run_checks(
    rules: list[Rule], tables: Tables, units: dict[str, Unit] | None = None, claims: Claims | None = None
) -> tuple[list[Finding], list[Reconciliation]]:
    """Evaluate every rule: a finding at the data row of each failing comparison, and one
    reconciliation row a rule (the evidence table)."""
    idx = FigureIndex.build(tables, units=units, claims=claims)
    findings: list[Finding] = []
    recs: list[Reconciliation] = []
    for rule in rules:
        computed_s, printed_s, failures = [], [], []
        if rule.group is not None:
            failures, computed, printed = eval_group_sum(rule, rule.group, tables)
            computed_s.append(computed)
            printed_s.append(printed)
        for check in rule.checks:
            file, line, row, fld = _location(check.at, idx, rule)
            try:
                c, t = _eval(check.computed, idx), _eval(check.target, idx)
            except (ValueError, ZeroDivisionError, KeyError, ArithmeticError) as e:
                computed_s.append("?")
                printed_s.append("?")
                failures.append(Finding("rule-error", f"cannot evaluate: {e}", file=file, line=line, row=row,
                                        field=fld, layer=LAYER, rule=rule.id))
                continue
            computed_s.append(str(c))
            printed_s.append(str(t))
            if not _holds(check.op, c, t, _printed_number(check.target, idx)):
                what = _describe(check.target, idx)
                message = f"{rule.description or rule.kind}: computed {c} {OP_WORDS[check.op]} {what} {t}"
                failures.append(
                    Finding("rule-failed", message, file=file, line=line, row=row, field=fld, layer=LAYER, rule=rule.id,
                            computed=str(c), printed=str(t))
                )
        holds = not failures
        if rule.waiver is not None and holds:
            findings.append(
                Finding("waiver-error", "waived rule now holds: remove its waiver", file=rule.file, line=rule.line,
                        layer=LAYER, rule=rule.id)
            )
        elif rule.waiver is None:
            findings.extend(failures)
        computed, printed = "; ".join(computed_s), "; ".join(printed_s)
        recs.append(Reconciliation(rule.id, rule.kind, rule.description, computed, printed, holds, rule.waiver))
    return findings, recs
