"""`cbj-figures validate` end to end, on copies of the real package broken one way at a time."""

from __future__ import annotations

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbj_figures import escape
from cbj_figures.cli import main
from cbj_figures.descriptor import json_lines
from cbj_figures.render import render
from cbj_figures.safeio import file_digest
from cbj_figures.validate import Options, validate

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("datapackage.json", "resources", "schemas", "checks", "validators")


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    for part in PARTS:
        (shutil.copytree if (ROOT / part).is_dir() else shutil.copy)(ROOT / part, tmp_path / part)
    return tmp_path


def rehash(pkg: Path) -> None:
    """Pin the edited files again, so that a test breaks exactly one thing."""
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    for res in descriptor["resources"]:
        sha, size = file_digest(pkg / res["path"])
        res["hash"], res["bytes"] = f"sha256:{sha}", size
    (pkg / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def line_of(pkg: Path, table: str, key: str) -> int:
    """Physical line of the row whose first cell is `key` (the header is line 1)."""
    with open(pkg / "resources" / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return next(i for i, row in enumerate(csv.reader(fh), start=1) if row[0] == key)


def edit_row(pkg: Path, table: str, key: str, **cells: str) -> int:
    path = pkg / "resources" / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    row = next(r for r in rows if r[0] == key)
    for name, value in cells.items():
        row[header.index(name)] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return rows.index(row) + 1


def run(pkg: Path, *, ge: bool = False):
    return validate(pkg, Options(cross_check=ge))


def where(report) -> set[tuple[str, str, str | None, int | None, str | None]]:
    return {(f.layer, f.code, f.file, f.line, f.field) for f in report.findings}


def test_the_package_is_valid_in_every_layer(repo_report):
    """`cbj-figures validate --all` of the package (run once a session; its JSON report)."""
    assert repo_report["valid"], repo_report["findings"]
    assert repo_report["findings"] == []
    assert repo_report["layers_run"] == [
        "descriptor", "tables", "conventions", "consistency", "provenance", "pandera", "great_expectations"
    ]
    reconciliations = repo_report["reconciliations"]
    assert len(reconciliations) >= 50 and all(r["holds"] for r in reconciliations)


def test_without_the_opt_in_the_package_is_judged_by_the_standard_alone(pkg):
    """The conventions are ours: a package that does not name our profile gets the standard only."""
    desc = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    desc["$schema"] = "https://datapackage.org/profiles/2.0/datapackage.json"
    (pkg / "datapackage.json").write_text(json.dumps(desc, ensure_ascii=False), encoding="utf-8")
    edit_row(pkg, "company_financials", "jiliu-revenue-2025-products", value="473")  # breaks a rule and provenance
    rehash(pkg)
    report = run(pkg)
    assert report.layers_run == ["descriptor", "tables"] and report.valid, render(report)


def test_a_wrong_figure_fails_its_rule_at_its_line(pkg):
    """4.73亿元 instead of 4.37亿元: printed text and value agree, so only the consistency rules can see it."""
    line = edit_row(
        pkg,
        "company_financials",
        "jiliu-revenue-2025-products",
        value="473",
        printed="4.73亿元",
        quote="2025年,基流科技AI算力集群产品收入为4.37亿元",
    )
    rehash(pkg)
    report = run(pkg)
    assert ("consistency", "rule-failed", "jiliu-segments-sum-2025", "resources/company_financials.csv") in {
        (f.layer, f.code, f.rule, f.file) for f in report.findings
    }
    # the printed text no longer occurs in its quote: provenance names the same row
    assert ("provenance", "resources/company_financials.csv", line) in {
        (f.layer, f.file, f.line) for f in report.findings
    }


@pytest.mark.parametrize(
    ("table", "key", "cells", "expected"),
    [
        (
            "market_size",
            "ai-compute-cluster-market-2021",
            {"entity_id": "no_such_market"},
            ("tables", "foreign-key", "entity_id"),
        ),
        ("market_size", "ai-compute-cluster-market-2021", {"value": "abc"}, ("tables", "type-error", "value")),
        ("leasing_deals", "zhongyin-2026-01-09", {"date": "2026-02-30"}, ("conventions", "convention-error", "date")),
        (
            "leasing_deals",
            "zhongyin-2026-01-09",
            {"lease_structure": "rental"},
            ("tables", "constraint-error", "lease_structure"),
        ),
        (
            "company_ratios",
            "jiliu-market-share-2025",
            {"quote": "目前公司市场份额约1.2%"},
            ("provenance", None, "quote"),
        ),
        ("company_ratios", "jiliu-market-share-2025", {"value": "1.2"}, ("provenance", None, "value")),
    ],
    ids=[
        "dangling-fk",
        "text-in-number",
        "impossible-date",
        "enum",
        "edited-quote",
        "value-not-printed",
    ],
)
def test_one_break_fails_at_the_right_place(pkg, table, key, cells, expected):
    line = edit_row(pkg, table, key, **cells)
    rehash(pkg)
    layer, code, field = expected
    found = {(f.layer, f.file, f.line, f.field) for f in run(pkg).findings if code in (None, f.code)}
    assert (layer, f"resources/{table}.csv", line, field) in found


def test_a_duplicate_key_is_located_at_the_second_row(pkg):
    path = pkg / "resources" / "market_size.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    rehash(pkg)
    found = where(run(pkg))
    assert ("tables", "primary-key", "resources/market_size.csv", len(lines) + 1, "figure_id") in found


def test_a_stale_hash_is_named_in_the_descriptor(pkg):
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", note="edited without re-pinning")
    found = {(f.layer, f.code, f.file, f.field) for f in run(pkg).findings}
    i = [r["name"] for r in json.loads((pkg / "datapackage.json").read_text())["resources"]].index("market_size")
    assert ("descriptor", "hash-count", "resources/market_size.csv", "hash") in found  # the file, as frictionless
    (finding,) = [f for f in run(pkg).findings if f.code == "hash-count"]
    line = int(finding.message.split("(line ")[1].split(",")[0])  # and the line that declares it
    text = (pkg / "datapackage.json").read_text(encoding="utf-8").splitlines()
    assert text[line - 1].strip().startswith('"hash": "sha256:') and f"$.resources[{i}].hash" in finding.message


@pytest.mark.parametrize("harmless", ["reverse-rows", "no-trailing-newline"])
def test_harmless_edits_still_pass(pkg, harmless):
    for table in ("market_size", "company_financials", "leasing_deals"):
        path = pkg / "resources" / f"{table}.csv"
        header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
        text = header + "".join(reversed(rows)) if harmless == "reverse-rows" else header + "".join(rows).rstrip("\n")
        path.write_text(text, encoding="utf-8")
    rehash(pkg)
    report = run(pkg)
    assert report.valid, render(report)


@pytest.mark.slow  # Great Expectations, in this process
def test_the_cross_checks_bite_and_report_only_what_the_tables_layer_did_not(pkg):
    """pandera and GE find the bad enum too, but it is reported once: by the tables layer."""
    from cbj_figures.crosscheck import run_ge, run_pandera
    from cbj_figures.package import open_package
    from cbj_figures.tables import read_tables

    line = edit_row(pkg, "leasing_deals", "zhongyin-2026-01-09", lease_structure="rental")
    rehash(pkg)
    report = run(pkg, ge=True)
    located = [(f.layer, f.code) for f in report.findings if f.line == line and f.field == "lease_structure"]
    assert located == [("tables", "constraint-error")]
    package = open_package(pkg)
    tables, _ = read_tables(package)
    for cross_check in (run_pandera, run_ge):  # on their own they see it
        found = {(f.file, f.line, f.field) for f in cross_check(package, tables, set(), set())}
        assert ("resources/leasing_deals.csv", line, "lease_structure") in found


def snapshot(pkg: Path) -> dict[str, bytes]:
    return {str(p.relative_to(pkg)): p.read_bytes() for p in sorted(pkg.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("breakage", "code", "says"),
    [
        (lambda p: (p / "datapackage.json").write_text('{"name": "x",\n  "resources": [,]}'), 2, "datapackage.json:2"),
        (
            lambda p: (p / "resources" / "entities.csv").write_bytes(
                (p / "resources" / "entities.csv").read_text(encoding="utf-8").encode("gbk")
            ),
            1,
            "entities.csv",
        ),
        (
            lambda p: (p / "resources" / "entities.csv").write_bytes(
                b"\xef\xbb\xbf" + (p / "resources" / "entities.csv").read_bytes()
            ),
            1,
            "entities.csv:1",  # the conventions say: UTF-8 without a BOM (the standard accepts one)
        ),
        (lambda p: (p / "resources" / "policy_events.csv").unlink(), 1, "policy_events.csv"),
        (lambda p: (p / "checks" / "jiliu.yaml").write_text("rules:\n  - id: [unclosed\n"), 1, "checks/jiliu.yaml:"),
        (lambda p: (p / "checks" / "extra.yaml").write_text("rules:\n  - id: x\n    kind: summ\n"), 1, "unknown kind"),
        (
            lambda p: (p / "checks" / "extra.yaml").write_text(
                "rules:\n  - id: x\n    kind: sum\n    parts: [nowhere/a]\n    total: market_size/b\n"
            ),
            1,
            "nowhere",
        ),
        (lambda p: (p / "schemas" / "sources.json").write_text("{"), 1, "schemas/sources.json"),
    ],
    ids=["broken-json", "gbk", "bom", "missing-file", "broken-yaml", "unknown-kind", "missing-table", "broken-schema"],
)
def test_bad_input_gives_a_clear_message_and_changes_nothing(pkg, capsys, breakage, code, says):
    breakage(pkg)
    before = snapshot(pkg)
    assert main(["validate", str(pkg)]) == code
    out = capsys.readouterr()
    assert says in out.out + out.err
    assert "Traceback" not in out.out + out.err
    assert snapshot(pkg) == before


def test_reports_in_json_junit_and_github(pkg, tmp_path, capsys):
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", entity_id="no_such_market")
    rehash(pkg)
    js, junit = tmp_path / "r.json", tmp_path / "r.xml"
    assert main(["validate", str(pkg), "--json", str(js), "--junit", str(junit), "--github"]) == 1
    report = json.loads(js.read_text(encoding="utf-8"))
    assert report["valid"] is False and report["reconciliations"]
    suites = ET.parse(junit).getroot()
    failed = [c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None]
    assert "foreign-key" in failed
    line = line_of(pkg, "market_size", "ai-compute-cluster-market-2021")
    assert f"::error file=resources/market_size.csv,line={line}," in capsys.readouterr().out


def test_markdown_summary_is_appended(pkg, tmp_path, capsys):
    """`--summary` appends (GitHub's $GITHUB_STEP_SUMMARY may hold other steps' output); `--format markdown` prints."""
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", entity_id="no_such|market")
    rehash(pkg)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert main(["validate", str(pkg), "--summary", str(summary), "--format", "markdown"]) == 1
    printed, written = capsys.readouterr().out, summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n## Data package validation: invalid")
    assert printed.strip() == written.removeprefix("earlier step\n").strip()
    line = line_of(pkg, "market_size", "ai-compute-cluster-market-2021")
    start = f"| {escape.markdown('resources/market_size.csv')} | {line} |"
    rows = [r for r in written.splitlines() if r.startswith(start)]
    assert any(escape.markdown("tables: foreign-key") in r for r in rows)
    # a pipe in the data cannot split a row (Markdown's syntax is escaped: escape.markdown)
    assert all(escape.markdown("no_such|market") in r and r.count(" | ") == 4 for r in rows)
    assert "| consistency | ok |" in written and "<details><summary>Reconciliation:" in written


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--no-such-flag"])
    assert exit_.value.code == 2
    assert main(["validate", "/nonexistent/package"]) == 2
    assert "/nonexistent/package" in capsys.readouterr().err


def test_rehash_pins_a_deliberate_edit_and_nothing_else(pkg, capsys):
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", note="a deliberate correction")
    assert not run(pkg).valid
    assert main(["rehash", str(pkg)]) == 0
    assert "re-pinned: market_size" in capsys.readouterr().out
    assert run(pkg).valid
    before = snapshot(pkg)
    assert main(["rehash", str(pkg)]) == 0
    assert snapshot(pkg) == before


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
        max_leaves=12,
    )
)
def test_json_lines_finds_the_line_of_every_value(document):
    """Each path's line, in any layout json.dumps makes, is where that value is printed."""
    for indent in (None, 1):
        text = json.dumps(document, indent=indent, ensure_ascii=False)
        lines = json_lines(text)
        assert lines["$"] == 1
        assert max(lines.values()) <= text.count("\n") + 1
        if isinstance(document, dict) and indent:
            for n, key in enumerate(document, start=2):
                assert lines[f"$.{key}"] >= n


def test_an_unreadable_table_is_reported_once(pkg):
    """A GBK file: one encoding finding, not one more a rule that names the table."""
    path = pkg / "resources" / "entities.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    rehash(pkg)
    found = run(pkg).findings
    line = line_of(ROOT, "entities", "jiliu_technology")  # its 基 is the first byte UTF-8 cannot read
    expected = [("tables", "encoding-error", line), ("tables", "not-checked", None)]
    assert [(f.layer, f.code, f.line) for f in found] == expected
    assert "foreign keys to it were not checked" in found[1].message


def test_a_printed_literal_in_a_rule_file_needs_its_evidence(pkg):
    """十余家 is in no table (14家 is kept), but the rule using it must quote it from the text."""
    path = pkg / "checks" / "leasing.yaml"
    text = path.read_text(encoding="utf-8")
    line = text.splitlines().index("      printed: 十余家") + 1
    path.write_text(
        text.replace("quote: 十余家金租公司抢滩商业航天", "quote: 十余家金租公司抢滩商业卫星"), encoding="utf-8"
    )
    assert ("provenance", "quote-not-in-source", "checks/leasing.yaml", line) in {
        (f.layer, f.code, f.file, f.line) for f in run(pkg).findings
    }
    path.write_text(text.replace("      source: cbj-leasing-space\n", ""), encoding="utf-8")
    assert "consistency" in {f.layer for f in run(pkg).findings if "quote', 'source'" in f.message}
