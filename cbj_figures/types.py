"""The Table Schema field types: one registry entry a type, with everything each layer needs of it.

Each type knows its column types (polars, Arrow, SQL, pandas), the lexical form of its default
format (for the generated validators), and how to read cells: `fast` reads the common lexical
forms of a whole column with polars; every cell it cannot read is read again, once per distinct
value, by frictionless's own reader of that type, so the two agree on every edge case while the
common case stays vectorized. `to_polars` turns what frictionless reads into the column's value.
The constraints a type takes are listed by each constraint (constraints.py).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
import pyarrow as pa

BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
Fast = Callable[[Any, pl.Expr], pl.Expr]  # (Field, text) -> typed value, null where not read


@dataclass(frozen=True)
class FieldType:
    name: str
    polars: Any
    arrow: Any
    sql: str
    pandas: str
    lexical: str | None = None  # full-match regex of the default format's values
    fast: Fast | None = None
    to_polars: Callable[[Any], Any] = lambda v: v
    sized: bool = False  # minLength/maxLength count items (array, object, list), not characters


def _canonical_json(value: Any) -> str:
    """Objects, arrays and lists compare (enum, unique) by one spelling of their content."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def _number(value: Any) -> float | None:
    if isinstance(value, Decimal):
        return math.nan if value.is_nan() else float(value)
    return float(value)


def _integer(value: Any) -> int | None:
    return value if -(2**63) <= value < 2**63 else None  # a valid integer beyond Int64 is kept unchecked


def _datetime(value: dt.datetime) -> dt.datetime:
    """Aware datetimes in UTC without their zone, so they compare with each other in one column."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(tzinfo=None)


def _time(value: dt.time) -> dt.time:
    return value.replace(tzinfo=None)


_NUMERALS = ("integer", "number", "year")


def standard_numeral(field: Any, text: str) -> bool:
    """Whether a number's text is in the Table Schema's grammar: ASCII digits, no spaces, no `_`. Python's int() and
    Decimal(), frictionless's readers, also take ` 1.5`, `1_000` and full-width or Arabic-Indic digits; the
    standard does not. What groupChar, decimalChar and bareNumber allow is taken out first, as frictionless does."""
    d = field.descriptor
    if d.get("bareNumber") is False:
        text = re.sub(r"((^[^-\d]*)|(\D*$))", "", text)
    if isinstance(group := d.get("groupChar"), str) and group:
        text = text.replace(group, "")
    return text.isascii() and "_" not in text and not any(c.isspace() for c in text)


def read_values(field: Any, values: list[Any]) -> list[tuple[bool, Any, int | None]]:
    """(is of the type, the column value, its size) of each value, by frictionless's reader of the field."""
    kind, reader, out = field.kind, field.reader, []
    numeral = kind.name in _NUMERALS
    for v in values:
        try:
            got = None if numeral and isinstance(v, str) and not standard_numeral(field, v) else reader(v)
        except Exception:  # a reader that raises on odd input (sNaN, ...) has not read it
            got = None
        if got is None or (isinstance(got, Decimal) and got.is_snan()):  # sNaN: frictionless reads it, then crashes
            out.append((False, None, None))
            continue
        try:
            value = kind.to_polars(got)
        except (ValueError, OverflowError, TypeError):
            value = None
        out.append((True, value, len(got) if kind.sized else None))
    return out


def cast_constraint(field: Any, value: Any) -> tuple[bool, Any]:
    """A constraint value (enum item, bound) read like a cell of the field."""
    ok, typed, _ = read_values(field, [value])[0]
    return ok, typed


def _yearmonth(value: Any) -> str:
    """`YYYY-MM`, zero-padded: one spelling a month, and text order is time order."""
    return f"{int(value.year):04d}-{int(value.month):02d}"


def _duration(value: Any) -> str:
    import isodate

    return isodate.duration_isoformat(value)


def duration_key(text: str) -> int | None:
    """A duration's order: microseconds from 2000-01-01 to that date plus the duration (months differ in length,
    so a duration is measured from one fixed day), for minimum and maximum."""
    import isodate

    try:
        start = dt.datetime(2000, 1, 1)
        return int(((start + isodate.parse_duration(text)) - start) / dt.timedelta(microseconds=1))
    except (ValueError, OverflowError, TypeError, isodate.ISO8601Error):
        return None


def _geopoint(value: Any) -> str:
    return f"{value.lon},{value.lat}"


def _numeric_text(field: Any, e: pl.Expr) -> pl.Expr:
    """groupChar, decimalChar and bareNumber as frictionless applies them (only when declared)."""
    d = field.descriptor
    if field.type == "number" and not {"groupChar", "decimalChar", "bareNumber"} & d.keys():
        return e
    if d.get("bareNumber") is False:
        e = e.str.replace_all(r"((^[^-\d]*)|(\D*$))", "")
    if group := d.get("groupChar"):
        e = e.str.replace_all(group, "", literal=True)
    if (dec := d.get("decimalChar", ".")) != ".":
        e = pl.when(e.str.contains(".", literal=True)).then(None).otherwise(e.str.replace_all(dec, ".", literal=True))
    return e


