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
`{printed: 十余家, qualifier: more_than, unit: count}`, or expression trees
`{sum: [...]}`, `{product: [...]}`, `{difference: [a, b]}`, `{ratio: [a, b]}`,
`{before_growth: [value, growth_percent]}` (= value / (1 + growth/100)),
`{count: {table: t, where: {field: value}, distinct: field}}` (rows or distinct values).

Kind `group_sum` checks a whole long table at once (vectorized with polars) instead of
naming figures: within `table`, rows are grouped by the `group_by` fields, and in each group
the rows selected by the `parts` filter must sum to the one row selected by the `total`
filter, every value entering as its printed interval (or as an exact number when the field
has no `printed` property):

      - id: observations-segments-sum
        kind: group_sum
        description: the segments of each region and period add up to its total
        table: observations
        group_by: [region_id, period]         # one field or a list
        parts: {segment: {not: total}}        # filters: field -> value, [values] or {not: value or [values]}
        total: {segment: total}               # (null matches a missing value; conditions are and-ed)
        where: {metric: revenue}              # optional: rows outside it take no part
        field: value                          # optional: the figure field, when the table has several
        complete: true                        # optional: every group must have both parts and a total

A failing group is reported at its total row (file, line, field) with the computed and the
printed interval; a group with two totals, an unreadable printed figure, a row selected by
both filters or a filter matching no row at all are findings too. Without `complete`, groups
lacking parts or a total are not checked, and the reconciliation row says how many.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, NoReturn, Protocol

import polars as pl
import yaml

from .descriptor import TableSpec
from .intervals import Interval, le, lt, meets
from .printed import QUALIFIERS, UNITS, PrintedFigure, ScaledFigures, decimal_column, parse, parse_column
from .report import Finding, Reconciliation

LAYER = "consistency"
RULES_DIR = "checks"
FILE_RULE = "rules-file"  # the Finding.rule of problems in a rule file itself

# kind -> (required keys, optional keys); `id`, `kind`, `description` are common to all.
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sum": (("parts", "total"), ()),
    "shares_sum": (("parts",), ("total",)),
    "share": (("part", "total", "share"), ()),
    "growth": (("new", "old", "growth"), ()),
    "cagr": (("start", "end", "cagr"), ("years",)),
    "ratio": (("numerator", "denominator", "value"), ("complement", "scale")),
    "weighted_mean": (("values", "weights", "mean"), ()),
    "order": (("operands",), ("strict",)),
    "bound": (("value", "bound"), ("side",)),
    "count": (("table", "target"), ("where", "distinct", "op")),
    "compare": (("computed", "printed"), ("op",)),
    "group_sum": (("table", "group_by", "parts", "total"), ("where", "field", "complete")),
}
COMMON_KEYS = ("id", "kind", "description")
OPS = ("meets", "le", "lt", "ge", "gt", "above", "below")
_OP_WORDS = {
    "meets": "does not meet",
    "le": "cannot be <=",
    "lt": "cannot be <",
    "ge": "cannot be >=",
    "gt": "cannot be >",
    "above": "does not lie wholly at or above the bound",
    "below": "does not lie wholly at or below the bound",
}
_MAX_WEIGHTS = 12  # weighted_mean enumerates 2**n weight vertices
CAP = 20  # group_sum findings reported per rule and problem; the rest are summed up in one finding


class LoadedTableLike(Protocol):
    """What tables.read_tables returns per table (only these attributes are used)."""

    spec: TableSpec
    frame: Any  # polars.DataFrame
    lines: Any  # sequence of 1-based physical line numbers, one a row


Tables = dict[str, LoadedTableLike]


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True)
class Ref:
    """A figure: `<table>/<figure_id>[/<field>]`, resolved against the tables at load time."""

    table: str
    figure_id: str
    field: str

    def __str__(self) -> str:
        return f"{self.table}/{self.figure_id}"


@dataclass(frozen=True)
class Const:
    value: Decimal

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True)
class Literal:
    """A printed text that is in no table (e.g. a headline's 十余家), read with printed.py.

    It is evidence like any figure: `quote` must occur in the article of `source`, and `printed`
    in the quote (checked by the provenance layer, located at `line` of `file`).
    """

    printed: str
    qualifier: str
    unit: str
    quote: str = ""
    source: str = ""
    file: str = ""
    line: int | None = None

    def __str__(self) -> str:
        return repr(self.printed)


