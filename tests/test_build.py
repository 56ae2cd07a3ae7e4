"""Release builds: byte-identical twice, atomic on failure, typed Parquet, a DuckDB with keys and views."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cbj_figures.build import BuildError, build, rehash
from cbj_figures.conventions import is_figure_field
from cbj_figures.loader import verify
from cbj_figures.package import copy_package
from cbj_figures.registry import REGISTRY
from cbj_figures.safeio import file_digest

build_module = importlib.import_module("cbj_figures.build")  # the module, even if the package re-exports build()
REPO = Path(__file__).resolve().parents[1]
NAME = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))["name"]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_with_registry(src: Path, dest: Path) -> Path:
    """The package's files and its field registry, which now declares the release's views."""
    root = copy_package(src, dest)
    (root / REGISTRY).write_bytes((src / REGISTRY).read_bytes())
    return root


@pytest.fixture
def pkg(repo_package: Path) -> Path:
    """The repository's package, shared and read-only (tests copy it to edit it); `release` is its build."""
    return repo_package


@pytest.mark.slow  # three builds, one in a new process
def test_two_builds_are_byte_identical(pkg: Path, release: Path, tmp_path: Path) -> None:
    again = build(pkg, tmp_path / "elsewhere")
    assert again.name == release.name
    first, second = _files(release), _files(again)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []  # includes the .duckdb and .parquet files
    zip_a, zip_b = release.parent / f"{release.name}.zip", again.parent / f"{again.name}.zip"
    assert zip_a.read_bytes() == zip_b.read_bytes()
    elsewhere = tmp_path / "in-a-new-process"
    code = f"from cbj_figures.build import build; build({str(pkg)!r}, {str(elsewhere)!r})"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert _files(elsewhere / release.name) == first
    assert (elsewhere / f"{release.name}.zip").read_bytes() == zip_a.read_bytes()


def test_release_layout_and_hashes(release: Path) -> None:
    assert release.name.startswith(f"{NAME}-")
    files = _files(release)
    assert {"datapackage.json", "SHA256SUMS", f"{NAME}.duckdb", "parquet/market_size.parquet"} <= set(files)
    assert "resources/sources/000_d31d061fede478c7.txt" in files
    descriptor = json.loads(files["datapackage.json"])
    for resource in descriptor["resources"]:
        path = release / resource["path"]
        assert resource["hash"] == f"sha256:{file_digest(path)[0]}"
        assert resource["bytes"] == path.stat().st_size
    verify(release, descriptor, require_hashes=True)  # SHA256SUMS too


def test_zip_is_sorted_with_fixed_times_and_modes(release: Path) -> None:
    with zipfile.ZipFile(release.parent / f"{release.name}.zip") as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(n.startswith(f"{release.name}/") for n in names)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}
        assert archive.read(f"{release.name}/datapackage.json") == (release / "datapackage.json").read_bytes()


def test_parquet_columns_types_and_row_order(release: Path) -> None:
    schema = json.loads((REPO / "schemas" / "company_financials.json").read_text(encoding="utf-8"))
    table = pq.read_table(release / "parquet" / "company_financials.parquet")
    # each figure field is followed by the interval its printed text stands for (new with the restructure)
    expected = [
        name
        for f in schema["fields"]
        for name in ([f["name"], f"{f['name']}_low", f"{f['name']}_high"] if is_figure_field(f) else [f["name"]])
    ]
    assert table.column_names == expected
    assert "value_low" in expected
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types["value"] == pa.float64()
    assert types["is_forecast"] == pa.bool_()
    assert types["figure_id"] == pa.string()
    assert types["metric"] == pa.dictionary(pa.int32(), pa.string())
    assert table.schema.field("value").metadata[b"unit"] == b"CNY million"
    assert not table.schema.field("figure_id").nullable
    assert types["value_low"] == types["value_high"] == pa.float64()
    row = table.column("figure_id").to_pylist().index("jiliu-revenue-2025-total")  # printed 5.20亿元, exact
    assert (table.column("value_low")[row].as_py(), table.column("value_high")[row].as_py()) == (519.5, 520.5)
    lines = (REPO / "resources" / "company_financials.csv").read_text(encoding="utf-8").splitlines()
    csv_ids = [line.split(",")[0] for line in lines[1:]]
    assert table.column("figure_id").to_pylist() == csv_ids
    counts = pq.read_table(release / "parquet" / "company_counts.parquet")
    assert counts.schema.field("value").type == pa.int64()


