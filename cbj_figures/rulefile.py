"""Rules as data: the typed model of checks/*.yaml, read with line numbers, and the figures they name.

Nothing here evaluates a rule (checks.py does); YAML is read with the safe loader only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import polars as pl
import yaml

from .dates import year_of
from .evidence import Claims, is_figure_field
from .printed import QUALIFIERS, PrintedFigure, Unit, parse
from .safeio import MAX_DEPTH, yaml_loader
from .tables import Table

LAYER = "consistency"
RULES_DIR = "checks"
FILE_RULE = "rules-file"  # the Finding.rule of problems in a rule file itself

COMMON_KEYS = ("id", "kind", "description")
OPS = ("meets", "le", "lt", "ge", "gt", "above", "below")
OP_WORDS = {
    "meets": "does not meet",
    "le": "cannot be <=",
    "lt": "cannot be <",
    "ge": "cannot be >=",
    "gt": "cannot be >",
    "above": "does not lie wholly at or above the bound",
    "below": "does not lie wholly at or below the bound",
}
MAX_WEIGHTS = 12  # weighted_mean enumerates 2**n weight vertices
MAX_YEARS = 200  # a CAGR's years: its root is verified exactly, which costs years-th powers
MAX_EXPRESSION_DEPTH = 32
LoadedTableLike = Table
Tables = dict[str, Table]


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


@dataclass(frozen=True)
class DateRef(Ref):
    """A row's date, `{date: <table>/<id>/<field>}`: the days it stands for, as precise as printed."""

    def __str__(self) -> str:
        return f"{self.table}/{self.figure_id}/{self.field}"


Expr = Ref | DateRef | Const | Literal | Op | WeightedMean | Count
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
    unit: Unit | None = None  # the declared unit of printed figures (None: the field has none)
    id_field: str | None = None  # the field naming a row in messages (row_key)


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


class YMap(dict):
    line: int
    lines: dict[Any, int]


class YList(list):
    line: int
    lines: list[int]


class RuleError(Exception):
    """A problem in a rule file, located at a YAML line."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message, self.line = message, line


class UnreadableTable(RuleError):
    """The rule names a table the table layer could not read: that layer has said why, once."""


def yaml_tree(text: str) -> Any:
    """Compose with the safe loader (no tags beyond the safe ones, no aliases) and keep each node's line."""
    loader = yaml_loader(text)
    try:
        node = loader.get_single_node()
    except RecursionError:
        raise RuleError(f"nested more than {MAX_DEPTH} levels deep", None) from None
    finally:
        loader.dispose()
    if node is None:
        return None
    try:
        return _convert(node, yaml.SafeLoader(""))
    except RecursionError:
        raise RuleError(f"nested more than {MAX_DEPTH} levels deep", node.start_mark.line + 1) from None


def _convert(node: yaml.Node, constructor: yaml.SafeLoader, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise RecursionError
    if isinstance(node, yaml.MappingNode):
        out = YMap()
        out.line, out.lines = node.start_mark.line + 1, {}
        constructor.flatten_mapping(node)  # merge keys (<<) as safe_load does
        for k_node, v_node in node.value:
            key = _convert(k_node, constructor, depth + 1)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise RuleError(f"mapping keys must be strings, got {key!r}", k_node.start_mark.line + 1)
            if key in out:
                raise RuleError(f"duplicate key {key!r}", k_node.start_mark.line + 1)
            out[key] = _convert(v_node, constructor, depth + 1)
            out.lines[key] = k_node.start_mark.line + 1  # the line of `key:`
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = YList(_convert(n, constructor, depth + 1) for n in node.value)
        seq.line, seq.lines = node.start_mark.line + 1, [n.start_mark.line + 1 for n in node.value]
        return seq
    if node.tag == "tag:yaml.org,2002:float":  # keep the decimal digits as written
        try:
            return Decimal(node.value.replace("_", ""))
        except InvalidOperation:
            raise RuleError(f"not a decimal number: {node.value!r}", node.start_mark.line + 1) from None
    value = constructor.construct_object(node, deep=True)
    return value if isinstance(value, (str, int, bool, type(None))) else str(node.value)


def line_of(container: Any, key: Any, default: int | None) -> int | None:
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict):
        return lines.get(key, default)
    if isinstance(lines, list) and isinstance(key, int) and key < len(lines):
        return lines[key]
    return default


# ------------------------------------------------------------------ figures