@dataclass(frozen=True)
class Op:
    name: str  # sum, product, difference, ratio, before_growth
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class WeightedMean:
    values: tuple[Expr, ...]
    weights: tuple[Expr, ...]


@dataclass(frozen=True)
class Count:
    table: str
    where: tuple[tuple[str, tuple[Any, ...]], ...]
    distinct: str | None


Expr = Ref | Const | Literal | Op | WeightedMean | Count
EXPR_OPS = {"sum": (1, None), "product": (1, None), "difference": (2, 2), "ratio": (2, 2), "before_growth": (2, 2)}


@dataclass(frozen=True)
class Check:
    """One comparison: `computed` against `target` under `op`, reported at `at`."""

    computed: Expr
    target: Expr
    op: str
    at: Ref | Count | None


@dataclass(frozen=True)
class Filter:
    """Rows whose cells match every condition: (field, values in their CSV spelling, negated)."""

    conditions: tuple[tuple[str, tuple[str | None, ...], bool], ...]

    def __str__(self) -> str:
        def one(name: str, values: tuple[str | None, ...], negated: bool) -> str:
            shown = ", ".join("null" if v is None else v for v in values)
            shown = f"[{shown}]" if len(values) > 1 else shown
            return f"{name}: {{not: {shown}}}" if negated else f"{name}: {shown}"

        return "{" + ", ".join(one(*c) for c in self.conditions) + "}"


@dataclass(frozen=True)
class GroupSum:
    """A group_sum rule, compiled: which table, groups, filters and figure field."""

    table: str
    group_by: tuple[str, ...]
    parts: Filter
    total: Filter
    where: Filter
    field: str
    spec: dict  # the figure field's schema entry (unit, printed, qualifier)
    complete: bool
    lines: dict[str, int | None]  # YAML line of `parts`, `total`, `where`


@dataclass
class Rule:
    id: str
    kind: str
    description: str
    file: str  # relative to the package root
    line: int
    checks: list[Check]
    waiver: str | None = None
    group: GroupSum | None = None  # kind group_sum: evaluated on whole columns instead of `checks`


# ------------------------------------------------------------------ YAML with line numbers


class _YMap(dict):
    line: int
    lines: dict[Any, int]


class _YList(list):
    line: int
    lines: list[int]


class RuleError(Exception):
    """A problem in a rule file, located at a YAML line."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message, self.line = message, line


class UnreadableTable(RuleError):
    """The rule names a table the table layer could not read: that layer has said why, once."""


def _yaml_tree(text: str) -> Any:
    """Compose with yaml.SafeLoader (no tags beyond the safe ones) and keep each node's line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else _convert(node, yaml.SafeLoader(""))


def _convert(node: yaml.Node, constructor: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = _YMap()
        out.line, out.lines = node.start_mark.line + 1, {}
        constructor.flatten_mapping(node)  # merge keys (<<) as safe_load does
        for k_node, v_node in node.value:
            key = _convert(k_node, constructor)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise RuleError(f"mapping keys must be strings, got {key!r}", k_node.start_mark.line + 1)
            if key in out:
                raise RuleError(f"duplicate key {key!r}", k_node.start_mark.line + 1)
            out[key] = _convert(v_node, constructor)
            out.lines[key] = k_node.start_mark.line + 1  # the line of `key:`
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = _YList(_convert(n, constructor) for n in node.value)
        seq.line, seq.lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
        return seq
    if node.tag == "tag:yaml.org,2002:float":  # keep the decimal digits as written
        try:
            return Decimal(node.value.replace("_", ""))
        except InvalidOperation:
            raise RuleError(f"not a decimal number: {node.value!r}", node.start_mark.line + 1) from None
    value = constructor.construct_object(node, deep=True)
    return value if isinstance(value, (str, int, bool, type(None))) else str(node.value)


def _line_of(container: Any, key: Any, default: int | None) -> int | None:
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict):
        return lines.get(key, default)
    if isinstance(lines, list) and isinstance(key, int) and key < len(lines):
        return lines[key]
    return default


# ------------------------------------------------------------------ figures


