"""Attack 1: code from the package runs.

CI runs `cbj-figures validate` inside the checkout of a stranger's pull request, so the working
directory is attacker-controlled. A Python module planted there must never be imported: child
processes start isolated (`python -I`), with a neutral cwd, and the planted module must not
decide what a layer reports. The modules are planted together (each writes its own marker), so a
baseline run and two planted runs, all `validate --all`, serve every case.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import Result, Runner, assert_no_traceback, copy_package, edit_row, json_report, rehash

pytestmark = pytest.mark.slow

# file to plant (relative to the working directory) -> its source; {marker} is an absolute path
PLANTS: dict[str, dict[str, str]] = {
    "cbj_figures-package": {
        "cbj_figures/__init__.py": "open({marker!r}, 'a').write('cbj_figures imported\\n')\n",
        # a look-alike of the pandera layer's entry point that reports "no findings"
        "cbj_figures/exports.py": (
            "import os\nopen({marker!r}, 'a').write('cbj_figures.exports ran\\n')\nprint('[]', flush=True)\n"
            "os._exit(0)\n"
        ),
    },
    "sitecustomize": {"sitecustomize.py": "open({marker!r}, 'a').write('sitecustomize imported\\n')\n"},
    "usercustomize": {"usercustomize.py": "open({marker!r}, 'a').write('usercustomize imported\\n')\n"},
    "pandera-package": {"pandera/__init__.py": "open({marker!r}, 'a').write('pandera imported\\n')\n"},
    "polars-module": {"polars.py": "open({marker!r}, 'a').write('polars imported\\n')\n"},
    "pyarrow-package": {"pyarrow/__init__.py": "open({marker!r}, 'a').write('pyarrow imported\\n')\n"},
}


def _broken_once(pkg: Path) -> None:
    """One error (reported by the tables layer; the cross-checks see it too), so a silenced layer shows."""
    edit_row(pkg, "leasing_deals", "zhongyin-2026-01-09", lease_structure="rental")
    rehash(pkg)


def _findings(report: dict) -> list[tuple]:
    return [(f["layer"], f["rule"], f["file"], f["line"], f["field"], f["message"]) for f in report["findings"]]


# Plants share a run: each writes its marker as soon as it is imported, so a toolkit that imports from its
# working directory takes at least the first plant it needs there, and that plant's case fails. The look-alike
# of the toolkit itself runs alone: once imported it replaces the toolkit, and no other import would follow.
RUNS: dict[str, list[str]] = {
    "toolkit-look-alike": ["cbj_figures-package"],
    "startup-and-libraries": [p for p in PLANTS if p != "cbj_figures-package"],
}


@dataclass
class Planted:
    """One baseline run, then one run a group of RUNS with its modules planted in the working directory."""

    baseline: Result
    expected: list[tuple]
    results: dict[str, Result]
    reports: dict[str, dict]
    markers: Path


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    base = tmp_path_factory.mktemp("planted")
    _broken_once(copy_package(base / "broken"))
    cli = Runner(base / "run")
    markers = base / "markers"
    markers.mkdir()
    try:
        baseline = cli("validate", base / "broken", "--all", "--json", base / "baseline.json")  # every layer
        expected = _findings(json_report(base / "baseline.json")) if baseline.rc == 1 else []
        results, reports = {}, {}
        for run, plants in RUNS.items():
            pkg = Path(shutil.copytree(base / "broken", base / run))
            for plant in plants:
                for rel, source in PLANTS[plant].items():
                    (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
                    (pkg / rel).write_text(source.format(marker=str(markers / plant)), encoding="utf-8")
            report = base / f"{run}.json"
            results[run] = cli("validate", "--all", "--json", report, cwd=pkg)  # the package is the cwd
            reports[run] = json_report(report) if report.is_file() else {"findings": []}
        yield Planted(baseline, expected, results, reports, markers)
    finally:
        cli.cleanup()


def test_the_baseline_has_findings_to_compare(planted: Planted) -> None:
    assert planted.baseline.rc == 1, planted.baseline.brief()
    assert any(f[0] == "tables" for f in planted.expected), "the baseline must have findings to compare"


@pytest.mark.parametrize("plant", list(PLANTS))
def test_a_module_planted_in_the_working_directory_never_runs(plant: str, planted: Planted) -> None:
    """`cbj-figures validate` run in the package folder (as CI does) imports nothing from it."""
    marker = planted.markers / plant
    (run,) = [run for run, plants in RUNS.items() if plant in plants]
    assert not marker.exists(), f"code planted in the package ran: {marker.read_text()!r}\n" + (
        planted.results[run].brief()
    )


@pytest.mark.parametrize("run", list(RUNS))
def test_the_planted_modules_change_nothing(run: str, planted: Planted) -> None:
    """With the modules planted, the run still ends as the baseline did, with the same findings."""
    result = planted.results[run]
    assert_no_traceback(result)
    assert result.rc == 1, result.brief()
    assert _findings(planted.reports[run]) == planted.expected, "a planted module changed the findings"


def test_every_plant_is_in_one_run() -> None:
    assert sorted(p for plants in RUNS.values() for p in plants) == sorted(PLANTS)
