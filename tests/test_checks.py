"""Consistency rules: each kind on hand-made figures, bad rule files, and the real rules on the real data."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbj_figures import printed
from cbj_figures.checks import KINDS, load_rules, run_checks
from cbj_figures.evidence import Claims
from cbj_figures.package import Resource, open_package
from cbj_figures.schema import parse_schema
from cbj_figures.tables import Table, read_tables

ROOT = Path(__file__).resolve().parents[1]
# The units our package declares (datapackage.json, conventions.units): the hand-made figures print in them.
CONVENTIONS = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))["conventions"]
UNITS = printed.declared_units(CONVENTIONS["units"])
# The fields our package declares for figure ids and periods (conventions.claims), and the spans of its metrics.
CLAIMS = Claims.of(CONVENTIONS["claims"])


def parse(text: str, qualifier: str, unit: str) -> printed.PrintedFigure:
    return printed.parse(text, qualifier, UNITS[unit])


# ------------------------------------------------------------------ hand-made tables


def make_table(name: str, fields: list[dict], frame: pl.DataFrame, text: pl.DataFrame | None = None) -> Table:
    """A tables.Table as read_tables gives it: resources/<name>.csv with schemas/<name>.json, the typed
    frame, the cells as written (default: the typed values as text), one physical line a row (header 1)."""
    schema, problems = parse_schema({"fields": fields}, f"schemas/{name}.json")
    assert schema is not None and not problems, problems
    path = f"resources/{name}.csv"
    descriptor = {"name": name, "type": "table", "path": path, "schema": f"schemas/{name}.json"}
    resource = Resource(0, name, descriptor, paths=(path,), format="csv", schema=schema,
                        schema_file=f"schemas/{name}.json", tabular=True)
    if text is None:
        text = frame.select(pl.all().cast(pl.Utf8))
    rows = pl.Series("row", range(2, frame.height + 2), dtype=pl.Int64)
    return Table(resource, schema, frame, text, rows, rows.alias("line"))


def figures_table(name: str, unit: str, rows: list[tuple]) -> Table:
    """rows: (figure_id, printed, qualifier[, period[, base_period]])."""
    fields = [
        {"name": "figure_id", "type": "string"},
        {"name": "period", "type": "string"},
        {"name": "base_period", "type": "string"},
        {"name": "value", "type": "number", "unit": unit, "printed": "printed", "qualifier": "qualifier"},
        {"name": "printed", "type": "string"},
        {"name": "qualifier", "type": "string"},
    ]
    data = {f["name"]: [] for f in fields}
    for row in rows:
        fid, printed, qualifier, period, base = (*row, None, None)[:5]
        data["figure_id"].append(fid)
        data["printed"].append(printed)
        data["qualifier"].append(qualifier)
        data["period"].append(period)
        data["base_period"].append(base)
        data["value"].append(float(parse(printed, qualifier, unit).value))
    return make_table(name, fields, pl.DataFrame(data))


def plain_table(name: str, rows: list[dict]) -> Table:
    fields = [{"name": k, "type": "string"} for k in rows[0]]
    return make_table(name, fields, pl.DataFrame(rows))


@pytest.fixture
def tables():
    money = figures_table(
        "money",
        "CNY million",
        [
            ("rev-2023", "3180万元", "exact", "2023"),
            ("rev-2024", "3.25亿元", "exact", "2024"),
            ("rev-2025", "5.20亿元", "exact", "2025"),
            ("products-2025", "4.37亿元", "exact", "2025"),
            ("operations-2025", "8363.7万元", "exact", "2025"),
            ("cost-2024", "2.59亿元", "exact", "2024"),
            ("cost-2025", "4.07亿元", "exact", "2025"),
            ("hardware-increase", "1.1亿元", "exact", "2025", "2024"),
            ("wrong-products-2025", "4.73亿元", "exact", "2025"),
        ],
    )
    pct = figures_table(
        "pct",
        "percent",
        [
            ("share-products", "83.9%", "exact", "2025"),
            ("share-operations", "16.1%", "exact", "2025"),
            ("growth-2025", "约60%", "approx", "2025", "2024"),
            ("growth-products", "41.9%", "exact", "2025", "2024"),
            ("growth-operations", "393%", "exact", "2025", "2024"),
            ("cagr", "304.5%", "exact", "2025", "2023"),
            ("cagr-wrong-period", "304.5%", "exact", "2025", "2022"),
            ("margin-2025", "21.8%", "exact", "2025"),
            ("margin-products-2025", "16.8%", "exact", "2025"),
            ("margin-operations-2025", "47.7%", "exact", "2025"),
            ("above-20", "超过20%", "more_than", "2026", "2025"),
        ],
    )
    counts = figures_table("counts", "count", [("lessors", "14家", "exact"), ("two", "两家", "exact")])
    deals = plain_table(
        "deals",
        [
            {"deal_id": "a", "lessor_id": "x", "lessee_id": "g"},
            {"deal_id": "b", "lessor_id": "y", "lessee_id": "g"},
            {"deal_id": "c", "lessor_id": "y", "lessee_id": None},
            {"deal_id": "d", "lessor_id": "z", "lessee_id": None},
        ],
    )
    return {t.name: t for t in (money, pct, counts, deals)}


def run(tmp_path: Path, tables, text: str, name: str = "rules.yaml"):
    folder = tmp_path / "checks"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    rules, load_findings = load_rules(tmp_path, tables, units=UNITS, claims=CLAIMS)
    findings, recs = run_checks(rules, tables, UNITS, CLAIMS)
    return load_findings, findings, recs


def one_rule(tmp_path, tables, body: str):
    """Run a single rule; returns (holds, findings)."""
    load_findings, findings, recs = run(tmp_path, tables, "rules:\n" + textwrap.indent(textwrap.dedent(body), "  "))
    assert not load_findings, load_findings
    assert len(recs) == 1
    return recs[0].holds, findings


# ------------------------------------------------------------------ each kind passes and fails

KIND_CASES = {
    "sum": (
        """
        - id: r
          kind: sum
          parts: [money/products-2025, money/operations-2025]
          total: money/rev-2025
        """,
        "money/products-2025",
        "money/wrong-products-2025",
    ),
    "shares_sum": (
        """
        - id: r
          kind: shares_sum
          parts: [pct/share-products, pct/share-operations]
        """,
        "pct/share-operations",
        "pct/margin-products-2025",
    ),
    "share": (
        """
        - id: r
          kind: share
          part: money/products-2025
          total: money/rev-2025
          share: pct/share-products
        """,
        "money/products-2025",
        "money/wrong-products-2025",
    ),
    "growth": (
        """
        - id: r
          kind: growth
          new: money/rev-2025
          old: money/rev-2024
          growth: pct/growth-2025
        """,
        "money/rev-2024",
        "money/cost-2024",
    ),
    "growth-implied-base": (
        """
        - id: r
          kind: sum
          parts:
            - before_growth: [money/products-2025, pct/growth-products]
            - before_growth: [money/operations-2025, pct/growth-operations]
          total: money/rev-2024
        """,
        "pct/growth-products",
        "pct/growth-2025",
    ),
    "cagr": (
        """
        - id: r
          kind: cagr
          start: money/rev-2023
          end: money/rev-2025
          cagr: pct/cagr
        """,
        "money/rev-2025",
        "money/products-2025",
    ),
    "ratio": (
        """
        - id: r
          kind: ratio
          numerator: money/cost-2025
          denominator: money/rev-2025
          complement: true
          scale: 100
          value: pct/margin-2025
        """,
        "money/cost-2025",
        "money/cost-2024",
    ),
    "weighted_mean": (
        """
        - id: r
          kind: weighted_mean
          values: [pct/margin-products-2025, pct/margin-operations-2025]
          weights: [pct/share-products, pct/share-operations]
          mean: pct/margin-2025
        """,
        "pct/margin-operations-2025",
        "pct/growth-products",
    ),
    "order": (
        """
        - id: r
          kind: order
          operands:
            - money/hardware-increase
            - difference: [money/cost-2025, money/cost-2024]
        """,
        "money/cost-2024",
        "money/rev-2025",
    ),
    "bound": (
        """
        - id: r
          kind: bound
          value:
            product:
              - difference: [{ratio: [money/rev-2025, money/rev-2024]}, 1]
              - 100
          bound: pct/above-20
        """,
        "money/rev-2024",
        "money/products-2025",
    ),
    "count": (
        """
        - id: r
          kind: count
          table: deals
          where: {lessee_id: g}
          distinct: lessor_id
          target: counts/two
        """,
        "g}",
        "x}",
    ),
}


@pytest.mark.parametrize("kind", KIND_CASES)
def test_each_kind_passes_and_fails(tmp_path, tables, kind):
    body, good, bad = KIND_CASES[kind]
    holds, findings = one_rule(tmp_path, tables, body)
    assert holds and not findings
    holds, findings = one_rule(tmp_path, tables, body.replace(good, bad))
    assert not holds
    assert len(findings) == 1 and findings[0].layer == "consistency" and findings[0].rule == "r"
    assert findings[0].code == "rule-failed"


def test_sum_failure_points_at_the_printed_total(tmp_path, tables):
    """4.73亿元 instead of 4.37亿元: the finding names the total's file, line and field, with both intervals."""
    body = KIND_CASES["sum"][0].replace("money/products-2025", "money/wrong-products-2025")
    _, (f,) = one_rule(tmp_path, tables, body)
    assert (f.file, f.line, f.field) == ("resources/money.csv", 4, "value")
    assert f.printed == "[519.5, 520.5]"
    assert f.computed == "[556.136, 557.138]"
    assert "5.20亿元" in f.message