class _IdRows(dict):
    """table -> {figure_id: first row}, built only for the tables a rule names (a long table
    that only group_sum rules read never pays for a million-entry dict)."""

    def __init__(self, tables: Tables):
        super().__init__()
        self._tables = {n: t for n, t in tables.items() if "figure_id" in t.frame.columns}

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __missing__(self, name: str) -> dict[str, int]:
        ids = self._tables[name].frame.get_column("figure_id").to_list()
        rows = {fid: i for i, fid in reversed(list(enumerate(ids))) if fid is not None}
        self[name] = rows
        return rows


@dataclass
class _FigureIndex:
    """figure_id -> row, and each table's figure fields (numeric fields with unit + printed)."""

    tables: Tables
    unreadable: frozenset[str] = frozenset()
    file: str = ""  # the rule file being compiled, for the evidence of its printed literals
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    fields: dict[str, dict[str, dict]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)

    def unknown_table(self, table: object, message: str, line: int | None) -> NoReturn:
        if table in self.unreadable:
            raise UnreadableTable(f"table {table!r} could not be read", line)
        raise RuleError(f"{message} (tables: {', '.join(sorted(self.tables))})", line)

    @classmethod
    def build(cls, tables: Tables, unreadable: frozenset[str] = frozenset()) -> _FigureIndex:
        idx = cls(tables, unreadable)
        for name, t in tables.items():
            idx.columns[name] = list(t.frame.columns)
            idx.fields[name] = {
                f["name"]: f
                for f in t.spec.schema.get("fields", [])
                if f.get("type") in ("number", "integer") and f.get("unit") and f.get("printed")
            }
        idx.rows = _IdRows(tables)
        return idx

    def row(self, ref: Ref) -> dict:
        t = self.tables[ref.table]
        return t.frame.row(self.rows[ref.table][ref.figure_id], named=True)

    def line(self, ref: Ref) -> int | None:
        i = self.rows[ref.table][ref.figure_id]
        lines = self.tables[ref.table].lines
        return int(lines[i]) if lines is not None and i < len(lines) else None

    def printed(self, ref: Ref) -> PrintedFigure:
        spec = self.fields[ref.table][ref.field]
        row = self.row(ref)
        text = row.get(spec["printed"])
        qualifier = row.get(spec.get("qualifier", ""), None) if spec.get("qualifier") else "exact"
        if text is None or text == "":
            raise ValueError(f"figure {ref} has no printed text in field {spec['printed']!r}")
        return parse(str(text), qualifier or "exact", spec["unit"])

    def resolve(self, text: str) -> Ref:
        """`<table>/<figure_id>[/<field>]` -> Ref, or RuleError naming what is missing."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise RuleError(f"figure reference {text!r} must be <table>/<figure_id>[/<field>]", None)
        table, fid = parts[0], parts[1]
        if table not in self.tables:
            self.unknown_table(table, f"unknown table {table!r} in {text!r}", None)
        if table not in self.rows:
            raise RuleError(f"table {table!r} has no figure_id column, so {text!r} cannot name a figure", None)
        if fid not in self.rows[table]:
            raise RuleError(f"no figure {fid!r} in table {table!r}", None)
        figure_fields = self.fields[table]
        if len(parts) == 3:
            if parts[2] not in figure_fields:
                raise RuleError(
                    f"field {parts[2]!r} of {table!r} is not a figure field (numeric with unit and printed); "
                    f"figure fields: {', '.join(figure_fields) or 'none'}",
                    None,
                )
            return Ref(table, fid, parts[2])
        if len(figure_fields) != 1:
            raise RuleError(
                f"table {table!r} has {len(figure_fields)} figure fields; name one as {text}/<field>", None
            )
        return Ref(table, fid, next(iter(figure_fields)))


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
    root: Path, tables: Tables, unreadable: Iterable[str] = ()
) -> tuple[list[Rule], list[Finding]]:
    """Read every checks/*.yaml under `root`; bad files or rules become located findings.

    Rules on `unreadable` tables (declared, but the table layer could not read them) are left out
    without a finding of their own, so one broken file gives one message, not one a rule.
    """
    root = Path(root)
    idx = _FigureIndex.build(tables, frozenset(unreadable))
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
            doc = _yaml_tree(path.read_text(encoding="utf-8"))
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
            bad(f"unknown top-level key {key!r} (expected 'rules' and optionally 'waivers')", _line_of(doc, key, 1))
        items = doc.get("rules", [])
        if not isinstance(items, list):
            bad("'rules' must be a list", _line_of(doc, "rules", 1))
            items = []
        for i, item in enumerate(items):
            line = _line_of(items, i, None)
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
            bad("'waivers' must be a list", _line_of(doc, "waivers", 1))
            w_items = []
        for i, w in enumerate(w_items):
            line = _line_of(w_items, i, None)
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


def _compile_rule(item: Any, idx: _FigureIndex, rel: str, line: int | None) -> Rule:
    if not isinstance(item, dict):
        raise RuleError("a rule must be a mapping with id, kind and the kind's keys", line)
    rid = item.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise RuleError("a rule needs a string 'id'", line)
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        where = _line_of(item, "kind", line)
        raise RuleError(f"rule {rid!r}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})", where)
    required, optional = KINDS[kind]
    missing = [k for k in required if k not in item]
    if missing:
        raise RuleError(f"rule {rid!r} ({kind}): missing key(s) {', '.join(missing)}", line)
    extra = sorted(set(item) - set(required) - set(optional) - set(COMMON_KEYS), key=str)
    if extra:
        raise RuleError(
            f"rule {rid!r} ({kind}): unknown key {extra[0]!r} (allowed: {', '.join(required + optional)})",
            _line_of(item, extra[0], line),
        )
    description = item.get("description", "")
    if not isinstance(description, str):
        raise RuleError(f"rule {rid!r}: description must be text", _line_of(item, "description", line))

    def ex(key: str) -> Expr:
        return _expr(item[key], idx, _line_of(item, key, line), rid)

    def exprs(key: str, minimum: int = 1) -> list[Expr]:
        value = item[key]
        if not isinstance(value, list) or len(value) < minimum:
            where = _line_of(item, key, line)
            raise RuleError(f"rule {rid!r}: {key!r} must be a list of at least {minimum} operand(s)", where)
        return [_expr(v, idx, _line_of(value, i, _line_of(item, key, line)), rid) for i, v in enumerate(value)]

    def flag(key: str) -> bool:
        value = item.get(key, False)
        if not isinstance(value, bool):
            raise RuleError(f"rule {rid!r}: {key!r} must be true or false", _line_of(item, key, line))
        return value

    def at(target: Expr, *others: Expr) -> Ref | Count | None:
        """Where a failure is reported: the compared figure itself, else a figure inside it."""
        candidates = (target, *others)
        direct = [e for e in candidates if isinstance(e, Ref)]
        if direct:
            return direct[0]
        return next((r for r in map(_first_ref, candidates) if r is not None), None)

    if kind == "group_sum":
        group = _group_sum(item, idx, rid, line)
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
        if len(values) != len(weights) or len(values) > _MAX_WEIGHTS:
            raise RuleError(
                f"rule {rid!r}: 'values' and 'weights' must have the same length (at most {_MAX_WEIGHTS})", line
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
                "as more_than or at_most)",
                _line_of(item, "side", line),
            )
        checks = [Check(value, bound, side, at(bound, value))]
    elif kind == "count":
        count = _count(item, idx, rid, line)
        target = ex("target")
        op = item.get("op", "eq")
        ops = {"eq": "meets", "le": "le", "ge": "ge", "lt": "lt", "gt": "gt"}
        if not isinstance(op, str) or op not in ops:
            raise RuleError(f"rule {rid!r}: count 'op' must be one of {', '.join(ops)}", _line_of(item, "op", line))
        checks = [Check(count, target, ops[op], at(target) or count)]
    else:  # compare
        computed, printed = ex("computed"), ex("printed")
        op = item.get("op", "meets")
        if not isinstance(op, str) or op not in OPS:
            raise RuleError(f"rule {rid!r}: 'op' must be one of {', '.join(OPS)}", _line_of(item, "op", line))
        checks = [Check(computed, printed, op, at(printed, computed))]
    return Rule(rid, kind, description, rel, line or 1, checks)


def _expr(value: Any, idx: _FigureIndex, line: int | None, rid: str) -> Expr:
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
        (name, args), = value.items()
        inner = _line_of(value, name, line)
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
        return Op(name, tuple(_expr(a, idx, _line_of(args, i, inner), rid) for i, a in enumerate(args)))
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


def _default_side(bound: Expr, idx: _FigureIndex) -> str | None:
    qualifier = None
    if isinstance(bound, Literal):
        qualifier = bound.qualifier
    elif isinstance(bound, Ref):
        try:
            qualifier = idx.printed(bound).qualifier
        except ValueError:
            return None
    return {"more_than": "above", "at_most": "below"}.get(qualifier or "")


def _year(text: Any) -> int | None:
    s = str(text) if text is not None else ""
    return int(s[:4]) if len(s) >= 4 and s[:4].isdigit() else None


def _years(item: dict, idx: _FigureIndex, rid: str, start: Expr, end: Expr, cagr: Expr, line: int | None) -> int:
    """Years of a CAGR: given, or from the periods of the figures (which must then agree)."""
    if "years" in item:
        years = item["years"]
        if isinstance(years, bool) or not isinstance(years, int) or years <= 0:
            raise RuleError(f"rule {rid!r}: 'years' must be a positive integer", _line_of(item, "years", line))
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


def _count(item: dict, idx: _FigureIndex, rid: str, line: int | None) -> Count:
    table = item["table"]
    if not isinstance(table, str) or table not in idx.tables:
        idx.unknown_table(table, f"rule {rid!r}: unknown table {table!r}", _line_of(item, "table", line))
    columns = idx.columns[table]
    where = item.get("where") or {}
    if not isinstance(where, dict):
        where_line = _line_of(item, "where", line)
        raise RuleError(f"rule {rid!r}: 'where' must map field names to a value or a list of values", where_line)
    conds = []
    for name, wanted in where.items():
        if name not in columns:
            raise RuleError(f"rule {rid!r}: table {table!r} has no field {name!r}", _line_of(where, name, line))
        values = tuple(wanted) if isinstance(wanted, list) else (wanted,)
        conds.append((name, tuple(_canon(v) for v in values)))
    distinct = item.get("distinct")
    if distinct is not None and (not isinstance(distinct, str) or distinct not in columns):
        raise RuleError(f"rule {rid!r}: table {table!r} has no field {distinct!r}", _line_of(item, "distinct", line))
    return Count(table, tuple(conds), distinct)


# ------------------------------------------------------------------ group_sum


def _group_sum(item: dict, idx: _FigureIndex, rid: str, line: int | None) -> GroupSum:
    """Compile a group_sum rule against the table it names (fields checked now)."""
    table = item["table"]
    if not isinstance(table, str) or table not in idx.tables:
        idx.unknown_table(table, f"rule {rid!r}: unknown table {table!r}", _line_of(item, "table", line))
    columns = idx.columns[table]
    schema_fields = {f["name"]: f for f in idx.tables[table].spec.schema.get("fields", []) if isinstance(f, dict)}

    def known_field(name: Any, what: str, where: int | None) -> str:
        if not isinstance(name, str) or name not in columns:
            raise RuleError(
                f"rule {rid!r}: {what} {name!r} is not a field of table {table!r} (fields: {', '.join(columns)})", where
            )
        return name

    by_line = _line_of(item, "group_by", line)
    by = item["group_by"]
    by = [by] if isinstance(by, str) else by
    if not isinstance(by, list) or not by:
        raise RuleError(f"rule {rid!r}: 'group_by' must be a field name or a non-empty list of field names", by_line)
    group_by = tuple(known_field(b, "group_by field", _line_of(item["group_by"], i, by_line)) for i, b in enumerate(by))
    if len(set(group_by)) != len(group_by):
        raise RuleError(f"rule {rid!r}: 'group_by' names a field twice", by_line)

    def filt(key: str, empty_ok: bool = False) -> Filter:
        value, where = item.get(key, {}), _line_of(item, key, line)
        usage = "a mapping of field names to a value, a list of values, or {not: value or list}"
        if not isinstance(value, dict) or (not value and not empty_ok):
            raise RuleError(f"rule {rid!r}: {key!r} must be a filter: {usage}", where)
        conditions = []
        for name, wanted in value.items():
            at = _line_of(value, name, where)
            known_field(name, f"{key!r} filters on", at)
            negated = False
            if isinstance(wanted, dict):
                if set(wanted) != {"not"}:
                    other = sorted(map(str, set(wanted) - {"not"})) or ["(nothing)"]
                    raise RuleError(
                        f"rule {rid!r}: {key!r} condition on {name!r} has unknown operator {other[0]!r} "
                        f"(a value, a list of values, or {{not: ...}})",
                        at,
                    )
                negated, wanted = True, wanted["not"]
            values = list(wanted) if isinstance(wanted, list) else [wanted]
            if not values or any(isinstance(v, (list, dict)) for v in values):
                raise RuleError(
                    f"rule {rid!r}: {key!r} condition on {name!r} needs plain values (text, number, true/false, null)",
                    at,
                )
            conditions.append((name, tuple(_canon(v) for v in values), negated))
        return Filter(tuple(conditions))

    parts, total, where = filt("parts"), filt("total"), filt("where", empty_ok=True)
    numeric = {n: f for n, f in schema_fields.items() if f.get("type") in ("number", "integer") and n in columns}
    if "field" in item:
        fname = known_field(item["field"], "'field'", _line_of(item, "field", line))
        if fname not in numeric:
            where = _line_of(item, "field", line)
            raise RuleError(f"rule {rid!r}: field {fname!r} is not a number or integer field", where)
    else:
        figures = (
            [n for n, f in numeric.items() if f.get("printed")]
            or [n for n, f in numeric.items() if f.get("unit")]
            or list(numeric)
        )
        if len(figures) != 1:
            raise RuleError(
                f"rule {rid!r}: table {table!r} has {len(figures)} candidate figure fields "
                f"({', '.join(figures) or 'none'}); name one with 'field'",
                line,
            )
        fname = figures[0]
    spec = numeric[fname]
    if spec.get("printed"):
        if spec.get("unit") not in UNITS:
            raise RuleError(f"rule {rid!r}: field {fname!r} has printed figures but no known unit", line)
        for prop in ("printed", "qualifier"):
            if spec.get(prop) and spec[prop] not in columns:
                raise RuleError(f"rule {rid!r}: the {prop} field {spec[prop]!r} of {fname!r} is not in the table", line)
    complete = item.get("complete", False)
    if not isinstance(complete, bool):
        raise RuleError(f"rule {rid!r}: 'complete' must be true or false", _line_of(item, "complete", line))
    lines = {k: _line_of(item, k, line) for k in ("parts", "total", "where")}
    return GroupSum(table, group_by, parts, total, where, fname, spec, complete, lines)


def _filter_expr(f: Filter, schema: pl.Schema) -> pl.Expr:
    """A boolean column: the rows matching every condition, cells compared by their CSV spelling."""
    out = pl.lit(True)
    for name, values, negated in f.conditions:
        col, dtype = pl.col(name), schema[name]
        wanted = [v for v in values if v is not None]
        if dtype.is_float():
            numbers = [float(v) for v in wanted if _is_number(v)]
            match = col.is_in(numbers) if numbers else pl.lit(False)
        else:
            canon = pl.when(col != "").then(col) if dtype == pl.Utf8 else col.cast(pl.Utf8)
            match = canon.is_in(wanted) if wanted else pl.lit(False)
        match = match.fill_null(False)
        if None in values:
            match = match | col.is_null()
        out = out & (~match if negated else match)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _capped(findings: list[Finding], extra: int, rule: str, what: str, file: str | None, fld: str | None) -> None:
    if extra > 0:
        findings.append(Finding(LAYER, rule, f"... and {extra:,} more {what}", file=file, field=fld))


def _eval_group_sum(rule: Rule, g: GroupSum, tables: Tables) -> tuple[list[Finding], str, str]:
    """Every group at once; returns (failures, computed summary, printed summary)."""
    t = tables[g.table]
    frame, path = t.frame, t.spec.path
    lines = t.lines if isinstance(t.lines, pl.Series) else pl.Series("line", list(t.lines), dtype=pl.Int64)
    out: list[Finding] = []
    desc = rule.description or rule.kind

    def at_rule(message: str, key: str) -> tuple[list[Finding], str, str]:
        out.append(Finding(LAYER, rule.id, message, file=rule.file, line=g.lines.get(key) or rule.line))
        return out, "not evaluated", "not evaluated"

    where = _filter_expr(g.where, frame.schema)
    sel = frame.select(
        (where & _filter_expr(g.parts, frame.schema)).alias("_part"),
        (where & _filter_expr(g.total, frame.schema)).alias("_total"),
    )
    both = sel["_part"] & sel["_total"]
    if both.any():
        rows = both.arg_true()
        for i in rows[:CAP].to_list():
            out.append(
                Finding(
                    LAYER, rule.id, f"row is selected by both 'parts' {g.parts} and 'total' {g.total}",
                    file=path, line=int(lines[i]), field=g.group_by[0],
                )
            )
        _capped(out, len(rows) - CAP, rule.id, "rows selected by both filters", path, g.group_by[0])
        return out, "not evaluated", "not evaluated"
    for key, f in (("parts", g.parts), ("total", g.total)):
        if not sel["_" + key.rstrip("s")].any():
            return at_rule(f"no row of table {g.table!r} matches the {key!r} filter {f}", key)

    selected = sel["_part"] | sel["_total"]
    keep = selected.arg_true()
    sub = frame.select(*g.group_by).with_columns(_row=pl.int_range(pl.len(), dtype=keep.dtype), _line=lines)
    sub = sub.with_columns(_part=sel["_part"])
    if len(keep) < frame.height:
        sub = sub.filter(selected)
    try:
        scaled = _figures(t, g, keep)
    except ValueError as e:
        return at_rule(f"cannot evaluate: {e}", "total")
    figs = scaled.frame
    sub = sub.with_columns(
        _ok=figs["present"] & figs["error"].is_null(), _lo=figs["lo"], _hi=figs["hi"], _error=figs["error"]
    )
    unreadable = sub.filter(~pl.col("_ok"))
    for row in unreadable.head(CAP).iter_rows(named=True):
        why = row["_error"] or "no figure (the value or its printed text is missing)"
        fld = g.spec.get("printed") or g.field
        out.append(Finding(LAYER, rule.id, f"cannot evaluate: {why}", file=path, line=row["_line"], field=fld))
    _capped(out, unreadable.height - CAP, rule.id, "unreadable figures", path, g.field)

    part, tot = pl.col("_part"), ~pl.col("_part")
    groups = sub.group_by(list(g.group_by), maintain_order=True).agg(
        n_parts=part.sum(),
        n_totals=tot.sum(),
        bad=(~pl.col("_ok")).sum(),
        lo=pl.col("_lo").filter(part).sum(),
        hi=pl.col("_hi").filter(part).sum(),
        lo_inf=pl.col("_lo").filter(part).is_null().any(),
        hi_inf=pl.col("_hi").filter(part).is_null().any(),
        t_lo=pl.col("_lo").filter(tot).first(),
        t_hi=pl.col("_hi").filter(tot).first(),
        t_row=pl.col("_row").filter(tot).first(),
        t_line=pl.col("_line").filter(tot).first(),
        t_lines=pl.col("_line").filter(tot).head(2),
        first_line=pl.col("_line").first(),
    )
    checked = (pl.col("n_parts") > 0) & (pl.col("n_totals") == 1) & (pl.col("bad") == 0)
    meets_ = (pl.col("lo_inf") | pl.col("t_hi").is_null() | (pl.col("lo") <= pl.col("t_hi"))) & (
        pl.col("t_lo").is_null() | pl.col("hi_inf") | (pl.col("t_lo") <= pl.col("hi"))
    )
    groups = groups.with_columns(_checked=checked, _holds=checked & meets_)

    def label(row: dict) -> str:
        return ", ".join(f"{k}={row[k]}" for k in g.group_by)

    twice = groups.filter(pl.col("n_totals") > 1)
    for row in twice.head(CAP).iter_rows(named=True):
        a, b = row["t_lines"]
        msg = f"group {label(row)} has {row['n_totals']} rows matching 'total' {g.total} (lines {a}, {b}, ...)"
        out.append(Finding(LAYER, rule.id, msg, file=path, line=b, field=g.field))
    _capped(out, twice.height - CAP, rule.id, "groups with several totals", path, g.field)
    incomplete = groups.filter((pl.col("n_parts") == 0) | (pl.col("n_totals") == 0))
    if g.complete:
        for row in incomplete.head(CAP).iter_rows(named=True):
            missing = "no total row" if row["n_totals"] == 0 else "no part rows"
            msg = f"group {label(row)} has {missing} (the rule is 'complete')"
            out.append(Finding(LAYER, rule.id, msg, file=path, line=row["first_line"], field=g.field))
        _capped(out, incomplete.height - CAP, rule.id, "incomplete groups", path, g.field)

    failing = groups.filter(pl.col("_checked") & ~pl.col("_holds"))
    has_ids = "figure_id" in frame.columns
    printed_field = g.spec.get("printed")
    for row in failing.head(CAP).iter_rows(named=True):
        computed = scaled.interval(None if row["lo_inf"] else row["lo"], None if row["hi_inf"] else row["hi"])
        printed = scaled.interval(row["t_lo"], row["t_hi"])
        cells = frame.row(row["t_row"], named=True)
        text = f" ({cells[printed_field]})" if printed_field else ""
        what = f"{g.table}/{cells['figure_id']}{text}" if has_ids else f"the total{text}"
        msg = f"{desc}: computed {computed} {_OP_WORDS['meets']} {what} {printed} (group {label(row)})"
        out.append(
            Finding(
                LAYER, rule.id, msg, file=path, line=row["t_line"], field=g.field,
                computed=str(computed), printed=str(printed),
            )
        )
    _capped(out, failing.height - CAP, rule.id, "groups whose parts do not meet their total", path, g.field)

    n_checked = int(groups["_checked"].sum())
    n_hold = int(groups["_holds"].sum())
    skipped = 0 if g.complete else incomplete.height
    holds = "group holds" if n_checked == 1 else "groups hold"
    computed_s = f"{n_hold:,} {holds}" if n_hold == n_checked else f"{n_hold:,} of {n_checked:,} {holds}"
    printed_s = f"{_plural(n_checked, 'printed total')}"
    if skipped:
        printed_s += f"; {_plural(skipped, 'group')} without both parts and a total not checked"
    return out, computed_s, printed_s


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _figures(t: LoadedTableLike, g: GroupSum, rows: pl.Series) -> ScaledFigures:
    """The figure field of the selected rows: printed intervals, or exact stored values."""
    frame = t.frame
    every = len(rows) == frame.height

    def column(s: pl.Series) -> pl.Series:
        return s if every else s.gather(rows)

    if g.spec.get("printed"):
        printed = column(frame.get_column(g.spec["printed"]))
        qcol = g.spec.get("qualifier")
        qualifier = column(frame.get_column(qcol)) if qcol else None
        return parse_column(printed, qualifier, g.spec["unit"])
    text = getattr(t, "text", None)
    if text is not None and g.field in text.columns:
        cells = column(text.get_column(g.field))
    else:
        cells = column(frame.get_column(g.field)).cast(pl.Utf8)
    return decimal_column(cells)


def _canon(v: Any) -> str | None:
    """Compare YAML values and typed cells by their CSV spelling (true, 14, 83.637)."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        v = Decimal(repr(v))
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    return str(v)


# ------------------------------------------------------------------ evaluation


def _eval(e: Expr, idx: _FigureIndex) -> Interval:
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


def _count_rows(c: Count, idx: _FigureIndex) -> int:
    frame = idx.tables[c.table].frame
    matching = []
    for row in frame.iter_rows(named=True):
        if all(_canon(row.get(name)) in values for name, values in c.where):
            matching.append(row)
    if c.distinct is None:
        return len(matching)
    return len({_canon(r.get(c.distinct)) for r in matching} - {None})


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


def _printed_number(e: Expr, idx: _FigureIndex) -> Decimal | None:
    if isinstance(e, Ref):
        return idx.printed(e).value
    if isinstance(e, Literal):
        return parse(e.printed, e.qualifier, e.unit).value
    return None


def _describe(e: Expr, idx: _FigureIndex) -> str:
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


def _location(at: Ref | Count | None, idx: _FigureIndex, rule: Rule) -> tuple[str | None, int | None, str | None]:
    if isinstance(at, Ref) and at.table in idx.rows and at.figure_id in idx.rows[at.table]:
        return idx.tables[at.table].spec.path, idx.line(at), at.field
    if isinstance(at, Count) and at.table in idx.tables:
        return idx.tables[at.table].spec.path, None, at.distinct
    return rule.file, rule.line, None


def run_checks(rules: list[Rule], tables: Tables) -> tuple[list[Finding], list[Reconciliation]]:
    """Evaluate every rule: a finding at the data row of each failing comparison, and one
    reconciliation row a rule (the evidence table)."""
    idx = _FigureIndex.build(tables)
    findings: list[Finding] = []
    recs: list[Reconciliation] = []
    for rule in rules:
        computed_s, printed_s, failures = [], [], []
        if rule.group is not None:
            failures, computed, printed = _eval_group_sum(rule, rule.group, tables)
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
                message = f"{rule.description or rule.kind}: computed {c} {_OP_WORDS[check.op]} {what} {t}"
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
