"""Version diffs: what changed, cell by cell, and the bump it needs; the release version check."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from cbj_figures.diff import LAST_RELEASE, bump_between, check_version_bump, constraint_bump, diff, record_release
from cbj_figures.package import copy_package

REPO = Path(__file__).resolve().parents[1]
VERSION = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))["version"]  # the current release
_MAJOR, _MINOR, _PATCH = map(int, VERSION.split("."))
NEXT_PATCH, NEXT_MINOR = f"{_MAJOR}.{_MINOR}.{_PATCH + 1}", f"{_MAJOR}.{_MINOR + 1}.0"


@pytest.fixture
def old(tmp_path: Path) -> Path:
    return copy_package(REPO, tmp_path / "old")


@pytest.fixture
def new(old: Path, tmp_path: Path) -> Path:
    return copy_package(old, tmp_path / "new")


def replace(path: Path, before: str, after: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert before in text
    path.write_text(text.replace(before, after, 1), encoding="utf-8")


def edit_table(root: Path, table: str, change: Callable[[dict, pl.DataFrame], tuple[dict, pl.DataFrame]]) -> None:
    """Change a schema and its CSV together, the CSV written as text (every cell as it was)."""
    schema_path, csv_path = root / "schemas" / f"{table}.json", root / "resources" / f"{table}.csv"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    frame = pl.read_csv(csv_path, infer_schema=False)
    schema, frame = change(schema, frame)
    schema_path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    frame.write_csv(csv_path)


def test_identical_packages_need_no_bump(old: Path, new: Path) -> None:
    result = diff(old, new)
    assert result.changes == [] and result.bump == "none"


def test_edited_figure_names_the_cell_and_asks_for_a_patch(old: Path, new: Path) -> None:
    replace(new / "resources" / "company_financials.csv", "2024,325,3.25亿元", "2024,326,3.26亿元")
    result = diff(old, new)
    assert result.bump == "patch"
    cells = {(c.table, c.key["figure_id"], c.field): (c.old, c.new) for c in result.changes if c.kind == "cell_changed"}
    assert cells == {
        ("company_financials", "jiliu-revenue-2024-total", "value"): (325.0, 326.0),
        ("company_financials", "jiliu-revenue-2024-total", "printed"): ("3.25亿元", "3.26亿元"),
    }
    text = result.to_text()
    assert "company_financials.value (figure_id=jiliu-revenue-2024-total) 325 -> 326" in text
    payload = json.loads(result.to_json())
    assert payload["bump"] == "patch" and payload["tables"]["company_financials"]["cells_changed"] == 2


def test_added_row_is_minor(old: Path, new: Path) -> None:
    csv = new / "resources" / "market_size.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    added = lines[1].replace("ai-compute-cluster-market-2021", "ai-compute-cluster-market-2022")
    csv.write_text("".join(lines) + added, encoding="utf-8")
    result = diff(old, new)
    assert result.bump == "minor"
    assert [(c.kind, c.key) for c in result.changes] == [("row_added", {"figure_id": "ai-compute-cluster-market-2022"})]


def test_removed_row_is_major(old: Path, new: Path) -> None:
    edit_table(new, "market_size", lambda s, f: (s, f.slice(1)))
    result = diff(old, new)
    assert result.bump == "major"
    assert [c.kind for c in result.changes] == ["row_removed"]


def test_removed_field_is_major(old: Path, new: Path) -> None:
    def drop_note(schema: dict, frame: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "note"]
        return schema, frame.drop("note")

    edit_table(new, "market_size", drop_note)
    result = diff(old, new)
    assert result.bump == "major"
    assert [(c.kind, c.table, c.field) for c in result.changes] == [("field_removed", "market_size", "note")]


def test_added_field_is_minor(old: Path, new: Path) -> None:
    def add_field(schema: dict, frame: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
        schema["fields"].append({"name": "remark", "type": "string", "description": "A new remark."})
        return schema, frame.with_columns(pl.lit("").alias("remark"))

    edit_table(new, "market_size", add_field)
    result = diff(old, new)
    assert result.bump == "minor"
    assert [(c.kind, c.field) for c in result.changes] == [("field_added", "remark")]


def test_renamed_field_is_major(old: Path, new: Path) -> None:
    def rename(schema: dict, frame: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
        next(f for f in schema["fields"] if f["name"] == "note")["name"] = "remark"
        return schema, frame.rename({"note": "remark"})

    edit_table(new, "market_size", rename)
    result = diff(old, new)
    assert result.bump == "major"
    renamed = [c for c in result.changes if c.kind == "field_renamed"]
    assert [(c.old, c.new) for c in renamed] == [("note", "remark")]


def test_retyped_and_reordered_fields_are_major(old: Path, new: Path) -> None:
    def retype_and_swap(schema: dict, frame: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
        fields = schema["fields"]
        value = next(f for f in fields if f["name"] == "value")
        value["type"] = "string"
        value.pop("constraints", None)
        i, j = [f["name"] for f in fields].index("inference_note"), [f["name"] for f in fields].index("note")
        fields[i], fields[j] = fields[j], fields[i]
        return schema, frame.select([f["name"] for f in fields])

    edit_table(new, "market_size", retype_and_swap)
    kinds = {c.kind for c in diff(old, new).changes}
    assert {"field_retyped", "fields_reordered"} <= kinds
    assert "cell_changed" not in kinds  # 13800 as a number and "13800" as text are the same value
    assert diff(old, new).bump == "major"


def test_changed_primary_key_is_major(old: Path, new: Path) -> None:
    def rekey(schema: dict, frame: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
        schema["primaryKey"] = ["entity_id", "period"]
        return schema, frame

    edit_table(new, "market_size", rekey)
    result = diff(old, new)
    assert result.bump == "major" and "primary_key_changed" in {c.kind for c in result.changes}


def test_constraint_changes_by_direction() -> None:
    assert constraint_bump("enum", ["a"], ["a", "b"]) == "minor"
    assert constraint_bump("enum", ["a", "b"], ["a"]) == "major"
    assert constraint_bump("required", None, True) == "major"
    assert constraint_bump("required", True, None) == "minor"
    assert constraint_bump("minimum", 0, -1) == "minor"
    assert constraint_bump("maximum", 10, 5) == "major"
    assert constraint_bump("pattern", "^a$", "^b$") == "major"


def test_tables_added_and_removed(old: Path, new: Path) -> None:
    descriptor_path = new / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    descriptor["resources"] = [r for r in descriptor["resources"] if r["name"] != "policy_events"]
    descriptor_path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2), encoding="utf-8")
    assert [(c.kind, c.table) for c in diff(old, new).changes] == [("table_removed", "policy_events")]
    assert [(c.kind, c.table, c.bump) for c in diff(new, old).changes] == [("table_added", "policy_events", "minor")]


def test_metadata_edit_is_a_patch(old: Path, new: Path) -> None:
    path = new / "schemas" / "market_size.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"][0]["description"] += " (reworded)"
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    result = diff(old, new)
    assert [(c.kind, c.bump, c.detail) for c in result.changes] == [("field_property_changed", "patch", "description")]


def test_source_text_edits_are_patches(old: Path, new: Path) -> None:
    text = next((new / "resources" / "sources").glob("*.txt"))
    text.write_text(text.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    replace(new / "datapackage.json", '"title": "Source text:', '"title": "Source text (fixed):')
    result = diff(old, new)
    assert [c.kind for c in result.changes] == ["text_changed", "resource_property_changed"]
    assert result.bump == "patch"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_git_refs_leave_the_work_tree_alone(old: Path) -> None:
    git(old, "init", "-q")
    git(old, "-c", "user.name=t", "-c", "user.email=t@example.org", "add", ".")
    git(old, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "0.1.0")
    replace(old / "resources" / "company_financials.csv", "2024,325,", "2024,326,")
    git(old, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qam", "fix")
    replace(old / "resources" / "market_size.csv", "13800", "13900")  # uncommitted edit
    result = diff("HEAD~1", "HEAD", repo=old)
    assert [(c.table, c.field, c.old, c.new) for c in result.changes] == [("company_financials", "value", 325.0, 326.0)]
    assert git(old, "status", "--porcelain") == " M resources/market_size.csv\n"
    assert "13900" in (old / "resources" / "market_size.csv").read_text(encoding="utf-8")
    worktree = diff("HEAD", old, repo=old)
    changed = [c.key for c in worktree.changes if c.kind == "cell_changed"]
    assert changed == [{"figure_id": "ai-compute-cluster-market-2021"}]
    with pytest.raises(ValueError, match="no-such-ref"):
        diff("no-such-ref", old, repo=old)


def test_bump_between() -> None:
    assert bump_between("0.1.0", "0.1.1") == "patch"
    assert bump_between("0.1.0", "0.2.0") == "minor"
    assert bump_between("0.1.0", "1.0.0") == "major"
    assert bump_between("0.2.0", "0.1.9") == "none"


def bump(root: Path, version: str, changelog: bool = True) -> None:
    replace(root / "datapackage.json", f'"version": "{VERSION}"', f'"version": "{version}"')
    if changelog:
        path = root / "CHANGELOG.md"
        path.write_text(path.read_text(encoding="utf-8") + f"\n## [{version}]\n\n- a change\n", encoding="utf-8")


@pytest.fixture
def released(old: Path) -> Path:
    """A package with its last release recorded and a changelog entry for it."""
    shutil.copyfile(REPO / "CHANGELOG.md", old / "CHANGELOG.md")
    record_release(old)
    return old


def test_version_check_passes_when_nothing_changed(released: Path) -> None:
    assert (released / LAST_RELEASE / "datapackage.json").is_file()
    assert check_version_bump(released) == []


def test_version_check_fails_when_not_bumped(released: Path) -> None:
    replace(released / "resources" / "company_financials.csv", "2024,325,", "2024,326,")
    findings = check_version_bump(released)
    assert [(f.layer, f.code) for f in findings] == [("release", "version-bump")]
    assert "patch" in findings[0].message and "jiliu-revenue-2024-total" in findings[0].message
    bump(released, NEXT_PATCH)
    assert check_version_bump(released) == []


def test_version_check_fails_when_bumped_too_little(released: Path) -> None:
    csv = released / "resources" / "market_size.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    csv.write_text("".join(lines) + lines[1].replace("-2021,", "-2022,"), encoding="utf-8")
    bump(released, NEXT_PATCH)
    assert [f.code for f in check_version_bump(released)] == ["version-bump"]
    replace(released / "datapackage.json", f'"version": "{NEXT_PATCH}"', f'"version": "{NEXT_MINOR}"')
    assert [f.code for f in check_version_bump(released)] == ["changelog"]  # NEXT_MINOR has no entry yet


def test_the_repository_is_in_step_with_its_last_release() -> None:
    """releases/last/ records the last release; CHANGELOG.md names the current version."""
    assert check_version_bump(REPO) == []
