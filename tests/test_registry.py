"""The field registry: every field defined once, the Table Schemas generated from it and kept in step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cbj_figures.cli import main
from cbj_figures.registry import REGISTRY, render, stale_schemas, table_schemas

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    return tmp_path


def test_the_committed_schemas_are_what_the_registry_generates():
    schemas = table_schemas(ROOT)
    assert len(schemas) == 12
    for table, schema in schemas.items():
        assert (ROOT / "schemas" / f"{table}.json").read_text(encoding="utf-8") == render(schema)


def test_a_shared_field_is_written_once_and_reaches_every_table(pkg):
    registry = pkg / REGISTRY
    text = registry.read_text(encoding="utf-8")
    assert text.count("description_zh: 原文引文") == 1  # quote: defined once, used by all 12 tables
    registry.write_text(text.replace("description_zh: 原文引文", "description_zh: 引文"), encoding="utf-8")
    found = stale_schemas(pkg)
    assert {f.code for f in found} == {"stale-schema"}
    stale = {f.file for f in found}
    assert len(stale) == 12
    assert main(["schemas", str(pkg)]) == 0
    assert stale_schemas(pkg) == []


def test_a_table_extends_a_shared_field_without_copying_it(pkg):
    schemas = table_schemas(pkg)
    metric = next(f for f in schemas["market_size"]["fields"] if f["name"] == "metric")
    assert metric["constraints"] == {"required": True, "enum": ["market_size"]}
    assert metric["description"] == "What the figure measures."


def test_a_broken_registry_is_one_located_finding(pkg):
    (pkg / REGISTRY).write_text("fields:\n  quote: [unclosed\n", encoding="utf-8")
    (finding,) = stale_schemas(pkg)
    assert (finding.code, finding.file, finding.line) == ("registry-error", REGISTRY, 3)


def test_an_unknown_field_name_is_refused(pkg):
    registry = pkg / REGISTRY
    registry.write_text(registry.read_text(encoding="utf-8").replace("    - figure_id\n", "    - figure_idd\n", 1))
    (finding,) = stale_schemas(pkg)
    assert "figure_idd" in finding.message
