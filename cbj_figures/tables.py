"""The tables layer: every row of every table against its Table Schema, vectorized with polars, in batches.

Why not frictionless's own row loop: it checks cell by cell in Python (tens of seconds for a
million rows). Here each rule is a column expression, evaluated once over a batch of rows, and
Python touches only the rows that fail. One path serves every size: a table is read in batches
(read.py; a small table is one batch), each batch is typed and checked on its own, and only the
key sets (keys.py) outlive a batch, so memory grows with the keys, not with the rows. The rules
are frictionless's, to the letter: cells are read by frictionless's readers wherever the fast
path cannot read them (types.py), a cell with a type error skips its constraints, a blank row
reports only that it is blank, a missing cell is also a missing value, and a ragged row is
reported and the rest of the table still checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as attribute
from typing import Any

import numpy as np
import polars as pl

from cbj_figures.constraints import Column, Failing, broken_rows, show
from cbj_figures.findings import Finding
from cbj_figures.keys import KeySet, Repeats, Spill, SpillError
from cbj_figures.package import Package, Resource
from cbj_figures.read import RawTable, Restart, TableSource, read_table, reading_failure
from cbj_figures.schema import Field, ForeignKey, Schema
from cbj_figures.types import cast_constraint, read_values  # noqa: F401  (cast_constraint: re-exported)

LAYER = "tables"


@dataclass
class Table:
    """One table read and checked: what every later layer and the release build use. Its rows are kept (`frame`,
    `text`, `rows`, `lines`) only when asked (`read_tables(keep=True)`: the conventions layers, the cross-checks,
    diff, load, cite); otherwise they are None and `source.batches()` reads them again, a batch at a time."""

    resource: Resource
    schema: Schema
    frame: pl.DataFrame | None  # typed values of the schema's fields present in the data; null where missing/invalid
    text: pl.DataFrame | None  # the cells exactly as written (missing cells null)
    rows: pl.Series | None  # frictionless row numbers (the header row is 1)
    lines: pl.Series | None  # physical lines, when known
    source: TableSource | None = attribute(default=None, repr=False)
    height: int = 0  # rows read

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def path(self) -> str | None:
        return self.resource.path

    def line(self, i: int) -> int | None:
        return int(self.lines[i]) if self.lines is not None else None

    @property
    def columns(self) -> list[str]:
        """The declared fields present in the data."""
        if self.frame is not None:
            return self.frame.columns
        src = self.source
        return [n for n, f in zip(src.names, src.fields, strict=True) if f is not None] if src else []


def typed_batches(t: Table) -> Iterator[pl.DataFrame]:
    """The table's typed values a batch at a time, read again (its rows were not kept)."""
    if t.frame is not None:
        yield t.frame
        return
    assert t.source is not None
    for raw in t.source.batches():
        declared = [(n, f) for n, f in zip(raw.names, raw.fields, strict=True) if f is not None]
        yield pl.DataFrame([_cast(raw, n, f).typed for n, f in declared]) if declared else pl.DataFrame()


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


@dataclass
class Checked:
    """One batch typed and checked: what the key sets and the kept frames take from it."""

    frame: pl.DataFrame  # typed values of the declared fields
    keep: pl.Series  # not a blank row
    findings: list[Finding]
    notes: list[Finding]  # about the schema, not a row: the same in every batch


def check_batch(raw: RawTable) -> Checked:
    """Type every cell and check every row rule (types, constraints, row shape, empty keys) of one batch."""
    out = _Findings(raw)
    notes: list[Finding] = []
    n = raw.text.height
    columns: dict[str, pl.Series] = {}
    invalid: dict[str, pl.Series] = {}
    sizes: dict[str, pl.Series | None] = {}
    declared = [(name, field) for name, field in zip(raw.names, raw.fields, strict=True) if field is not None]
    parallel = n >= PARALLEL_ROWS
    for (name, _), result in zip(declared, _each(lambda n, f: _cast(raw, n, f), declared, parallel), strict=True):
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
        bad = invalid[name] & keep
        kind = f"{field.type}" + (f" ({field.format})" if field.format != "default" else "")
        cells = raw.text.get_column(name)
        out.rows("type-error", bad, lambda i, cells=cells, kind=kind: f"{show(cells[i])} is not a {kind}", name)
        checkable = keep & ~invalid[name]
        notes += own
        for rule, broken, message in constraints:
            out.rows("constraint-error", broken & checkable, message, name, rule)
    pk = list(raw.schema.primary_key)
    if pk and set(pk) <= set(frame.columns):
        label = ",".join(pk)
        absent = frame.select(pl.all_horizontal(pl.col(pk).is_null())).to_series()
        out.rows("primary-key", absent, lambda i: f"the primary key ({label}) is empty", label, "primaryKey")
        if len(pk) > 1:  # a key field cannot be empty either (Table Schema); frictionless checks only the whole key
            part = ~absent & frame.select(pl.any_horizontal(pl.col(pk).is_null())).to_series() & keep
            out.rows("primary-key", part, lambda i: f"part of the primary key ({label}) is empty", label, "primaryKey")
    return Checked(frame, keep, out.items, notes)


