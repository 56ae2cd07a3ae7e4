"""Attacks 9 and 10: tracebacks, lost reports, interrupted builds, package-wide conventions.

One bad cell is one located finding (exit 1), never exit 2 for the whole run; odd but legal
input (zero rows, a field over 1 MiB, CR line ends) is handled; a malformed schema gives one
clear message naming its file, never a traceback; Ctrl-C exits 130 without a traceback; an
interrupted build's hidden staging folder is removed by the next build; a `figure_id` used in
two tables is a finding (docs/DESIGN.md, convention 5). `validate` writes nothing but the
reports it is asked for.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import (
    RELEASE,
    ROOT,
    Runner,
    assert_no_traceback,
    assert_usable,
    changed,
    edit_descriptor,
    edit_row,
    edit_schema,
    field_of,
    json_report,
    read_rows,
    rehash,
    resource_of,
    snapshot,
    write_rows,
)


def _strict_json(path: Path) -> dict:
    """JSON as the standard defines it: NaN and Infinity are not JSON."""

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def _located(report: dict) -> set[tuple]:
    return {(f["layer"], f["code"], f["file"], f["line"], f["field"]) for f in report["findings"]}


# ---------------------------------------------------------------- zero rows


def _empty_policy_events(pkg: Path) -> None:
    rows = read_rows(pkg, "policy_events")
    write_rows(pkg, "policy_events", rows[:1])
    rehash(pkg)


@pytest.mark.parametrize(
    "command",
    [pytest.param("validate", marks=pytest.mark.slow), "build", "cite-table", "cite-package", "diff", "check-version"],
)
def test_a_table_with_only_its_header_is_handled(command: str, pkg: Path, cli: Runner, tmp_path: Path) -> None:
    old = shutil.copytree(pkg, tmp_path / "old")
    for extra in ("releases", "CHANGELOG.md"):
        (shutil.copytree if (ROOT / extra).is_dir() else shutil.copy)(ROOT / extra, pkg / extra)
    _empty_policy_events(pkg)
    args: dict[str, list[object]] = {
        "validate": ["validate", pkg, "--all"],
        "build": ["build", pkg, "--out", tmp_path / "out"],
        "cite-table": ["cite", "policy_events", "--package", pkg],
        "cite-package": ["cite", "--package", pkg],
        "diff": ["diff", old, pkg],
        "check-version": ["check-version", pkg],
    }
    result = cli(*args[command])
    # a zero-row table is legal: nothing refers to policy_events, so only check-version may object, and
    # validate's completeness check, which finds the date the deleted rows stated (2024年10月) unaccounted for
    assert_usable(result, allowed=(0, 1) if command in ("check-version", "validate") else (0,))
    if command == "validate":
        assert "unaccounted-number" in result.out and "invalid: 1 error(s)" in result.out
    if command == "build":
        assert (tmp_path / "out" / f"{RELEASE}.zip").is_file()
    if command == "diff":
        assert "policy_events" in result.out


# ---------------------------------------------------------------- one bad cell, one finding


def test_a_signalling_nan_cell_is_one_located_finding(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    line = edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", value="sNaN")
    rehash(pkg)
    result = cli("validate", pkg, "--json", tmp_path / "r.json")
    assert_usable(result, allowed=(1,))
    located = [f for f in json_report(tmp_path / "r.json")["findings"] if f["line"] == line]
    assert [(f["layer"], f["code"], f["file"], f["field"]) for f in located] == [
        ("tables", "type-error", "resources/market_size.csv", "value")  # once: provenance does not repeat it
    ]


@pytest.mark.slow
def test_huge_and_nan_integers_leave_every_other_finding_in_place(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`1e400` and `NaN` in an integer field, next to other broken tables: every finding is reported, located."""
    huge = edit_row(pkg, "company_counts", "jiliu-customers-2024-products", value="1e400")
    nan = edit_row(pkg, "company_counts", "jiliu-customers-2025-products", value="NaN")
    enum = edit_row(pkg, "leasing_deals", "zhongyin-2026-01-09", lease_structure="rental")
    fk = edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", entity_id="no_such_market")
    rehash(pkg)
    result = cli("validate", pkg, "--all", "--json", tmp_path / "r.json", "--junit", tmp_path / "r.xml")
    assert_usable(result, allowed=(1,))
    found = _located(_strict_json(tmp_path / "r.json"))
    expected = {
        ("tables", "type-error", "resources/company_counts.csv", huge, "value"),
        ("tables", "type-error", "resources/company_counts.csv", nan, "value"),
        ("tables", "constraint-error", "resources/leasing_deals.csv", enum, "lease_structure"),
        ("tables", "foreign-key", "resources/market_size.csv", fk, "entity_id"),
    }
    assert expected <= found, f"findings lost: {sorted(expected - found)}"