def test_float_tolerance_would_have_failed_the_correct_sum(tmp_path, tables):
    """Why intervals: 437 + 83.637 = 520.637 is 0.12 % off 520, yet 5.20亿元 is correctly rounded."""
    assert abs((437 + 83.637) - 520) / 520 > 0.001
    holds, _ = one_rule(tmp_path, tables, KIND_CASES["sum"][0])
    assert holds


def test_cagr_years_must_agree_with_the_figures_periods(tmp_path, tables):
    body = KIND_CASES["cagr"][0].replace("pct/cagr", "pct/cagr-wrong-period")
    load_findings, _, _ = run(tmp_path, tables, "rules:\n" + textwrap.indent(textwrap.dedent(body), "  "))
    (f,) = load_findings
    assert "disagree on the CAGR's years" in f.message and f.line == 3


def test_count_ops_and_cross_table_counts(tmp_path, tables):
    holds, _ = one_rule(
        tmp_path,
        tables,
        """
        - id: r
          kind: count
          table: deals
          distinct: lessor_id
          op: le
          target: counts/lessors
        """,
    )
    assert holds
    holds, findings = one_rule(
        tmp_path,
        tables,
        """
        - id: r
          kind: count
          table: deals
          op: ge
          target: 5
        """,
    )
    assert not holds and findings[0].file == "resources/deals.csv" and findings[0].line is None
    holds, _ = one_rule(
        tmp_path,
        tables,
        """
        - id: r
          kind: count
          table: deals
          where: {lessor_id: [x, z]}
          target: {count: {table: counts, where: {figure_id: [lessors, two]}}}
        """,
    )
    assert holds