def test_duckdb_has_tables_keys_and_views(release: Path) -> None:
    con = duckdb.connect(str(release / f"{NAME}.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        descriptor = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
        assert tables == {r["name"] for r in descriptor["resources"] if r.get("type") == "table"}
        constraints = con.execute(
            "SELECT table_name, constraint_type, constraint_column_names, referenced_table FROM duckdb_constraints()"
        ).fetchall()
        assert ("company_financials", "PRIMARY KEY", ["figure_id"], None) in constraints
        assert ("company_financials", "FOREIGN KEY", ["source_id"], "sources") in constraints
        assert ("sources", "FOREIGN KEY", ["reported_in"], "sources") in constraints  # self-reference
        query = "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'company_counts'"
        kinds = dict(con.execute(query).fetchall())
        assert kinds["value"] == "BIGINT" and kinds["is_forecast"] == "BOOLEAN"
        wide = con.execute(
            "SELECT segment, \"2023\", \"2025\" FROM revenue_by_segment_year WHERE entity_id = 'jiliu_technology'"
        ).fetchall()
        assert wide[0] == ("total", 31.8, 520.0)
        assert ("ai_cluster_products", None, 437.0) in wide
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert {"revenue_by_segment_year", "market_size_by_year", "figures"} <= views
        figure = con.execute(
            "SELECT \"table\", field, value, printed, low, high FROM figures WHERE id = 'jiliu-revenue-2025-total'"
        ).fetchall()
        assert figure == [("company_financials", "value", 520.0, "5.20亿元", 519.5, 520.5)]
        rows = con.execute("SELECT count(*) FROM market_size").fetchone()
        assert rows is not None and rows[0] == len(pq.read_table(release / "parquet" / "market_size.parquet"))
    finally:
        con.close()


def test_duckdb_enforces_the_keys(release: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes((release / f"{NAME}.duckdb").read_bytes())
    con = duckdb.connect(str(copy))
    try:
        with pytest.raises(duckdb.ConstraintException):
            con.execute("UPDATE market_size SET source_id = 'no-such-source' WHERE true")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO company_financials SELECT * FROM company_financials LIMIT 1")
    finally:
        con.close()


def test_failed_build_leaves_no_release(pkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table file vanishes after the tables were read: the copy step fails, nothing is left behind.

    Since the restructure the copy step reads through safeio and says which file is missing (a BuildError,
    no longer a bare FileNotFoundError)."""
    work = copy_package(pkg, tmp_path / "pkg")
    real = build_module.read_tables

    def read_then_lose_a_file(spec, **options):  # type: ignore[no-untyped-def]
        result = real(spec, **options)
        (work / "resources" / "market_size.csv").unlink()
        return result

    monkeypatch.setattr(build_module, "read_tables", read_then_lose_a_file)
    out = tmp_path / "dist"
    with pytest.raises(BuildError, match=r"resources/market_size\.csv: file not found"):
        build(work, out)
    assert list(out.iterdir()) == []  # no release folder, no zip, no temporary folder


def test_failed_rebuild_keeps_the_previous_release(pkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "dist"
    first = build(pkg, out)
    before = _files(first)

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "write_duckdb", broken)
    with pytest.raises(RuntimeError):
        build(pkg, out)
    assert _files(first) == before
    assert sorted(p.name for p in out.iterdir()) == sorted([first.name, f"{first.name}.zip"])


def test_a_view_losing_its_field_fails_the_build(pkg: Path, tmp_path: Path) -> None:
    work = copy_with_registry(pkg, tmp_path / "pkg")
    schema_path, csv_path = work / "schemas" / "market_size.json", work / "resources" / "market_size.csv"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    next(f for f in schema["fields"] if f["name"] == "period")["name"] = "year"
    schema_path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    text = csv_path.read_text(encoding="utf-8")
    csv_path.write_text(text.replace(",period,", ",year,", 1), encoding="utf-8")
    assert rehash(work) == ["market_size"]  # a deliberate edit: the descriptor layer checks the pinned hashes
    with pytest.raises(BuildError, match="market_size_by_year"):
        build(work, tmp_path / "dist")
    assert list((tmp_path / "dist").iterdir()) == []


def test_invalid_data_is_not_released(pkg: Path, tmp_path: Path) -> None:
    work = copy_package(pkg, tmp_path / "pkg")
    csv = work / "resources" / "market_size.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",13800,", ",lots,"), encoding="utf-8")
    assert rehash(work) == ["market_size"]  # pinned again, so the data itself is what fails
    with pytest.raises(BuildError, match=r"1 error\(s\).*resources/market_size\.csv.*'lots'"):
        build(work, tmp_path / "dist")
    assert not (tmp_path / "dist").exists() or list((tmp_path / "dist").iterdir()) == []


def test_every_field_type_is_typed(tmp_path: Path) -> None:
    """Types the real tables do not use yet (date, datetime, year) in a package written here."""
    root = tmp_path / "pkg"
    (root / "schemas").mkdir(parents=True)
    (root / "resources").mkdir()
    fields = [
        {"name": "id", "type": "string", "constraints": {"required": True}},
        {"name": "day", "type": "date"},
        {"name": "at", "type": "datetime"},
        {"name": "year", "type": "year"},
        {"name": "n", "type": "integer", "constraints": {"minimum": 0}},
        {"name": "parent", "type": "string"},
    ]
    schema = {"fields": fields, "primaryKey": ["id"],
              "foreignKeys": [{"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}}]}
    (root / "schemas" / "t.json").write_text(json.dumps(schema), encoding="utf-8")
    rows = "id,day,at,year,n,parent\nb,2026-04-07,2026-04-07T08:30:00Z,2026,,a\na,,,,3,\n"
    (root / "resources" / "t.csv").write_text(rows, encoding="utf-8")
    resource = {"name": "t", "type": "table", "path": "resources/t.csv", "schema": "schemas/t.json"}
    descriptor = {"name": "typed", "version": "1.2.3", "resources": [resource]}
    (root / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    release = build(root, tmp_path / "dist")
    table = pq.read_table(release / "parquet" / "t.parquet")
    assert table.schema.types == [pa.string(), pa.date32(), pa.timestamp("us"), pa.int64(), pa.int64(), pa.string()]
    assert table.column("id").to_pylist() == ["b", "a"]  # CSV order, though "b" references "a"
    con = duckdb.connect(str(release / "typed.duckdb"), read_only=True)
    try:
        types = con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 't'").fetchall()
        assert [t[0] for t in types] == ["VARCHAR", "DATE", "TIMESTAMP", "BIGINT", "BIGINT", "VARCHAR"]
        assert con.execute("SELECT id, parent FROM t ORDER BY id").fetchall() == [("a", None), ("b", "a")]
    finally:
        con.close()
