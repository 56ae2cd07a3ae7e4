"""Issue 15, class 1: writes through a symlinked folder committed in the package (P6).

A pull request can commit `dist`, `docs`, `validators`, `releases` or `reports` as a symlink. Every
writing command walks from the root its write is confined to (the package for files written into it,
the working directory for a relative output path) one folder at a time without following a symlink,
so each of these is refused and nothing lands where the link points. The folder the command writes
into and every folder between the root and it are tried as the link.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Runner, assert_no_traceback, changed, snapshot
from .small import VERSION, small_package

CANARY = "the victim's own file\n"

# (id, command line run in the package folder, the folder made a symlink)
CASES = [
    ("build-out-itself", ["build", "."], "dist"),
    ("build-out-top", ["build", ".", "--out", "out/a/b"], "out"),
    ("build-out-middle", ["build", ".", "--out", "out/a/b"], "out/a"),
    ("build-out-last", ["build", ".", "--out", "out/a/b"], "out/a/b"),
    ("site-parent", ["site", ".", "--out", "dist/site"], "dist"),
    ("site-itself", ["site", ".", "--out", "dist/site"], "dist/site"),
    ("export-validators", ["export", "."], "validators"),
    ("export-pandera", ["export", "."], "validators/pandera"),
    ("export-ge", ["export", "."], "validators/great_expectations"),
    ("schemas", ["schemas", "."], "schemas"),
    ("dictionary", ["dictionary", "."], "docs"),
    ("errors", ["errors", "."], "docs"),
    ("record-release-folder", ["record-release", "."], "releases"),
    ("record-release-version", ["record-release", "."], f"releases/{VERSION}"),
    ("record-release-last", ["record-release", "."], "releases/last"),
    ("validate-junit", ["validate", ".", "--junit", "reports/x.xml"], "reports"),
    ("validate-json-top", ["validate", ".", "--json", "reports/sub/x.json"], "reports"),
    ("validate-json-last", ["validate", ".", "--json", "reports/sub/x.json"], "reports/sub"),
    ("validate-summary", ["validate", ".", "--summary", "reports/s.md"], "reports"),
    ("validate-absolute", ["validate", ".", "--junit", "{pkg}/reports/x.xml"], "reports"),
]


def _plant(pkg: Path, link: str, target: Path) -> None:
    """`link` (and the real folders above it) in the package, pointing at `target`."""
    (pkg / link).parent.mkdir(parents=True, exist_ok=True)
    (pkg / link).symlink_to(target, target_is_directory=True)


@pytest.mark.parametrize(("case", "args", "link"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("where", ["outside", "inside"])
def test_no_write_through_a_symlinked_folder(case: str, args: list[str], link: str, where: str,
                                             cli: Runner, tmp_path: Path) -> None:
    """The link points outside the package, or (the reads then succeed) at a folder inside it."""
    pkg = small_package(tmp_path / "pkg")
    victim = tmp_path / "victim" if where == "outside" else pkg / "victim"
    victim.mkdir()
    (victim / "canary.txt").write_text(CANARY, encoding="utf-8")
    if link == "schemas":  # the schemas are read through the link too: they must be there to be read
        for name in os.listdir(pkg / "schemas"):
            os.replace(pkg / "schemas" / name, victim / name)
        (pkg / "schemas").rmdir()
    before = snapshot(victim)
    _plant(pkg, link, victim)
    result = cli(*[a.format(pkg=pkg) for a in args], cwd=pkg)
    assert changed(before, snapshot(victim)) == [], f"{case}: written through {link}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, f"{case}: a symlinked {link} must be refused (exit 2)\n{result.brief()}"
    assert "symlink" in result.err or "outside" in result.err, result.brief()
    if args[0] == "validate":  # the refused report file does not cost the report itself
        assert result.out.rstrip().endswith("valid"), result.brief()


CONTROLS = [c for c in CASES if "/" not in c[2] and "json-top" not in c[0]]  # one a command and folder


@pytest.mark.parametrize(("case", "args", "link"), CONTROLS, ids=[c[0] for c in CONTROLS])
def test_the_same_commands_write_without_the_link(case: str, args: list[str], link: str, cli: Runner,
                                                  tmp_path: Path) -> None:
    """Control: without the symlink each command succeeds and writes where it should."""
    pkg = small_package(tmp_path / "pkg")
    result = cli(*[a.format(pkg=pkg) for a in args], cwd=pkg)
    assert result.rc == 0, f"{case}\n{result.brief()}"
    assert (pkg / link).is_dir() and not (pkg / link).is_symlink() and any((pkg / link).iterdir()), result.brief()


def test_a_summary_that_is_a_fifo_does_not_block(cli: Runner, tmp_path: Path) -> None:
    """`--summary` naming a FIFO nobody reads: refused at once (exit 2), the other reports still written."""
    pkg = small_package(tmp_path / "pkg")
    os.mkfifo(pkg / "summary.fifo")
    result = cli("validate", ".", "--summary", "summary.fifo", "--json", "report.json", cwd=pkg, timeout=60)
    assert not result.timed_out and result.elapsed < 30, result.brief()
    assert result.rc == 2 and "summary.fifo" in result.err, result.brief()
    assert_no_traceback(result)
    assert (pkg / "report.json").is_file(), "the JSON report was lost"


def test_an_absolute_report_path_outside_the_package_is_the_users(cli: Runner, tmp_path: Path) -> None:
    """Like $GITHUB_STEP_SUMMARY: an absolute path outside the working folder and the package is followed as
    typed (the runner's own folders may be links), only its last component never."""
    pkg = small_package(tmp_path / "pkg")
    (tmp_path / "runner-real").mkdir()
    (tmp_path / "runner").symlink_to(tmp_path / "runner-real", target_is_directory=True)
    summary = tmp_path / "runner" / "step_summary.md"
    result = cli("validate", ".", "--summary", summary, "--junit", tmp_path / "runner" / "new" / "v.xml", cwd=pkg)
    assert result.rc == 0, result.brief()
    assert "Data package validation: valid" in (tmp_path / "runner-real" / "step_summary.md").read_text("utf-8")
    assert (tmp_path / "runner-real" / "new" / "v.xml").is_file()


def test_a_report_path_that_climbs_back_is_refused(cli: Runner, tmp_path: Path) -> None:
    """`reports/../x.xml` would pass through `reports` unchecked on the way: named directly or not at all."""
    pkg = small_package(tmp_path / "pkg")
    (pkg / "reports").symlink_to(tmp_path, target_is_directory=True)
    before = snapshot(tmp_path / "pkg")
    result = cli("validate", ".", "--junit", "reports/../../x.xml", cwd=pkg)
    assert result.rc == 2 and "'..'" in result.err, result.brief()
    assert not (tmp_path.parent / "x.xml").exists() and changed(before, snapshot(tmp_path / "pkg")) == []