# ---------------------------------------------------------------- malformed schemas and descriptors


def _schema(table: str, change: Callable[[dict], None]) -> Callable[[Path], str]:
    def apply(pkg: Path) -> str:
        edit_schema(pkg, table, change)
        return f"schemas/{table}.json"

    return apply


def _constraint(table: str, name: str, **values: object) -> Callable[[Path], str]:
    return _schema(table, lambda s: field_of(s, name).setdefault("constraints", {}).update(values))


def _hash(pkg: Path) -> str:
    edit_descriptor(pkg, lambda d: resource_of(d, "market_size").update(hash="shake_128:" + "0" * 32))
    return "datapackage.json"


BROKEN: dict[str, Callable[[Path], str]] = {
    "pattern-[": _constraint("market_size", "note", pattern="["),
    "hash-shake_128": _hash,
    "primaryKey-5": _schema("market_size", lambda s: s.update(primaryKey=5)),
    "minimum-abc": _constraint("market_size", "value", minimum="abc"),
    "enum-x": _constraint("market_size", "metric", enum="x"),
    "foreignKeys-{}": _schema("market_size", lambda s: s.update(foreignKeys={})),
    "foreignKeys-mapping": _schema(
        "market_size", lambda s: s.update(foreignKeys={"fields": "entity_id", "reference": {"resource": "entities"}})
    ),
    "fields-not-objects": _schema("policy_events", lambda s: s["fields"].append("extra")),
    "constraints-a-list": _schema("market_size", lambda s: field_of(s, "note").update(constraints=["required"])),
    "missingValues-5": _schema("market_size", lambda s: s.update(missingValues=5)),
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_a_malformed_schema_is_one_clear_message(kind: str, pkg: Path, cli: Runner) -> None:
    names = BROKEN[kind](pkg)
    result = cli("validate", pkg)
    assert_usable(result)
    assert names in result.text, f"the message does not name {names}:\n{result.brief()}"


@pytest.mark.parametrize("kind", ["minimum-abc", "enum-x", "primaryKey-5", "foreignKeys-mapping"])
def test_build_refuses_a_malformed_schema_cleanly(kind: str, pkg: Path, cli: Runner, tmp_path: Path) -> None:
    BROKEN[kind](pkg)
    result = cli("build", pkg, "--out", tmp_path / "out")
    assert_usable(result, allowed=(2,))
    assert not (tmp_path / "out" / RELEASE).exists()


# ---------------------------------------------------------------- odd but legal CSV


def test_a_field_over_one_mebibyte_is_read(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", note="x" * (3 << 19))  # 1.5 MiB
    rehash(pkg)
    result = cli("validate", pkg, "--json", tmp_path / "r.json")
    report = json_report(tmp_path / "r.json")
    malformed = {"format-error", "extra-cell", "missing-cell", "source-error"}
    assert [f for f in report["findings"] if f["code"] in malformed] == [], "a valid CSV was called malformed"
    assert_usable(result, allowed=(0,))


def test_carriage_return_line_ends_are_handled(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """Old-Mac `\\r` line ends: read as lines, or one finding for the file; never a crash or a lost table."""
    path = pkg / "resources" / "market_size.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    rehash(pkg)
    result = cli("validate", pkg, "--json", tmp_path / "r.json")
    assert_usable(result, allowed=(0, 1))
    files = {f["file"] for f in json_report(tmp_path / "r.json")["findings"]}
    assert files <= {"resources/market_size.csv"}, f"CR line ends in one table broke others: {files}"


# ---------------------------------------------------------------- Ctrl-C


@pytest.mark.slow
def test_ctrl_c_exits_130_without_a_traceback(pkg: Path, cli: Runner) -> None:
    child = cli.start("validate", pkg, "--all")
    time.sleep(2.5)  # well into the layers (a full run takes several seconds)
    assert child.proc.poll() is None, "validate finished before it could be interrupted"
    child.signal(signal.SIGINT)
    result = child.finish(timeout=30)
    assert_no_traceback(result)
    assert result.rc == 130, f"Ctrl-C must exit 130:\n{result.brief()}"


# ---------------------------------------------------------------- interrupted builds


def test_a_stale_staging_folder_is_removed_by_the_next_build(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    stale = out / f".{RELEASE}.k1ll3d00"
    (stale / RELEASE).mkdir(parents=True)
    (stale / RELEASE / "half-written.parquet").write_bytes(b"PAR1" + bytes(1000))
    result = cli("build", pkg, "--out", out)
    assert result.rc == 0, result.brief()
    assert not stale.exists(), "the staging folder of an interrupted build is still there"


@pytest.mark.slow
def test_a_build_killed_mid_write_leaves_nothing_after_the_next(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    out = tmp_path / "out"
    child = cli.start("build", pkg, "--out", out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(p.name.startswith(f".{RELEASE}.") for p in out.glob(".*")):
        time.sleep(0.02)
    child.signal(signal.SIGKILL)
    child.finish(timeout=30)
    staged = [p.name for p in out.glob(f".{RELEASE}.*")]
    assert staged, "the build was not caught while staging (it may have been too fast)"
    result = cli("build", pkg, "--out", out)
    assert result.rc == 0, result.brief()
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted([RELEASE, f"{RELEASE}.zip"]), f"left over after the next build: {left}"


# ---------------------------------------------------------------- package-wide conventions


def test_a_figure_id_used_in_two_tables_is_a_finding(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """DESIGN.md convention 5: figure ids are unique across the whole package."""
    taken = "ai-compute-cluster-market-2021"  # a market_size figure
    line = edit_row(pkg, "industry_counts", "cba-priority-business-lines-2025", figure_id=taken)
    rehash(pkg)
    result = cli("validate", pkg, "--json", tmp_path / "r.json")
    assert_usable(result, allowed=(1,))
    findings = json_report(tmp_path / "r.json")["findings"]
    hits = [f for f in findings if taken in f["message"] or (f["file"], f["line"]) == ("resources/industry_counts.csv",
                                                                                         line)]
    assert hits, "the duplicated figure_id is not reported"


@pytest.mark.slow
def test_validate_writes_nothing_but_the_reports_asked_for(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    edit_row(pkg, "leasing_deals", "zhongyin-2026-01-09", lease_structure="rental")
    rehash(pkg)
    reports = tmp_path / "reports"
    reports.mkdir()
    watched = {"package": pkg, "cwd": cli.cwd, "home": cli.home}
    before = {name: snapshot(path) for name, path in watched.items()}
    result = cli("validate", pkg, "--all", "--json", reports / "r.json", "--junit", reports / "r.xml")
    assert result.rc == 1, result.brief()
    for name, path in watched.items():
        assert changed(before[name], snapshot(path)) == [], f"validate wrote into the {name} folder"
    assert sorted(p.name for p in reports.iterdir()) == ["r.json", "r.xml"]
