"""Attack 1: code from the package runs.

CI runs `cbj-figures validate` inside the checkout of a stranger's pull request, so the working
directory is attacker-controlled. A Python module planted there must never be imported: child
processes start isolated (`python -I`), with a neutral cwd, and the planted module must not
decide what a layer reports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Runner, assert_no_traceback, edit_row, json_report, rehash

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


@pytest.mark.parametrize("plant", list(PLANTS))
def test_a_module_planted_in_the_working_directory_never_runs(
    plant: str, pkg: Path, cli: Runner, tmp_path: Path
) -> None:
    """`cbj-figures validate` run in the package folder (as CI does) imports nothing from it."""
    _broken_once(pkg)
    baseline = cli("validate", pkg, "--all", "--json", tmp_path / "baseline.json")  # every layer, every import
    assert baseline.rc == 1, baseline.brief()
    expected = _findings(json_report(tmp_path / "baseline.json"))
    assert any(f[0] == "tables" for f in expected), "the baseline must have findings to compare"

    marker = tmp_path / "markers" / plant
    marker.parent.mkdir()
    for rel, source in PLANTS[plant].items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(source.format(marker=str(marker)), encoding="utf-8")

    result = cli("validate", "--all", "--json", tmp_path / "planted.json", cwd=pkg)  # the package is the cwd
    assert not marker.exists(), f"code planted in the package ran: {marker.read_text()!r}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 1, result.brief()
    assert _findings(json_report(tmp_path / "planted.json")) == expected, "a planted module changed the findings"
