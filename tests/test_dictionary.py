"""The data dictionary: generated from the schemas, complete, and fresh in the repository."""

from __future__ import annotations

import json
from pathlib import Path

from cbj_figures import escape
from cbj_figures.dictionary import TARGET, dictionary_is_fresh, render_dictionary, write_dictionary
from cbj_figures.package import copy_package, open_package

REPO = Path(__file__).resolve().parents[1]


def test_repository_dictionary_is_fresh() -> None:
    """Run `cbj-figures dictionary` after changing a schema."""
    assert dictionary_is_fresh(REPO)


def test_every_table_and_field_is_described() -> None:
    text = render_dictionary(REPO)
    pkg = open_package(REPO)
    for name, res in pkg.tables.items():
        assert f"## `{name}`" in text
        for field in res.schema.fields:
            rows = [line for line in text.splitlines() if f"| `{field.name}` | {field.type}" in line]
            assert rows, f"{name}.{field.name} missing"
            if field.get("description_zh"):
                assert any(escape.markdown(" ".join(field.get("description_zh").split())) in row for row in rows)
    value = next(line for line in text.splitlines() if "| `value` | number | CNY million" in line)
    assert "required" in value and "≥ 0" in value and "printed in `printed`" in value
    assert "- primary key: `figure_id`" in text
    assert "- foreign key: `source_id` → `sources.source_id`" in text


def test_a_schema_change_makes_it_stale(tmp_path: Path) -> None:
    root = copy_package(REPO, tmp_path / "pkg")
    write_dictionary(root)
    assert dictionary_is_fresh(root)
    path = root / "schemas" / "market_size.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"][0]["description"] = "Changed | with a pipe."
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    assert not dictionary_is_fresh(root)
    write_dictionary(root)
    assert dictionary_is_fresh(root)
    assert "Changed \\| with a pipe\\." in (root / TARGET).read_text(encoding="utf-8")


def test_a_missing_dictionary_is_not_fresh(tmp_path: Path) -> None:
    assert not dictionary_is_fresh(copy_package(REPO, tmp_path / "pkg"))
