"""The built wheel in a fresh virtual environment: with the pinned lock, and with the oldest versions
the dependency ranges of pyproject.toml allow. Each loads every table, validates and builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]

LOAD_EVERY_TABLE = """
import json, sys
import pandas as pd, polars as pl
from cbj_figures.loader import data_root, load
root = data_root()
assert root.name == "_data" and "site-packages" in str(root), root
names = [r["name"] for r in json.loads((root / "datapackage.json").read_text("utf-8"))["resources"] if "schema" in r]
for name in names:
    frame, lazy = load(name), load(name, engine="polars")
    assert isinstance(frame, pd.DataFrame) and isinstance(lazy, pl.DataFrame), name
    assert len(frame) == lazy.height > 0, name
assert load("company_financials")["value"].dtype == "Float64"
print(json.dumps(names))
"""


def oldest_constraints() -> list[str]:
    """`name==X` for every runtime and `ge` requirement written `>=X`: the floor the ranges promise."""
    out = []
    for text in [*PYPROJECT["dependencies"], *PYPROJECT["optional-dependencies"]["ge"]]:
        req = Requirement(text)
        floors = [s.version for s in req.specifier if s.operator == ">="]
        assert floors, f"{text}: state a lower bound (the oldest version tested)"
        out.append(f"{req.name}=={floors[0]}")
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    args = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)]
    subprocess.run(args, check=True)
    (built,) = out.glob("cbj_figures-*.whl")
    return built


@pytest.mark.slow
@pytest.mark.parametrize("versions", ["lock", "oldest"])
def test_the_wheel_installs_loads_validates_and_builds(wheel: Path, tmp_path: Path, versions: str) -> None:
    constraints = tmp_path / "constraints.txt"
    if versions == "lock":
        constraints.write_text((REPO / "requirements.lock").read_text(encoding="utf-8"), encoding="utf-8")
    else:
        constraints.write_text("\n".join(oldest_constraints()) + "\n", encoding="utf-8")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python, cli = venv / "bin" / "python", venv / "bin" / "cbj-figures"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "CI")}
    env["PIP_CONSTRAINT"] = str(constraints)

    def run(*args: str, cwd: Path = tmp_path) -> str:
        done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    run(str(python), "-m", "pip", "install", "--quiet", f"{wheel}[ge]")
    if versions == "oldest":  # the resolver really took the floors, or the test proves nothing
        installed = {p["name"].lower().replace("_", "-"): p["version"] for p in json.loads(
            run(str(python), "-m", "pip", "list", "--format", "json"))}
        for pin in oldest_constraints():
            name, version = pin.split("==")
            assert installed[name.lower()] == version or installed[name.lower()].startswith(version + "."), pin
    tables = json.loads(run(str(python), "-c", LOAD_EVERY_TABLE))
    assert len(tables) == len([r for r in json.loads((REPO / "datapackage.json").read_text("utf-8"))["resources"]
                               if "schema" in r])
    assert run(str(cli), "validate", "--all", str(REPO)).splitlines()[-1] == "valid"
    run(str(cli), "build", str(REPO), "--out", str(tmp_path / "dist"))
    assert (tmp_path / "dist").is_dir()