def row_key(t: Any, declared: str | None = None) -> str | None:
    """The field that names a row in rules: the package's figure id (`conventions.claims.id`), else a
    single-field primary key."""
    if declared and declared in t.frame.columns:
        return declared
    pk = list(t.schema.primary_key)
    return pk[0] if len(pk) == 1 and pk[0] in t.frame.columns else None


class IdRows(dict):
    """table -> {row id: first row}, built only for the tables a rule names (a long table
    that only group_sum rules read never pays for a million-entry dict)."""

    def __init__(self, tables: Tables, declared: str | None = None):
        super().__init__()
        self._keys = {n: k for n, t in tables.items() if (k := row_key(t, declared))}
        self._tables = {n: tables[n] for n in self._keys}

    def __contains__(self, name: object) -> bool:
        return name in self._tables

    def __missing__(self, name: str) -> dict[str, int]:
        t = self._tables[name]
        ids = t.frame.get_column(self._keys[name]).cast(pl.Utf8).to_list()
        rows = {fid: i for i, fid in reversed(list(enumerate(ids))) if fid is not None}
        self[name] = rows
        return rows


@dataclass
class FigureIndex:
    """figure_id -> row, and each table's figure fields (numeric fields with unit + printed)."""

    tables: Tables
    unreadable: frozenset[str] = frozenset()
    file: str = ""  # the rule file being compiled, for the evidence of its printed literals
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    fields: dict[str, dict[str, dict]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)  # the package's declared units
    claims: Claims = field(default_factory=Claims)  # the fields of a row's claims (periods, metric, its span)

    def unit(self, name: str) -> Unit:
        if name not in self.units:
            declared = ", ".join(self.units) or "none"
            raise ValueError(f"unit {name!r} is not declared in the package's conventions.units (declared: {declared})")
        return self.units[name]

    def unknown_table(self, table: object, message: str, line: int | None) -> NoReturn:
        if table in self.unreadable:
            raise UnreadableTable(f"table {table!r} could not be read", line)
        raise RuleError(f"{message} (tables: {', '.join(sorted(self.tables))})", line)

    @classmethod
    def build(
        cls, tables: Tables, unreadable: frozenset[str] = frozenset(), units: dict[str, Unit] | None = None,
        claims: Claims | None = None,
    ) -> FigureIndex:
        idx = cls(tables, unreadable, units=dict(units or {}), claims=claims or Claims())
        for name, t in tables.items():
            idx.columns[name] = list(t.frame.columns)
            idx.fields[name] = {f.name: f.descriptor for f in t.schema.fields if is_figure_field(f)}
        idx.rows = IdRows(tables, idx.claims.id)
        return idx

    def span(self, ref: Ref) -> tuple[int, str] | None:
        """The years a figure spans, as its metric declares (`conventions.claims.spans`): n for a change over n
        years, its base period to its period for a change from its base (or an undeclared metric); None for a
        level or where the periods are not years."""
        c, row = self.claims, self.row(ref)
        metric = str(row.get(c.metric)) if c.metric and row.get(c.metric) is not None else None
        declared = c.spans.get(metric) if metric is not None else None
        if isinstance(declared, int):
            return (declared, f"{c.metric} {metric} of {ref} spans {declared} year(s)") if declared > 0 else None
        if c.base and c.period:
            a, b = year_of(row.get(c.base)), year_of(row.get(c.period))
            if a is not None and b is not None:
                return b - a, f"{c.base}..{c.period} of {ref}"
        return None

    def year(self, ref: Ref) -> int | None:
        """The year of a figure's period (`conventions.claims.period`)."""
        return year_of(self.row(ref).get(self.claims.period)) if self.claims.period else None

    def row(self, ref: Ref) -> dict:
        t = self.tables[ref.table]
        return t.frame.row(self.rows[ref.table][ref.figure_id], named=True)

    def line(self, ref: Ref) -> int | None:
        return self.tables[ref.table].line(self.rows[ref.table][ref.figure_id])

    def row_number(self, ref: Ref) -> int:
        return int(self.tables[ref.table].rows[self.rows[ref.table][ref.figure_id]])

    def printed(self, ref: Ref) -> PrintedFigure:
        spec = self.fields[ref.table][ref.field]
        row = self.row(ref)
        text = row.get(spec["printed"])
        qualifier = row.get(spec.get("qualifier", ""), None) if spec.get("qualifier") else "exact"
        if text is None or text == "":
            raise ValueError(f"figure {ref} has no printed text in field {spec['printed']!r}")
        return parse(str(text), qualifier or "exact", self.unit(spec["unit"]))

    def resolve(self, text: str) -> Ref:
        """`<table>/<figure_id>[/<field>]` -> Ref, or RuleError naming what is missing."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise RuleError(f"figure reference {text!r} must be <table>/<figure_id>[/<field>]", None)
        table, fid = parts[0], parts[1]
        if table not in self.tables:
            self.unknown_table(table, f"unknown table {table!r} in {text!r}", None)
        if table not in self.rows:
            raise RuleError(f"table {table!r} has no figure id (conventions.claims.id) nor a one-field primary key, "
                            f"so {text!r} cannot name a figure", None)
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
            raise RuleError(f"table {table!r} has {len(figure_fields)} figure fields; name one as {text}/<field>", None)
        return Ref(table, fid, next(iter(figure_fields)))


# ------------------------------------------------------------------ operands


def parse_expr(value: Any, idx: FigureIndex, line: int | None, rid: str, depth: int = 0) -> Expr:
    """An operand written in YAML -> Expr (references checked against the tables now)."""
    if depth > MAX_EXPRESSION_DEPTH:
        raise RuleError(f"rule {rid!r}: expressions nest more than {MAX_EXPRESSION_DEPTH} deep", line)
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
            if lit.qualifier not in QUALIFIERS:
                raise RuleError(f"rule {rid!r}: unknown qualifier in printed literal {lit.printed!r}", line)
            try:
                parse(lit.printed, lit.qualifier, idx.unit(lit.unit))
            except ValueError as e:
                raise RuleError(f"rule {rid!r}: {e}", line) from None
            return lit
        if len(value) != 1:
            known = ", ".join([*EXPR_OPS, "const", "count", "date"])
            raise RuleError(f"rule {rid!r}: an expression has exactly one key ({known})", line)
        ((name, args),) = value.items()
        inner = line_of(value, name, line)
        if name == "count":
            if not isinstance(args, dict) or set(args) - {"table", "where", "distinct"} or "table" not in args:
                raise RuleError(f"rule {rid!r}: count takes a mapping with table, optional where and distinct", inner)
            return parse_count(args, idx, rid, inner)
        if name == "date":
            return _date_ref(args, idx, rid, inner)
        if name == "const":
            if isinstance(args, bool) or not isinstance(args, (int, str, Decimal)):
                raise RuleError(f"rule {rid!r}: const takes a number (write decimals as strings)", inner)
            try:
                return Const(Decimal(str(args)))
            except InvalidOperation:
                raise RuleError(f"rule {rid!r}: const {args!r} is not a number", inner) from None
        if name not in EXPR_OPS:
            known = ", ".join([*EXPR_OPS, "const", "count", "date"])
            raise RuleError(f"rule {rid!r}: unknown expression {name!r} (expressions: {known})", inner)
        lo, hi = EXPR_OPS[name]
        if not isinstance(args, list) or len(args) < lo or (hi is not None and len(args) > hi):
            n = f"{lo}" if lo == hi else f"at least {lo}"
            raise RuleError(f"rule {rid!r}: {name} takes a list of {n} operand(s)", inner)
        return Op(name, tuple(parse_expr(a, idx, line_of(args, i, inner), rid, depth + 1) for i, a in enumerate(args)))
    raise RuleError(f"rule {rid!r}: cannot read operand {value!r}", line)


def _date_ref(text: Any, idx: FigureIndex, rid: str, line: int | None) -> DateRef:
    parts = text.split("/") if isinstance(text, str) else []
    if len(parts) != 3 or not all(parts):
        raise RuleError(f"rule {rid!r}: date takes <table>/<id>/<field>, got {text!r}", line)
    table, key, field_name = parts
    if table not in idx.tables:
        idx.unknown_table(table, f"rule {rid!r}: unknown table {table!r}", line)
    if table not in idx.rows or key not in idx.rows[table]:
        raise RuleError(f"rule {rid!r}: no row {key!r} in table {table!r}", line)
    if field_name not in idx.columns[table]:
        raise RuleError(f"rule {rid!r}: table {table!r} has no field {field_name!r}", line)
    return DateRef(table, key, field_name)


def parse_count(item: dict, idx: FigureIndex, rid: str, line: int | None) -> Count:
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



def canon(v: Any) -> str | None:
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
