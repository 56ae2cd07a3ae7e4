"""Descriptor and table layers on a small real package, broken one way at a time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cbj_figures.descriptor import check_descriptor
from cbj_figures.findings import Finding
from cbj_figures.package import PackageError, open_package
from cbj_figures.tables import read_tables

load_package = open_package

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
    ("rel", "old", "new", "code", "rule", "line", "field"),
    [
        (FIGURES, "rev,2023", "rev,2024", "primary-key", "primaryKey", 3, "figure_id,year"),
        (FIGURES, ",S03,", ",S09,", "foreign-key", "foreignKeys", 5, "source_id"),
        (SOURCES, "S02,S01", "S02,S07", "foreign-key", "foreignKeys", 3, "reported_in"),  # self-reference
        (FIGURES, ",11.5,", ",abc,", "type-error", None, 4, "value"),
        (SOURCES, "2025-02-28", "2025-02-30", "type-error", None, 3, "published"),
        (SOURCES, ",false", ",no", "type-error", None, 2, "is_primary"),
        (FIGURES, "exact", "exactly", "constraint-error", "enum", 2, "qualifier"),
        (FIGURES, "rev,2023", "rev,1999", "constraint-error", "minimum", 3, "year"),
        (FIGURES, ",1.1,", ",0,", "constraint-error", "exclusiveMinimum", 5, "value"),
        (FIGURES, "\nNA,", "\nN,", "constraint-error", "minLength", 4, "figure_id"),
        (FIGURES, "approx,S02", ",S02", "constraint-error", "required", 4, "qualifier"),
        (SOURCES, "2025-03-01", "", "constraint-error", "required", 2, "published"),
        (FIGURES, "rev,2024", ",2024", "constraint-error", "required", 2, "figure_id"),  # a key half empty
        (SOURCES, "S02,S01,2025-02-28", "S02x,S01,2025-02-28", "constraint-error", "pattern", 3, "source_id"),
        (SOURCES, "S03,S01,2024", "S02,S01,2024", "unique-error", "unique", 4, "source_id"),
    ],
)
def test_one_break_one_finding(
    pkg: Path, rel: str, old: str, new: str, code: str, rule: str | None, line: int, field: str
) -> None:
    replace(pkg, rel, old, new)
    found = table_findings(pkg)
    if code in ("unique-error", "constraint-error"):  # also a primary-key / dangling foreign-key finding
        found = [f for f in found if f.code == code]
    f = only(found)
    assert (f.layer, f.code, f.rule, f.file, f.line, f.row, f.field) == ("tables", code, rule, rel, line, line, field)


def test_a_lenient_date_frictionless_reads_is_valid(pkg: Path) -> None:
    """`2025-2-28` is a date for frictionless (Python's strptime), so it is one here too."""
    replace(pkg, SOURCES, "2025-02-28", "2025-2-28")
    assert table_findings(pkg) == []


@pytest.mark.parametrize("value", ["３１８", "٣١٨", "3_18", " 318", "318 "])
def test_numbers_outside_the_standard_grammar_are_type_errors(pkg: Path, value: str) -> None:
    """Python's Decimal() reads all of these (so frictionless does); the Table Schema's number has ASCII digits only."""
    replace(pkg, FIGURES, ",318,", f",{value},")
    f = only(table_findings(pkg))
    assert (f.code, f.row, f.line, f.field) == ("type-error", 3, 3, "value")


def test_a_declared_group_char_may_be_a_space(pkg: Path) -> None:
    schema = json.loads((pkg / "schemas/figures.json").read_text(encoding="utf-8"))
    schema["fields"][2]["groupChar"] = " "
    (pkg / "schemas/figures.json").write_text(json.dumps(schema), encoding="utf-8")
    replace(pkg, FIGURES, ",318,", ",3 180,")
    tables, findings = read_tables(load_package(pkg))
    assert findings == [] and tables["figures"].frame["value"][1] == 3180


def test_pattern_is_a_full_match(pkg: Path) -> None:
    replace(pkg, SOURCES, "S03,", "S033,")  # S\d{2} matches a prefix of it
    found = [f for f in table_findings(pkg) if f.rule == "pattern"]
    assert [(f.line, f.field) for f in found] == [(4, "source_id")]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda b: b.replace("占比约".encode(), "占比约".encode("gbk")), [("encoding-error", None)]),
        (lambda b: b.replace(b"approx,S01,", b"approx,", 1), [("missing-cell", 3), ("foreign-key", 3)]),
        (lambda b: b.replace(b"approx,S01,", b"approx,S01,x,", 1), [("extra-cell", 3)]),
        (lambda b: b.replace(b"value,printed", b"printed,value"), [("incorrect-label", 1)] * 2),
        (lambda b: b.replace(b"\nshare", b"\n\nshare"), [("blank-row", 5), ("primary-key", 5)]),  # as frictionless
    ],
)
def test_file_level_breaks(pkg: Path, edit, expected: list) -> None:
    path = pkg / FIGURES
    path.write_bytes(edit(path.read_bytes()))
    found = [(f.code, f.row) for f in table_findings(pkg) if f.code not in ("type-error", "constraint-error")]
    assert found == expected
    assert all(f.file == FIGURES for f in table_findings(pkg))


def test_a_ragged_row_does_not_stop_the_table(pkg: Path) -> None:
    """The rest of the table is still checked after a row with a cell too many (as frictionless does)."""
    replace(pkg, FIGURES, "approx,S01,", "approx,S01,x,")
    replace(pkg, FIGURES, ",11.5,", ",abc,")
    assert [(f.code, f.row) for f in table_findings(pkg)] == [("extra-cell", 3), ("type-error", 4)]