def _cast(raw: RawTable, name: str, field: Field) -> Cast:
    null = raw.resource.dialect.get("nullSequence")
    return cast(field, raw.text.get_column(name), raw.natives.get(name), (null,) if isinstance(null, str) else ())


def _uniqueness(schema: Schema, names: set[str]) -> list[Repeats]:
    """The uniqueness rules of a table, in the order their findings are listed."""
    out = [Repeats((f.name,), "unique-error", "unique") for f in schema.fields if f.unique and f.name in names]
    pk = tuple(schema.primary_key)
    if pk and set(pk) <= names:
        twin = next((r for r in out if r.fields == pk and not schema.field(pk[0]).kind.polars.is_float()), None)
        if twin is not None:  # a unique field that is the primary key: the same rows, one set of hashes
            twin.also = (("primary-key", "primaryKey"),)
        else:
            out.append(Repeats(pk, "primary-key", "primaryKey"))
    out += [Repeats(tuple(k), "unique-error", "uniqueKeys") for k in schema.unique_keys if set(k) <= names]
    return out


def _included(rule: Repeats, checked: Checked) -> pl.Series:
    """The rows a uniqueness rule counts: a value (not NaN) for a field; a key not all empty for the primary key;
    a complete key for uniqueKeys."""
    frame, cols = checked.frame, list(rule.fields)
    if rule.rule == "unique":
        typed = frame.get_column(cols[0])
        mask = typed.is_not_null() & checked.keep
        return mask & ~typed.is_nan() if typed.dtype.is_float() else mask
    if rule.rule == "primaryKey":
        return ~frame.select(pl.all_horizontal(pl.col(cols).is_null())).to_series()
    return frame.select(pl.all_horizontal(pl.col(cols).is_not_null())).to_series() & checked.keep


def _repeat_findings(source: TableSource, rules: list[Repeats], spill: Spill) -> list[Finding]:
    """Each repeated key, with the row of the value it repeats: the candidate rows read again and compared by value."""
    wanted = [(rule, rule.candidates(spill)) for rule in rules]
    wanted = [(rule, idx) for rule, idx in wanted if len(idx)]
    if not wanted:
        return []
    fields = sorted({f for rule, _ in wanted for f in rule.fields})
    parts: list[pl.DataFrame] = []
    everything = np.unique(np.concatenate([idx for _, idx in wanted]))
    for raw in source.batches():
        local = everything[(everything >= raw.offset) & (everything < raw.offset + raw.text.height)] - raw.offset
        if not len(local):
            continue
        picked = replace(raw, text=raw.text[local], rows=raw.rows[local],
                         lines=raw.lines[local] if raw.lines is not None else None,
                         natives={k: {j: v[i] for j, i in enumerate(local) if i in v} for k, v in raw.natives.items()})
        typed = {f: _cast(picked, f, source.schema.field(f)).typed for f in fields}
        lines = picked.lines if picked.lines is not None else pl.Series([None] * len(local), dtype=pl.Int64)
        parts.append(pl.DataFrame({"_i": local + raw.offset, "_row": picked.rows, "_line": lines, **typed}))
    rows = pl.concat(parts)
    out: list[Finding] = []
    for rule, idx in wanted:
        frame = rows.filter(pl.col("_i").is_in(pl.Series(idx).implode()))
        keys = list(rule.fields)
        repeated = ~_first_distinct(frame, keys)
        first = frame.unique(subset=keys, keep="first", maintain_order=True).select(*keys, _first=pl.col("_row"))
        shown = frame.filter(repeated).join(first, on=keys, how="left", nulls_equal=True)
        for r in shown.iter_rows(named=True):
            values = ", ".join(show(r[k]) for k in keys)
            for code, name in ((rule.code, rule.rule), *rule.also):
                out.append(Finding(code, f"{values} repeats row {r['_first']}", file=source.file, line=r["_line"],
                                   row=r["_row"], field=rule.label, layer=LAYER, rule=name))
    return out


