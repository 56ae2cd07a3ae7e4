"""The package itself: valid for frictionless and the official v2 profile, and answering a reader's questions."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from cbj_figures.profiles import official

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTOR = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
TABLES = [r for r in DESCRIPTOR["resources"] if "schema" in r]


def rows(table: str) -> list[dict[str, str]]:
    with open(ROOT / "resources" / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def figure(table: str, figure_id: str) -> dict[str, str]:
    (row,) = [r for r in rows(table) if r.get("figure_id", r.get("deal_id")) == figure_id]
    return row


def frictionless_cli() -> str:
    return str(Path(sys.executable).with_name("frictionless"))


def test_frictionless_validate_reports_valid():
    done = subprocess.run(
        [frictionless_cli(), "validate", "--json", "datapackage.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["valid"], done.stdout[:2000]
    assert done.returncode == 0


def test_frictionless_catches_a_dangling_foreign_key(tmp_path):
    """Proof that the frictionless run above really checks keys (it needs the v2 `$schema`)."""
    copy = tmp_path / "pkg"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "dist", "__pycache__"))
    path = copy / "resources" / "company_financials.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",jiliu_technology,", ",jiliu_tech,", 1), encoding="utf-8")
    done = subprocess.run(
        [frictionless_cli(), "validate", "--json", "datapackage.json"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [e["type"] for task in json.loads(done.stdout)["tasks"] for e in task["errors"]]
    assert "foreign-key" in errors


def test_descriptor_follows_the_official_v2_profile_and_ours():
    """The package opts into our conventions; our profile extends the official v2 one, and both hold."""
    from cbj_figures.profiles import CONVENTIONS_PROFILE, conventions, validator

    profile = official("datapackage", "2.0")
    errors = sorted(jsonschema.Draft7Validator(profile).iter_errors(DESCRIPTOR), key=str)
    assert not errors, [e.message for e in errors]
    assert DESCRIPTOR["$schema"] == CONVENTIONS_PROFILE
    assert not list(validator(conventions()).iter_errors(DESCRIPTOR))


@pytest.mark.parametrize("resource", TABLES, ids=lambda r: r["name"])
def test_table_schema_follows_the_official_v2_profile(resource):
    profile = official("tableschema", "2.0")
    schema = json.loads((ROOT / resource["schema"]).read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft7Validator(profile).iter_errors(schema))


@pytest.mark.parametrize("resource", TABLES, ids=lambda r: r["name"])
def test_every_table_is_tidy_typed_and_keyed(resource):
    schema = json.loads((ROOT / resource["schema"]).read_text(encoding="utf-8"))
    assert schema["primaryKey"], "a primary key on every table"
    names = [f["name"] for f in schema["fields"]]
    assert all(n.isidentifier() and n == n.lower() for n in names), "snake_case field names"
    for f in schema["fields"]:
        if f["type"] in ("number", "integer"):
            assert f.get("unit") in {"CNY million", "percent", "count", "multiple", "rank"}, f["name"]
        assert f.get("description") and f.get("description_zh"), f["name"]
    if resource["name"] not in ("sources",):
        assert {"source_id", "quote"} <= set(names)


def test_figure_ids_are_unique_across_the_package():
    ids = [r["figure_id"] for t in TABLES for r in rows(t["name"]) if "figure_id" in r]
    assert len(ids) == len(set(ids)) == 73


def test_a_reader_finds_jiliu_2025_revenue_by_segment_and_margin():
    products = figure("company_financials", "jiliu-revenue-2025-products")
    operations = figure("company_financials", "jiliu-revenue-2025-operations")
    total = figure("company_financials", "jiliu-revenue-2025-total")
    assert (products["value"], products["printed"]) == ("437", "4.37亿元")
    assert (operations["value"], operations["printed"]) == ("83.637", "8363.7万元")
    assert (total["value"], total["printed"]) == ("520", "5.20亿元") and "5.2亿元" in total["note"]
    margins = {
        r["segment"]: r["value"]
        for r in rows("company_ratios")
        if r["metric"] == "gross_margin" and r["period"] == "2025"
    }
    assert margins == {"total": "21.8", "ai_cluster_products": "16.8", "ai_cluster_operations": "47.7"}


def test_a_reader_finds_the_ai_compute_cluster_market_series():
    series = {
        r["period"]: (r["value"], r["is_forecast"])
        for r in rows("market_size")
        if r["entity_id"] == "china_ai_compute_cluster_market"
    }
    assert series == {"2021": ("13800", "false"), "2025": ("45400", "false"), "2030": ("389100", "true")}


def test_a_reader_finds_the_five_leasing_deals_and_2025_launches():
    deals = {r["lessor_id"]: r for r in rows("leasing_deals")}
    assert set(deals) == {
        "jiaoyin_financial_leasing",
        "zhongyin_financial_leasing",
        "changjiang_financial_leasing",
        "zhaoyin_financial_leasing",
        "jiangxi_financial_leasing",
    }
    zhaoyin = deals["zhaoyin_financial_leasing"]
    assert (zhaoyin["lessee_id"], zhaoyin["lease_structure"], zhaoyin["amount"], zhaoyin["amount_qualifier"]) == (
        "guodian_gaoke",
        "sale_and_leaseback",
        "30",
        "nearly",
    )
    assert deals["jiaoyin_financial_leasing"]["date"] == "2026-05"
    assert deals["jiaoyin_financial_leasing"]["inferred"] == "true"
    launches = {r["metric"]: r["value"] for r in rows("industry_counts") if r["period"] == "2025"}
    assert launches["space_launches"] == "92" and launches["commercial_space_launches"] == "50"
    assert launches["satellites_filed_with_itu"] == "203000"


def test_inferred_values_say_why():
    for t in TABLES:
        for r in rows(t["name"]):
            if r.get("inferred") == "true":
                assert r["inference_note"].strip(), (t["name"], r)


def test_versions_agree_everywhere():
    """The data ships inside the Python package, so both carry one version."""
    import tomllib

    import cbj_figures

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == DESCRIPTOR["version"] == cbj_figures.__version__