def test_order_strict_and_chain(tmp_path, tables):
    chain = """
        - id: r
          kind: order
          strict: true
          operands: [money/rev-2023, money/rev-2024, money/rev-2025]
        """
    assert one_rule(tmp_path, tables, chain)[0]
    holds, (f,) = one_rule(
        tmp_path, tables, chain.replace("money/rev-2024, money/rev-2025", "money/rev-2025, money/rev-2024")
    )
    assert not holds and f.line == 3  # the pair (2025, 2024) fails at rev-2024's row
    rounded = "- {id: r, kind: order, strict: true, operands: [money/rev-2024, money/rev-2024]}"
    assert one_rule(tmp_path, tables, rounded)[0]  # two roundings of 3.25亿元 may differ
    same = "- {id: r, kind: order, strict: true, operands: [counts/two, counts/two]}"
    assert not one_rule(tmp_path, tables, same)[0]
    assert one_rule(tmp_path, tables, same.replace("strict: true", "strict: false"))[0]


def test_bound_with_a_printed_literal(tmp_path, tables):
    body = """
        - id: r
          kind: bound
          value: counts/lessors
          bound: {printed: 十余家, qualifier: more_than, unit: count, quote: 十余家金租公司, source: s1}
        """
    assert one_rule(tmp_path, tables, body)[0]
    holds, (f,) = one_rule(tmp_path, tables, body.replace("十余家", "二十余家", 1))
    assert not holds and (f.file, f.line) == ("resources/counts.csv", 2)


def test_compare_kind(tmp_path, tables):
    body = """
        - id: r
          kind: compare
          computed: {sum: [money/products-2025, money/operations-2025]}
          printed: money/rev-2025
        """
    assert one_rule(tmp_path, tables, body)[0]
    assert one_rule(tmp_path, tables, body + "  op: ge\n")[0]
    assert not one_rule(tmp_path, tables, body + "  op: below\n")[0]


def test_reconciliation_of_every_rule(tmp_path, tables):
    _, findings, recs = run(tmp_path, tables, "rules:\n" + textwrap.indent(textwrap.dedent(KIND_CASES["sum"][0]), "  "))
    (rec,) = recs
    assert not findings
    assert (rec.rule, rec.kind, rec.holds, rec.waived) == ("r", "sum", True, None)
    assert (rec.computed, rec.printed) == ("[520.136, 521.138]", "[519.5, 520.5]")


# ------------------------------------------------------------------ waivers


def test_waiver_silences_one_failing_rule_with_its_reason(tmp_path, tables):
    body = KIND_CASES["sum"][0].replace("money/products-2025", "money/wrong-products-2025")
    text = "rules:\n" + textwrap.indent(textwrap.dedent(body), "  ")
    text += "waivers:\n  - rule: r\n    reason: the article misprints the product revenue\n"
    load_findings, findings, (rec,) = run(tmp_path, tables, text)
    assert not load_findings and not findings
    assert rec.waived == "the article misprints the product revenue" and not rec.holds


def test_waiver_of_a_holding_rule_is_reported(tmp_path, tables):
    text = "rules:\n" + textwrap.indent(textwrap.dedent(KIND_CASES["sum"][0]), "  ")
    text += "waivers:\n  - {rule: r, reason: no longer needed}\n"
    _, findings, _ = run(tmp_path, tables, text)
    assert [(f.code, f.message) for f in findings] == [("waiver-error", "waived rule now holds: remove its waiver")]


@pytest.mark.parametrize(
    ("waiver", "message"),
    [
        ("- {rule: r}", "needs a non-empty written 'reason'"),
        ("- {rule: r, reason: '  '}", "needs a non-empty written 'reason'"),
        ("- {rule: nope, reason: x}", "waiver names unknown rule 'nope'"),
        ("- {rule: r, reason: x, scope: all}", "exactly 'rule' and 'reason'"),
    ],
)
def test_bad_waivers(tmp_path, tables, waiver, message):
    text = "rules:\n" + textwrap.indent(textwrap.dedent(KIND_CASES["sum"][0]), "  ") + "waivers:\n  " + waiver + "\n"
    load_findings, _, _ = run(tmp_path, tables, text)
    (f,) = load_findings
    assert message in f.message and f.file == "checks/rules.yaml" and f.line == 8


# ------------------------------------------------------------------ bad rule files


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("rules:\n  - id: a\n    kind: sum\n   parts: [x\n", 4, "broken YAML"),
        ("rules:\n  - id: a\n    kind: [unclosed\n", 4, "broken YAML"),
        ("rules:\n  - id: a\n    kind: summ\n    parts: []\n", 3, "unknown kind 'summ'"),
        ("rules:\n  - id: a\n    kind: sum\n    parts: [money/rev-2025]\n", 2, "missing key(s) total"),
        (
            "rules:\n  - id: a\n    kind: sum\n    parts:\n      - money/rev-2025\n      - nosuch/x\n"
            "    total: money/rev-2025\n",
            6,
            "unknown table 'nosuch'",
        ),
        (
            "rules:\n  - id: a\n    kind: sum\n    parts: [money/rev-2025]\n    total: money/rev-2099\n",
            5,
            "no figure 'rev-2099' in table 'money'",
        ),
        (
            "rules:\n  - id: a\n    kind: sum\n    parts: [money/rev-2025/printed]\n    total: money/rev-2025\n",
            4,
            "field 'printed' of 'money' is not a figure field",
        ),
        (
            "rules:\n  - id: a\n    kind: count\n    table: deals\n    where: {lessor: x}\n    target: 2\n",
            5,
            "table 'deals' has no field 'lessor'",
        ),
        ("rules:\n  - id: a\n    kind: sum\n    parts: [deals/a]\n    total: 1\n", 4,
         "has no figure id (conventions.claims.id)"),
        (
            "rules:\n  - id: a\n    kind: sum\n    parts: [1]\n    total: 1\n    tolerance: 0.01\n",
            6,
            "unknown key 'tolerance'",
        ),
        ("rules:\n  - id: a\n    kind: sum\n    parts: [{sqrt: [1]}]\n    total: 1\n", 4, "unknown expression 'sqrt'"),
        ("rules:\n  - id: a\n    kind: sum\n    parts: [{ratio: [1]}]\n    total: 1\n", 4, "ratio takes a list of 2"),
        ("rules:\n  - kind: sum\n", 2, "needs a string 'id'"),
        (
            "rules:\n  - {id: a, kind: sum, parts: [1], total: 1}\n  - {id: a, kind: sum, parts: [1], total: 1}\n",
            3,
            "duplicate rule id",
        ),
        ("rules:\n  - id: a\n    id: b\n", 3, "duplicate key 'id'"),
        ("rule:\n  - id: a\n", 1, "unknown top-level key 'rule'"),
        ("- a\n- b\n", 1, "must be a mapping"),
        (
            "rules:\n  - id: a\n    kind: bound\n    value: 1\n    bound: money/rev-2025\n",
            2,
            "'side' must be above or below",
        ),
        (
            "rules:\n  - id: a\n    kind: sum\n"
            "    parts: [{printed: 约5家, unit: count, quote: 5家, source: s}]\n    total: 1\n",
            4,
            "says approx (约)",
        ),
        (
            "rules:\n  - id: a\n    kind: sum\n    parts: [{printed: 5家, unit: count}]\n    total: 1\n",
            4,
            "'quote', 'source'",
        ),
        ("rules:\n  - id: a\n    kind: sum\n    parts: [{const: 1.5}]\n    total: 1\n", None, None),
    ],
)
def test_bad_rule_files_give_one_clear_located_finding(tmp_path, tables, text, line, message):
    load_findings, _, _ = run(tmp_path, tables, text, name="bad.yaml")
    if message is None:  # decimals written in YAML are read from their digits, not as floats
        assert not load_findings
        return
    assert len(load_findings) == 1, load_findings
    (f,) = load_findings
    assert message in f.message
    assert (f.layer, f.code, f.file, f.line) == ("consistency", "rule-error", "checks/bad.yaml", line)


