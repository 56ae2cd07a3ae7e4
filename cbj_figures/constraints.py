"""The Table Schema constraints: one entry a constraint, and one small function a backend.

Why: the constraint vocabulary was interpreted in seven places (the tables layer, the cross-checks,
two exports, build, the dictionary, diff), so a new constraint touched nine files. Here, as in
pandera's split of `api/` and `backends/` (smaller), each constraint says once what it is: the
field types it applies to, how its value is checked when the schema is parsed, its dictionary
text, which way a change of it bumps the version, and whether a cell alone decides it (`row`) or
every row of the table does (`table`: `unique`, settled by the key sets of the tables layer). Each
engine or generator that checks or exports it registers one function under its name:

- `polars(field, value, Column)` -> (rows that break it, message of row i), or None: the tables layer,
  batch by batch (one path for every size: a small table is one batch);
- `sql(field, value, column, literal)` -> the SQL condition a valid value meets, or None: build's CHECKs;
- `pandera(field, value, PanderaOut)`: adds the `pa.Check` source text of validators/pandera;
- `pandera_polars(field, value)` -> (check name, function of the column), or None: layer "pandera";
- `ge(field, value, kind)` -> expectations: validators/great_expectations and layer "great_expectations".

A constraint without a function for a backend is not checked or exported by it (the caller says
`unsupported` where it matters). A new constraint is one `Constraint(...)` and its functions, here;
a new engine (Spark) is one function a constraint, registered with `CONSTRAINTS[name].backend("spark")`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cbj_figures import escape
from cbj_figures.types import BOUNDS, TYPES, cast_constraint, duration_key

Failing = Callable[[int], str]  # row index (in the batch) -> message
Broken = tuple[pl.Series, Failing]

ALL = tuple(TYPES)
ORDERED = ("integer", "number", "date", "datetime", "time", "year", "yearmonth", "duration")
SIZED = ("string", "object", "array", "list")
NUMERIC = ("integer", "number", "year")


@dataclass
class Column:
    """What a polars backend function sees of one field in one batch."""

    typed: pl.Series  # the values (null where missing or not of the type)
    size: pl.Series | None  # items of an array, object or list
    note: Callable[[str, str], None]  # (code, message): a finding about the schema, not a row

    @property
    def present(self) -> pl.Series:
        return self.typed.is_not_null()


@dataclass
class Constraint:
    name: str
    types: tuple[str, ...]  # the field types it applies to
    well_formed: Callable[[Any], bool]  # its value, as the schema is parsed; a malformed one is left out
    malformed: str  # the schema-error message when it is not ("must be ...")
    describe: Callable[[Any], str | None]  # the data dictionary's text (None: shown as written)
    looser: Callable[[Any, Any], bool] | None = None  # old -> new loosens it (minor); None: any change is major
    default: Any = None  # the value an absent constraint stands for (required: false)
    scope: str = "row"  # "row": one cell decides; "table": every row does (unique)
    source: str = "constraints"  # "constraints", or "property": a field property (v2 categories)
    backends: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def backend(self, engine: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register `func` as this constraint's function for `engine`."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.backends[engine] = func
            return func

        return register

    def bump(self, old: Any, new: Any) -> str:
        """The version bump of a change: loosening it breaks no reader (minor); tightening does (major)."""
        if new is None:
            return "minor"
        old = self.default if old is None else old
        if old is None or self.looser is None:
            return "major"
        try:
            return "minor" if self.looser(old, new) else "major"
        except TypeError:  # bounds of different types: not comparable, so not provably looser
            return "major"


CONSTRAINTS: dict[str, Constraint] = {}


def _define(c: Constraint) -> Constraint:
    CONSTRAINTS[c.name] = c
    return c


def supported(type_name: str) -> set[str]:
    """The constraints a field type takes (as frictionless-py and the Table Schema list them)."""
    return {c.name for c in CONSTRAINTS.values() if type_name in c.types and c.source == "constraints"}


def applicable(f: Any) -> Iterator[tuple[Constraint, Any]]:
    """(constraint, value) of each constraint a parsed field declares, in registry order."""
    for c in CONSTRAINTS.values():
        value = f.constraints.get(c.name) if c.source == "constraints" else f.descriptor.get(c.name)
        if c.name in (f.constraints if c.source == "constraints" else f.descriptor) and f.type in c.types:
            yield c, value


def bump(rule: str, old: Any, new: Any) -> str:
    """`diff`'s bump of a changed constraint; an unknown one is major."""
    c = CONSTRAINTS.get(rule)
    return c.bump(old, new) if c else ("minor" if new is None else "major")


