"""The files other repositories and CI run: the workflow, the composite action, the pre-commit hooks.

Each is checked against its published schema, and then run for real: the action's validate step
with bash, the hooks with `pre-commit try-repo` in a new git repository holding a copy of the package.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from packages import REPO, copy_package, edit_cells

BIN = Path(sys.executable).parent


def tool(name: str, *args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / name), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (".github/workflows/validate.yml", "vendor.github-workflows"),
        (".github/workflows/pages.yml", "vendor.github-workflows"),
        ("action.yml", "vendor.github-actions"),
    ],
)
def test_workflow_files_follow_their_schemas(path: str, schema: str) -> None:
    done = tool("check-jsonschema", "--builtin-schema", schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflow_runs_the_readme_commands() -> None:
    """The workflow runs exactly the README's two commands (with reporting flags), in that order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert quick_start is not None
    commands = [line.split("#")[0].strip() for line in quick_start[1].splitlines() if line.strip()]
    assert commands == ["make all", "make test"]
    steps = yaml.safe_load((REPO / ".github/workflows/validate.yml").read_text(encoding="utf-8"))["jobs"]["validate"][
        "steps"
    ]
    runs = [line.strip() for s in steps for line in s.get("run", "").splitlines() if line.strip().startswith("make ")]
    assert [r.split()[:2] for r in runs] == [["make", "all"], ["make", "test"]]
    assert "$GITHUB_STEP_SUMMARY" in runs[0] and "--github" in runs[0] and "--junit" in runs[0]


def test_the_pages_workflow_publishes_the_site_of_a_release_tag() -> None:
    """On a tag, `make all` (which builds dist/site) and that folder uploaded and deployed to GitHub Pages."""
    flow = yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text(encoding="utf-8"))
    assert flow[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    build = flow["jobs"]["build"]["steps"]
    assert [s["run"] for s in build if "run" in s] == ["make all"]
    upload = next(s for s in build if str(s.get("uses", "")).startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "dist/site"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^all: .*\bsite\b", makefile, re.M) and "site --out dist/site" in makefile
    assert "apt-get install -y -qq chromium" in (REPO / ".ci/run").read_text(encoding="utf-8")


def test_the_pre_commit_manifest_is_valid() -> None:
    done = tool("pre-commit", "validate-manifest", ".pre-commit-hooks.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert hooks["cbj-figures-validate"]["entry"] == "cbj-figures validate"
    assert hooks["cbj-figures-check-version"]["entry"] == "cbj-figures check-version"


def broken_figure(pkg: Path) -> None:
    """4.73亿元 for 4.37亿元: printed and stored agree, so only the consistency rule can see it."""
    edit_cells(pkg, "company_financials", "jiliu-revenue-2025-products", value="473", printed="4.73亿元")
    quote = "2025年,基流科技AI算力集群产品收入为4.73亿元"
    edit_cells(pkg, "company_financials", "jiliu-revenue-2025-products", quote=quote)


def action_step(name: str) -> str:
    steps = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))["runs"]["steps"]
    return next(s["run"] for s in steps if s.get("name") == name)


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "broken-figure"])
def test_the_action_validate_step(tmp_path: Path, broken: bool) -> None:
    """The action's own shell step, with the inputs and runner variables GitHub would give it."""
    pkg = copy_package(tmp_path / "workspace" / "data")
    if broken:
        broken_figure(pkg)
    runner = tmp_path / "runner"
    (runner / "cbj-figures" / "bin").mkdir(parents=True)
    (runner / "cbj-figures" / "bin" / "cbj-figures").symlink_to(BIN / "cbj-figures")  # the installed toolkit
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        "PACKAGE": "data",
        "ALL": "false",
        "JUNIT": "validate.xml",
        "RUNNER_TEMP": str(runner),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    done = subprocess.run(
        ["bash", "-e", "-c", action_step("Validate")],
        cwd=tmp_path / "workspace",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == (1 if broken else 0), done.stdout + done.stderr
    assert "great_expectations   skipped" in done.stdout  # all: "false" means what it says, in CI too
    report = ET.parse(tmp_path / "workspace" / "validate.xml").getroot()
    assert report.tag == "testsuites"
    assert summary.read_text(encoding="utf-8").startswith("## Data package validation: ")
    if broken:
        assert "::error file=resources/company_financials.csv,line=" in done.stdout
        assert "jiliu-segments-sum-2025" in done.stdout


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for both runs (pre-commit builds it on first use)."""
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(data: Path, home: Path, hook: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "CI")}
    env |= {
        "PRE_COMMIT_HOME": str(home),
        "PIP_CONSTRAINT": str(REPO / "requirements.lock"),  # the hook's environment, as pinned as ours
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }
    subprocess.run(["git", "add", "-A"], cwd=data, check=True, env=env)
    return tool("pre-commit", "try-repo", str(REPO), hook, cwd=data, env=env)


@pytest.mark.slow
def test_pre_commit_stops_a_broken_figure_and_lets_a_good_edit_pass(tmp_path: Path, pre_commit_home: Path) -> None:
    data = copy_package(tmp_path / "data")
    subprocess.run(["git", "init", "--quiet"], cwd=data, check=True)
    edit_cells(data, "company_financials", "jiliu-revenue-2023-total", note="a reviewer's note")  # a good edit
    done = try_repo(data, pre_commit_home, "cbj-figures-validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Passed" in done.stdout

    broken_figure(data)
    done = try_repo(data, pre_commit_home, "cbj-figures-validate")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Failed" in done.stdout and "jiliu-segments-sum-2025" in done.stdout
