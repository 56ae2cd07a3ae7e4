"""Issue 15, class 7: a pull request cannot switch the checks off (P11/P13).

Setting `$schema` to a URL the toolkit does not hold dropped the conventions, consistency and
provenance layers and said "valid". Now a profile not checked is always a finding (a note at least),
and a package's own CI requires its profile (`validate --require-profile URL`, or `[tool.cbj-figures]
profile` in the pyproject.toml beside the descriptor, which this repository's workflow, action, hooks
and `make validate` use): a package that names another is a `profile-required` error.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .conftest import ROOT, Runner, assert_usable
from .small import small_package

OURS = "https://cbj-figures.github.io/cbj-figures/profiles/1.0/datapackage.json"
EVIL = "https://evil.example/profile.json"


def _report(cli: Runner, pkg: Path, *args: str, rc: int) -> dict:
    result = cli("validate", pkg, "--json", pkg / "report.json", *args)
    assert_usable(result, (rc,))
    return json.loads((pkg / "report.json").read_text(encoding="utf-8"))


def _codes(report: dict) -> dict[str, dict]:
    return {f["code"]: f for f in report["findings"]}


def test_a_profile_not_held_is_never_silent(cli: Runner, tmp_path: Path) -> None:
    pkg = small_package(tmp_path / "pkg", **{"$schema": EVIL})
    note = _codes(_report(cli, pkg, rc=0))["not-checked"]
    assert note["field"] == "$.$schema" and EVIL in note["message"] and "conventions" in note["message"]


def test_the_pyproject_beside_the_descriptor_requires_the_profile(cli: Runner, tmp_path: Path) -> None:
    pkg = small_package(tmp_path / "pkg", **{"$schema": EVIL})
    (pkg / "pyproject.toml").write_text(f'[tool.cbj-figures]\nprofile = "{OURS}"\n', encoding="utf-8")
    found = _codes(_report(cli, pkg, rc=1))["profile-required"]
    assert found["field"] == "$.$schema" and OURS in found["message"] and EVIL in found["message"]


def test_require_profile_on_the_command_line(cli: Runner, tmp_path: Path) -> None:
    pkg = small_package(tmp_path / "pkg")  # no $schema at all: v1, no conventions
    assert "profile-required" in _codes(_report(cli, pkg, "--require-profile", OURS, rc=1))


def test_a_required_profile_the_toolkit_does_not_hold_cannot_pass(cli: Runner, tmp_path: Path) -> None:
    """Naming the required profile is not enough when it cannot be checked: still an error, never silence."""
    pkg = small_package(tmp_path / "pkg", **{"$schema": EVIL})
    found = _codes(_report(cli, pkg, "--require-profile", EVIL, rc=1))["profile-required"]
    assert "not one this toolkit holds" in found["message"]


def test_an_unreadable_pyproject_is_a_finding(cli: Runner, tmp_path: Path) -> None:
    pkg = small_package(tmp_path / "pkg")
    (pkg / "pyproject.toml").write_text("[tool.cbj-figures\nprofile = \n", encoding="utf-8")
    found = _codes(_report(cli, pkg, rc=1))["profile-required"]
    assert found["file"] == "pyproject.toml"


def test_this_repository_requires_its_profile_everywhere(cli: Runner) -> None:
    """pyproject.toml names our profile; the workflow passes it again, the action has the input, the hooks and
    `make validate` read pyproject.toml; and our package passes."""
    assert f'profile = "{OURS}"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    flow = (ROOT / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8")
    assert f"--require-profile {OURS}" in flow
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert "require-profile" in action["inputs"]
    assert '--require-profile "$REQUIRE_PROFILE"' in action["runs"]["steps"][-1]["run"]
    result = cli("validate", ROOT, "--require-profile", OURS)
    assert_usable(result, (0,))
