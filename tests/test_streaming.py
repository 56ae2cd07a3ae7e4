"""The streaming tables layer: a table in many batches and its key sets spilled give the findings of one batch."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest

from cbj_figures import keys, read
from cbj_figures.package import open_package
from cbj_figures.tables import read_tables

V2 = "https://datapackage.org/profiles/2.0/datapackage.json"
ROWS = 3000
DUP_ID, DANGLING_GROUP, DUP_CODE, NEGATIVE, NOT_A_NUMBER, BAD_PARENT = 2900, 1500, 2500, 700, 1200, 2990


@contextmanager
def small_batches(block: int = 512, rows: int = 7, key_memory: int = 0) -> Iterator[None]:
    with mock.patch.object(read, "BATCH_BYTES", block), mock.patch.object(read, "GENERAL_ROWS", rows), \
            mock.patch.object(keys, "KEY_MEMORY", key_memory):
        yield


def write_package(root: Path, *, ragged_at: int | None = None, crlf: bool = True, planted: bool = True) -> Path:
    """`groups` and `items` (ROWS rows, notes over several lines with CRLF and LF, a self-reference), with one
    planted error of each kind at known rows."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "groups.csv").write_text("id\n" + "".join(f"g{i}\n" for i in range(20)), encoding="utf-8")
    end = "\r\n" if crlf else "\n"
    with open(root / "items.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator=end)
        w.writerow(["id", "group", "code", "amount", "note", "parent"])
        for i in range(ROWS):
            note = f"first\r\nsecond {i}" if i % 11 == 0 else f"one\nline {i}" if i % 13 == 0 else f"n{i}"
            row = [i, f"g{i % 20}", f"c{i}", f"{i * 1.5}", note, "" if i == 0 else i - 1]
            if not planted:
                w.writerow(row)
                continue
            row[0] = 17 if i == DUP_ID else row[0]
            row[1] = "g99" if i == DANGLING_GROUP else row[1]
            row[2] = "c3" if i == DUP_CODE else row[2]
            row[3] = "-1" if i == NEGATIVE else "abc" if i == NOT_A_NUMBER else row[3]
            row[5] = 99999 if i == BAD_PARENT else i - 2 if i == DUP_ID + 1 else row[5]  # id DUP_ID is gone
            w.writerow(row + (["extra"] if i == ragged_at else []))
    schema = {
        "fields": [
            {"name": "id", "type": "integer"}, {"name": "group", "type": "string"},
            {"name": "code", "type": "string", "constraints": {"unique": True, "pattern": "c[0-9]+"}},
            {"name": "amount", "type": "number", "constraints": {"minimum": 0}},
            {"name": "note", "type": "string"}, {"name": "parent", "type": "integer"},
        ],
        "primaryKey": ["id"],
        "foreignKeys": [{"fields": ["group"], "reference": {"resource": "groups", "fields": ["id"]}},
                        {"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}}],
    }
    descriptor = {"$schema": V2, "name": "streamed", "resources": [
        {"name": "items", "type": "table", "path": "items.csv", "format": "csv", "schema": schema},
        {"name": "groups", "type": "table", "path": "groups.csv", "format": "csv",
         "schema": {"fields": [{"name": "id", "type": "string"}], "primaryKey": ["id"]}},
    ]}
    (root / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return root


def physical_lines(path: Path) -> list[int]:
    """The first line of each record after the header, as Python's csv module counts lines."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader, starts, prev = csv.reader(fh), [], 0
        for _ in reader:
            starts.append(prev + 1)
            prev = reader.line_num
    return starts[1:]


def findings(root: Path) -> list[tuple]:
    _, found = read_tables(open_package(root), keep=False)
    return sorted((f.code, f.file or "", f.row or 0, f.line or 0, f.field or "", f.rule or "", f.message)
                  for f in found)


@pytest.fixture(scope="module")
def package() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield write_package(Path(tmp) / "pkg")


def test_planted_errors_at_their_rows_and_lines(package: Path) -> None:
    lines = physical_lines(package / "items.csv")
    got = {(code, row, line, field) for code, _, row, line, field, _, _ in findings(package)}
    expected = {
        ("primary-key", DUP_ID + 2, lines[DUP_ID], "id"),
        ("foreign-key", DANGLING_GROUP + 2, lines[DANGLING_GROUP], "group"),
        ("unique-error", DUP_CODE + 2, lines[DUP_CODE], "code"),
        ("constraint-error", NEGATIVE + 2, lines[NEGATIVE], "amount"),
        ("type-error", NOT_A_NUMBER + 2, lines[NOT_A_NUMBER], "amount"),
        ("foreign-key", BAD_PARENT + 2, lines[BAD_PARENT], "parent"),
    }
    assert got == expected
    assert lines[-1] > ROWS + 200  # the notes span lines: rows and lines part ways


@pytest.mark.parametrize("key_memory", [0, 1 << 30])
def test_many_batches_and_spilled_keys_find_the_same(package: Path, key_memory: int) -> None:
    whole = findings(package)
    with small_batches(key_memory=key_memory):
        assert findings(package) == whole


def test_a_ragged_row_late_in_the_file_reads_the_table_again(tmp_path: Path) -> None:
    """The bulk reader has already passed batches when it meets the ragged row: the general path starts over."""
    root = write_package(tmp_path / "pkg", ragged_at=2800, crlf=False)
    whole = findings(root)
    assert ("extra-cell", 2802) in {(f[0], f[2]) for f in whole}
    with small_batches():
        assert findings(root) == whole


def test_a_table_not_kept_is_read_again_for_the_build(tmp_path: Path) -> None:
    import duckdb
    import pyarrow.parquet as pq

    from cbj_figures.build import write_release

    pkg = open_package(write_package(tmp_path / "pkg", planted=False))
    with small_batches():
        tables, found = read_tables(pkg, keep=False)
        assert found == []
        assert tables["items"].frame is None and tables["items"].height == ROWS
        write_release(pkg, tables, tmp_path / "release")
    assert pq.read_metadata(tmp_path / "release" / "parquet" / "items.parquet").num_rows == ROWS
    con = duckdb.connect(str(tmp_path / "release" / f"{pkg.name}.duckdb"), read_only=True)
    assert con.execute("SELECT count(*), max(id) FROM items").fetchone() == (ROWS, ROWS - 1)
    con.close()


# ---------------------------------------------------------------- bad input: one clear line, exit 1 or 2


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = [sys.executable, "-m", "cbj_figures.cli"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def one_table(root: Path, header: str, body: bytes, fields: list[dict] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.csv").write_bytes(header.encode() + b"\n" + body)
    names = header.split(",")
    schema = {"fields": fields or [{"name": n, "type": "string"} for n in names]}
    descriptor = {"$schema": V2, "name": "bad", "resources": [
        {"name": "data", "type": "table", "path": "data.csv", "format": "csv", "schema": schema}]}
    (root / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    return root


def assert_one_clear_answer(done: subprocess.CompletedProcess, code: str) -> None:
    assert done.returncode in (1, 2), done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert code in done.stdout, done.stdout


def test_a_file_ending_mid_row(tmp_path: Path) -> None:
    root = one_table(tmp_path / "pkg", "a,b,c", b"1,x,y\n2,x,y\n3,x")
    done = run_cli("validate", str(root))
    assert_one_clear_answer(done, "data.csv:4 [c]: missing-cell")


def test_a_cell_of_100_mb(tmp_path: Path) -> None:
    root = one_table(tmp_path / "pkg", "a,b", b"1,x\n2," + b"y" * (100 * 2**20) + b"\n3,z\n",
                     [{"name": "a", "type": "integer"}, {"name": "b", "type": "string",
                                                         "constraints": {"maxLength": 10}}])
    done = run_cli("validate", str(root))
    assert_one_clear_answer(done, "data.csv")


def test_a_disk_that_fills_while_spilling(package: Path, tmp_path: Path) -> None:
    """DuckDB may not write more than a few kilobytes to its temporary folder: a located too-large finding, exit 1,
    and the spill folder removed."""
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    env = {"TMPDIR": str(spill_root), "CBJ_FIGURES_KEY_MEMORY": "0", "CBJ_FIGURES_SPILL_LIMIT": "1KB",
           "CBJ_FIGURES_DUCKDB_MEMORY": "2MB"}
    done = run_cli("validate", str(package), env=env)
    assert_one_clear_answer(done, "too-large")
    assert list(spill_root.iterdir()) == []