def _fast_integer(field: Any, e: pl.Expr) -> pl.Expr:
    """polars reads a subset of what Python's int() reads (no blanks, no `1_000`): the rest goes to frictionless."""
    return _numeric_text(field, e).cast(pl.Int64, strict=False)


def _fast_number(field: Any, e: pl.Expr) -> pl.Expr:
    """polars reads a subset of what Decimal() reads (`1e5`, `inf`, `NaN` alike; no blanks, no `1_000`)."""
    return _numeric_text(field, e).cast(pl.Float64, strict=False)


def _fast_boolean(field: Any, e: pl.Expr) -> pl.Expr:
    true = field.descriptor.get("trueValues", ["true", "True", "TRUE", "1"])
    false = field.descriptor.get("falseValues", ["false", "False", "FALSE", "0"])
    return pl.when(e.is_in(list(true))).then(True).when(e.is_in(list(false))).then(False).cast(pl.Boolean)


def _default_format(fast: Fast) -> Fast:
    """Only the default format has a fast path; other formats are read by frictionless."""

    def read(field: Any, e: pl.Expr) -> pl.Expr:
        return fast(field, e) if field.format == "default" else pl.lit(None)

    return read


def _fast_date(field: Any, e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")).then(e.str.to_date("%Y-%m-%d", strict=False))


def _fast_datetime(field: Any, e: pl.Expr) -> pl.Expr:
    naive = e.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$")
    utc = e.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z$")
    body = e.str.strip_suffix("Z")
    return pl.when(naive | utc).then(body.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us"))


def _fast_time(field: Any, e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.contains(r"^[0-9]{2}:[0-9]{2}:[0-9]{2}$")).then(e.str.to_time("%H:%M:%S", strict=False))


def _fast_year(field: Any, e: pl.Expr) -> pl.Expr:
    """Four characters that int() reads, 0 to 9999 (as frictionless: `+123` is a year, `-123` is not)."""
    year = e.cast(pl.Int64, strict=False)
    return pl.when((e.str.len_bytes() == 4) & (year >= 0)).then(year)


def _fast_yearmonth(field: Any, e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.contains(r"^[0-9]{4}-(0[1-9]|1[0-2])$")).then(e)


def _fast_string(field: Any, e: pl.Expr) -> pl.Expr:
    return e if field.format in ("default", None) else pl.lit(None, dtype=pl.Utf8)


_UTF8, _TEXT, _STRING = pl.Utf8, pa.string(), "VARCHAR"

TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType("string", _UTF8, _TEXT, _STRING, "string", fast=_fast_string),
        FieldType("integer", pl.Int64, pa.int64(), "BIGINT", "Int64", r"[+-]?\d+", _fast_integer, _integer),
        FieldType("number", pl.Float64, pa.float64(), "DOUBLE", "Float64",
                  r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(NaN|INF|inf)", _fast_number, _number),
        FieldType("boolean", pl.Boolean, pa.bool_(), "BOOLEAN", "boolean", None, _fast_boolean),
        FieldType("date", pl.Date, pa.date32(), "DATE", "datetime64[ns]", r"\d{4}-\d{2}-\d{2}",
                  _default_format(_fast_date)),
        FieldType("datetime", pl.Datetime("us"), pa.timestamp("us"), "TIMESTAMP", "datetime64[ns]",
                  r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", _default_format(_fast_datetime),
                  _datetime),
        FieldType("time", pl.Time, pa.time64("us"), "TIME", "object", r"\d{2}:\d{2}:\d{2}(\.\d+)?",
                  _default_format(_fast_time), _time),
        FieldType("year", pl.Int64, pa.int64(), "BIGINT", "Int64", r"\d{4}", _fast_year),
        FieldType("yearmonth", _UTF8, _TEXT, _STRING, "string", r"\d{4}-(0[1-9]|1[0-2])",
                  _fast_yearmonth, _yearmonth),
        FieldType("duration", _UTF8, _TEXT, _STRING, "string", None, None, _duration),
        FieldType("geopoint", _UTF8, _TEXT, _STRING, "string", None, None, _geopoint),
        FieldType("geojson", _UTF8, _TEXT, _STRING, "string", None, None, _canonical_json),
        FieldType("object", _UTF8, _TEXT, _STRING, "string", None, None, _canonical_json,
                  sized=True),
        FieldType("array", _UTF8, _TEXT, _STRING, "string", None, None, _canonical_json,
                  sized=True),
        FieldType("list", _UTF8, _TEXT, _STRING, "string", None, None,
                  _canonical_json, sized=True),
        FieldType("any", _UTF8, _TEXT, _STRING, "string", None, lambda f, e: e, str),
    )
}
