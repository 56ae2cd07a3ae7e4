"""Release builds: dist/<name>-<version>/ (CSV, Parquet, DuckDB, SHA256SUMS) and its zip.

Two builds of one commit are byte-identical, so a release can be rebuilt and checked by hash.
Everything is written into a hidden staging folder inside `--out` and renamed into place at the
end: a failed build leaves nothing half-written, and the next build removes a staging folder an
interrupted one left. Nothing is written outside `--out`; the package's files are read through
safeio; the DuckDB schema is built from validated values with every name quoted.

DuckDB needs care for byte identity (found in duckdb 2.0.1, see `write_duckdb`): string
compression writes uninitialised buffer slack (duckdb/duckdb#23382), and storage versions from
v1.4.0 on write a random database identifier into the main header (duckdb/duckdb#18823).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cbj_figures import safeio
from cbj_figures.constraints import applicable
from cbj_figures.conventions import is_figure_field
from cbj_figures.descriptor import check_descriptor
from cbj_figures.frames import arrow_table, typed_frame
from cbj_figures.package import Package, Resource, open_package, package_files
from cbj_figures.printed import Unit, declared_units
from cbj_figures.tables import Table, read_tables, typed_batches
from cbj_figures.views import View, ViewError, declared, ident, literal

SUMS = "SHA256SUMS"
EXTRAS = ("README.md", "LICENSE", "CHANGELOG.md", "CITATION.cff", "docs/data-dictionary.md")  # copied when present
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build clock leaks in
DUCKDB_STORAGE = "v1.3.0"  # newest storage version without the random header id; readable by DuckDB >= 1.3
DUCKDB_BLOCK = 16384  # the smallest block size: the tables are small and every column segment takes a block
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
SAFE_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$")


class BuildError(ValueError):
    """The package cannot be released as it is (invalid data, an unsafe name, a file missing, ...)."""


def build(root: str | Path = ".", out: str | Path = "dist") -> Path:
    """Build the release of the package at `root` into `out`; returns out/<name>-<version>."""
    if str(out).strip() == "":
        raise BuildError("--out must name a folder")
    pkg = open_package(root)
    out = Path(out)
    if out.resolve() == pkg.root.resolve():
        raise BuildError("--out must not be the package folder itself")
    errors = [f for f in check_descriptor(pkg) if f.severity == "error"]
    tables, found = read_tables(pkg, keep=pkg.conventions)  # a standard package's tables are written by streaming
    errors += [f for f in found if f.severity == "error"]
    if errors:
        shown = "; ".join(f"{f.location()}: {f.message}" for f in errors[:5])
        raise BuildError(f"the package has {len(errors)} error(s); validate and fix them first: {shown}")
    release = release_name(pkg)
    safeio.output_folder(out, package=pkg.root)  # created; no symlink from its root down to it
    _remove_stale_stages(out, release)
    stage = Path(tempfile.mkdtemp(prefix=f".{release}.", dir=out))
    try:
        folder = stage / release
        write_release(pkg, tables, folder)
        write_zip(folder, stage / f"{release}.zip")
        _publish(stage, out, release)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out / release


def release_name(pkg: Package) -> str:
    """<name>-<version>, both safe to use as a file name (nothing can point the build elsewhere)."""
    name, version = pkg.name, pkg.version
    if not name or not version:
        raise BuildError(f"{pkg.file} needs a name and a version to be released")
    if not SAFE_NAME.match(name) or not SAFE_VERSION.match(version):
        raise BuildError(f"name {name!r} and version {version!r} must be plain file names ([a-z0-9._-])")
    return f"{name}-{version}"


def _remove_stale_stages(out: Path, release: str) -> None:
    """A staging folder of this release left by an interrupted build (the name mkdtemp gave it)."""
    for path in out.glob(f".{glob_escape(release)}.*"):
        stale = re.fullmatch(rf"\.{re.escape(release)}\.[A-Za-z0-9_]+", path.name)
        if stale and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def pinned(descriptor: dict, folder: Path) -> dict:
    """A copy of `descriptor` whose local resources carry the sha256 and byte count of their files in `folder`."""
    descriptor = json.loads(json.dumps(descriptor))
    for resource in descriptor["resources"]:
        paths = resource.get("path")
        paths = paths if isinstance(paths, list) else [paths] if isinstance(paths, str) else []
        local = [safeio.relpath(p) for p in paths if isinstance(p, str) and "://" not in p]
        if not local:
            continue
        digest, size = _digest(folder, local)
        resource["hash"], resource["bytes"] = f"sha256:{digest}", size
    return descriptor


def _digest(folder: Path, paths: list[str]) -> tuple[str, int]:
    import hashlib

    digest, size = hashlib.sha256(), 0
    for rel in paths:
        with safeio.open_inside(folder, rel) as fh:
            for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


def rehash(root: str | Path = ".") -> list[str]:
    """Pin every resource in `root` to its current file (after a deliberate edit); names the changed ones.

    The only command that writes the descriptor (a JSON one): validation never does.
    """
    pkg = open_package(root)
    if not pkg.file.endswith(".json"):
        raise BuildError(f"rehash rewrites JSON descriptors only, not {pkg.file}")
    fresh = pinned(pkg.descriptor, pkg.root)
    pairs = zip(pkg.descriptor["resources"], fresh["resources"], strict=True)
    changed = [new.get("name", "?") for old, new in pairs if old != new]
    if changed:
        text = json.dumps(fresh, ensure_ascii=False, indent=2) + "\n"
        safeio.write(safeio.under(pkg.root, pkg.file), text)
    return changed


def write_release(pkg: Package, tables: dict[str, Table], folder: Path) -> None:
    """The release folder: package files, fresh hashes, Parquet, DuckDB, SHA256SUMS."""
    for rel in [*package_files(pkg), *EXTRAS]:
        if rel == pkg.file:
            continue
        try:
            with safeio.open_inside(pkg.root, rel, limit=safeio.MAX_DATA) as src:
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                with open(folder / rel, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)  # streamed: a data file may be larger than memory
        except FileNotFoundError:
            if rel in EXTRAS:
                continue
            raise BuildError(f"{rel}: file not found") from None
        except safeio.UnsafeInput as e:
            raise BuildError(f"{rel}: {e.message}") from None
    text = json.dumps(pinned(pkg.descriptor, folder), ensure_ascii=False, indent=2) + "\n"
    (folder / "datapackage.json").write_text(text, encoding="utf-8")
    units = declared_units(pkg.declared("units"))
    (folder / "parquet").mkdir()
    arrow: dict[str, pa.Table] = {}
    for name, t in tables.items():
        target = folder / "parquet" / f"{name}.parquet"
        if t.frame is None:  # not kept: written batch by batch; `arrow` holds its columns only (no rows)
            arrow[name] = _stream_parquet(t, target, pkg.translated("description"))
            continue
        arrow[name] = release_table(t, units, pkg.translated("description"))
        pq.write_table(arrow[name], target, compression="zstd", compression_level=9)
    write_duckdb(pkg, tables, arrow, folder / f"{pkg.name}.duckdb")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    sums = "".join(f"{safeio.file_digest(folder / rel)[0]}  {rel}\n" for rel in files)
    (folder / SUMS).write_text(sums, encoding="utf-8")


def _stream_parquet(t: Table, target: Path, described: tuple[str, ...]) -> pa.Table:
    """A table too large to keep, read again a batch at a time into one Parquet file; its empty Arrow table."""
    writer = None
    columns = {n: t.schema.field(n).kind.polars for n in t.columns}
    empty = arrow_table(t.schema, typed_frame(t.schema, pl.DataFrame(schema=columns)), {}, described)
    try:
        for frame in typed_batches(t):
            batch = arrow_table(t.schema, typed_frame(t.schema, frame), {}, described)
            if writer is None:
                writer = pq.ParquetWriter(target, batch.schema, compression="zstd", compression_level=9)
            writer.write_table(batch)
        if writer is None:
            pq.write_table(empty, target, compression="zstd", compression_level=9)
    finally:
        if writer is not None:
            writer.close()
    return empty if writer is None else pq.read_schema(target).empty_table()


# ---------------------------------------------------------------- figures as intervals


def figure_intervals(t: Table, units: dict[str, Unit]) -> dict[str, pa.Array]:
    """`<field>_low`, `<field>_high` of every figure field in a declared unit: the interval its printed
    text stands for, computed by the interval code the consistency checks use (unbounded ends are null)."""
    from cbj_figures.printed import parse_column

    out: dict[str, pa.Array] = {}
    for f in t.schema.fields:
        if not is_figure_field(f) or f.get("unit") not in units or f.get("printed") not in t.frame.columns:
            continue
        qualifier = t.frame.get_column(f.get("qualifier")) if f.get("qualifier") in t.frame.columns else None
        scaled = parse_column(t.frame.get_column(f.get("printed")), qualifier, units[f.get("unit")])
        ok = scaled.frame["present"] & scaled.frame["error"].is_null()
        lows, highs = [], []
        for good, lo, hi in zip(ok.to_list(), scaled.frame["lo"].to_list(), scaled.frame["hi"].to_list(), strict=True):
            lows.append(float(scaled.decimal(lo, low=True)) if good and lo is not None else None)
            highs.append(float(scaled.decimal(hi, low=False)) if good and hi is not None else None)
        out[f"{f.name}_low"], out[f"{f.name}_high"] = pa.array(lows, pa.float64()), pa.array(highs, pa.float64())
    return out


def release_table(t: Table, units: dict[str, Unit], described: tuple[str, ...] = ("description",)) -> pa.Table:
    return arrow_table(t.schema, typed_frame(t.schema, t.frame), figure_intervals(t, units), described)


# ---------------------------------------------------------------- DuckDB


def write_duckdb(pkg: Package, tables: dict[str, Table], arrow: dict[str, pa.Table], path: Path) -> None:
    """One database: typed tables with keys and checks, comments, the declared views and `figures`.

    Byte-reproducible because: one thread, `force_compression='uncompressed'` (no FSST/dictionary
    slack), storage version v1.3.0 (no random header id), and a CHECKPOINT before closing.
    """
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute("SET force_compression = 'uncompressed'")
        options = f"STORAGE_VERSION {literal(DUCKDB_STORAGE)}, BLOCK_SIZE {DUCKDB_BLOCK}"
        con.execute(f"ATTACH {literal(path)} AS {ident(path.stem)} ({options})")
        con.execute(f"USE {ident(path.stem)}")
        order, enforced = _creation_order(pkg, tables)
        for name in order:
            res = pkg.tables[name]
            streamed = tables[name].frame is None
            if streamed:  # rows inserted from the Parquet file in one statement: no waves for a self-reference
                enforced[name] = [fk for fk in enforced[name] if (fk.resource or name) != name]
            con.execute(_create_table(res, arrow[name], enforced[name]))
            dropped = [fk for fk in res.schema.foreign_keys if fk not in enforced[name]]
            _comment(con, res, dropped, pkg.translated("description"))
            if streamed:
                parquet = path.parent / "parquet" / f"{name}.parquet"
                con.execute(f"INSERT INTO {ident(res.name)} SELECT * FROM read_parquet({literal(str(parquet))})")
            else:
                _insert(con, res, arrow[name], enforced[name])
        try:
            views = declared(pkg.root)
        except ViewError as e:
            raise BuildError(str(e)) from None
        for view in views:
            _create_view(con, tables, view)
        _figures_view(con, tables, arrow, figure_columns(pkg, tables))
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _creation_order(pkg: Package, tables: dict[str, Table]) -> tuple[list[str], dict[str, list]]:
    """Referenced tables first; a foreign key that closes a cycle cannot be declared in DuckDB and is left out."""
    done: list[str] = []
    enforced: dict[str, list] = {}
    pending = [n for n in pkg.tables if n in tables]
    while pending:
        ready = [n for n in pending if all(r in done or r == n for r in _references(pkg.tables[n]))]
        name = (ready or pending)[0]  # stuck on a cycle: take the first in descriptor order
        schema = pkg.tables[name].schema
        enforced[name] = [fk for fk in schema.foreign_keys if _declarable(pkg, name, fk, done)]
        done.append(name)
        pending.remove(name)
    return done, enforced


def _references(res: Resource) -> set[str]:
    return {fk.resource or res.name for fk in res.schema.foreign_keys}


def _declarable(pkg: Package, name: str, fk: Any, done: list[str]) -> bool:
    """DuckDB needs the referenced table to exist and its fields to be its primary key or unique."""
    target = fk.resource or name
    if target not in pkg.tables or (target != name and target not in done):
        return False
    schema = pkg.tables[target].schema
    unique = [f.name for f in schema.fields if f.unique]
    return list(fk.ref_fields) == list(schema.primary_key) or (len(fk.ref_fields) == 1 and fk.ref_fields[0] in unique)


def _create_table(res: Resource, table: pa.Table, keys: list) -> str:
    schema = res.schema
    pk = list(schema.primary_key)
    lines = []
    for column in table.schema:
        f = schema.field(column.name)
        kind = f.kind.sql if f else "DOUBLE"
        col = f"{ident(column.name)} {kind}"
        checks = []
        if f is not None:
            if f.required and f.name not in pk:
                col += " NOT NULL"
            if f.unique and pk != [f.name]:
                col += " UNIQUE"
            for constraint, value in applicable(f):
                sql = constraint.backends.get("sql")
                if sql is not None and (check := sql(f, value, ident(f.name), literal)) is not None:
                    checks.append(check)
        lines.append(col + "".join(f" CHECK ({check})" for check in checks))
    if pk:
        lines.append(f"PRIMARY KEY ({', '.join(map(ident, pk))})")
    for fk in keys:
        lines.append(
            f"FOREIGN KEY ({', '.join(map(ident, fk.fields))}) REFERENCES "
            f"{ident(fk.resource or res.name)} ({', '.join(map(ident, fk.ref_fields))})"
        )
    return f"CREATE TABLE {ident(res.name)} (\n  " + ",\n  ".join(lines) + "\n)"


def _comment(con: Any, res: Resource, dropped: list, described: tuple[str, ...]) -> None:
    """Descriptions as comments; a foreign key DuckDB cannot declare is named there instead."""
    text = " / ".join(str(res.descriptor[k]) for k in ("title", "description") if res.descriptor.get(k))
    for fk in dropped:
        text += (f" [foreign key ({', '.join(fk.fields)}) -> {fk.resource or res.name}"
                 f"({', '.join(fk.ref_fields)}) holds but is not declared: it closes a cycle]")
    if text:
        con.execute(f"COMMENT ON TABLE {ident(res.name)} IS {literal(text)}")
    for f in res.schema.fields:
        parts = [*(f.get(k) for k in described), f.get("unit") and f"unit: {f.get('unit')}"]
        if any(parts):
            column = f"{ident(res.name)}.{ident(f.name)}"
            con.execute(f"COMMENT ON COLUMN {column} IS {literal(' / '.join(str(p) for p in parts if p))}")


def _insert(con: Any, res: Resource, table: pa.Table, keys: list) -> None:
    """Rows in CSV order; with a self-referencing key, in waves so each row's parent is already there."""
    columns = ", ".join(ident(n) for n in table.column_names)
    con.register("_rows", table.append_column("_row", pa.array(range(table.num_rows), pa.int64())))
    try:
        self_keys = [fk for fk in keys if (fk.resource or res.name) == res.name]
        for wave in _waves(table, self_keys):
            rows = ", ".join(str(int(i)) for i in wave)
            con.execute(
                f"INSERT INTO {ident(res.name)} SELECT {columns} FROM _rows WHERE _row IN ({rows}) ORDER BY _row"
            )
    finally:
        con.unregister("_rows")


