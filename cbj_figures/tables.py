"""The tables layer: every row of every table against its Table Schema, vectorized with polars.

Why not frictionless's own row loop: it checks cell by cell in Python (tens of seconds for a
million rows). Here each rule is a column expression, evaluated once over the table, and Python
touches only the rows that fail. The rules are frictionless's, to the letter: cells are read by
frictionless's readers wherever the fast path cannot read them (types.py), a cell with a type
error skips its constraints, a blank row reports only that it is blank, a missing cell is also a
missing value, and a ragged row is reported and the rest of the table still checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from cbj_figures.constraints import Column, Failing, broken_rows, show
from cbj_figures.findings import Finding
from cbj_figures.package import Package, Resource
from cbj_figures.read import RawTable, read_table
from cbj_figures.schema import Field, Schema
from cbj_figures.types import cast_constraint, read_values  # noqa: F401  (cast_constraint: re-exported)

LAYER = "tables"


@dataclass
class Table:
    """One table read and typed: what every later layer and the release build use."""

    resource: Resource
    schema: Schema
    frame: pl.DataFrame  # typed values of the schema's fields present in the data; null where missing or invalid
    text: pl.DataFrame  # the cells exactly as written (missing cells null)
    rows: pl.Series  # frictionless row numbers (the header row is 1)
    lines: pl.Series | None  # physical lines, when known

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def path(self) -> str | None:
        return self.resource.path

    def line(self, i: int) -> int | None:
        return int(self.lines[i]) if self.lines is not None else None


# ---------------------------------------------------------------- reading cells as their type


@dataclass(frozen=True)
class Cast:
    typed: pl.Series  # the column's values (null where missing, not of the type, or not representable)
    invalid: pl.Series  # a present value that is not of the type
    size: pl.Series | None = None  # items of arrays, objects and lists (minLength/maxLength)


def cast(field: Field, raw: pl.Series, natives: dict[int, Any] | None = None, missing: tuple[str, ...] = ()) -> Cast:
    """The typed column: the fast polars reading, and frictionless's reader for every cell it missed.
    `missing` adds missing values to the field's own (a dialect's nullSequence)."""
    kind = field.kind
    present = raw.is_not_null()
    if field.missing_values or missing:
        present = present & ~raw.is_in([*field.missing_values, *missing])
    fast = pl.select(kind.fast(field, pl.lit(raw)).alias("v")).to_series() if kind.fast else None
    if fast is not None and fast.dtype != kind.polars:
        fast = fast.cast(kind.polars, strict=False)
    fast_ok = fast.is_not_null() if fast is not None else pl.Series([False] * len(raw), dtype=pl.Boolean)
    pending = present & ~fast_ok
    if natives:
        native_rows = pl.Series(sorted(natives), dtype=pl.UInt32)
        pending = pending.scatter(native_rows, False)
    typed = fast if fast is not None else pl.Series([None] * len(raw), dtype=kind.polars)
    ok = fast_ok & present
    size: pl.Series | None = None
    if kind.sized:
        size = pl.Series([None] * len(raw), dtype=pl.Int64)
    if pending.any():
        distinct = raw.filter(pending).unique().to_list()
        results = read_values(field, distinct)
        lookup = pl.DataFrame(
            {
                "raw": pl.Series(distinct, dtype=pl.Utf8),
                "ok": [r[0] for r in results],
                "v": pl.Series([r[1] for r in results], dtype=kind.polars, strict=False),
                "n": pl.Series([r[2] for r in results], dtype=pl.Int64),
            }
        )
        joined = pl.DataFrame({"raw": raw}).join(lookup, on="raw", how="left", maintain_order="left")
        slow_ok = joined["ok"].fill_null(False) & pending
        typed = pl.select(pl.when(slow_ok).then(joined["v"]).otherwise(typed).alias("v")).to_series()
        ok = ok | slow_ok
        if size is not None:
            size = pl.select(pl.when(slow_ok).then(joined["n"]).otherwise(size)).to_series()
    if natives:
        rows = sorted(natives)
        results = read_values(field, [natives[i] for i in rows])
        index = pl.Series(rows, dtype=pl.UInt32)
        typed = typed.scatter(index, pl.Series([r[1] for r in results], dtype=kind.polars, strict=False))
        ok = ok.scatter(index, pl.Series([r[0] for r in results], dtype=pl.Boolean))
        if size is not None:
            size = size.scatter(index, pl.Series([r[2] for r in results], dtype=pl.Int64))
        present = present.scatter(index, True)
    # every cell present and of the type (the common case): the column as it is, not a copy
    if ok.all(ignore_nulls=False):
        typed = typed.alias(field.name)
    else:
        typed = pl.select(pl.when(ok).then(typed).alias(field.name)).to_series()
    return Cast(typed, present & ~ok, size)


# ---------------------------------------------------------------- the rules of one table


class _Findings:
    """The findings of one table, each at its row and line."""

    def __init__(self, raw: RawTable):
        self.raw, self.items = raw, []

    def add(self, code: str, message: str, i: int | None = None, field: str | None = None,
            rule: str | None = None) -> None:
        row = int(self.raw.rows[i]) if i is not None else None
        line = int(self.raw.lines[i]) if i is not None and self.raw.lines is not None else None
        self.items.append(Finding(code, message, file=self.raw.file, line=line, row=row, field=field,
                                  layer=LAYER, rule=rule))

    def rows(self, code: str, mask: pl.Series, message: Failing, field: str | None = None,
             rule: str | None = None) -> None:
        for i in mask.fill_null(False).arg_true().to_list():
            self.add(code, message(i), i, field, rule)


PARALLEL_ROWS = 100_000  # from this many rows, the fields of a table are typed and checked on several threads


def _each(func: Callable[..., Any], items: list[tuple], parallel: bool) -> list:
    """`func(*item)` of each item, in order; on one thread a core when `parallel` (polars lets go of the GIL
    while it computes, and each field's columns are its own)."""
    if not parallel or len(items) < 2:
        return [func(*item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(len(items), os.cpu_count() or 1)) as pool:
        return list(pool.map(lambda item: func(*item), items))


def check_table(raw: RawTable) -> tuple[Table, list[Finding]]:
    """Type every cell and check every field rule, key and row shape of one table."""
    out = _Findings(raw)
    notes: list[Finding] = []
    n = raw.text.height
    columns: dict[str, pl.Series] = {}
    invalid: dict[str, pl.Series] = {}
    sizes: dict[str, pl.Series | None] = {}
    null = raw.resource.dialect.get("nullSequence")
    extra = (null,) if isinstance(null, str) else ()
    declared = [(name, field) for name, field in zip(raw.names, raw.fields, strict=True) if field is not None]
    parallel = n >= PARALLEL_ROWS

    def typed_column(name: str, field: Field) -> Cast:
        return cast(field, raw.text.get_column(name), raw.natives.get(name), extra)

    for (name, _), result in zip(declared, _each(typed_column, declared, parallel), strict=True):
        columns[name], invalid[name], sizes[name] = result.typed, result.invalid, result.size
    frame = pl.DataFrame(columns) if columns else pl.DataFrame(schema={})
    # a blank row: no cell holds a value (frictionless then reports only that)
    blank = pl.Series([True] * n, dtype=pl.Boolean)
    for name, field in zip(raw.names, raw.fields, strict=True):
        if field is not None:
            blank = blank & columns[name].is_null() & ~invalid[name]
        else:  # a column the schema lacks: frictionless reads it as `any`
            cells = raw.text.get_column(name)
            blank = blank & (cells.is_null() | cells.is_in(list(raw.schema.missing_values)))
    out.rows("blank-row", blank, lambda i: "the row is blank")
    keep = ~blank
    if raw.widths is not None:
        width = len(raw.names)
        for i in (raw.widths.ne(width) & keep).arg_true().to_list():
            got = int(raw.widths[i])
            for k in range(width, got):
                out.add("extra-cell", f"the row has {got} cells, the header {width}: cell {k + 1} is extra", i)
            for k in range(got, width):
                out.add("missing-cell", f"the row has {got} cells, the header {width}: "
                        f"cell {k + 1} ({raw.names[k]}) is missing", i, raw.names[k])
    def field_checks(name: str, field: Field) -> tuple[list[Finding], list[tuple[str, pl.Series, Failing]]]:
        own: list[Finding] = []

        def note(code: str, message: str) -> None:
            own.append(Finding(code, message, file=raw.resource.schema_file or raw.resource.path, field=field.name,
                               layer=LAYER))

        return own, list(broken_rows(field, Column(columns[name], sizes[name], note)))

    for (name, field), (own, constraints) in zip(declared, _each(field_checks, declared, parallel), strict=True):
        typed, bad = columns[name], invalid[name] & keep
        kind = f"{field.type}" + (f" ({field.format})" if field.format != "default" else "")
        cells = raw.text.get_column(name)
        out.rows("type-error", bad, lambda i, cells=cells, kind=kind: f"{show(cells[i])} is not a {kind}", name)
        checkable = keep & ~invalid[name]
        notes += own
        for rule, broken, message in constraints:
            out.rows("constraint-error", broken & checkable, message, name, rule)
        if field.unique:
            repeated = typed.is_not_null() & ~_first_distinct(frame, [name])
            if typed.dtype.is_float():
                repeated = repeated & ~typed.is_nan()
            _repeats(out, frame, [name], repeated & keep, "unique-error", name, "unique")
    _keys(out, raw, frame, keep)
    table = Table(raw.resource, raw.schema, frame, raw.text, raw.rows, raw.lines)
    return table, notes + out.items


def _repeats(out: _Findings, frame: pl.DataFrame, keys: list[str], mask: pl.Series, code: str, field: str,
             rule: str) -> None:
    """Each repeat, with the row of the value it repeats."""
    if not mask.any():
        return
    indexed = frame.select(keys).with_row_index("_i")
    first = indexed.unique(subset=keys, keep="first", maintain_order=True).rename({"_i": "_first"})
    shown = indexed.filter(mask).join(first, on=keys, how="left", nulls_equal=True)
    for i, j in zip(shown["_i"].to_list(), shown["_first"].to_list(), strict=True):
        values = ", ".join(show(frame[k][i]) for k in keys)
        out.add(code, f"{values} repeats row {int(out.raw.rows[j])}", i, field, rule)


def _first_distinct(frame: pl.DataFrame, key: list[str]) -> pl.Series:
    """Whether each row's key is its first occurrence (nulls are equal to each other, as polars compares).

    Equal keys hash alike, so when no two rows' hashes are equal no key repeats: one 64-bit hash a row
    settles the valid path. Otherwise (a repeat, or a rare collision) the keys themselves are compared;
    float keys always are (NaN and -0.0). A one-field key is compared as it is: a struct of it would be
    row-encoded first (for a million strings, a copy of the whole column)."""
    if not any(frame.schema[k].is_float() for k in key):
        hashes = frame.get_column(key[0]).hash() if len(key) == 1 else frame.select(key).hash_rows()
        if hashes.n_unique() == frame.height:
            return pl.repeat(True, frame.height, dtype=pl.Boolean, eager=True)
    if len(key) == 1:  # NaN, -0.0 and nulls compare as in a struct of it
        return frame.get_column(key[0]).is_first_distinct()
    return frame.select(pl.struct(key).is_first_distinct()).to_series()


def _keys(out: _Findings, raw: RawTable, frame: pl.DataFrame, keep: pl.Series) -> None:
    """Primary key (present and unique) and uniqueKeys, on the typed values."""
    pk = list(raw.schema.primary_key)
    if pk and set(pk) <= set(frame.columns):
        label = ",".join(pk)
        absent = frame.select(pl.all_horizontal(pl.col(pk).is_null())).to_series()
        out.rows("primary-key", absent, lambda i: f"the primary key ({label}) is empty", label, "primaryKey")
        if len(pk) > 1:  # a key field cannot be empty either (Table Schema); frictionless checks only the whole key
            part = ~absent & frame.select(pl.any_horizontal(pl.col(pk).is_null())).to_series() & keep
            out.rows("primary-key", part, lambda i: f"part of the primary key ({label}) is empty", label, "primaryKey")
        repeated = ~absent & ~_first_distinct(frame, pk)
        _repeats(out, frame, pk, repeated, "primary-key", label, "primaryKey")
    for key in raw.schema.unique_keys:
        if not set(key) <= set(frame.columns):
            continue
        complete = frame.select(pl.all_horizontal(pl.col(list(key)).is_not_null())).to_series()
        repeated = complete & ~_first_distinct(frame, list(key))
        _repeats(out, frame, list(key), repeated & keep, "unique-error", ",".join(key), "uniqueKeys")


def check_foreign_keys(t: Table, tables: dict[str, Table]) -> list[Finding]:
    """Every foreign key value exists in the referenced table (typed values; a key all empty is not checked)."""
    out: list[Finding] = []
    for fk in t.schema.foreign_keys:
        target = fk.resource or t.name
        parent = tables.get(target)
        label = ",".join(fk.fields)
        if parent is None:
            continue  # an unread table: `read_tables` says once which keys were not checked
        if not set(fk.fields) <= set(t.frame.columns) or not set(fk.ref_fields) <= set(parent.frame.columns):
            continue
        child = t.frame.select([pl.col(f).alias(r) for f, r in zip(fk.fields, fk.ref_fields, strict=True)])
        keys = parent.frame.select(list(fk.ref_fields))
        for r in fk.ref_fields:
            a, b = child[r].dtype, keys[r].dtype
            if a != b:
                common = pl.Float64 if a.is_numeric() and b.is_numeric() else None
                child = child.with_columns(pl.col(r).cast(common) if common else pl.lit(None, dtype=b).alias(r))
                keys = keys.with_columns(pl.col(r).cast(common or b))
        keys = keys.filter(~pl.all_horizontal(pl.all().is_null())).unique()
        if len(fk.ref_fields) == 1 and not child.dtypes[0].is_float():  # a mask: no copy of the child's keys
            column = child.to_series()
            dangling = (column.is_not_null() & ~column.is_in(keys.to_series().implode())).arg_true().to_list()
        else:
            child = child.with_row_index("_i")
            checked = child.filter(~pl.all_horizontal(pl.col(list(fk.ref_fields)).is_null()))
            dangling = checked.join(keys, on=list(fk.ref_fields), how="anti", nulls_equal=True)["_i"].to_list()
        where = f"{target}({', '.join(fk.ref_fields)})"
        for i in dangling:
            values = ", ".join(show(t.text[f][i]) for f in fk.fields)
            out.append(Finding("foreign-key", f"({values}) is not in {where}", file=t.path, line=t.line(i),
                               row=int(t.rows[i]), field=label, layer=LAYER, rule="foreignKeys"))
    return out


def read_tables(pkg: Package, *, allow_network: bool = False) -> tuple[dict[str, Table], list[Finding]]:
    """Every table of the package, typed, with the findings of layer "tables" (never raises on bad data)."""
    tables: dict[str, Table] = {}
    findings: list[Finding] = []
    unread: set[str] = set()
    for name, res in pkg.tables.items():
        raw, found = read_table(pkg, res, allow_network=allow_network)
        findings += found
        if raw is None:
            unread.add(name)
            continue
        table, found = check_table(raw)
        findings += found
        tables[name] = table
    for t in tables.values():
        findings += check_foreign_keys(t, tables)
    for name in sorted(unread):
        keys = [f"{t.name}({','.join(fk.fields)})" for t in tables.values() for fk in t.schema.foreign_keys
                if (fk.resource or t.name) == name]
        if keys:
            message = f"table {name!r} could not be read, so the foreign keys to it were not checked: {', '.join(keys)}"
            findings.append(Finding("not-checked", message, file=pkg.tables[name].path, layer=LAYER))
    return tables, findings
