"""The conventions layer, broken one way at a time: what a row says besides its number (its dates, forecast flag,
attribution, references, coded values, what its metric spans, that it is one figure), and the other direction of
provenance (every printed number accounted for). Each check passes on the package and fails, located, on a copy
with one claim wrong."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_validate import ROOT, edit_row, rehash
from test_validate import pkg as pkg

from cbj_figures.dates import DateReader, date_span
from cbj_figures.evidence import Claims, Evidence
from cbj_figures.package import open_package
from cbj_figures.validate import validate

TEXT = "resources/sources/000_d31d061fede478c7.txt"
READER = DateReader(Claims.of(json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["conventions"]
                              ["claims"]).dates)


def conventions(pkg: Path) -> set[tuple[str, str, int | None, str | None]]:
    return {(f.code, f.file, f.line, f.field) for f in validate(pkg).findings if f.layer == "conventions"}


def found(pkg: Path, code: str) -> list:
    return [f for f in validate(pkg).findings if f.code == code]


def test_the_package_keeps_every_convention():
    report = validate(ROOT)
    assert "conventions" in report.layers_run and not [f for f in report.findings if f.layer == "conventions"]


CLAIMS = {
    # -- dates: a stated part is printed, an inferred one flagged, none contradicted
    "day-not-printed": ("company_financials", "jiliu-net-current-liabilities-2024", {"period": "2024-12-31"},
                        "period-not-in-quote", "inferred"),  # 2024年年末 prints a year, not a day
    "stated-flagged-inferred": ("market_size", "ai-compute-cluster-market-2021",
                                {"inferred": "true", "inference_note": "x"}, "period-not-in-quote", "inferred"),
    "year-contradicted": ("market_size", "ai-compute-cluster-market-2021",
                          {"period": "2023", "inferred": "true", "inference_note": "a guess"}, "period-not-in-quote",
                          "period"),
    "source-day-moved": ("sources", "jiangxi-bank-statement-2026-04-07", {"date": "2026-04-08"},
                         "period-not-in-quote", "date"),  # a source's date is checked as a figure's period is
    "deal-day-moved": ("leasing_deals", "zhaoyin-2026-01-16", {"date": "2026-01-06"}, "period-not-in-quote", "date"),
    "growth-base-unflagged": ("company_ratios", "jiliu-revenue-growth-2024", {"inferred": "false",
                              "inference_note": ""}, "period-not-in-quote", "inferred"),  # 增速 implies the base
    # -- forecasts, by period and by wording
    "forecast-unflagged": ("market_size", "ai-compute-cluster-market-2030", {"is_forecast": "false"},
                           "forecast-flag", "is_forecast"),
    "past-flagged-forecast": ("market_size", "ai-compute-cluster-market-2021", {"is_forecast": "true"},
                              "forecast-flag", "is_forecast"),
    "publication-year-forecast-unflagged": ("market_size", "commercial-space-market-2026", {"is_forecast": "false"},
                                            "forecast-flag", "is_forecast"),  # 据预测, 2026 in a 2026 article
    "flagged-without-marker": ("company_financials", "jiliu-funding-round-c", {"is_forecast": "true"},
                               "forecast-flag", "is_forecast"),
    # -- what a metric spans
    "level-with-base": ("company_financials", "jiliu-revenue-2025-total", {"base_period": "2024", "inferred": "true",
                        "inference_note": "x"}, "metric-span", "base_period"),
    "yoy-over-two-years": ("company_ratios", "jiliu-revenue-growth-2025-products", {"base_period": "2023"},
                           "metric-span", "base_period"),
    "cagr-without-base": ("industry_ratios", "ai-compute-cluster-market-cagr-2021-2025", {"base_period": ""},
                          "metric-span", "base_period"),
    # -- attribution, by the speaker's marker in the quote or its paragraph
    "attribution-dropped": ("company_ratios", "jiliu-major-customer-repurchase-rate", {"attributed_to": ""},
                            "attribution-missing", "attributed_to"),
    "attribution-dropped-in-paragraph": ("industry_counts", "china-itu-satellite-filings-2025", {"attributed_to": ""},
                                         "attribution-missing", "attributed_to"),  # 在他看来 opens the sentence
    "another-speaker": ("valuation_multiples", "jiliu-ps-2025", {"attributed_to": "kuang_yuqing"},
                        "reference-not-in-quote", "attributed_to"),
    # -- references evidenced by the quote (or the declared context), of the declared kinds
    "another-market": ("market_size", "ai-compute-cluster-market-2021", {"entity_id": "china_commercial_space_market"},
                       "reference-not-in-quote", "entity_id"),
    "another-authority": ("policy_events", "nfra-leasing-pilot-2024-10", {"authority_id": "cnsa"},
                          "reference-not-in-quote", "authority_id"),
    "another-lessee": ("leasing_deals", "zhaoyin-2026-01-16", {"lessee_id": "alibaba_cloud"},
                       "reference-not-in-quote", "lessee_id"),
    "market-of-a-rank": ("company_ranks", "jiliu-market-rank-2025", {"market_id": "wanka_cluster_service_market"},
                         "reference-not-in-quote", "market_id"),
    "publisher": ("sources", "frost-sullivan-ai-compute-cluster", {"publisher_id": "ccid_think_tank"},
                  "reference-not-in-quote", "publisher_id"),
    "lessor-of-the-wrong-kind": ("leasing_deals", "zhongyin-2026-01-09", {"lessor_id": "jiliu_technology"},
                                 "reference-kind", "lessor_id"),
    "speaker-of-the-wrong-kind": ("valuation_multiples", "jiliu-ps-2025",
                                  {"attributed_to": "china_ai_compute_cluster_market"}, "reference-kind",
                                  "attributed_to"),
    "segment-not-printed": ("company_financials", "jiliu-revenue-2025-total", {"segment": "ai_cluster_products"},
                            "reference-not-in-quote", "segment"),
    "total-of-a-segment": ("company_financials", "jiliu-revenue-2025-products", {"segment": "total"},
                           "reference-not-in-quote", "segment"),  # its clause prints AI算力集群产品
    "asset-not-printed": ("leasing_deals", "jiangxi-2026-04-07", {"asset_zh": "火箭"}, "reference-not-in-quote",
                          "asset_zh"),
    "lessee-described-elsewhere": ("leasing_deals", "zhongyin-2026-01-09", {"lessee_description_zh": "客户"},
                                   "reference-not-in-quote", "lessee_description_zh"),
}


@pytest.mark.parametrize("case", sorted(CLAIMS))
def test_a_wrong_claim_fails_at_its_row(pkg, case):
    table, key, cells, code, field = CLAIMS[case]
    line = edit_row(pkg, table, key, **cells)
    rehash(pkg)
    got = conventions(pkg)
    assert (code, f"resources/{table}.csv", line, field) in got, got


def test_the_same_figure_stored_twice_is_found_by_its_natural_key(pkg):
    path = pkg / "resources" / "market_size.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    twin = lines[1].replace("ai-compute-cluster-market-2021,", "ai-compute-cluster-market-2021-again,", 1)
    path.write_text("".join([*lines, twin]), encoding="utf-8")
    rehash(pkg)
    got = found(pkg, "duplicate-figure")
    assert [(f.file, f.line, f.rule) for f in got] == [("resources/market_size.csv", len(lines) + 1, "naturalKey")]
    assert "the same figure as row 2" in got[0].message


def test_a_figure_id_in_two_tables_is_found(pkg):
    line = edit_row(pkg, "industry_ratios", "ai-compute-cluster-market-cagr-2021-2025",
                    figure_id="ai-compute-cluster-market-2021")
    rehash(pkg)
    assert ("duplicate-figure", "resources/industry_ratios.csv", line, "figure_id") in conventions(pkg)


def test_a_metric_without_a_declared_span_is_a_finding(pkg):
    declare(pkg, lambda c: c["claims"]["spans"].pop("business_segments"))
    (f,) = found(pkg, "metric-span")
    assert (f.file, f.field) == ("resources/company_counts.csv", "metric") and "declares no span" in f.message


def swap(pkg: Path, table: str, a: str, b: str, field: str) -> tuple[int, int]:
    with open(pkg / "resources" / f"{table}.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    i = rows[0].index(field)
    ra, rb = (next(r for r in rows if r[0] == key) for key in (a, b))
    va, vb = ra[i], rb[i]
    lines = edit_row(pkg, table, a, **{field: vb}), edit_row(pkg, table, b, **{field: va})
    rehash(pkg)
    return lines


@pytest.mark.parametrize(
    ("table", "a", "b", "field", "names"),
    [
        # both segments are printed in the operations row's quote: the one nearest before its figure counts
        ("company_financials", "jiliu-revenue-2025-products", "jiliu-revenue-2025-operations", "segment",
         ("AI算力集群产品 (ai_cluster_products)", "AI算力集群运营服务 (ai_cluster_operations)")),
        ("leasing_deals", "zhongyin-2026-01-09", "changjiang-2026-01", "lessor_id",
         ("中银金租 (zhongyin_financial_leasing)", "长江金租 (changjiang_financial_leasing)")),
        ("market_size", "ai-compute-cluster-market-2021", "commercial-space-market-2025", "entity_id",
         ("中国AI算力集群市场 (china_ai_compute_cluster_market)", "中国商业航天市场 (china_commercial_space_market)")),
    ],
    ids=["segments", "lessors", "entities"],
)
def test_two_rows_swapping_a_reference_are_both_found_with_what_their_quotes_name(pkg, table, a, b, field, names):
    lines = swap(pkg, table, a, b, field)
    got = sorted((f.line, f.field, f.message) for f in found(pkg, "reference-not-in-quote"))
    assert [(line, fld) for line, fld, _ in got] == [(lines[0], field), (lines[1], field)]
    for (_, _, message), name in zip(got, names, strict=True):
        assert f"names {name} instead" in message


def test_a_speaker_named_elsewhere_is_named_in_the_finding(pkg):
    line = edit_row(pkg, "valuation_multiples", "it-integrators-ps-typical", attributed_to="kuang_yuqing")
    rehash(pkg)
    (f,) = found(pkg, "reference-not-in-quote")
    assert (f.line, f.field) == (line, "attributed_to")
    assert "quote or paragraph" in f.message and "names 田丰认为 (tian_feng) instead" in f.message


def test_an_alias_evidences_a_reference_only_in_the_article_that_names_it(pkg):
    """公司 is 基流科技 in its own article: a leasing deal announced by 公司 is not 基流科技's."""
    line = edit_row(pkg, "leasing_deals", "jiaoyin-2026-05", announced_by="jiliu_technology")
    rehash(pkg)
    (f,) = found(pkg, "reference-not-in-quote")
    assert (f.line, f.field) == (line, "announced_by") and "names 交银金租 (jiaoyin_financial_leasing)" in f.message


