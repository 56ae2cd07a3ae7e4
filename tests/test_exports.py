"""Generated pandera modules and GE suites: written deterministically, used by plain pandas, kept fresh."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cbj_figures.crosscheck import run_ge, run_pandera
from cbj_figures.exports import export, stale_exports
from cbj_figures.findings import Finding
from cbj_figures.package import open_package
from cbj_figures.tables import read_tables

FIXTURE = Path(__file__).parent / "fixtures" / "mini"
FIGURES = "resources/figures.csv"


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "pkg"))


def replace(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_export_is_deterministic_and_fresh(pkg: Path) -> None:
    written = export(pkg)
    assert written == sorted(written) and len(written) == 4
    first = {p: (pkg / p).read_bytes() for p in written}
    assert stale_exports(open_package(pkg)) == []
    export(pkg)
    assert {p: (pkg / p).read_bytes() for p in written} == first
    head = (pkg / "validators/pandera/figures.py").read_text(encoding="utf-8").splitlines()[0]
    assert "generated from schemas/figures.json — do not edit" in head


def test_stale_exports_detected(pkg: Path) -> None:
    export(pkg)
    replace(pkg, "schemas/figures.json", '"maxLength": 12', '"maxLength": 13')
    (pkg / "validators/great_expectations/orphan.json").write_text("{}", encoding="utf-8")
    (pkg / "validators/pandera/sources.py").unlink()
    found = {(f.code, f.file) for f in stale_exports(open_package(pkg))}
    assert found == {
        ("stale-export", "validators/pandera/figures.py"),
        ("stale-export", "validators/great_expectations/figures.json"),
        ("stale-export", "validators/great_expectations/orphan.json"),
        ("stale-export", "validators/pandera/sources.py"),
    }
    assert not (pkg / "validators/pandera/sources.py").exists()  # checking writes nothing


def test_a_package_without_validators_has_no_stale_exports(pkg: Path) -> None:
    assert not (pkg / "validators").exists()
    assert stale_exports(open_package(pkg)) == []


def test_generated_python_is_ruff_clean(pkg: Path) -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed")
    export(pkg)
    rules = "E,F,W,I,UP,B,SIM,RUF"
    cmd = [ruff, "check", "--isolated", "--line-length", "120", "--select", rules, "validators/pandera"]
    done = subprocess.run(cmd, cwd=pkg, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


# Runs in one fresh interpreter, in each package folder in turn: only pandas + pandera, nothing of ours importable.
PLAIN = """
import importlib.util, json, os, sys
import pandera.pandas as pa
out = {}
for name, folder, table in zip(sys.argv[1::3], sys.argv[2::3], sys.argv[3::3]):
    os.chdir(folder)
    spec = importlib.util.spec_from_file_location(f"v_{len(out)}", f"validators/pandera/{table}.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    assert "cbj_figures" not in sys.modules
    try:
        mod.schema.validate(mod.read_csv(f"resources/{table}.csv"), lazy=True)
        out[name] = []
    except pa.errors.SchemaErrors as e:
        cases = e.failure_cases
        out[name] = sorted({(str(r["column"]), str(r["check"]), str(r["index"])) for _, r in cases.iterrows()})
print(json.dumps(out))
"""

# case -> (table, edits [(file, old, new)], the failures pandera reports: [column, check, index])
PLAIN_CASES: dict[str, tuple[str, list[tuple[str, str, str]], list]] = {
    "valid": ("figures", [], []),
    "type": ("figures", [(FIGURES, ",11.5,", ",abc,")], [["value", "type", "2"]]),
    "enum": ("figures", [(FIGURES, "exact", "exactly")], [["qualifier", "enum", "0"]]),  # builtin checks: `error`
    "minimum": ("figures", [(FIGURES, "rev,2023", "rev,1999")], [["year", "minimum", "1"]]),
    "primary-key": ("figures", [(FIGURES, "rev,2023", "rev,2024")],
                    [[c, "multiple_fields_uniqueness", i] for c in ("figure_id", "year") for i in "01"]),
    "required": ("figures", [(FIGURES, "approx,S02", ",S02")], [["qualifier", "not_nullable", "2"]]),
    "min-length": ("figures", [(FIGURES, "\nNA,", "\nN,")], [["figure_id", "minLength", "2"]]),
    # The figure id "NA" is a value, not a missing one (pandas' default na_values would drop it).
    "na-text": ("figures", [(FIGURES, "\nNA,2024", "\nNA,2025")], []),
    # A pattern must match the whole value.
    "pattern": ("sources", [("resources/sources.csv", "S03,", "S033,"), (FIGURES, ",S03,", ",S033,")],
                [["source_id", "pattern", "2"]]),
}


@pytest.fixture(scope="module")
def plain_pandera(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[str]]]:
    """What the exported pandera module says of each case's package, from one plain interpreter for all."""
    base = tmp_path_factory.mktemp("plain")
    args = []
    for name, (table, edits, _) in PLAIN_CASES.items():
        pkg = Path(shutil.copytree(FIXTURE, base / name))
        export(pkg)
        for rel, old, new in edits:
            replace(pkg, rel, old, new)
        args += [name, str(pkg), table]
    done = subprocess.run([sys.executable, "-I", "-c", PLAIN, *args], cwd=base, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", list(PLAIN_CASES))
def test_pandera_module_with_plain_pandas(case: str, plain_pandera: dict[str, list[list[str]]]) -> None:
    assert plain_pandera[case] == sorted(PLAIN_CASES[case][2])


def seen_by(findings: list[Finding]) -> set[tuple]:
    """What the layers before a cross-check reported, as validate.Context.seen() gives it to them."""
    return {key for f in findings for key in ((f.file, f.row, f.field), (f.file, None, f.field))}


def test_run_pandera_locates_lines(pkg: Path) -> None:
    spec = open_package(pkg)
    tables, _ = read_tables(spec)
    assert run_pandera(spec, tables, set(), set()) == []
    replace(pkg, FIGURES, "exact", "exactly")
    replace(pkg, FIGURES, "rev,2023", "rev,2024")
    spec = open_package(pkg)
    tables, table_findings = read_tables(spec)
    found = run_pandera(spec, tables, set(), set())  # nothing seen before: pandera's own findings
    assert {(f.layer, f.code, f.line, f.field) for f in found} == {
        ("pandera", "constraint-error", 2, "qualifier"),
        ("pandera", "primary-key", 2, "figure_id,year"),
        ("pandera", "primary-key", 3, "figure_id,year"),
    }
    assert "'enum'" in next(f.message for f in found if f.field == "qualifier")
    # New with the restructure: what the tables layer already reported is not repeated.
    seen = seen_by(table_findings)
    again = run_pandera(spec, tables, set(), seen)
    assert not [f for f in again if (f.file, f.row, f.field) in seen]
    assert {(f.line, f.field) for f in again} <= {(2, "figure_id,year")}  # the enum and the repeat at line 3 are gone


@pytest.mark.slow  # Great Expectations, in this process
def test_run_ge(pkg: Path) -> None:
    pytest.importorskip("great_expectations")
    spec = open_package(pkg)
    tables, _ = read_tables(spec)
    assert run_ge(spec, tables, set(), set()) == []
    replace(pkg, FIGURES, "exact", "exactly")
    replace(pkg, FIGURES, "rev,2023", "rev,1999")
    spec = open_package(pkg)
    tables, table_findings = read_tables(spec)
    before = sorted(p for p in pkg.rglob("*"))
    found = run_ge(spec, tables, set(), set())  # nothing seen before: GE's own findings
    assert {(f.code, f.line, f.field) for f in found} == {("constraint-error", 2, "qualifier"),
                                                         ("constraint-error", 3, "year")}
    messages = {f.field: f.message for f in found}
    assert "column_values_to_be_in_set" in messages["qualifier"]
    assert "column_values_to_be_between" in messages["year"]
    assert sorted(p for p in pkg.rglob("*")) == before  # ephemeral: nothing written into the package
    # New with the restructure: what the tables layer already reported is not repeated.
    assert run_ge(spec, tables, set(), seen_by(table_findings)) == []


def test_ge_suite_round_trips(pkg: Path) -> None:
    gx = pytest.importorskip("great_expectations")
    export(pkg)
    suite = json.loads((pkg / "validators/great_expectations/figures.json").read_text(encoding="utf-8"))
    again = gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"], meta=suite["meta"])
    types = [e["type"] for e in again.to_json_dict()["expectations"]]
    assert types == [e["type"] for e in suite["expectations"]]
    assert "expect_compound_columns_to_be_unique" in types
    assert suite["meta"]["generated_from"] == "schemas/figures.json"