def test_unevaluable_rule_is_a_finding_not_a_traceback(tmp_path, tables):
    holds, (f,) = one_rule(
        tmp_path,
        tables,
        """
        - id: r
          kind: ratio
          numerator: money/rev-2025
          denominator: {difference: [money/rev-2025, money/rev-2025]}
          value: pct/margin-2025
        """,
    )
    assert not holds and "cannot evaluate" in f.message and "contains 0" in f.message
    assert f.code == "rule-error"


def test_no_checks_folder_means_no_rules(tmp_path, tables):
    assert load_rules(tmp_path, tables, units=UNITS, claims=CLAIMS) == ([], [])


# ------------------------------------------------------------------ the real rules on the real data

# rule id -> (table, key of the row, new printed text, or {column: new cell}) breaking it; the
# broken row is the one the rule reports (the printed figure it compares).
BREAKS: dict[str, tuple[str, str, str | dict]] = {
    "jiliu-segments-sum-2025": ("company_financials", "jiliu-revenue-2025-total", "5.90亿元"),
    "jiliu-two-business-segments": ("company_counts", "jiliu-business-segments", "三部分"),
    "jiliu-operations-share-rose-from-2024": ("company_ratios", "jiliu-revenue-share-2025-operations", "4.1%"),
    "jiliu-implied-2024-hardware-cost-within-cost-of-sales": ("company_financials", "jiliu-cost-of-sales-2024",
                                                               "2.09亿元"),
    "leasing-companies-fewer-than-twenty": ("industry_counts", "leasing-companies-in-satellite-business-2026", "24家"),
    "jiliu-segment-shares-sum-2025": ("company_ratios", "jiliu-revenue-share-2025-products", "93.9%"),
    "jiliu-segment-share-2025-products": ("company_ratios", "jiliu-revenue-share-2025-products", "73.9%"),
    "jiliu-segment-share-2025-operations": ("company_ratios", "jiliu-revenue-share-2025-operations", "26.1%"),
    "jiliu-products-share-more-than-80-2025": ("company_ratios", "jiliu-revenue-share-2025-products", "73.9%"),
    "jiliu-segment-growth-implies-2024-total": ("company_financials", "jiliu-revenue-2024-total", "3.52亿元"),
    "jiliu-revenue-cagr-2023-2025": ("company_ratios", "jiliu-revenue-cagr-2023-2025", "340.5%"),
    "jiliu-revenue-growth-2024": ("company_ratios", "jiliu-revenue-growth-2024", "约290%"),
    "jiliu-revenue-growth-2025": ("company_ratios", "jiliu-revenue-growth-2025", "约80%"),
    "jiliu-revenue-increases-2023-2025": ("company_financials", "jiliu-revenue-2024-total", "0.25亿元"),
    "jiliu-gross-margin-2024": ("company_ratios", "jiliu-gross-margin-2024-total", "25.1%"),
    "jiliu-gross-margin-2025": ("company_ratios", "jiliu-gross-margin-2025-total", "25.8%"),
    "jiliu-margin-mix-2025": ("company_ratios", "jiliu-gross-margin-2025-total", "23.8%"),
    "jiliu-margin-mix-2024": ("company_ratios", "jiliu-gross-margin-2024-total", "20.9%"),
    "jiliu-margin-between-segments-2024": ("company_ratios", "jiliu-gross-margin-2024-total", "17.1%"),
    "jiliu-margin-between-segments-2025": ("company_ratios", "jiliu-gross-margin-2025-total", "15.8%"),
    "jiliu-gross-margin-rises": ("company_ratios", "jiliu-gross-margin-2025-total", "19.8%"),
    "jiliu-products-margin-falls": ("company_ratios", "jiliu-gross-margin-2024-products", "15.2%"),
    "jiliu-operations-margin-falls": ("company_ratios", "jiliu-gross-margin-2024-operations", "46.1%"),
    "jiliu-cost-of-sales-rises": ("company_financials", "jiliu-cost-of-sales-2025", "2.07亿元"),
    "jiliu-hardware-increase-within-cost-increase": (
        "company_financials",
        "jiliu-hardware-cost-increase-2025",
        "1.6亿元",
    ),
    "jiliu-hardware-increase-within-hardware-cost": (
        "company_financials",
        "jiliu-hardware-cost-increase-2025",
        "3.6亿元",
    ),
    "jiliu-ps-2025": ("valuation_multiples", "jiliu-ps-2025", "约27.6倍"),
    "jiliu-valuation-above-d-round": ("company_financials", "jiliu-post-money-valuation-d", "约9.16亿元"),
    "jiliu-ps-within-software-platform-range": ("valuation_multiples", "software-infrastructure-ps-high", "10—16倍"),
    "jiliu-hardware-increase-main-cause": ("company_financials", "jiliu-hardware-cost-increase-2025", "0.6亿元"),
    "jiliu-growth-rates-agree-with-cagr": ("company_ratios", "jiliu-revenue-cagr-2023-2025", "404.5%"),
    "jiliu-top1-concentration-falls": ("company_ratios", "jiliu-top1-customer-share-2024", "9.0%"),
    "commercial-space-growth-above-20-2025": ("industry_ratios", "commercial-space-market-growth-2026", "超过25%"),
    "jiliu-ps-above-it-integrators": ("valuation_multiples", "it-integrators-ps-typical", "不超过19倍"),
    "jiliu-top5-share-2024": ("company_ratios", "jiliu-top5-customer-share-2024", "88.9%"),
    "jiliu-top5-share-2025": ("company_ratios", "jiliu-top5-customer-share-2025", "66.6%"),
    "jiliu-top1-share-2024": ("company_ratios", "jiliu-top1-customer-share-2024", "69.0%"),
    "jiliu-top1-share-2025": ("company_ratios", "jiliu-top1-customer-share-2025", "26.6%"),
    "jiliu-customer-revenue-order-2024": ("company_financials", "jiliu-top5-customer-revenue-2024", "1.211亿元"),
    "jiliu-customer-revenue-order-2025": ("company_financials", "jiliu-top5-customer-revenue-2025", "0.842亿元"),
    "jiliu-customer-concentration-falls": ("company_ratios", "jiliu-top5-customer-share-2024", "48.9%"),
    "jiliu-supplier-concentration-falls": ("company_ratios", "jiliu-supplier-concentration-2023", "50.7%"),
    "jiliu-rd-ratio-falls": ("company_ratios", "jiliu-rd-expense-ratio-2023", "6.3%"),
    "jiliu-net-current-liabilities-grow": ("company_financials", "jiliu-net-current-liabilities-2025", "0.29亿元"),
    "jiliu-product-customers-grow": ("company_counts", "jiliu-customers-2025-products", "8名"),
    "jiliu-product-projects-grow": ("company_counts", "jiliu-projects-2025-products", "9个"),
    "jiliu-operations-customers-grow": ("company_counts", "jiliu-customers-2025-operations", "1名"),
    "jiliu-market-share-2025": ("company_ratios", "jiliu-market-share-2025", "约2.1%"),
    "ai-compute-cluster-market-cagr-2021-2025": (
        "industry_ratios",
        "ai-compute-cluster-market-cagr-2021-2025",
        "38.4%",
    ),
    "ai-compute-cluster-market-grows-to-2030": ("market_size", "ai-compute-cluster-market-2030", "391亿元"),
    "commercial-space-2026-forecast-implies-growth": (
        "industry_ratios",
        "commercial-space-market-growth-2026",
        "超过30%",
    ),
    "commercial-launches-within-total-2025": ("industry_counts", "china-launches-2025", "42次"),
    "commercial-launch-share-2025": ("industry_ratios", "china-commercial-launch-share-2025", "首超60%"),
    "leasing-companies-more-than-ten": ("industry_counts", "leasing-companies-in-satellite-business-2026", "9家"),
    "named-lessors-at-least-five": ("leasing_deals", "changjiang-2026-01", {"lessor_id": "zhongyin_financial_leasing"}),
    "named-lessors-are-the-leasing-entities": (
        "leasing_deals",
        "changjiang-2026-01",
        {"lessor_id": "zhongyin_financial_leasing"},
    ),
    "guodian-gaoke-two-lessors": ("industry_counts", "leasing-companies-investing-in-guodian-gaoke-2026", "三家"),
}