# ------------------------------------------------------------------ every printed number accounted for


def delete_row(pkg: Path, table: str, key: str) -> None:
    path = pkg / "resources" / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r[0] != key]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    rehash(pkg)


def test_a_deleted_figure_is_found_at_its_line_of_the_text_by_its_printed_text(pkg):
    """No rule names the 2024 adjusted net profit (2030万元): deleting its row fails only this check."""
    delete_row(pkg, "company_financials", "jiliu-adjusted-net-profit-2024")
    report = validate(pkg)
    assert [(f.code, f.file, f.line) for f in report.findings] == [("unaccounted-number", TEXT, 13)]
    assert "'2030万元'" in report.findings[0].message and "分别为2030万元" in report.findings[0].message


def test_a_number_no_longer_listed_as_untabulated_is_found(pkg):
    declare(pkg, lambda c: c["untabulated"].remove(next(u for u in c["untabulated"] if u["printed"] == "两种")))
    ((code, file, line, _),) = conventions(pkg)
    assert (code, file, line) == ("unaccounted-number", TEXT, 68)


def test_a_date_no_row_states_is_found(pkg):
    """The C round's 2026年4月 states the month 4 (and the 4月 of the Jiangxi deal, 4月7日, its day): a C round
    moved to May leaves the printed 4月 of line 64 stated by no row."""
    edit_row(pkg, "company_financials", "jiliu-funding-round-c", period="2026", inferred="false", inference_note="")
    edit_row(pkg, "company_financials", "jiliu-funding-round-d", period="2026")
    edit_row(pkg, "company_financials", "jiliu-post-money-valuation-d", period="2026")
    rehash(pkg)
    dates = [f for f in found(pkg, "unaccounted-number") if "date" in f.message]
    assert [(f.file, f.line) for f in dates] == [(TEXT, 64)] and "'4月'" in dates[0].message