def test_a_bom_is_accepted_by_the_standard(pkg: Path) -> None:
    path = pkg / FIGURES
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert table_findings(pkg) == []


def test_missing_file(pkg: Path) -> None:
    (pkg / FIGURES).unlink()
    tables, found = read_tables(load_package(pkg))
    assert [(f.code, f.file) for f in found] == [("scheme-error", FIGURES)]  # frictionless's name for it
    assert "figures" not in tables
    # reported once, by the table layer that owns data files, not again by the descriptor layer
    assert "scheme-error" not in {f.code for f in check_descriptor(load_package(pkg))}


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
    assert (f.rule, f.line, f.row) == ("exclusiveMinimum", 6, 5)  # frictionless counts records, not lines


def test_every_bad_cell_is_reported(pkg: Path) -> None:
    """No cap: the JSON report lists every finding (the text report summarises)."""
    rows = "".join(f"x{i},2024,abc,1亿元,exact,S01,q\n" for i in range(30))
    (pkg / FIGURES).write_text((pkg / FIGURES).read_text(encoding="utf-8") + rows, encoding="utf-8")
    found = [f for f in table_findings(pkg) if f.code == "type-error"]
    assert [f.line for f in found] == list(range(6, 36))


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


def test_broken_schema_names_its_file_and_the_rest_is_checked(pkg: Path) -> None:
    replace(pkg, "schemas/figures.json", '"fields": [', '"fields": [,')
    found = check_descriptor(load_package(pkg))
    assert [(f.code, f.file, f.line) for f in found] == [("schema-error", "schemas/figures.json", 2)]
    tables, _ = read_tables(load_package(pkg))
    assert "sources" in tables


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.csv", "resources/../../x.csv"])
def test_unsafe_paths_are_refused(pkg: Path, path: str) -> None:
    replace(pkg, "datapackage.json", '"resources/figures.csv"', json.dumps(path))
    found = check_descriptor(load_package(pkg))
    assert [(f.code, f.field) for f in found if f.code == "unsafe-path"] == [("unsafe-path", "$.resources[1].path")]
    assert "figures" not in load_package(pkg).tables


def test_descriptor_valid(pkg: Path) -> None:
    assert check_descriptor(load_package(pkg)) == []


def test_profile_errors_point_at_the_schema_file(pkg: Path) -> None:
    replace(pkg, "schemas/figures.json", '"type": "integer"', '"type": "integr"')
    found = check_descriptor(load_package(pkg))
    profile = [f for f in found if f.code == "profile-error"]
    assert profile and profile[0].file == "schemas/figures.json" and profile[0].field == "$.fields[1].type"
    assert any(f.code == "field-error" and "integr" in f.message for f in found)


def test_v2_profile_rejects_type_text(pkg: Path) -> None:
    replace(pkg, "datapackage.json", '"name": "article",', '"name": "article", "type": "text",')
    found = check_descriptor(load_package(pkg))
    assert ("profile-error", "$.resources[2].type") in [(f.code, f.field) for f in found]


def test_a_package_without_schema_is_judged_as_v1(pkg: Path) -> None:
    """As frictionless does: no `$schema` means Data Package v1 (its rules, not v2's)."""
    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    del desc["$schema"]
    (pkg / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")
    assert load_package(pkg).standard == "v1"
    found = check_descriptor(load_package(pkg))
    assert [(f.code, "requires datapackage v2" in f.message) for f in found] == [("field-error", True)]


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
    assert {(f.code, f.file, f.field) for f in found} == {(c, FIGURES, p) for c, p in (("hash-count", "hash"),
                                                                                        ("byte-count", "bytes"))}
    assert all("datapackage.json (line " in f.message for f in found)  # where the declared value is


def test_dangling_key_definitions(pkg: Path) -> None:
    replace(pkg, "schemas/figures.json", '"resource": "sources"', '"resource": "nowhere"')
    found = [f for f in check_descriptor(load_package(pkg)) if f.code == "schema-error"]
    assert ("schemas/figures.json", "$.foreignKeys[0]") in [(f.file, f.field) for f in found]


# ---------------------------------------------------------------- scale


def test_many_rows_keep_their_lines_and_a_late_error_is_located(pkg: Path) -> None:
    """The vectorized path stays exact on long tables (speed is measured in benchmarks/, not here)."""
    with (pkg / FIGURES).open("a", encoding="utf-8") as fh:
        for i in range(100_000):
            fh.write(f'f{i},{2000 + i % 30},{1 + i % 997}.5,约{i}万元,approx,S0{1 + i % 3},"营收约{i}万元, 同比"\n')
        fh.write('late,2001,abc,约1万元,approx,S01,"营收约1万元, 同比"\n')
    tables, found = read_tables(load_package(pkg))
    assert tables["figures"].frame.height == 100_005
    assert [(f.code, f.line, f.field) for f in found] == [("type-error", 100_006, "value")]


@pytest.mark.parametrize(("case", "note"), [("duplicate-field-names", True), ("duplicate-field-names-v1", False)])
def test_a_field_name_twice_is_read_by_position(case: str, note: bool) -> None:
    """v1 allowed a name twice, v2 says MUST NOT but also MUST NOT take the descriptor as invalid: the table is read
    either way (its header has a label twice, as frictionless says), and v2 notes the repeated name."""
    pkg = load_package(Path(__file__).parent / "corpus" / case)
    tables, findings = read_tables(pkg)
    codes = [(f.code, f.row, f.field) for f in findings]
    assert ("duplicate-label", 1, "a") in codes
    assert (("duplicate-field-name", None, "a") in codes) == note
    assert tables["data"].frame.columns == ["a", "a (2)"]