def _waves(table: pa.Table, self_keys: list) -> list[list[int]]:
    """Row indices grouped so every self-reference points into an earlier group (DuckDB checks per statement)."""
    rows = table.to_pylist()
    if not self_keys:
        return [list(range(len(rows)))] if rows else []
    waves, placed, left = [], set(), list(range(len(rows)))
    while left:
        present = {(tuple(rows[i][f] for f in fk.ref_fields), id(fk)) for i in placed for fk in self_keys}
        wave = [
            i for i in left
            if all(
                all(rows[i][f] is None for f in fk.fields)
                or (tuple(rows[i][f] for f in fk.fields), id(fk)) in present
                for fk in self_keys
            )
        ]
        if not wave:
            raise BuildError(f"rows {left[:5]} reference rows of their own table that do not exist")
        waves.append(wave)
        placed.update(wave)
        left = [i for i in left if i not in placed]
    return waves


def _create_view(con: Any, tables: dict[str, Table], view: View) -> None:
    """Skipped when its table is absent; a table that lost a field the view needs fails the build."""
    import duckdb

    t = tables.get(view.table)
    if t is None:
        return
    missing = view.fields() - set(t.columns)
    if missing:
        raise BuildError(f"view {view.name}: table {view.table} has no field {sorted(missing)}; update the views "
                         "in schemas/fields.yaml")
    table, column, where = ident(view.table), ident(view.columns), view.condition()
    rows = ", ".join(map(ident, view.rows))
    try:
        query = f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM {table} WHERE {where} ORDER BY 1"
        headers = [r[0] for r in con.execute(query).fetchall()]
        value = ident(view.value)
        pivots = "".join(
            f",\n  max({value}) FILTER (WHERE CAST({column} AS VARCHAR) = {literal(h)}) AS {ident(str(h))}"
            for h in headers
        )
        con.execute(
            f"CREATE VIEW {ident(view.name)} AS\nSELECT {rows}{pivots}\nFROM {table}\nWHERE {where}\n"
            f"GROUP BY {rows}\nORDER BY min(rowid)"
        )
    except duckdb.Error as err:
        raise BuildError(f"view {view.name}: {err}") from err
    if view.description:
        con.execute(f"COMMENT ON VIEW {ident(view.name)} IS {literal(view.description)}")