@pytest.mark.parametrize(
    ("change", "code", "where"),
    [
        ({"quote": "不在原文中的句子"}, "quote-not-in-source", "quote"),
        ({"printed": "九种"}, "printed-not-in-quote", "printed"),
    ],
)
def test_an_untabulated_entry_that_cannot_be_placed_is_found_at_its_entry(pkg, change, code, where):
    declare(pkg, lambda c: c["untabulated"][0].update(change))
    (f,) = [f for f in validate(pkg).findings if f.code == code]
    lines = (pkg / "datapackage.json").read_text(encoding="utf-8").splitlines()
    assert f.file == "datapackage.json" and f"\"{where}\"" in lines[f.line - 1] and f.field.endswith(where)


# ------------------------------------------------------------------ declared, not hard-coded


def declare(pkg: Path, change) -> None:
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    change(descriptor["conventions"])
    (pkg / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def test_without_declarations_the_claim_checks_have_nothing_to_check(pkg):
    """The words and fields are the package's: without them, a wrong claim is not judged (nor misjudged)."""
    edit_row(pkg, "market_size", "commercial-space-market-2026", is_forecast="false")
    rehash(pkg)
    declare(pkg, lambda c: (c.pop("claims"), c.pop("references"), c.pop("untabulated")))
    assert not [f for f in validate(pkg).findings if f.layer == "conventions"]


def test_forecast_markers_are_the_packages(pkg):
    declare(pkg, lambda c: c["claims"]["forecastMarkers"].remove("据预测"))
    assert [f.line for f in found(pkg, "forecast-flag")] == []  # 有望 still marks it
    declare(pkg, lambda c: c["claims"]["forecastMarkers"].remove("有望"))
    got = found(pkg, "forecast-flag")  # the two forecasts of 2026, printed in the 2026 article
    assert {f.file for f in got} == {"resources/market_size.csv", "resources/industry_ratios.csv"}
    assert all("no forecast marker" in f.message for f in got)


def test_the_evidence_model_reads_the_declarations():
    ev = Evidence.of(open_package(ROOT))
    assert (ev.source, ev.quote, ev.sources.resource, ev.sources.reporter) == ("source_id", "quote", "sources",
                                                                               "reported_in")
    assert ev.claims.spans["revenue_yoy_growth"] == 1 and ev.claims.spans["market_cagr"] == "base"
    assert ev.references["attributed_to"].markers and ev.references["segment"].unlabelled == "total"
    assert len(ev.untabulated) >= 30 and all(u.reason for u in ev.untabulated)


# ------------------------------------------------------------------ dates as the package prints them


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
    assert READER.unprinted(quote, value) == missing


def test_contradictions_and_spans():
    assert READER.contradicted("由2021年的138亿元增至2025年的454亿元", "2023") is not None
    assert READER.contradicted("2023—2025年,公司收入分别为", "2024") is None  # inside the printed range
    assert READER.contradicted("今年以来", "2026") is None  # no year printed: nothing to contradict
    assert READER.contradicted("4月7日,江西银行发文表示", "2026-04-08") == "the quote prints 4月7日, not 4月8日"
    assert date_span("2024-02") == (date_span("2024-02-01")[0], date_span("2024-02-29")[0])
    assert date_span("2025-02-30") is None


def test_dates_in_another_language():
    english = DateReader(Claims.of({"dateForms": {
        "year": ["{year}", "{year}{dash}"], "month": ["{monthName} {year}", "{monthName} {day}"],
        "day": ["{monthName} {day}"], "dashes": ["-", "–"],
        "monthNames": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                       "October", "November", "December"]}}).dates)
    assert english.unprinted("sales rose in March 2025", "2025-03") == []
    assert english.unprinted("on April 7, the bank said", "2026-04-07") == ["the year 2026"]
    assert english.contradicted("on April 7, the bank said", "2026-04-08") is not None
    assert english.unprinted("2023-2025 revenue", "2024") == ["the year 2024"]