def _first_distinct(frame: pl.DataFrame, key: list[str]) -> pl.Series:
    """Whether each row's key is its first occurrence (nulls are equal to each other, as polars compares)."""
    if len(key) == 1:  # NaN, -0.0 and nulls compare as in a struct of it
        return frame.get_column(key[0]).is_first_distinct()
    return frame.select(pl.struct(key).is_first_distinct()).to_series()


# ---------------------------------------------------------------- a table, batch by batch, and the package


@dataclass
class _Pending:
    """A foreign key checked once every table is read (it references its own table, or one read later)."""

    table: str
    fk: ForeignKey
    parts: list[pl.DataFrame] = attribute(default_factory=list)  # the key values, their text, row and line


def _fk_findings(src: TableSource, fk: ForeignKey, dangling: pl.DataFrame) -> list[Finding]:
    where = f"{fk.resource or src.resource.name}({', '.join(fk.ref_fields)})"
    out = []
    for r in dangling.iter_rows(named=True):
        values = ", ".join(show(r[f"_text{k}"]) for k in range(len(fk.fields)))
        out.append(Finding("foreign-key", f"({values}) is not in {where}", file=src.file, line=r["_line"],
                           row=r["_row"], field=",".join(fk.fields), layer=LAYER, rule="foreignKeys"))
    return out


def _fk_rows(raw: RawTable, checked: Checked, fk: ForeignKey) -> pl.DataFrame:
    """A batch's values of a foreign key (named as the fields they reference), their text, row and line."""
    values = checked.frame.select([pl.col(f).alias(r) for f, r in zip(fk.fields, fk.ref_fields, strict=True)])
    text = {f"_text{k}": raw.text.get_column(f) for k, f in enumerate(fk.fields)}
    lines = raw.lines if raw.lines is not None else pl.Series([None] * raw.text.height, dtype=pl.Int64)
    return values.with_columns(_row=raw.rows, _line=lines, **text)


def _dangling(keys: KeySet, rows: pl.DataFrame, fk: ForeignKey, spill: Spill) -> pl.DataFrame:
    index = keys.dangling(rows.select(list(fk.ref_fields)), spill)
    return rows[index] if index else rows.clear()


def _check(src: TableSource, keep: bool, sets: dict, wanted: list[tuple[str, ...]], spill: Spill
           ) -> tuple[Table, list[Finding], list[_Pending]]:
    """One pass over the table (two when a key may repeat): every batch checked, the key sets filled."""
    name = src.resource.name
    declared = {n for n, f in zip(src.names, src.fields, strict=True) if f is not None}
    rules = _uniqueness(src.schema, declared)
    own = {ref: KeySet(ref) for ref in wanted if set(ref) <= declared}
    now, later = [], []
    for fk in src.schema.foreign_keys:
        if not set(fk.fields) <= declared:
            continue
        parent = sets.get((fk.resource or name, fk.ref_fields))
        (now if parent is not None and (fk.resource or name) != name else later).append((fk, parent))
    pending = [_Pending(name, fk) for fk, _ in later]
    found: list[Finding] = []
    notes: list[Finding] | None = None
    kept: list[tuple] = []
    height, last_row = 0, 0
    for raw in src.batches():
        checked = check_batch(raw)
        found += checked.findings
        notes = checked.notes if notes is None else notes
        for rule in rules:
            rule.add(checked.frame, _included(rule, checked), raw.offset, spill)
        for keys in own.values():
            keys.add(checked.frame, spill)
        for fk, parent in now:
            found += _fk_findings(src, fk, _dangling(parent, _fk_rows(raw, checked, fk), fk, spill))
        for wait in pending:
            rows = _fk_rows(raw, checked, wait.fk)
            wait.parts.append(rows.filter(~pl.all_horizontal(pl.col(list(wait.fk.ref_fields)).is_null())))
        if keep:
            kept.append((checked.frame, raw.text, raw.rows, raw.lines))
        height += raw.text.height
        last_row = int(raw.rows[-1]) if raw.text.height else last_row
    found = (notes or []) + found + _repeat_findings(src, rules, spill)
    for ref, keys in own.items():
        keys.finish()
        sets[(name, ref)] = keys
    lines_known = all(k[3] is not None for k in kept) if keep else None
    if src.lines_are_rows is not None and height and not any(f.line for f in found if f.row) and \
            src.lines_are_rows(last_row):  # the general path: each row on its own line
        found = [replace(f, line=f.row) if f.row is not None and f.file == src.file else f for f in found]
        lines_known = False
    table = Table(src.resource, src.schema, None, None, None, None, src, height)
    if keep:
        table.frame = pl.concat([k[0] for k in kept]) if kept else pl.DataFrame()
        table.text = pl.concat([k[1] for k in kept]) if kept else pl.DataFrame()
        table.rows = pl.concat([k[2] for k in kept]) if kept else pl.Series("row", [], dtype=pl.Int64)
        table.lines = pl.concat([k[3] for k in kept]) if lines_known else (
            table.rows.alias("line") if lines_known is False else None)
    return table, found, pending


