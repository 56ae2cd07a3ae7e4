"""Descriptor and table layers on a small real package, broken one way at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cbj_figures.descriptor import PackageError, check_descriptor, load_package
from cbj_figures.report import Finding
from cbj_figures.tables import read_tables

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
FIGURES, SOURCES = "resources/figures.csv", "resources/sources.csv"


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    """A fresh copy of the fixture package, to break."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "pkg"))


def replace(root: Path, rel: str, old: str | bytes, new: str | bytes) -> None:
    path = root / rel
    data = path.read_bytes()
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new
    assert old_b in data, f"{old!r} not in {rel}"
    path.write_bytes(data.replace(old_b, new_b, 1))


def table_findings(root: Path) -> list[Finding]:
    return read_tables(load_package(root))[1]


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_fixture_is_valid(pkg: Path) -> None:
    tables, findings = read_tables(load_package(pkg))
    assert findings == []
    figures = tables["figures"]
    assert figures.lines.to_list() == [2, 3, 4, 5]
    assert figures.frame["year"].dtype.is_integer() and figures.frame["value"].dtype.is_float()
    assert figures.frame["figure_id"][2] == "NA"  # not a missing value: only "" is
    assert figures.text["value"][0] == "520"  # the exact text stays available
    assert tables["sources"].frame["is_primary"].to_list() == [False, True, True]


@pytest.mark.parametrize(
    ("rel", "old", "new", "rule", "line", "field"),
    [
        (FIGURES, "rev,2023", "rev,2024", "primary-key", 3, "figure_id,year"),
        (FIGURES, ",S03,", ",S09,", "foreign-key", 5, "source_id"),
        (SOURCES, "S02,S01", "S02,S07", "foreign-key", 3, "reported_in"),  # self-reference, resource ""
        (FIGURES, ",11.5,", ",abc,", "type", 4, "value"),
        (SOURCES, "2025-02-28", "2025-02-30", "type", 3, "published"),
        (SOURCES, "2025-02-28", "2025-2-28", "type", 3, "published"),
        (SOURCES, ",false", ",no", "type", 2, "is_primary"),
        (FIGURES, "exact", "exactly", "enum", 2, "qualifier"),
        (FIGURES, "rev,2023", "rev,1999", "minimum", 3, "year"),
        (FIGURES, ",1.1,", ",0,", "exclusiveMinimum", 5, "value"),
        (FIGURES, "\nNA,", "\nN,", "minLength", 4, "figure_id"),
        (FIGURES, "approx,S02", ",S02", "required", 4, "qualifier"),
        (SOURCES, "2025-03-01", "", "required", 2, "published"),
        (FIGURES, "rev,2024", ",2024", "primary-key", 2, "figure_id"),
        (SOURCES, "S02,S01,2025-02-28", "S02x,S01,2025-02-28", "pattern", 3, "source_id"),
        (SOURCES, "S03,S01,2024", "S02,S01,2024", "unique", 4, "source_id"),
    ],
)
def test_one_break_one_finding(pkg: Path, rel: str, old: str, new: str, rule: str, line: int, field: str) -> None:
    replace(pkg, rel, old, new)
    found = table_findings(pkg)
    if rule in ("unique", "pattern"):  # also a primary-key / dangling foreign-key finding
        found = [f for f in found if f.rule == rule]
    f = only(found)
    assert (f.layer, f.rule, f.file, f.line, f.field) == ("tables", rule, rel, line, field)


def test_pattern_is_a_full_match(pkg: Path) -> None:
    replace(pkg, SOURCES, "S03,", "S033,")  # S\d{2} matches a prefix of it
    found = [f for f in table_findings(pkg) if f.rule == "pattern"]
    assert [(f.line, f.field) for f in found] == [(4, "source_id")]


@pytest.mark.parametrize(
    ("edit", "rule", "line"),
    [
        (lambda b: b"\xef\xbb\xbf" + b, "bom", 1),
        (lambda b: b.replace("占比约".encode(), "占比约".encode("gbk")), "encoding", 5),
        (lambda b: b.replace(b"approx,S01,", b"approx,", 1), "malformed-csv", 3),
        (lambda b: b.replace(b"approx,S01,", b"approx,S01,x,", 1), "malformed-csv", 3),
        (lambda b: b.replace('同比增长"'.encode(), "同比增长".encode()), "malformed-csv", 2),  # unterminated quote
        (lambda b: b.replace('"他说'.encode(), '"他"说'.encode()), "malformed-csv", 4),  # text after a closing quote
        (lambda b: b.replace(b"value,printed", b"printed,value"), "header", 1),
        (lambda b: b.replace(b"\nshare", b"\n\nshare"), "blank-row", 5),
    ],
)
def test_file_level_breaks(pkg: Path, edit, rule: str, line: int) -> None:
    path = pkg / FIGURES
    path.write_bytes(edit(path.read_bytes()))
    f = only(table_findings(pkg))
    assert (f.rule, f.file, f.line) == (rule, FIGURES, line)


def test_missing_file(pkg: Path) -> None:
    (pkg / FIGURES).unlink()
    tables, found = read_tables(load_package(pkg))
    assert [(f.rule, f.file) for f in found] == [("missing-file", FIGURES)]
    assert "figures" not in tables
    # reported once, by the table layer that owns data files, not again by the descriptor layer
    assert "missing-file" not in {f.rule for f in check_descriptor(load_package(pkg))}


