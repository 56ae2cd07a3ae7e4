"""The conventions layer, broken one way at a time: what a row says about its figure (its period, forecast
flag, attribution, that it is one figure), and the date rules (先后, 同月). Each check passes on the package
and fails, located, on a copy with one claim wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_validate import ROOT, edit_row, rehash
from test_validate import pkg as pkg

from cbj_figures.conventions import contradicted, date_span, unprinted
from cbj_figures.validate import validate


def conventions(pkg: Path) -> set[tuple[str, str, int | None, str | None]]:
    return {(f.code, f.file, f.line, f.field) for f in validate(pkg).findings if f.layer == "conventions"}


def test_the_package_keeps_every_convention():
    report = validate(ROOT)
    assert "conventions" in report.layers_run and not [f for f in report.findings if f.layer == "conventions"]


@pytest.mark.parametrize(
    ("table", "key", "cells", "code", "field"),
    [
        # a 2030 figure in a 2026 article is a forecast
        ("market_size", "ai-compute-cluster-market-2030", {"is_forecast": "false"}, "forecast-flag", "is_forecast"),
        # and a 2021 figure is not
        ("market_size", "ai-compute-cluster-market-2021", {"is_forecast": "true"}, "forecast-flag", "is_forecast"),
        # 2024年年末 prints a year: a day stored beside it is not printed, and not flagged inferred
        ("company_financials", "jiliu-net-current-liabilities-2024", {"period": "2024-12-31"}, "period-not-in-quote",
         "inferred"),
        # a stated year, flagged inferred anyway
        ("market_size", "ai-compute-cluster-market-2021", {"inferred": "true", "inference_note": "x"},
         "period-not-in-quote", "inferred"),
        # the quote prints 2021 and 2025; 2023 contradicts it, inferred or not
        ("market_size", "ai-compute-cluster-market-2021", {"period": "2023", "inferred": "true",
                                                           "inference_note": "a guess"}, "period-not-in-quote",
         "period"),
        # 田丰认为 in the quote: the view is his
        ("company_ratios", "jiliu-major-customer-repurchase-rate", {"attributed_to": ""}, "attribution-missing",
         "attributed_to"),
    ],
    ids=["forecast-unflagged", "past-flagged-forecast", "day-not-printed", "stated-flagged-inferred",
         "year-contradicted", "attribution-dropped"],
)
def test_a_wrong_claim_fails_at_its_row(pkg, table, key, cells, code, field):
    line = edit_row(pkg, table, key, **cells)
    rehash(pkg)
    assert (code, f"resources/{table}.csv", line, field) in conventions(pkg)


def test_the_same_figure_stored_twice_is_found_by_its_natural_key(pkg):
    path = pkg / "resources" / "market_size.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    twin = lines[1].replace("ai-compute-cluster-market-2021,", "ai-compute-cluster-market-2021-again,", 1)
    path.write_text("".join([*lines, twin]), encoding="utf-8")
    rehash(pkg)
    found = [f for f in validate(pkg).findings if f.code == "duplicate-figure"]
    assert [(f.file, f.line, f.rule) for f in found] == [("resources/market_size.csv", len(lines) + 1, "naturalKey")]
    assert "the same figure as row 2" in found[0].message


def test_a_figure_id_in_two_tables_is_found(pkg):
    line = edit_row(pkg, "industry_ratios", "ai-compute-cluster-market-cagr-2021-2025",
                    figure_id="ai-compute-cluster-market-2021")
    rehash(pkg)
    assert ("duplicate-figure", "resources/industry_ratios.csv", line, "figure_id") in conventions(pkg)


@pytest.mark.parametrize(
    ("quote", "value", "missing"),
    [
        ("由2021年的138亿元增至2025年的454亿元", "2021", []),
        ("2023—2025年,公司收入分别为3180万元", "2023", []),  # a year opening a range is printed
        ("2023—2025年,公司收入分别为3180万元", "2024", ["the year 2024"]),
        ("4月7日,江西银行发文表示", "2026-04-07", ["the year 2026"]),
        ("2026年1月9日", "2026-01-09", []),
        ("同月,长江金租落地首单", "2026-01", ["the year 2026", "the month 1月"]),
        ("较2024年年末的4930万元扩大", "2024-12-31", ["the month 12月", "the day 12月31日"]),
        ("11月", "2026-01", ["the year 2026", "the month 1月"]),  # 1月 is not in 11月
    ],
)
def test_what_a_quote_prints_of_a_date(quote, value, missing):
    assert unprinted(quote, value) == missing


def test_contradictions_and_spans():
    assert contradicted("由2021年的138亿元增至2025年的454亿元", "2023") is not None
    assert contradicted("2023—2025年,公司收入分别为", "2024") is None  # inside the printed range
    assert contradicted("今年以来", "2026") is None  # no year printed: nothing to contradict
    assert date_span("2024-02") == (date_span("2024-02-01")[0], date_span("2024-02-29")[0])
    assert date_span("2025-02-30") is None


# ------------------------------------------------------------------ units: declared by the package


def declare_units(pkg: Path, change) -> None:
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    change(descriptor["conventions"]["units"])
    (pkg / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def test_a_unit_the_package_does_not_declare_is_reported_at_its_field(pkg):
    declare_units(pkg, lambda units: units.pop("multiple"))
    report = validate(pkg)
    (f,) = [f for f in report.findings if f.layer == "conventions"]
    schema = (pkg / "schemas" / "valuation_multiples.json").read_text(encoding="utf-8").splitlines()
    assert (f.code, f.file) == ("convention-error", "schemas/valuation_multiples.json")
    assert '"unit": "multiple"' in schema[f.line - 1] and "does not declare" in f.message
    assert not [f for f in report.findings if f.layer == "provenance"]  # its figures are skipped, not misread


def test_figures_are_read_in_the_units_the_package_declares(pkg):
    """Without 亿 among the scales of CNY million, every 亿元 figure is unreadable; with 亿 worth 10
    instead of 100, every one disagrees with its stored value."""
    declare_units(pkg, lambda units: units["CNY million"]["scales"].pop("亿"))
    found = {(f.code, f.file) for f in validate(pkg).findings}
    assert ("printed-unparseable", "resources/company_financials.csv") in found
    declare_units(pkg, lambda units: units["CNY million"]["scales"].update({"亿": "10"}))
    found = {(f.code, f.file) for f in validate(pkg).findings}
    assert ("printed-value-mismatch", "resources/company_financials.csv") in found
    assert "printed-unparseable" not in {code for code, _ in found}


def test_a_scale_that_is_not_a_power_of_ten_is_a_profile_error(pkg):
    declare_units(pkg, lambda units: units["count"]["scales"].update({"打": "12"}))
    found = [f for f in validate(pkg).findings if f.code == "profile-error"]
    assert found and all(f.file == "datapackage.json" for f in found)