def show(value: Any) -> str:
    """A value in a message, at most 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _code(value: Any) -> str:
    """A value in the dictionary's Markdown: a code span on one line that no package text can close."""
    return escape.code_span(" ".join(str(value).split()))


def _text(value: Any) -> str:
    """A value as Markdown text on one line, its syntax escaped."""
    return escape.markdown(" ".join(str(value).split()))


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_length(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_bound(v: Any) -> bool:
    return not isinstance(v, (list, dict, bool)) and v is not None


def _allowed(f: Any, values: list) -> list:
    """The listed values read as the field's type (a value not of the type is no allowed value)."""
    return [t for ok, t in (cast_constraint(f, v) for v in values) if ok and t is not None]


# ---------------------------------------------------------------- required

REQUIRED = _define(Constraint(
    "required", ALL, _is_bool, "must be true or false", lambda v: "required" if v else None,
    looser=lambda old, new: not new, default=False,
))


@REQUIRED.backend("polars")
def _required_polars(f: Any, value: Any, col: Column) -> Broken | None:
    if value is not True:
        return None
    return ~col.present, lambda i: f"field {f.name!r} is required, but the cell is empty"


# ---------------------------------------------------------------- unique (settled on every row: the key sets)

UNIQUE = _define(Constraint(
    "unique", ALL, _is_bool, "must be true or false", lambda v: "unique" if v else None,
    looser=lambda old, new: not new, default=False, scope="table",
))


@UNIQUE.backend("pandera_polars")
def _unique_pandera_polars(f: Any, value: Any) -> Any:
    return ("unique", lambda s: ~s.is_duplicated()) if value is True else None


@UNIQUE.backend("ge")
def _unique_ge(f: Any, value: Any, kind: str) -> list[dict]:
    return [_expect("expect_column_values_to_be_unique", column=f.name)] if value is True else []


# ---------------------------------------------------------------- enum

ENUM = _define(Constraint(
    "enum", tuple(t for t in ALL if t != "list"), lambda v: isinstance(v, list) and bool(v), "must be a non-empty list",
    lambda v: "one of " + ", ".join(_code(x) for x in v),
    looser=lambda old, new: set(map(str, old)) <= set(map(str, new)),
))


@ENUM.backend("polars")
def _enum_polars(f: Any, value: Any, col: Column) -> Broken:
    typed = col.typed
    broken = col.present & ~typed.is_in(pl.Series(_allowed(f, value), dtype=typed.dtype, strict=False).implode())
    return broken, lambda i: f"{show(typed[i])} is not one of {value}"


@ENUM.backend("sql")
def _enum_sql(f: Any, value: Any, column: str, literal: Callable[[Any], str]) -> str:
    return f"{column} IN ({', '.join(literal(v) for v in value)})"


@ENUM.backend("pandera")
def _enum_pandera(f: Any, value: Any, out: Any) -> None:
    if out.kind in NUMERIC:
        out.check("pa.Check", out.code(f"lambda s: _numbers(s).isin({out.py(value)})"), name="enum", error="enum")
    else:
        out.check("pa.Check.isin", [str(v) for v in value], name="enum", error="enum")


@ENUM.backend("pandera_polars")
def _enum_pandera_polars(f: Any, value: Any) -> Any:
    from cbj_figures.tables import cast

    allowed = [t for ok, t in (cast_constraint(f, v) for v in value) if ok]
    return "enum", lambda s: cast(f, s).typed.is_in(allowed)


@ENUM.backend("ge")
def _enum_ge(f: Any, value: Any, kind: str) -> list[dict]:
    values = value if kind in NUMERIC else [str(v) for v in value]
    return [_expect("expect_column_values_to_be_in_set", column=f.name, value_set=values)]


# ---------------------------------------------------------------- minimum, maximum, exclusiveMinimum, exclusiveMaximum

_BREAKS = {"minimum": "lt", "maximum": "gt", "exclusiveMinimum": "le", "exclusiveMaximum": "ge"}  # a value that breaks
_HOLDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}  # a value that holds
_SIGN = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
_PANDAS_OP = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}