def copy_package(tmp_path: Path) -> Path:
    dest = tmp_path / "pkg"
    dest.mkdir()
    shutil.copy(ROOT / "datapackage.json", dest)
    for folder in ("schemas", "resources", "checks"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest


def edit_row(root: Path, table: str, key: str, change: str | dict) -> int:
    """Change one row of a CSV (printed text and, consistently, its value; or given cells).
    Returns the row's physical line."""
    path = root / "resources" / f"{table}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [(reader.line_num, row) for row in reader]
    (line, row) = next((n, r) for n, r in rows if r[0] == key)
    cells = dict(zip(header, row, strict=True))
    if isinstance(change, str):
        unit = open_package(root).tables[table].schema.field("value").get("unit")
        cells["printed"] = change
        cells["value"] = format(parse(change, cells["qualifier"], unit).value.normalize(), "f")
    else:
        cells.update(change)
    row[:] = [cells[h] for h in header]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(r for _, r in rows)
    return line


def check_package(root: Path):
    pkg = open_package(root)
    tables, table_findings = read_tables(pkg)
    assert not table_findings
    rules, load_findings = load_rules(root, tables, units=UNITS, claims=CLAIMS)
    findings, recs = run_checks(rules, tables, UNITS, CLAIMS)
    return rules, load_findings, findings, recs


def test_real_rules_all_hold_on_the_real_data():
    rules, load_findings, findings, recs = check_package(ROOT)
    assert not load_findings and not findings
    assert len(recs) == len(rules) >= 40
    assert all(r.holds and r.waived is None for r in recs)


# The rules on dates: rule id -> (table, key of the row, the cells that move its date, the line reported:
# the row of the rule's first date, which is not always the row moved).
DATE_BREAKS = {
    "guodian-gaoke-lessors-in-order": ("leasing_deals", "jiangxi-2026-04-07", {"date": "2026-01-07"}, 5),
}


def test_every_real_rule_has_a_breaking_test():
    rules, *_ = check_package(ROOT)
    assert {r.id for r in rules} == set(BREAKS) | set(DATE_BREAKS)


@pytest.mark.parametrize("rule_id", sorted(DATE_BREAKS))
def test_each_date_rule_fails_when_a_date_moves(tmp_path, rule_id):
    table, key, cells, reported = DATE_BREAKS[rule_id]
    root = copy_package(tmp_path)
    edit_row(root, table, key, cells)
    _, load_findings, findings, recs = check_package(root)
    assert not load_findings
    assert not next(r for r in recs if r.rule == rule_id).holds
    assert [(f.file, f.line) for f in findings if f.rule == rule_id] == [(f"resources/{table}.csv", reported)]


@pytest.mark.parametrize("rule_id", sorted(BREAKS))
def test_each_real_rule_fails_at_the_right_row_when_a_figure_is_wrong(tmp_path, rule_id):
    table, key, change = BREAKS[rule_id]
    root = copy_package(tmp_path)
    line = edit_row(root, table, key, change)
    _, load_findings, findings, recs = check_package(root)
    assert not load_findings
    assert not next(r for r in recs if r.rule == rule_id).holds
    mine = [f for f in findings if f.rule == rule_id]
    assert mine, f"{rule_id} did not fail"
    expected_line = None if isinstance(change, dict) else line  # a count is reported on its table
    assert any(f.file == f"resources/{table}.csv" and f.line == expected_line for f in mine), mine


def test_real_sum_rule_fails_on_a_swapped_digit(tmp_path):
    """4.73亿元 instead of 4.37亿元 fails at the printed total (company_financials.csv line 4)."""
    root = copy_package(tmp_path)
    edit_row(root, "company_financials", "jiliu-revenue-2025-products", "4.73亿元")
    _, _, findings, _ = check_package(root)
    (f,) = [f for f in findings if f.rule == "jiliu-segments-sum-2025"]
    assert (f.file, f.line, f.field) == ("resources/company_financials.csv", 4, "value")
    assert (f.computed, f.printed) == ("[556.136, 557.138]", "[519.5, 520.5]")


def test_real_intervals_are_the_documented_evidence():
    *_, recs = check_package(ROOT)
    by_id = {r.rule: r for r in recs}
    assert by_id["jiliu-segments-sum-2025"].computed == "[520.136, 521.138]"
    assert by_id["jiliu-revenue-cagr-2023-2025"].printed == "[304.45, 304.55]"
    assert Decimal("304.5") > Decimal(by_id["jiliu-revenue-cagr-2023-2025"].computed.split(",")[0][1:])


KEYS = (
    "id",
    "kind",
    "parts",
    "total",
    "part",
    "share",
    "value",
    "bound",
    "side",
    "operands",
    "strict",
    "table",
    "where",
    "distinct",
    "op",
    "target",
    "values",
    "weights",
    "mean",
    "ratio",
    "sum",
    "const",
    "count",
    "printed",
)
operands = st.sampled_from(
    ["money/rev-2025", "money/rev-2024", "pct/share-products", "counts/two", "deals", "lessor_id", "above", "le"]
) | st.lists(st.sampled_from(["money/rev-2025", "pct/above-20", "counts/lessors"]), min_size=1, max_size=3)
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["money/rev-2025", "deals", "sum", "x", "1.5"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(list(KEYS)), inner, max_size=4),
    max_leaves=12,
)


