"""Issue 15, class 6: bounded counts, in linear time (P8).

3,000 resources, a 20,000-field table and a 100,000-column header each took over 90 s: frictionless
pairs each header label with a deep copy of all of them, and a JSON path's line was counted from the
start of the descriptor each time. Resources, fields, header labels, rules and findings are capped;
each cap is one located `too-large` finding, the rest is left out, and the run stays within a bound
(the times at the caps are in docs/benchmark.md: a bound here, not a benchmark).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cbj_figures import safeio

from .conftest import Runner, assert_usable

BOUND = 45.0  # seconds, far above what these take (a few seconds each), far below the 90 s they took


def _package(root: Path, resources: list[dict], files: dict[str, str], **extra: object) -> Path:
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "datapackage.json").write_text(json.dumps({"name": "p", "resources": resources, **extra}, indent=1),
                                           encoding="utf-8")
    return root


def _report(cli: Runner, pkg: Path, *args: str) -> dict:
    result = cli("validate", pkg, "--json", pkg / "report.json", *args, timeout=BOUND + 30)
    assert_usable(result, (1,))
    assert result.elapsed < BOUND, f"{result.elapsed:.1f}s\n{result.brief()}"
    return json.loads((pkg / "report.json").read_text(encoding="utf-8"))


def _too_large(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == "too-large"]


def test_3000_resources(cli: Runner, tmp_path: Path) -> None:
    schema = {"fields": [{"name": "id", "type": "integer"}]}
    resources = [{"name": f"r{i}", "path": "t.csv", "schema": schema} for i in range(3000)]
    report = _report(cli, _package(tmp_path / "pkg", resources, {"t.csv": "id\n1\n"}))
    [cap] = _too_large(report)
    assert cap["field"] == f"$.resources[{safeio.MAX_RESOURCES}]" and cap["file"] == "datapackage.json"
    assert "3,000 resources" in cap["message"]


def test_a_20000_field_table(cli: Runner, tmp_path: Path) -> None:
    names = [f"f{i}" for i in range(20_000)]
    data = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
    resources = [{"name": "t", "path": "t.csv", "schema": {"fields": [{"name": n, "type": "integer"} for n in names]}}]
    report = _report(cli, _package(tmp_path / "pkg", resources, {"t.csv": data}))
    caps = {f["field"] or f["file"]: f for f in _too_large(report)}
    assert f"$.resources[0].schema.fields[{safeio.MAX_FIELDS}]" in caps  # the schema's cap, located
    assert "t.csv" in caps and caps["t.csv"]["row"] == 1  # and the header's


def test_a_100000_column_header(cli: Runner, tmp_path: Path) -> None:
    names = [f"c{i}" for i in range(100_000)]
    data = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
    resources = [{"name": "t", "path": "t.csv", "schema": {"fields": [{"name": "c0", "type": "integer"}]}}]
    report = _report(cli, _package(tmp_path / "pkg", resources, {"t.csv": data}))
    [cap] = _too_large(report)
    assert cap["file"] == "t.csv" and cap["line"] == 1 and "100,000 labels" in cap["message"]


@pytest.mark.parametrize("compressed", [False, True])
def test_a_header_at_the_cap_is_read(cli: Runner, tmp_path: Path, compressed: bool) -> None:
    """Control: a header of MAX_COLUMNS labels, all of them unexpected, is read and reported label by label."""
    import gzip

    names = [f"c{i}" for i in range(safeio.MAX_COLUMNS)]
    data = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
    pkg = _package(tmp_path / "pkg", [{"name": "t", "path": "t.csv.gz" if compressed else "t.csv",
                                       "schema": {"fields": [{"name": "x", "type": "integer"}]}}], {})
    if compressed:
        (pkg / "t.csv.gz").write_bytes(gzip.compress(data.encode()))
    else:
        (pkg / "t.csv").write_text(data, encoding="utf-8")
    report = _report(cli, pkg)
    assert _too_large(report) == []
    labels = [f for f in report["findings"] if f["code"] in ("extra-label", "incorrect-label")]
    assert len(labels) >= safeio.MAX_COLUMNS - 1


def test_rules_past_the_cap(cli: Runner, tmp_path: Path) -> None:
    """More rules than MAX_RULES (each a rule-error here: they name no figure): one too-large finding at the
    first rule left out, and no finding for the rules after it."""
    n = safeio.MAX_RULES + 50
    rules = "rules:\n" + "".join(f"  - {{id: r{i}, kind: sum, parts: [t/a], total: t/b}}\n" for i in range(n))
    resources = [{"name": "t", "path": "t.csv", "schema": {"fields": [{"name": "id", "type": "string"}]}}]
    profile = "https://cbj-figures.github.io/cbj-figures/profiles/1.0/datapackage.json"
    files = {"t.csv": "id\na\n", "checks/rules.yaml": rules}
    pkg = _package(tmp_path / "pkg", resources, files, **{"$schema": profile})
    report = _report(cli, pkg)
    [cap] = _too_large(report)
    assert cap["file"] == "checks/rules.yaml" and cap["line"] == safeio.MAX_RULES + 2
    assert sum(1 for f in report["findings"] if f["code"] == "rule-error") == safeio.MAX_RULES


def test_findings_past_the_cap(cli: Runner, tmp_path: Path) -> None:
    """A table of more bad cells than a report lists: MAX_FINDINGS findings, then one that says how many more."""
    rows = safeio.MAX_FINDINGS + 500
    resources = [{"name": "t", "path": "t.csv", "schema": {"fields": [{"name": "v", "type": "integer"}]}}]
    pkg = _package(tmp_path / "pkg", resources, {"t.csv": "v\n" + "x\n" * rows})
    report = _report(cli, pkg)
    assert len(report["findings"]) == safeio.MAX_FINDINGS + 1
    [cap] = _too_large(report)
    assert cap is report["findings"][-1] or cap == report["findings"][-1]
    assert f"{rows - safeio.MAX_FINDINGS:,} more findings" in cap["message"]