def figure_columns(pkg: Package, tables: dict[str, Table]) -> tuple[str, ...]:
    """The columns of the `figures` view beside each figure: every table's `naturalKey` (what tells its figures
    apart), then the evidence fields the package declares (forecast, inferred, attribution, source, quote)."""
    from cbj_figures.evidence import Evidence

    with_figures = [t for t in tables.values() if any(is_figure_field(f) for f in t.schema.fields)]
    keys = [f for t in with_figures for f in (t.schema.get("naturalKey") or []) if isinstance(f, str)]
    figure_parts = {p for t in with_figures for f in t.schema.fields if is_figure_field(f)
                    for p in (f.name, f.get("printed"), f.get("qualifier"))}
    return tuple(c for c in dict.fromkeys([*keys, *Evidence.of(pkg).evidence_fields()]) if c not in figure_parts)


def _figures_view(con: Any, tables: dict[str, Table], arrow: dict[str, pa.Table], columns: tuple[str, ...]) -> None:
    """`figures`: every figure of every table in one long view, with the interval its printing allows."""
    parts = []
    for name, t in tables.items():
        pk = list(t.schema.primary_key)
        for f in t.schema.fields:
            low = f"{f.name}_low"
            if low not in arrow[name].column_names or len(pk) != 1:
                continue
            cols = set(arrow[name].column_names)
            extra = ", ".join(
                f"CAST({ident(c)} AS VARCHAR) AS {ident(c)}" if c in cols else f"CAST(NULL AS VARCHAR) AS {ident(c)}"
                for c in columns
            )
            qualifier = f.get("qualifier")
            qualifier = f"CAST({ident(qualifier)} AS VARCHAR)" if qualifier in cols else "'exact'"
            parts.append(
                f'SELECT {literal(name)} AS "table", CAST({ident(pk[0])} AS VARCHAR) AS id, {literal(f.name)} AS field,'
                f" CAST({ident(f.name)} AS DOUBLE) AS value, CAST({ident(f.get('printed'))} AS VARCHAR) AS printed,"
                f" {qualifier} AS qualifier, {ident(low)} AS low, {ident(f.name + '_high')} AS high,"
                f" {literal(f.get('unit'))} AS unit, {extra} FROM {ident(name)} WHERE {ident(f.name)} IS NOT NULL"
            )
    if parts:
        con.execute('CREATE VIEW "figures" AS\n' + "\nUNION ALL\n".join(parts))
        con.execute("COMMENT ON VIEW \"figures\" IS " + literal(
            "Every figure of every table: its value, printed text, qualifier and the interval [low, high] its "
            "printed precision and qualifier allow (null where unbounded)"))


# ---------------------------------------------------------------- the zip, and publishing


def write_zip(folder: Path, target: Path) -> None:
    """Sorted entries under <folder name>/, a fixed timestamp, mode 0644, deflate level 9."""
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w") as archive:
        for rel in files:
            info = zipfile.ZipInfo(f"{folder.name}/{rel}", date_time=ZIP_TIME)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (folder / rel).read_bytes(), compresslevel=9)


def _publish(stage: Path, out: Path, release: str) -> None:
    """Move the finished folder and zip into place; an older build of the same version is replaced."""
    folder, zipped = out / release, out / f"{release}.zip"
    old = stage / "previous"
    old.mkdir()
    for path in (folder, zipped):
        if path.exists() or path.is_symlink():
            os.replace(path, old / path.name)
    try:
        os.replace(stage / f"{release}.zip", zipped)
        os.replace(stage / release, folder)
    except OSError:
        for path in (folder, zipped):  # put back what was there before
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            if (old / path.name).exists():
                os.replace(old / path.name, path)
        raise

