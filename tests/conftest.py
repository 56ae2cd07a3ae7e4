"""Shared fixtures: the packages tests read or break, and the expensive runs done once a session.

- `repo_package`: one copy of this repository's package for tests that only read it, made once a run
  and checked unchanged at the end (a test that writes into it fails the run, naming the files).
- `package_copy`: a fresh copy of the repository's package for one test to break.
- `mini_package`: a fresh copy of `tests/fixtures/mini` (the standard alone: two tables, a text), for
  toolkit tests that need a package but not ours: far smaller and faster to validate.
- `repo_report`: the JSON report of one `cbj-figures validate --all` of `repo_package` (every layer).
- `release`: one `cbj-figures build` of the repository's package (`dist/<name>-<version>` and its zip).

Under pytest-xdist every worker is a session of its own: `shared()` (tests/packages.py) lets the first
worker that needs a thing make it in the folder all workers share, under a file lock, and the others reuse
it. `make test` hands out whole files (`--dist loadfile`), so a module's fixtures are made once a run, and
a session fixture used by one file only (one Chromium; a Spark session, one JVM) starts once a run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packages import copy_package, shared

FIXTURES = Path(__file__).parent / "fixtures"
CLI = Path(sys.executable).parent / "cbj-figures"


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() or p.is_symlink()}


@pytest.fixture(scope="session")
def repo_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The repository's package, read-only: never write into it (copy it, or use `package_copy`)."""

    def make(folder: Path) -> None:
        copy_package(folder / "pkg")
        (folder / "fingerprint.json").write_text(json.dumps(fingerprint(folder / "pkg")), encoding="utf-8")

    folder = shared(tmp_path_factory, "repo-package", make)
    pkg, before = folder / "pkg", json.loads((folder / "fingerprint.json").read_text(encoding="utf-8"))
    yield pkg
    after = fingerprint(pkg)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"a test wrote into the shared read-only package: {changed}"


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A fresh copy of the repository's package (descriptor, tables, schemas, rules, releases) to break."""
    return copy_package(tmp_path / "pkg")


@pytest.fixture
def mini_package(tmp_path: Path) -> Path:
    """A fresh copy of the small fixture package `tests/fixtures/mini` to break."""
    return Path(shutil.copytree(FIXTURES / "mini", tmp_path / "mini"))


def _cli(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def repo_report(repo_package: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """`cbj-figures validate --all --json` of the repository's package, run once: its report as JSON."""

    def run(folder: Path) -> None:
        folder.mkdir()
        done = _cli("validate", repo_package, "--all", "--json", folder / "report.json", cwd=folder)
        assert done.returncode in (0, 1) and (folder / "report.json").is_file(), done.stdout + done.stderr

    folder = shared(tmp_path_factory, "repo-report", run)
    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def release(repo_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release folder `cbj-figures build` makes of the repository's package (its zip beside it); read only."""

    def run(folder: Path) -> None:
        folder.mkdir()
        done = _cli("build", repo_package, "--out", folder, cwd=folder)
        assert done.returncode == 0, done.stdout + done.stderr

    dist = shared(tmp_path_factory, "release", run)
    (folder,) = [p for p in dist.iterdir() if p.is_dir()]
    return folder