# ------------------------------------------------------------------ units: declared by the package


def declare_units(pkg: Path, change) -> None:
    declare(pkg, lambda c: change(c["units"]))


def test_a_unit_the_package_does_not_declare_is_reported_at_its_field(pkg):
    declare_units(pkg, lambda units: units.pop("multiple"))
    report = validate(pkg)
    (f,) = [f for f in report.findings if f.layer == "conventions" and f.code == "convention-error"]
    schema = (pkg / "schemas" / "valuation_multiples.json").read_text(encoding="utf-8").splitlines()
    assert f.file == "schemas/valuation_multiples.json"
    assert '"unit": "multiple"' in schema[f.line - 1] and "does not declare" in f.message
    assert not [f for f in report.findings if f.layer == "provenance"]  # its figures are skipped, not misread


def test_figures_are_read_in_the_units_the_package_declares(pkg):
    """Without 亿 among the scales of CNY million, every 亿元 figure is unreadable; with 亿 worth 10
    instead of 100, every one disagrees with its stored value."""
    declare_units(pkg, lambda units: units["CNY million"]["scales"].pop("亿"))
    got = {(f.code, f.file) for f in validate(pkg).findings}
    assert ("printed-unparseable", "resources/company_financials.csv") in got
    declare_units(pkg, lambda units: units["CNY million"]["scales"].update({"亿": "10"}))
    got = {(f.code, f.file) for f in validate(pkg).findings}
    assert ("printed-value-mismatch", "resources/company_financials.csv") in got
    assert "printed-unparseable" not in {code for code, _ in got}


def test_a_scale_that_is_not_a_power_of_ten_is_a_profile_error(pkg):
    declare_units(pkg, lambda units: units["count"]["scales"].update({"打": "12"}))
    got = [f for f in validate(pkg).findings if f.code == "profile-error"]
    assert got and all(f.file == "datapackage.json" for f in got)