def _bound(name: str) -> Constraint:
    lower = name in ("minimum", "exclusiveMinimum")
    c = _define(Constraint(
        name, ORDERED, _is_bound, "must be a value of the field's type", lambda v, s=_SIGN[name]: f"{s} {_text(v)}",
        looser=(lambda old, new: new <= old) if lower else (lambda old, new: new >= old),
    ))

    @c.backend("polars")
    def polars(f: Any, value: Any, col: Column) -> Broken | None:
        ok, bound = cast_constraint(f, value)
        if not ok or bound is None:
            col.note("field-error", f"constraint {name} {value!r} is not a {f.type} value")
            return None
        typed = col.typed
        ordered = typed
        if f.type == "duration":  # compared as lengths from one fixed day (months differ in length)
            ordered = typed.map_elements(duration_key, return_dtype=pl.Int64, skip_nulls=True)
            bound = duration_key(bound)
        broken = col.present & getattr(ordered, _BREAKS[name])(bound)
        if typed.dtype.is_float():
            broken = broken | (col.present & typed.is_nan())  # NaN is within no bound (as frictionless judges it)
        return broken, lambda i: f"{show(typed[i])} breaks {name} {value!r}"

    @c.backend("sql")
    def sql(f: Any, value: Any, column: str, literal: Callable[[Any], str]) -> str | None:
        if f.type not in NUMERIC:
            return None
        ok, bound = cast_constraint(f, value)
        if not ok or isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            return None  # only an int or a finite float's repr reaches the DDL
        return f"{column} {_HOLDS[name]} {bound!r}"

    @c.backend("pandera")
    def pandera(f: Any, value: Any, out: Any) -> None:
        op = _PANDAS_OP[name]
        if out.kind in NUMERIC:
            out.check("pa.Check", out.code(f"lambda s: _bound(_numbers(s), {out.py(op)}, {out.py(value)})"),
                      name=name, error=name)
        elif (fmt := out.strptime) and out.kind != "datetime":
            bound = f"pd.Timestamp({out.py(str(value))})"
            out.check("pa.Check", out.code(f"lambda s: _bound(_dates(s, {out.py(fmt)}), {out.py(op)}, {bound})"),
                      name=name, error=name)
        else:
            out.refuse(f"{name} on type {out.kind!r} is not exported")

    @c.backend("pandera_polars")
    def pandera_polars(f: Any, value: Any) -> Any:
        from cbj_figures.tables import cast

        ok, bound = cast_constraint(f, value)
        if not ok:
            return None
        return name, lambda s: getattr(cast(f, s).typed, _PANDAS_OP[name])(bound)

    @c.backend("ge")
    def ge(f: Any, value: Any, kind: str) -> list[dict]:
        # GE 1.x compares only values of one Python type (a missing value, NaN, breaks a text column):
        # bounds are mirrored for numbers only; date bounds live in the tables and pandera layers.
        if kind not in NUMERIC:
            return []
        strict = name.startswith("exclusive")
        side = "min" if lower else "max"
        return [_expect("expect_column_values_to_be_between", column=f.name, **{f"{side}_value": value},
                        **{f"strict_{side}": strict})]

    return c


for _name in BOUNDS:
    _bound(_name)


# ---------------------------------------------------------------- minLength, maxLength


def _length(name: str) -> Constraint:
    op, lower = ("lt", True) if name == "minLength" else ("gt", False)
    c = _define(Constraint(
        name, SIZED, _is_length, "must be an integer", lambda v: f"{name} {_text(v)}",
        looser=(lambda old, new: new <= old) if lower else (lambda old, new: new >= old),
    ))

    @c.backend("polars")
    def polars(f: Any, value: Any, col: Column) -> Broken | None:
        typed = col.typed
        length = col.size if col.size is not None else (typed.str.len_chars() if typed.dtype == pl.Utf8 else None)
        if length is None:
            return None
        return col.present & getattr(length, op)(value), lambda i: f"length {length[i]} breaks {name} {value}"

    @c.backend("pandera")
    def pandera(f: Any, value: Any, out: Any) -> None:
        if out.kind == "string":
            out.check("pa.Check.str_length", **{"min_value" if lower else "max_value": value}, name=name, error=name)

    @c.backend("pandera_polars")
    def pandera_polars(f: Any, value: Any) -> Any:
        if f.type != "string":
            return None
        return name, (lambda s: s.str.len_chars() >= value) if lower else (lambda s: s.str.len_chars() <= value)

    @c.backend("ge")
    def ge(f: Any, value: Any, kind: str) -> list[dict]:
        if kind != "string":
            return []
        return [_expect("expect_column_value_lengths_to_be_between", column=f.name,
                        **{"min_value" if lower else "max_value": value})]

    return c


_length("minLength")
_length("maxLength")


# ---------------------------------------------------------------- pattern