def kind_keys(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) keys of a rule kind; KINDS holds `Kind` records on `redesign` since kinds.py
    (110d376), (required, optional) pairs before it."""
    spec = KINDS.get(kind)
    if spec is None:
        return (), ()
    return (spec.required, spec.optional) if hasattr(spec, "required") else spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), kind=st.sampled_from([*KINDS, "nope"]))
def test_any_rule_shape_gives_findings_never_a_traceback(tmp_path, tables, data, kind):
    """Random values under a kind's own keys (and stray keys): findings, never an exception."""
    required, optional = kind_keys(kind)
    rule = {"id": "f", "kind": kind}
    for key in required:
        rule[key] = data.draw(yaml_values | operands, label=key)
    rule.update(data.draw(st.dictionaries(st.sampled_from([*optional, *KEYS]), yaml_values, max_size=2)))
    folder = tmp_path / "checks"
    folder.mkdir(exist_ok=True)
    (folder / "fuzz.yaml").write_text(yaml.safe_dump({"rules": [rule]}, allow_unicode=True), encoding="utf-8")
    rules, findings = load_rules(tmp_path, tables, units=UNITS, claims=CLAIMS)
    assert all(f.file == "checks/fuzz.yaml" for f in findings)
    assert len(rules) + len(findings) >= 1
    run_checks(rules, tables, UNITS, CLAIMS)


# ------------------------------------------------------------------ group_sum (whole long tables)


def long_table(rows: list[tuple], name: str = "obs", printed: bool = True) -> Table:
    """rows: (figure_id, region_id, period, segment, printed[, qualifier]) -> a long CNY table.

    Without `printed` the value field has no printed property and the printed text is read as
    the stored number itself (e.g. "1.5")."""
    fields = [
        {"name": "figure_id", "type": "string"},
        {"name": "region_id", "type": "string"},
        {"name": "period", "type": "integer"},
        {"name": "segment", "type": "string"},
        {"name": "value", "type": "number", "unit": "CNY million"},
        {"name": "printed", "type": "string"},
        {"name": "qualifier", "type": "string"},
    ]
    if printed:
        fields[4].update(printed="printed", qualifier="qualifier")
    data: dict[str, list] = {f["name"]: [] for f in fields}
    written: list[str] = []  # the value cells as written
    for fid, region, period, segment, text, *q in rows:
        qualifier = q[0] if q else "exact"
        data["figure_id"].append(fid)
        data["region_id"].append(region)
        data["period"].append(period)
        data["segment"].append(segment)
        data["printed"].append(text)
        data["qualifier"].append(qualifier)
        data["value"].append(_value_of(text, qualifier) if printed else float(text))
        written.append(text)
    frame = pl.DataFrame(
        data,
        schema={
            "period": pl.Int64,
            "value": pl.Float64,
            **{k: pl.Utf8 for k in ("figure_id", "region_id", "segment", "printed", "qualifier")},
        },
    ).select([f["name"] for f in fields])
    text = frame.select(pl.all().cast(pl.Utf8))
    if not printed:
        text = text.with_columns(pl.Series("value", written, dtype=pl.Utf8))
    return make_table(name, fields, frame, text)