def _parents_first(sources: dict[str, TableSource]) -> list[str]:
    """The tables in package order, each after the tables its foreign keys reference (a cycle in package order)."""
    order: list[str] = []
    left = list(sources)
    while left:
        ready = [n for n in left if all((fk.resource or n) in order or (fk.resource or n) == n
                                        or (fk.resource or n) not in sources for fk in sources[n].schema.foreign_keys)]
        order.append((ready or left)[0])
        left.remove(order[-1])
    return order


def read_tables(pkg: Package, *, allow_network: bool = False, keep: bool = True
                ) -> tuple[dict[str, Table], list[Finding]]:
    """Every table of the package, checked, with the findings of layer "tables" (never raises on bad data).
    `keep=False` keeps no rows (the tables are read again, in batches, by whoever needs them)."""
    sources: dict[str, TableSource] = {}
    by_table: dict[str, list[Finding]] = {name: [] for name in pkg.tables}
    for name, res in pkg.tables.items():
        src, found = read_table(pkg, res, allow_network=allow_network)
        by_table[name] += found
        if src is not None:
            sources[name] = src
    wanted: dict[str, list[tuple[str, ...]]] = {}
    for name, src in sources.items():
        for fk in src.schema.foreign_keys:
            wanted.setdefault(fk.resource or name, []).append(fk.ref_fields)
    tables: dict[str, Table] = {}
    sets: dict[tuple[str, tuple[str, ...]], KeySet] = {}
    pending: list[_Pending] = []
    late: list[Finding] = []
    spill = Spill()
    try:
        for name in _parents_first(sources):
            src = sources[name]
            while True:
                try:
                    table, found, waits = _check(src, keep, sets, list(dict.fromkeys(wanted.get(name, []))), spill)
                except Restart:
                    continue
                except SpillError as e:
                    by_table[name].append(Finding("too-large", f"{e}: the keys of table {name!r} were not checked",
                                                  file=src.file, layer=LAYER))
                except Exception as e:  # a reader failing mid-table (bytes not in its encoding, a bad archive)
                    by_table[name].append(reading_failure(pkg, src.resource, e))
                else:
                    tables[name] = table
                    by_table[name] += found
                    pending += waits
                break
        for wait in pending:
            parent = sets.get((wait.fk.resource or wait.table, wait.fk.ref_fields))
            if parent is None or not wait.parts:
                continue
            src = sources[wait.table]
            late += _fk_findings(src, wait.fk, _dangling(parent, pl.concat(wait.parts), wait.fk, spill))
    except SpillError as e:
        late.append(Finding("too-large", f"{e}: the foreign keys checked last were not checked", layer=LAYER))
    finally:
        spill.close()
    findings = [f for name in pkg.tables for f in by_table[name]] + late
    for name in sorted(set(pkg.tables) - set(tables)):
        keys = [f"{t.name}({','.join(fk.fields)})" for t in tables.values() for fk in t.schema.foreign_keys
                if (fk.resource or t.name) == name]
        if keys:
            message = f"table {name!r} could not be read, so the foreign keys to it were not checked: {', '.join(keys)}"
            findings.append(Finding("not-checked", message, file=pkg.tables[name].path, layer=LAYER))
    return tables, findings