def regex(pattern: str) -> tuple[str | None, str | None]:
    """(the full-match pattern polars evaluates, why it cannot) — Rust's regex engine never backtracks,
    so a hostile pattern cannot stall the run; what it cannot compile (look-around, back-references)
    is left unchecked and said so."""
    anchored = f"^(?:{pattern})$"
    try:
        pl.select(pl.lit("").str.contains(anchored))
        return anchored, None
    except pl.exceptions.PolarsError as e:
        try:
            re.compile(pattern)
        except re.error as bad:
            return None, f"invalid regular expression {pattern!r}: {bad}"
        return None, f"pattern {pattern!r} needs a backtracking regex engine ({str(e).splitlines()[0]}); not checked"


PATTERN = _define(Constraint(
    "pattern", ("string",), lambda v: isinstance(v, str), "must be a string", lambda v: f"pattern {_code(v)}",
))


@PATTERN.backend("polars")
def _pattern_polars(f: Any, value: Any, col: Column) -> Broken | None:
    typed = col.typed
    if typed.dtype != pl.Utf8:
        return None
    anchored, why = regex(value)
    if anchored is None:
        col.note("field-error" if why and why.startswith("invalid") else "unsupported", why or "")
        return None
    return col.present & ~typed.str.contains(anchored), lambda i: f"{show(typed[i])} does not match pattern {value!r}"


@PATTERN.backend("pandera")
def _pattern_pandera(f: Any, value: Any, out: Any) -> None:
    if out.kind == "string":  # str_matches is re.match: anchored at the start only
        out.check("pa.Check.str_matches", "(?:" + value + r")\Z", name="pattern", error="pattern")


@PATTERN.backend("pandera_polars")
def _pattern_pandera_polars(f: Any, value: Any) -> Any:
    anchored, _ = regex(value)
    if anchored is None:
        raise ValueError(f"field {f.name!r}: pattern {value!r} needs a backtracking engine")
    return "pattern", lambda s: s.str.contains(anchored)


@PATTERN.backend("ge")
def _pattern_ge(f: Any, value: Any, kind: str) -> list[dict]:
    return [_expect("expect_column_values_to_match_regex", column=f.name, regex=f"^(?:{value})$")]


# ---------------------------------------------------------------- jsonSchema (v2: objects and arrays)

JSON_SCHEMA = _define(Constraint(
    "jsonSchema", ("object", "array"), lambda v: isinstance(v, dict), "must be a JSON Schema (an object)",
    lambda v: f"jsonSchema {_code(json.dumps(v, ensure_ascii=False))}",
))


@JSON_SCHEMA.backend("polars")
def _json_schema_polars(f: Any, value: Any, col: Column) -> Broken:
    """Rows whose object or array breaks the field's `jsonSchema` (its $refs resolve to nothing remote)."""
    from cbj_figures.profiles import validator

    typed, check, bad = col.typed, validator(value), []
    for text in typed.filter(col.present).unique().to_list():
        try:
            if not check.is_valid(json.loads(text)):
                bad.append(text)
        except Exception:  # a schema that cannot be applied (a remote $ref): said by the value itself
            bad.append(text)
    broken = col.present & typed.is_in(pl.Series(bad, dtype=pl.Utf8).implode())
    return broken, lambda i: f"{show(typed[i])} does not follow the field's jsonSchema"


# ---------------------------------------------------------------- categories (v2: a field property)

CATEGORIES = _define(Constraint(
    "categories", ("string", "integer"), lambda v: isinstance(v, list) and bool(v), "must be a non-empty list",
    lambda v: None, source="property",
))


@CATEGORIES.backend("polars")
def _categories_polars(f: Any, value: Any, col: Column) -> Broken | None:
    if not isinstance(value, list) or not value:
        return None
    listed = [x.get("value") if isinstance(x, dict) else x for x in value]
    typed = col.typed
    broken = col.present & ~typed.is_in(pl.Series(_allowed(f, listed), dtype=typed.dtype, strict=False).implode())
    return broken, lambda i: f"{show(typed[i])} is not one of the categories {listed}"


# ---------------------------------------------------------------- shared by the generators


def _expect(kind: str, **kwargs: object) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": "critical"}


def broken_rows(f: Any, col: Column) -> Iterator[tuple[str, pl.Series, Failing]]:
    """(constraint, rows that break it, message) for one field in one batch, by the polars backend; missing
    values pass all but `required`. Table-scope constraints (unique) are left to the key sets."""
    for c, value in applicable(f):
        if c.scope == "row" and (func := c.backends.get("polars")) and (got := func(f, value, col)) is not None:
            yield c.name, got[0], got[1]