def _value_of(text: str, qualifier: str) -> float | None:
    try:
        return float(parse(text, qualifier, "CNY million").value)
    except ValueError:
        return None  # a printed text the rule must report as unreadable


LONG_ROWS = [
    ("a-2024-total", "a", 2024, "total", "5.20亿元"),  # line 2
    ("a-2024-products", "a", 2024, "products", "4.37亿元"),  # line 3
    ("a-2024-operations", "a", 2024, "operations", "8363.7万元"),  # line 4
    ("b-2024-x", "b", 2024, "x", "1.1亿元"),  # line 5
    ("b-2024-total", "b", 2024, "total", "约3.3亿元", "approx"),  # line 6
    ("b-2024-y", "b", 2024, "y", "2.2亿元"),  # line 7
    ("c-2024-total", "c", 2024, "total", "9亿元"),  # line 8: a total without parts
    ("d-2025-x", "d", 2025, "x", "超过1亿元", "more_than"),  # line 9
    ("d-2025-total", "d", 2025, "total", "超过2亿元", "more_than"),  # line 10
]

GROUP_SUM = """
- id: g
  kind: group_sum
  description: segments add up to the total
  table: obs
  group_by: [region_id, period]
  parts: {segment: {not: total}}
  total: {segment: total}
"""


def group_run(tmp_path, rows=LONG_ROWS, body: str = GROUP_SUM, **kwargs):
    t = long_table(rows, **kwargs)
    return run(tmp_path, {t.name: t}, "rules:\n" + textwrap.indent(textwrap.dedent(body), "  "))


def test_group_sum_passes_with_one_reconciliation_row(tmp_path):
    load_findings, findings, recs = group_run(tmp_path)
    assert not load_findings and not findings
    (rec,) = recs
    assert rec.holds and rec.kind == "group_sum"
    assert rec.computed == "3 groups hold"
    assert rec.printed == "3 printed totals; 1 group without both parts and a total not checked"


def test_group_sum_wrong_part_fails_at_the_total_row(tmp_path):
    rows = [r if r[0] != "a-2024-products" else (*r[:4], "4.73亿元") for r in LONG_ROWS]
    load_findings, findings, recs = group_run(tmp_path, rows)
    assert not load_findings and not recs[0].holds
    (f,) = findings
    assert (f.layer, f.rule, f.file, f.line, f.field) == ("consistency", "g", "resources/obs.csv", 2, "value")
    assert (f.computed, f.printed) == ("[556.136, 557.138]", "[519.5, 520.5]")
    assert "obs/a-2024-total (5.20亿元)" in f.message and "region_id=a, period=2024" in f.message
    assert recs[0].computed == "2 of 3 groups hold"


def test_group_sum_gives_the_same_intervals_as_the_sum_rule(tmp_path):
    """The vectorized rule and the figure-by-figure `sum` rule agree on the evidence."""
    rows = [r if r[0] != "a-2024-products" else (*r[:4], "4.73亿元") for r in LONG_ROWS]
    body = GROUP_SUM + textwrap.dedent("""
        - id: s
          kind: sum
          parts: [obs/a-2024-products, obs/a-2024-operations]
          total: obs/a-2024-total
        """)
    _, findings, _ = group_run(tmp_path, rows, body)
    g, s = sorted(findings, key=lambda f: f.rule)
    assert (g.file, g.line, g.field, g.computed, g.printed) == (s.file, s.line, s.field, s.computed, s.printed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(
        st.tuples(st.integers(1, 99_999), st.integers(0, 3), st.sampled_from(["万元", "亿元"])), min_size=1, max_size=4
    ),
    total=st.tuples(
        st.integers(1, 999_999),
        st.integers(0, 3),
        st.sampled_from(["万元", "亿元"]),
        st.sampled_from(["exact", "approx", "nearly", "more_than", "at_most"]),
    ),
)
def test_group_sum_agrees_with_the_sum_rule_on_random_figures(tmp_path, parts, total):
    def text(n: int, d: int, scale: str) -> str:
        return f"{Decimal(n).scaleb(-d)}{scale}"

    words = {"exact": "", "approx": "约", "nearly": "近", "more_than": "超过", "at_most": "不超过"}
    rows = [(f"p{i}", "r", 2024, f"s{i}", text(*p)) for i, p in enumerate(parts)]
    rows.append(("t", "r", 2024, "total", words[total[3]] + text(*total[:3]), total[3]))
    body = (
        GROUP_SUM
        + f"""
- id: s
  kind: sum
  parts: [{", ".join(f"obs/p{i}" for i in range(len(parts)))}]
  total: obs/t
"""
    )
    _, findings, recs = group_run(tmp_path, rows, body)
    by_rule = {r.rule: r for r in recs}
    assert by_rule["g"].holds == by_rule["s"].holds
    if not by_rule["s"].holds:
        g, s = sorted(findings, key=lambda f: f.rule)
        assert (g.line, g.computed, g.printed) == (s.line, s.computed, s.printed)