@pytest.mark.parametrize(
    "edit",
    [
        lambda b: b.rstrip(b"\n"),  # no trailing newline
        lambda b: b.replace(b"\n", b"\r\n"),
        lambda b: b"\n".join([b.split(b"\n")[0], *sorted(b.split(b"\n")[1:-1], reverse=True)]) + b"\n",
        lambda b: b.replace('同比增长"'.encode(), '同比\n增长"'.encode()),  # a quoted value spanning lines
    ],
)
def test_harmless_edits_pass(pkg: Path, edit) -> None:
    path = pkg / FIGURES
    path.write_bytes(edit(path.read_bytes()))
    assert table_findings(pkg) == []


def test_lines_follow_multiline_values(pkg: Path) -> None:
    replace(pkg, FIGURES, '同比增长"', '同比\n增长"')
    replace(pkg, FIGURES, ",1.1,", ",-1,")
    f = only(table_findings(pkg))
    assert (f.rule, f.line) == ("exclusiveMinimum", 6)


def test_repeated_cell_findings_are_capped(pkg: Path) -> None:
    rows = "".join(f"x{i},2024,abc,1亿元,exact,S01,q\n" for i in range(30))
    (pkg / FIGURES).write_text((pkg / FIGURES).read_text(encoding="utf-8") + rows, encoding="utf-8")
    found = [f for f in table_findings(pkg) if f.rule == "type"]
    assert len(found) == 21 and found[-1].line is None and "10 more" in found[-1].message


def test_validation_never_writes(pkg: Path) -> None:
    before = {p: p.read_bytes() for p in pkg.rglob("*") if p.is_file()}
    replace(pkg, FIGURES, ",11.5,", ",abc,")
    before[pkg / FIGURES] = (pkg / FIGURES).read_bytes()
    read_tables(load_package(pkg))
    check_descriptor(load_package(pkg))
    assert {p: p.read_bytes() for p in pkg.rglob("*") if p.is_file()} == before


# ---------------------------------------------------------------- descriptor


def test_broken_json_names_file_and_line(pkg: Path) -> None:
    replace(pkg, "datapackage.json", '"name": "mini",', '"name": "mini"')
    with pytest.raises(PackageError) as e:
        load_package(pkg)
    assert (e.value.file, e.value.line) == ("datapackage.json", 4)


def test_broken_schema_names_its_file(pkg: Path) -> None:
    replace(pkg, "schemas/figures.json", '"fields": [', '"fields": [,')
    with pytest.raises(PackageError) as e:
        load_package(pkg)
    assert (e.value.file, e.value.line) == ("schemas/figures.json", 2)


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.csv", "resources/../../x.csv"])
def test_unsafe_paths_are_refused(pkg: Path, path: str) -> None:
    replace(pkg, "datapackage.json", '"resources/figures.csv"', json.dumps(path))
    with pytest.raises(PackageError, match="unsafe path"):
        load_package(pkg)


def test_descriptor_valid(pkg: Path) -> None:
    assert check_descriptor(load_package(pkg)) == []


def test_profile_errors_point_at_the_schema_file(pkg: Path) -> None:
    replace(pkg, "schemas/figures.json", '"type": "integer"', '"type": "integr"')
    found = check_descriptor(load_package(pkg))
    profile = [f for f in found if f.rule == "profile"]
    assert profile and profile[0].file == "schemas/figures.json" and profile[0].field == "$.fields[1].type"
    assert any(f.rule == "frictionless" and "integr" in f.message for f in found)


def test_v2_profile_rejects_type_text(pkg: Path) -> None:
    replace(pkg, "datapackage.json", '"name": "article",', '"name": "article", "type": "text",')
    found = check_descriptor(load_package(pkg))
    assert [(f.rule, f.field) for f in found] == [("profile", "$.resources[2].type")]


def test_missing_v2_schema_is_reported(pkg: Path) -> None:
    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    del desc["$schema"]
    (pkg / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")
    assert "profile-version" in {f.rule for f in check_descriptor(load_package(pkg))}


def test_hash_and_bytes(pkg: Path) -> None:
    import hashlib

    data = (pkg / FIGURES).read_bytes()
    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    desc["resources"][1]["hash"] = "sha256:" + hashlib.sha256(data).hexdigest()
    desc["resources"][1]["bytes"] = len(data)
    (pkg / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")
    assert check_descriptor(load_package(pkg)) == []
    (pkg / FIGURES).write_bytes(data + b"x,2024,1,1,exact,S01,q\n")
    found = check_descriptor(load_package(pkg))
    assert {(f.rule, f.field) for f in found} == {
        ("resource-hash", "$.resources[1].hash"),
        ("resource-bytes", "$.resources[1].bytes"),
    }


def test_dangling_key_definitions(pkg: Path) -> None:
    replace(pkg, "schemas/figures.json", '"resource": "sources"', '"resource": "nowhere"')
    found = [f for f in check_descriptor(load_package(pkg)) if f.rule == "schema-reference"]
    assert [(f.file, f.field) for f in found] == [("schemas/figures.json", "$.foreignKeys[0]")]


# ---------------------------------------------------------------- scale


def test_many_rows_keep_their_lines_and_a_late_error_is_located(pkg: Path) -> None:
    """The vectorized path stays exact on long tables (speed is measured in benchmarks/, not here)."""
    with (pkg / FIGURES).open("a", encoding="utf-8") as fh:
        for i in range(100_000):
            fh.write(f'f{i},{2000 + i % 30},{1 + i % 997}.5,约{i}万元,approx,S0{1 + i % 3},"营收约{i}万元, 同比"\n')
        fh.write('late,2001,abc,约1万元,approx,S01,"营收约1万元, 同比"\n')
    tables, found = read_tables(load_package(pkg))
    assert tables["figures"].frame.height == 100_005
    assert [(f.rule, f.line, f.field) for f in found] == [("type", 100_006, "value")]
