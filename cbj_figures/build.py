"""Release builds: dist/<name>-<version>/ (CSV, Parquet, DuckDB, SHA256SUMS) and its zip.

Two builds of one commit are byte-identical, so a release can be rebuilt and checked by hash.
DuckDB needs care for that (found in duckdb 2.0.1, see `write_duckdb`): string compression writes
uninitialised buffer slack into the file (duckdb/duckdb#23382), and storage versions from
v1.4.0 on write a random database identifier into the main header (duckdb/duckdb#18823).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cbj_figures.descriptor import PackageSpec, TableSpec, as_list, file_digest, load_package
from cbj_figures.loader import SUMS, package_files, resource_paths, typed_frame
from cbj_figures.tables import LoadedTable, read_tables

EXTRAS = ("README.md", "LICENSE", "CHANGELOG.md", "CITATION.cff", "docs/data-dictionary.md")  # copied when present
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build clock leaks in
DUCKDB_STORAGE = "v1.3.0"  # newest storage version without the random header id; readable by DuckDB >= 1.3
DUCKDB_BLOCK = 16384  # the smallest block size: the tables are small and every column segment takes a block
_ARROW = {"integer": pa.int64(), "year": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(), "date": pa.date32(),
          "datetime": pa.timestamp("us"), "time": pa.time64("us")}
_SQL = {"integer": "BIGINT", "year": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
        "datetime": "TIMESTAMP", "time": "TIME"}


class BuildError(ValueError):
    """The package cannot be released as it is (invalid data, a file missing, ...)."""


@dataclass(frozen=True)
class Pivot:
    """A wide view over a tidy table: one row per `rows` group, one column per value of `column`."""

    name: str
    table: str
    rows: tuple[str, ...]
    column: str
    value: str = "value"
    where: str = "TRUE"
    description: str = ""


YEAR = "regexp_full_match(period, '[0-9]{4}') AND base_period IS NULL"
VIEWS = (
    Pivot("revenue_by_segment_year", "company_financials", ("entity_id", "segment"), "period",
          where=f"metric = 'revenue' AND {YEAR}", description="Revenue (CNY million) by segment and year"),
    Pivot("company_financials_by_year", "company_financials", ("entity_id", "metric", "segment"), "period",
          where=YEAR, description="Yearly financial levels (CNY million), one column per year"),
    Pivot("company_ratios_by_year", "company_ratios", ("entity_id", "metric", "segment"), "period",
          where=YEAR, description="Yearly company ratios (percent), one column per year"),
    Pivot("market_size_by_year", "market_size", ("entity_id",), "period",
          where=YEAR, description="Market size (CNY million) by market and year"),
)


def build(root: str | Path = ".", out: str | Path = "dist") -> Path:
    """Build the release of the package at `root` into `out`; returns out/<name>-<version>.

    Everything is written into a temporary folder beside the target and renamed into place
    at the end, so a failed build leaves no half-written release (and keeps an older one).
    """
    pkg = load_package(Path(root))
    tables, findings = read_tables(pkg)
    if findings:
        shown = "; ".join(f"{f.location()}: {f.message}" for f in findings[:5])
        raise BuildError(f"the package has {len(findings)} table finding(s), fix them first: {shown}")
    if not pkg.descriptor.get("name") or not pkg.descriptor.get("version"):
        raise BuildError("datapackage.json needs a name and a version to be released")
    release = f"{pkg.descriptor['name']}-{pkg.descriptor['version']}"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{release}.", dir=out))
    try:
        folder = stage / release
        write_release(pkg, tables, folder)
        write_zip(folder, stage / f"{release}.zip")
        _publish(stage, out, release)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out / release


def pinned(descriptor: dict, folder: Path) -> dict:
    """A copy of `descriptor` whose resources carry the sha256 and byte count of their files in `folder`."""
    descriptor = json.loads(json.dumps(descriptor))
    for resource in descriptor["resources"]:
        for rel in resource_paths(resource):
            sha, size = file_digest(folder / rel)
            resource["hash"], resource["bytes"] = f"sha256:{sha}", size
    return descriptor


def rehash(root: str | Path = ".") -> list[str]:
    """Pin every resource in `root` to its current file (after a deliberate edit); names the changed ones.

    The only command that writes datapackage.json: validation never does.
    """
    root = Path(root)
    pkg = load_package(root)
    fresh = pinned(pkg.descriptor, root)
    pairs = zip(pkg.descriptor["resources"], fresh["resources"], strict=True)
    changed = [new["name"] for old, new in pairs if old != new]
    if changed:
        text = json.dumps(fresh, ensure_ascii=False, indent=2) + "\n"
        tmp = root / "datapackage.json.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(root / "datapackage.json")
    return changed


def write_release(pkg: PackageSpec, tables: dict[str, LoadedTable], folder: Path) -> None:
    """The release folder: package files, fresh hashes, Parquet, DuckDB, SHA256SUMS."""
    for rel in [*package_files(pkg), *(e for e in EXTRAS if (pkg.root / e).is_file())]:
        if rel == "datapackage.json":
            continue
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pkg.root / rel, folder / rel)
    text = json.dumps(pinned(pkg.descriptor, folder), ensure_ascii=False, indent=2) + "\n"
    (folder / "datapackage.json").write_text(text, encoding="utf-8")
    arrow = {name: arrow_table(pkg.tables[name], tables[name].frame) for name in pkg.tables}
    (folder / "parquet").mkdir()
    for name, table in arrow.items():
        pq.write_table(table, folder / "parquet" / f"{name}.parquet", compression="zstd", compression_level=9)
    write_duckdb(pkg, arrow, folder / f"{pkg.descriptor['name']}.duckdb")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    sums = "".join(f"{file_digest(folder / rel)[0]}  {rel}\n" for rel in files)
    (folder / SUMS).write_text(sums, encoding="utf-8")


def arrow_table(spec: TableSpec, frame: pl.DataFrame) -> pa.Table:
    """Columns in schema order, Arrow types from the schema; enums as dictionaries in enum order."""
    frame = typed_frame(spec, frame)
    arrays, fields = [], []
    for field in spec.schema["fields"]:
        name, kind = field["name"], field.get("type", "string")
        values = frame.get_column(name).cast(pl.Utf8 if kind == "string" else frame.schema[name]).to_list()
        enum = (field.get("constraints") or {}).get("enum")
        if enum and kind == "string":
            categories = [str(v) for v in enum]
            indices = pa.array([None if v is None else categories.index(v) for v in values], pa.int32())
            array: pa.Array = pa.DictionaryArray.from_arrays(indices, pa.array(categories, pa.string()))
        else:
            array = pa.array(values, _ARROW.get(kind, pa.string()))
        meta = {k: str(field[k]) for k in ("description", "description_zh", "unit") if k in field}
        arrays.append(array)
        fields.append(pa.field(name, array.type, nullable=not _required(field), metadata=meta or None))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _required(field: dict) -> bool:
    return bool((field.get("constraints") or {}).get("required"))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def write_duckdb(pkg: PackageSpec, arrow: dict[str, pa.Table], path: Path) -> None:
    """One database: typed tables with keys and checks, comments, and the pivot views.

    Byte-reproducible because: one thread, `force_compression='uncompressed'` (no FSST/dictionary
    slack), storage version v1.3.0 (no random header id), and a CHECKPOINT before closing.
    """
    import duckdb

    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute("SET force_compression = 'uncompressed'")
        options = f"STORAGE_VERSION '{DUCKDB_STORAGE}', BLOCK_SIZE {DUCKDB_BLOCK}"
        con.execute(f"ATTACH {_lit(path)} AS {_q(path.stem)} ({options})")
        con.execute(f"USE {_q(path.stem)}")
        order, enforced = _creation_order(pkg)
        for name in order:
            spec = pkg.tables[name]
            con.execute(_create_table(spec, enforced[name]))
            dropped = [fk for fk in spec.schema.get("foreignKeys", []) if fk not in enforced[name]]
            _comment(con, spec, dropped)
            _insert(con, spec, arrow[name], enforced[name])
        for view in VIEWS:
            _create_view(con, pkg, view)
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _creation_order(pkg: PackageSpec) -> tuple[list[str], dict[str, list[dict]]]:
    """Referenced tables first; a foreign key that closes a cycle cannot be declared in DuckDB and is left out."""
    done: list[str] = []
    enforced: dict[str, list[dict]] = {}
    pending = list(pkg.tables)
    while pending:
        ready = [n for n in pending if all(r in done or r == n for r in _references(pkg.tables[n]))]
        name = (ready or pending)[0]  # stuck on a cycle: take the first in descriptor order
        keys = [fk for fk in pkg.tables[name].schema.get("foreignKeys", []) if _declarable(pkg, name, fk, done)]
        enforced[name] = keys
        done.append(name)
        pending.remove(name)
    return done, enforced


def _references(spec: TableSpec) -> set[str]:
    return {fk.get("reference", {}).get("resource") or spec.name for fk in spec.schema.get("foreignKeys", [])}


def _declarable(pkg: PackageSpec, name: str, fk: dict, done: list[str]) -> bool:
    """DuckDB needs the referenced table to exist and its fields to be its primary key or unique."""
    target = fk.get("reference", {}).get("resource") or name
    if target != name and target not in done:
        return False
    schema = pkg.tables[target].schema
    fields = as_list(fk["reference"].get("fields"))
    unique = [f["name"] for f in schema["fields"] if (f.get("constraints") or {}).get("unique")]
    return fields == as_list(schema.get("primaryKey")) or (len(fields) == 1 and fields[0] in unique)


def _create_table(spec: TableSpec, keys: list[dict]) -> str:
    pk = as_list(spec.schema.get("primaryKey"))
    lines = []
    for field in spec.schema["fields"]:
        c = field.get("constraints") or {}
        col = f"{_q(field['name'])} {_SQL.get(field.get('type', 'string'), 'VARCHAR')}"
        if c.get("required") and field["name"] not in pk:
            col += " NOT NULL"
        if c.get("unique") and pk != [field["name"]]:
            col += " UNIQUE"
        checks = [f"{_q(field['name'])} IN ({', '.join(_lit(v) for v in c['enum'])})"] if "enum" in c else []
        for rule, op in (("minimum", ">="), ("maximum", "<="), ("exclusiveMinimum", ">"), ("exclusiveMaximum", "<")):
            if rule in c and field.get("type") in ("integer", "number", "year"):
                checks.append(f"{_q(field['name'])} {op} {c[rule]}")
        lines.append(col + "".join(f" CHECK ({check})" for check in checks))
    if pk:
        lines.append(f"PRIMARY KEY ({', '.join(map(_q, pk))})")
    for fk in keys:
        ref = fk["reference"]
        lines.append(
            f"FOREIGN KEY ({', '.join(map(_q, as_list(fk['fields'])))}) REFERENCES "
            f"{_q(ref.get('resource') or spec.name)} ({', '.join(map(_q, as_list(ref['fields'])))})"
        )
    return f"CREATE TABLE {_q(spec.name)} (\n  " + ",\n  ".join(lines) + "\n)"


def _comment(con: Any, spec: TableSpec, dropped: list[dict]) -> None:
    """Descriptions as comments; a foreign key DuckDB cannot declare is named there instead."""
    text = " / ".join(str(spec.resource[k]) for k in ("title", "description") if spec.resource.get(k))
    for fk in dropped:
        ref = fk["reference"]
        text += (f" [foreign key ({', '.join(as_list(fk['fields']))}) -> {ref.get('resource') or spec.name}"
                 f"({', '.join(as_list(ref['fields']))}) holds but is not declared: it closes a cycle]")
    if text:
        con.execute(f"COMMENT ON TABLE {_q(spec.name)} IS {_lit(text)}")
    for field in spec.schema["fields"]:
        parts = [field.get("description"), field.get("description_zh"), field.get("unit") and f"unit: {field['unit']}"]
        if any(parts):
            column = f"{_q(spec.name)}.{_q(field['name'])}"
            con.execute(f"COMMENT ON COLUMN {column} IS {_lit(' / '.join(p for p in parts if p))}")


def _insert(con: Any, spec: TableSpec, table: pa.Table, keys: list[dict]) -> None:
    """Rows in CSV order; with a self-referencing key, in waves so each row's parent is already there."""
    columns = ", ".join(_q(n) for n in table.column_names)
    con.register("_rows", table.append_column("_row", pa.array(range(table.num_rows), pa.int64())))
    try:
        self_keys = [fk for fk in keys if (fk["reference"].get("resource") or spec.name) == spec.name]
        for wave in _waves(table, self_keys):
            rows = ", ".join(str(i) for i in wave)
            con.execute(f"INSERT INTO {_q(spec.name)} SELECT {columns} FROM _rows WHERE _row IN ({rows}) ORDER BY _row")
    finally:
        con.unregister("_rows")


