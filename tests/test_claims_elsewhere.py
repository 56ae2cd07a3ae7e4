"""The claim and completeness checks on another package, in another language and domain: an English city-budget
article (tests/fixtures/claims-en). What is ours is declared by each package (its fields, date forms, forecast and
speaker markers, labels, units), so the same checks pass on its data and fail, located, on each break."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from cbj_figures.build import rehash
from cbj_figures.cite import cite
from cbj_figures.validate import Options, validate

FIXTURE = Path(__file__).parent / "fixtures" / "claims-en"
TEXT = "resources/sources/article.txt"


@pytest.fixture
def en(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "claims-en"))


def edit(pkg: Path, table: str, key: str, **cells: str) -> int:
    path = pkg / "resources" / f"{table}.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    row = next(r for r in rows if r[0] == key)
    for name, value in cells.items():
        row[rows[0].index(name)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    rehash(pkg)
    return rows.index(row) + 1


def findings(pkg: Path) -> list:
    return [f for f in validate(pkg).findings if f.severity == "error"]


def test_the_english_package_is_valid_in_every_layer():
    report = validate(FIXTURE, Options(cross_check=True))
    assert report.valid and report.findings == [], report.findings
    assert "conventions" in report.layers_run and "provenance" in report.layers_run


def test_swapped_cities_are_found_with_the_city_each_quote_names(en):
    a = edit(en, "amounts", "riverton-budget-2025", entity_id="harbor_city")
    b = edit(en, "amounts", "harbor-city-spending-2025", entity_id="riverton")
    got = sorted((f.line, f.code, f.message) for f in findings(en))
    assert [(line, code) for line, code, _ in got] == [(a, "reference-not-in-quote"), (b, "reference-not-in-quote")]
    assert "names Riverton (riverton) instead" in got[0][2] and "names Harbor City (harbor_city) instead" in got[1][2]


@pytest.mark.parametrize(
    ("table", "key", "cells", "code", "field"),
    [
        ("amounts", "harbor-city-spending-2025", {"attributed_to": "lena_fischer"}, "reference-not-in-quote",
         "attributed_to"),
        ("amounts", "harbor-city-spending-2025", {"attributed_to": "harbor_city"}, "reference-kind", "attributed_to"),
        ("amounts", "riverton-budget-2025", {"attributed_to": ""}, "attribution-missing", "attributed_to"),
        ("amounts", "riverton-budget-2026", {"is_forecast": "false"}, "forecast-flag", "is_forecast"),  # expects
        ("amounts", "riverton-budget-2025", {"is_forecast": "true"}, "forecast-flag", "is_forecast"),
        ("amounts", "riverton-transport-2025", {"segment": "total"}, "reference-not-in-quote", "segment"),
        ("ratios", "riverton-budget-growth-2025", {"base_period": "2023"}, "metric-span", "base_period"),
        ("ratios", "riverton-budget-growth-2025", {"inferred": "false", "inference_note": ""}, "period-not-in-quote",
         "inferred"),
        ("counts", "riverton-staff-2025", {"period": "2024", "inferred": "true", "inference_note": "x"},
         "period-not-in-quote", "period"),
    ],
    ids=["another-speaker", "speaker-kind", "attribution", "forecast-by-wording", "forecast-without-either",
         "segment", "metric-span", "derived-base", "year-contradicted"],
)
def test_a_wrong_claim_fails_at_its_row(en, table, key, cells, code, field):
    line = edit(en, table, key, **cells)
    assert (code, f"resources/{table}.csv", line, field) in {(f.code, f.file, f.line, f.field) for f in findings(en)}


def test_a_deleted_row_is_found_by_its_printed_text_at_its_line(en):
    path = en / "resources" / "counts.csv"
    path.write_text("".join(ln for ln in path.read_text(encoding="utf-8").splitlines(keepends=True)
                            if not ln.startswith("riverton-staff-2025,")), encoding="utf-8")
    rehash(en)
    (f,) = findings(en)
    assert (f.code, f.file, f.line) == ("unaccounted-number", TEXT, 9) and "'2,400 people'" in f.message


def test_a_citation_follows_the_chain_the_package_declares():
    text = cite("amounts/riverton-budget-2025", root=FIXTURE)
    assert "Quote: ``Riverton's budget rose to 3.4 billion euros" in text and "@article{riverton-courier" in text


def test_the_figures_view_is_built_from_the_packages_natural_keys(tmp_path):
    import duckdb

    from cbj_figures.build import build

    release = build(FIXTURE, tmp_path / "dist")
    con = duckdb.connect(str(release / "riverton-courier-figures.duckdb"), read_only=True)
    try:
        columns = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'figures' "
                                             "ORDER BY column_index").fetchall()]
        rows = con.execute("SELECT \"table\", id, segment, attributed_to FROM figures ORDER BY id").fetchall()
    finally:
        con.close()
    assert columns[9:] == ["entity_id", "metric", "segment", "base_period", "period", "is_forecast", "inferred",
                           "attributed_to", "source_id", "quote"]
    assert ("amounts", "riverton-transport-2025", "transport", None) in rows and len(rows) == 8
