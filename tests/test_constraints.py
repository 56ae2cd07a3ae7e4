"""The constraint registry: each constraint defined once, and every layer and generator reading it from there."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cbj_figures import constraints
from cbj_figures.constraints import CONSTRAINTS, Column, Constraint, show
from cbj_figures.dictionary import render_dictionary
from cbj_figures.diff import constraint_bump
from cbj_figures.exports import ge_suite, pandera_module
from cbj_figures.package import open_package
from cbj_figures.tables import read_tables

FIXTURE = Path(__file__).parent / "fixtures" / "mini"


def test_every_constraint_is_defined_once_with_what_each_layer_needs() -> None:
    standard = {"required", "unique", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                "minLength", "maxLength", "pattern", "jsonSchema"}
    assert standard <= set(CONSTRAINTS)
    for c in CONSTRAINTS.values():
        assert c.types and c.malformed and callable(c.describe)
        if c.scope == "row":
            assert "polars" in c.backends, c.name  # the tables layer checks every row constraint
    assert constraints.supported("string") == {"required", "unique", "enum", "minLength", "maxLength", "pattern"}
    assert "pattern" not in constraints.supported("integer") and "minLength" not in constraints.supported("number")


@pytest.mark.parametrize(
    ("rule", "old", "new", "bump"),
    [
        ("minimum", 0, -1, "minor"), ("minimum", 0, 1, "major"), ("maximum", 10, 11, "minor"),
        ("maxLength", 5, 4, "major"), ("enum", ["a"], ["a", "b"], "minor"), ("enum", ["a", "b"], ["a"], "major"),
        ("required", None, True, "major"), ("required", None, False, "minor"), ("required", True, False, "minor"),
        ("pattern", "a", "b", "major"), ("minimum", None, 3, "major"), ("minimum", 3, None, "minor"),
        ("minimum", "2020-01-01", 3, "major"), ("no-such-rule", 1, 2, "major"),
    ],
)
def test_the_bump_of_a_change_is_the_constraints(rule: str, old: Any, new: Any, bump: str) -> None:
    assert constraint_bump(rule, old, new) == bump


@pytest.fixture
def multiple_of() -> Iterator[Constraint]:
    """A constraint that is not in the standard, defined the way a new one is: one entry, its functions."""
    c = constraints._define(Constraint(
        "multipleOf", ("integer", "number"), lambda v: isinstance(v, int) and v > 0, "must be a positive integer",
        lambda v: f"a multiple of {v}", looser=lambda old, new: old % new == 0,
    ))

    @c.backend("polars")
    def polars(f: Any, value: Any, col: Column) -> Any:
        return col.present & (col.typed % value != 0), lambda i: f"{show(col.typed[i])} is not a multiple of {value}"

    @c.backend("pandera")
    def pandera(f: Any, value: Any, out: Any) -> None:
        out.check("pa.Check", out.code(f"lambda s: _numbers(s) % {value} == 0"), name="multipleOf", error="multipleOf")

    @c.backend("ge")
    def ge(f: Any, value: Any, kind: str) -> list[dict]:
        return [constraints._expect("expect_column_values_to_be_in_set", column=f.name,
                                    value_set=list(range(2000, 2031, value)))]

    yield c
    del CONSTRAINTS["multipleOf"]


def test_a_new_constraint_reaches_every_layer_from_its_one_entry(tmp_path: Path, multiple_of: Constraint) -> None:
    pkg = Path(shutil.copytree(FIXTURE, tmp_path / "pkg"))
    schema_path = pkg / "schemas" / "figures.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["fields"][1]["constraints"]["multipleOf"] = 2  # year: 2023 and 2025 are odd
    schema_path.write_text(json.dumps(schema), encoding="utf-8")
    package = open_package(pkg)
    _, findings = read_tables(package)
    assert [(f.code, f.row, f.line, f.field, f.rule) for f in findings] == [
        ("constraint-error", 3, 3, "year", "multipleOf"), ("constraint-error", 5, 5, "year", "multipleOf")]
    assert "2023 is not a multiple of 2" in findings[0].message
    assert "a multiple of 2" in render_dictionary(pkg)
    assert (constraint_bump("multipleOf", 2, 4), constraint_bump("multipleOf", 4, 2)) == ("major", "minor")
    figures = package.tables["figures"]
    assert "lambda s: _numbers(s) % 2 == 0" in pandera_module(figures)
    assert any(e["kwargs"].get("value_set") == list(range(2000, 2031, 2)) for e in ge_suite(figures)["expectations"])


def test_a_malformed_value_is_named_by_its_constraint(tmp_path: Path) -> None:
    pkg = Path(shutil.copytree(FIXTURE, tmp_path / "pkg"))
    schema_path = pkg / "schemas" / "figures.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["fields"][0]["constraints"]["maxLength"] = "12"
    schema_path.write_text(json.dumps(schema), encoding="utf-8")
    from cbj_figures.descriptor import check_descriptor

    found = [f for f in check_descriptor(open_package(pkg)) if f.code == "field-error"]
    assert any("constraint 'maxLength' must be an integer" in f.message for f in found), found