def _waves(table: pa.Table, self_keys: list[dict]) -> list[list[int]]:
    """Row indices grouped so every self-reference points into an earlier group (DuckDB checks per statement)."""
    rows = table.to_pylist()
    if not self_keys:
        return [list(range(len(rows)))] if rows else []
    waves, placed, left = [], set(), list(range(len(rows)))
    while left:
        present = {(_key(rows[i], fk["reference"]["fields"]), id(fk)) for i in placed for fk in self_keys}
        wave = [
            i for i in left
            if all(
                all(rows[i][f] is None for f in as_list(fk["fields"]))
                or (_key(rows[i], fk["fields"]), id(fk)) in present
                for fk in self_keys
            )
        ]
        if not wave:
            raise BuildError(f"rows {left[:5]} reference rows of their own table that do not exist")
        waves.append(wave)
        placed.update(wave)
        left = [i for i in left if i not in placed]
    return waves


def _key(row: dict, fields: object) -> tuple:
    return tuple(row[f] for f in as_list(fields))


def _create_view(con: Any, pkg: PackageSpec, view: Pivot) -> None:
    """Skipped when its table is absent (another package); a table that lost a field the view needs fails."""
    import duckdb

    spec = pkg.tables.get(view.table)
    if spec is None:
        return
    missing = {*view.rows, view.column, view.value} - set(spec.field_names)
    if missing:
        raise BuildError(f"view {view.name}: table {view.table} has no field {sorted(missing)}; update build.VIEWS")
    table, column = _q(view.table), _q(view.column)
    rows = ", ".join(map(_q, view.rows))
    try:
        query = f"SELECT DISTINCT {column} FROM {table} WHERE {view.where} ORDER BY 1"
        headers = [r[0] for r in con.execute(query).fetchall()]
        value = _q(view.value)
        pivots = "".join(f",\n  max({value}) FILTER (WHERE {column} = {_lit(h)}) AS {_q(str(h))}" for h in headers)
        con.execute(
            f"CREATE VIEW {_q(view.name)} AS\nSELECT {rows}{pivots}\nFROM {table}\nWHERE {view.where}\n"
            f"GROUP BY {rows}\nORDER BY min(rowid)"
        )
    except duckdb.Error as err:
        raise BuildError(f"view {view.name}: {err}") from err
    if view.description:
        con.execute(f"COMMENT ON VIEW {_q(view.name)} IS {_lit(view.description)}")


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
        if path.exists():
            os.replace(path, old / path.name)
    try:
        os.replace(stage / f"{release}.zip", zipped)
        os.replace(stage / release, folder)
    except OSError:
        for path in (folder, zipped):  # put back what was there before
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            if (old / path.name).exists():
                os.replace(old / path.name, path)
        raise
