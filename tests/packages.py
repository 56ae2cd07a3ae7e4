"""Copies of this repository's package for tests that break one thing in it: copy, edit cells, pin again; and
`shared`, for what a test run makes once (across pytest-xdist workers)."""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARTS = ("datapackage.json", "resources", "schemas", "checks", "validators", "releases", "CHANGELOG.md", "site.yaml")


def copy_package(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for part in PARTS:
        (shutil.copytree if (REPO / part).is_dir() else shutil.copy)(REPO / part, dest / part)
    return dest


def edit_cells(pkg: Path, table: str, key: str, **cells: str) -> None:
    """Edit cells of one row and pin the file again (as a maintainer would, with `cbj-figures rehash`)."""
    from cbj_figures.build import rehash

    path = pkg / "resources" / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    row = next(r for r in rows if r[0] == key)
    for name, value in cells.items():
        row[rows[0].index(name)] = value
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    rehash(pkg)


def shared(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """`<run folder>/<name>`, made by `make(path)` once for the whole run (every xdist worker), never twice."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    target, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            if target.exists():  # left half-made by a worker whose `make` failed: start again
                shutil.rmtree(target)
            make(target)
            done.touch()
    return target