def test_group_sum_on_a_field_without_printed_figures_takes_values_as_exact(tmp_path):
    rows = [("a1", "a", 1, "x", "1.25"), ("a2", "a", 1, "y", "2"), ("at", "a", 1, "total", "3.25")]
    _, findings, recs = group_run(tmp_path, rows, printed=False)
    assert recs[0].holds and not findings
    rows[-1] = ("at", "a", 1, "total", "3.2500001")
    _, findings, recs = group_run(tmp_path, rows, printed=False)
    (f,) = findings
    assert (f.line, f.computed, f.printed) == (4, "[3.25, 3.25]", "[3.25, 3.25001]")  # 6 digits, rounded outward
    assert "does not meet obs/at [3.25, 3.25001] (group region_id=a, period=1)" in f.message


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        ("parts: {segmnt: {not: total}}", 8, "'parts' filters on 'segmnt' is not a field of table 'obs'"),
        ("parts: {segment: {nor: total}}", 8, "unknown operator 'nor'"),
        ("parts: segment", 8, "'parts' must be a filter"),
        ("parts: {}", 8, "'parts' must be a filter"),
        ("parts: {segment: [[total]]}", 8, "needs plain values"),
        ("group_by: [region, period]", 7, "group_by field 'region' is not a field"),
        ("group_by: []", 7, "'group_by' must be a field name or a non-empty list"),
        ("table: nope", 6, "unknown table 'nope'"),
    ],
)
def test_group_sum_bad_filters_give_one_clear_located_finding(tmp_path, change, line, message):
    key = change.split(":")[0]
    lines = textwrap.dedent(GROUP_SUM).splitlines()
    body = "\n".join("  " + change if ln.strip().startswith(key + ":") else ln for ln in lines)
    load_findings, _, recs = group_run(tmp_path, body=body)
    (f,) = load_findings
    assert (f.rule, f.file, f.line) == ("g", "checks/rules.yaml", line) and message in f.message, f
    assert not recs


def test_group_sum_filter_matching_no_row_is_a_finding_at_the_filter(tmp_path):
    body = GROUP_SUM.replace("total: {segment: total}", "total: {segment: totl}")
    load_findings, findings, recs = group_run(tmp_path, body=body)
    assert not load_findings and not recs[0].holds
    (f,) = findings
    assert (f.file, f.line) == ("checks/rules.yaml", 9)
    assert f.message == "no row of table 'obs' matches the 'total' filter {segment: totl}"


def test_group_sum_overlapping_filters_point_at_the_rows(tmp_path):
    body = GROUP_SUM.replace("parts: {segment: {not: total}}", "parts: {region_id: [a, b]}")
    _, findings, recs = group_run(tmp_path, body=body)
    assert not recs[0].holds
    assert [(f.file, f.line) for f in findings] == [("resources/obs.csv", 2), ("resources/obs.csv", 6)]
    assert "selected by both 'parts' {region_id: [a, b]} and 'total' {segment: total}" in findings[0].message


def test_group_sum_two_totals_unreadable_figures_and_complete_groups(tmp_path):
    rows = [*LONG_ROWS, ("a-2024-total-again", "a", 2024, "total", "5.2亿元")]  # line 11
    _, findings, _ = group_run(tmp_path, rows)
    (f,) = findings
    assert f.line == 11 and "has 2 rows matching 'total' {segment: total} (lines 2, 11" in f.message
    rows = [r if r[0] != "b-2024-x" else (*r[:4], "1.1亿元", "approx") for r in LONG_ROWS]
    _, findings, _ = group_run(tmp_path, rows)
    (f,) = findings
    assert (f.line, f.field) == (5, "printed") and "needs its word (约)" in f.message
    _, findings, recs = group_run(tmp_path, body=GROUP_SUM + "  complete: true\n")
    (f,) = findings
    assert f.line == 8 and "group region_id=c, period=2024 has no part rows" in f.message
    assert recs[0].printed == "3 printed totals"


def test_group_sum_where_and_waiver(tmp_path):
    body = GROUP_SUM + "  where: {period: 2025}\n"
    _, findings, recs = group_run(tmp_path, body=body)
    assert not findings and recs[0].computed == "1 group holds"
    rows = [r if r[0] != "a-2024-products" else (*r[:4], "4.73亿元") for r in LONG_ROWS]
    text = "rules:\n" + textwrap.indent(textwrap.dedent(GROUP_SUM), "  ") + "waivers:\n  - {rule: g, reason: known}\n"
    t = long_table(rows)
    load_findings, findings, recs = run(tmp_path, {"obs": t}, text)
    assert not load_findings and not findings and recs[0].waived == "known"


# ------------------------------------------------------------------ what a metric spans, as the package declares


def test_a_cagr_rule_cannot_trust_years_against_what_its_metric_spans(tmp_path):
    root = copy_package(tmp_path)
    path = root / "checks" / "jiliu.yaml"
    text = path.read_text(encoding="utf-8")
    anchor = "    cagr: company_ratios/jiliu-revenue-cagr-2023-2025\n"
    path.write_text(text.replace(anchor, anchor + "    years: 3\n", 1), encoding="utf-8")
    _, load_findings, _, _ = check_package(root)
    (f,) = load_findings
    assert f.rule == "jiliu-revenue-cagr-2023-2025" and "disagree on the CAGR's years" in f.message
    assert "3 from 'years' of the rule" in f.message and "2 from base_period..period" in f.message


def test_a_growth_rule_over_other_years_than_its_metric_spans_is_an_error(tmp_path):
    root = copy_package(tmp_path)
    (root / "checks" / "extra.yaml").write_text(textwrap.dedent("""\
        rules:
          - id: two-years-of-growth
            kind: growth
            new: company_financials/jiliu-revenue-2025-total
            old: company_financials/jiliu-revenue-2023-total
            growth: company_ratios/jiliu-revenue-growth-2025
        """), encoding="utf-8")
    _, load_findings, _, _ = check_package(root)
    (f,) = load_findings
    assert (f.file, f.line, f.rule) == ("checks/extra.yaml", 2, "two-years-of-growth")
    assert "revenue_yoy_growth" in f.message and "spans 1 year(s)" in f.message and "2 year(s) apart" in f.message
