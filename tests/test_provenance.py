"""Provenance: quotes in the source text, printed figures in quotes and equal to stored values, pinned texts."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from cbj_figures.descriptor import check_descriptor
from cbj_figures.package import open_package
from cbj_figures.provenance import ArticleText, check_provenance, locate_quote
from cbj_figures.safeio import file_digest
from cbj_figures.tables import read_tables

ROOT = Path(__file__).resolve().parents[1]


def copy_package(tmp_path: Path) -> Path:
    dest = tmp_path / "pkg"
    dest.mkdir()
    shutil.copy(ROOT / "datapackage.json", dest)
    for folder in ("schemas", "resources"):
        shutil.copytree(ROOT / folder, dest / folder)
    return dest


def edit_cells(root: Path, table: str, key: str, **cells: str) -> int:
    """Set cells of the row whose first column is `key`; returns its physical line."""
    path = root / "resources" / f"{table}.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [(reader.line_num, row) for row in reader]
    line, row = next((n, r) for n, r in rows if r[0] == key)
    for name, value in cells.items():
        row[header.index(name)] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(r for _, r in rows)
    return line


def provenance(root: Path):
    pkg = open_package(root)
    tables, _ = read_tables(pkg)
    return check_provenance(pkg, tables)


def test_real_package_has_full_provenance():
    assert provenance(ROOT) == []


def test_edited_quote_fails_at_its_row(tmp_path):
    root = copy_package(tmp_path)
    line = edit_cells(
        root, "company_financials", "jiliu-revenue-2025-products", quote="2025年,基流科技AI算力集群产品收入达4.37亿元"
    )
    findings = provenance(root)
    (f,) = [f for f in findings if f.code == "quote-not-in-source"]
    assert (f.layer, f.file, f.line, f.field) == ("provenance", "resources/company_financials.csv", line, "quote")
    assert line == 5
    assert "differs at '达4.37亿元'" in f.message  # where the match stops


def test_quote_is_looked_up_only_in_its_own_article(tmp_path):
    """基流科技's revenue is not in the leasing article (lines 96-170), even though the file holds it."""
    root = copy_package(tmp_path)
    line = edit_cells(root, "company_financials", "jiliu-revenue-2024-total", source_id="cbj-leasing-space")
    (f,) = provenance(root)
    assert (f.code, f.line, f.field) == ("quote-not-in-source", line, "quote")


def test_quote_with_punctuation_changed_fails(tmp_path):
    """Only line breaks are removed: a half-width comma for the printed full-width one is a change."""
    root = copy_package(tmp_path)
    edit_cells(
        root, "company_financials", "jiliu-revenue-2023-total", quote="2023—2025年，公司收入由3180万元增至5.20亿元"
    )
    assert [f.code for f in provenance(root)] == ["quote-not-in-source"]


def test_printed_figure_must_be_in_the_quote(tmp_path):
    root = copy_package(tmp_path)
    line = edit_cells(
        root, "company_ratios", "jiliu-gross-margin-2025-total", quote="基流科技整体毛利率由2024年的20.1%"
    )
    (f,) = provenance(root)
    assert (f.code, f.file, f.line, f.field) == (
        "printed-not-in-quote",
        "resources/company_ratios.csv",
        line,
        "printed",
    )


def test_stored_value_must_be_the_exact_conversion(tmp_path):
    root = copy_package(tmp_path)
    line = edit_cells(root, "company_financials", "jiliu-revenue-2025-operations", value="83.64")
    (f,) = provenance(root)
    assert (f.code, f.line, f.field) == ("printed-value-mismatch", line, "value")
    assert "8363.7万元" in f.message and "83.637" in f.message


def test_qualifier_word_must_match_the_qualifier(tmp_path):
    root = copy_package(tmp_path)
    line = edit_cells(root, "company_ratios", "jiliu-market-share-2025", qualifier="exact")
    (f,) = provenance(root)
    assert (f.code, f.line, f.field) == ("printed-unparseable", line, "printed")
    assert "says approx (约)" in f.message


AT_LEAST = "leasing-companies-in-satellite-business-2026"  # 14家, at_least: 据不完全统计 in its quote


def test_at_least_without_its_word_needs_an_incomplete_count_in_the_quote(tmp_path):
    """14家 is at_least only because its quote says 据不完全统计; without it the qualifier is unprinted."""
    root = copy_package(tmp_path)
    line = edit_cells(root, "industry_counts", AT_LEAST, quote="等14家金融租赁公司落地商业卫星相关业务")
    (f,) = provenance(root)
    assert (f.code, f.file, f.line, f.field) == (
        "qualifier-unprinted",
        "resources/industry_counts.csv",
        line,
        "qualifier",
    )
    assert "(不少于, 不低于, 至少)" in f.message and "不完全统计 in the quote" in f.message


def test_at_least_with_the_reporters_incomplete_count_or_its_own_word(tmp_path):
    """据记者不完全统计 (line 130) counts as well; 至少 printed in the figure needs nothing from the quote."""
    root = copy_package(tmp_path)
    reporter = "据记者不完全统计,今年以来,已经有14家金租公司开展了商业卫星租赁业务"
    edit_cells(root, "industry_counts", AT_LEAST, quote=reporter)
    assert provenance(root) == []
    edit_cells(root, "industry_counts", AT_LEAST, printed="至少14家", quote="等14家金融租赁公司落地商业卫星相关业务")
    assert [f.code for f in provenance(root)] == ["printed-not-in-quote"]  # not qualifier-unprinted


def test_at_least_is_the_only_qualifier_the_quote_can_carry(tmp_path):
    """more_than without its word stays unparseable, whatever the quote says."""
    root = copy_package(tmp_path)
    line = edit_cells(root, "industry_counts", AT_LEAST, qualifier="more_than")
    (f,) = provenance(root)
    assert (f.code, f.line, f.field) == ("printed-unparseable", line, "printed")


def test_nullable_figure_field_in_another_column(tmp_path):
    """leasing_deals.amount uses amount_printed / amount_qualifier; empty amounts are fine."""
    root = copy_package(tmp_path)
    line = edit_cells(root, "leasing_deals", "zhaoyin-2026-01-16", amount="3")
    (f,) = provenance(root)
    assert (f.code, f.file, f.line, f.field) == (
        "printed-value-mismatch",
        "resources/leasing_deals.csv",
        line,
        "amount",
    )


def test_verbatim_names_must_occur_in_the_text(tmp_path):
    root = copy_package(tmp_path)
    line = edit_cells(root, "entities", "guodian_gaoke", short_name_zh="国电高科技")
    (f,) = provenance(root)
    assert (f.code, f.file, f.line, f.field) == (
        "verbatim-not-in-source",
        "resources/entities.csv",
        line,
        "short_name_zh",
    )


def test_stale_text_hash_and_size_fail(tmp_path):
    """A changed source text fails its pinned hash and size. Since the restructure the descriptor layer
    checks every file's `hash` and `bytes` (hash-count, byte-count); provenance no longer repeats it."""
    root = copy_package(tmp_path)
    rel = "resources/sources/000_d31d061fede478c7.txt"
    text = root / rel
    text.write_bytes(text.read_bytes() + b"\n")
    assert provenance(root) == []
    pkg = open_package(root)
    where = f"$.resources[{next(r.index for r in pkg.resources if r.path == rel)}]"
    found = [f for f in check_descriptor(pkg) if f.code in ("hash-count", "byte-count")]
    assert sorted(f.code for f in found) == ["byte-count", "hash-count"]
    # located at the text file, or at its resource in the descriptor
    assert all(f.file == rel or (f.field or "").startswith(where) for f in found), found


def test_declared_hash_must_be_sha256(tmp_path):
    """A source text must be pinned by its SHA-256. Since the restructure our conventions profile says so
    (a profile-error of the descriptor layer at the resource's `hash`), not the provenance layer."""
    root = copy_package(tmp_path)
    desc = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    text_res = next(r for r in desc["resources"] if r.get("format") == "txt")
    text_res["hash"] = "0" * 32
    (root / "datapackage.json").write_text(json.dumps(desc, ensure_ascii=False), encoding="utf-8")
    assert provenance(root) == []
    (f,) = [f for f in check_descriptor(open_package(root)) if f.code == "profile-error"]
    assert "sha256" in f.message and f.field.endswith(".hash")


def test_unresolvable_source_is_reported(tmp_path):
    root = copy_package(tmp_path)
    line = edit_cells(root, "sources", "jiliu-prospectus", reported_in="")
    findings = provenance(root)
    assert any(f.code == "source-text" and f.line == line and "neither a text_resource" in f.message for f in findings)


def test_file_digest_matches_hashlib(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes("基流科技\n".encode())
    assert file_digest(path) == (hashlib.sha256("基流科技\n".encode()).hexdigest(), 13)


@pytest.mark.parametrize(
    ("quote", "line"),
    [
        ("第一行", 2),
        ("第一行第二行", 2),  # a break inside a sentence, with blanks around it, is removed
        ("二行 中间", 4),
        ("中间有空格", 4),
        ("第一行 第二行", None),  # nothing else is normalised
        ("结尾", None),  # outside the article's lines
        ("第一行\n第二行", None),
        ("", None),
    ],
)
def test_article_text_matching_and_lines(quote, line):
    text = "标题\n第一行  \n\n  第二行 中间有空格\n结尾"
    art = ArticleText.from_text(text, 2, 4)
    assert art.joined == "第一行第二行 中间有空格"
    assert art.find(quote) == line


def test_locate_quote_follows_reported_in():
    pkg = open_package(ROOT)
    tables, _ = read_tables(pkg)
    assert locate_quote(pkg, tables, "jiliu-prospectus", "利润分别为2030万元和3110万元") == 13
    assert locate_quote(pkg, tables, "cbj-leasing-space", "节加速入场") == 118
    assert locate_quote(pkg, tables, "cbj-leasing-space", "基流科技") is None


# ------------------------------------------------------------------ vectorized == row by row


def row_by_row(root: Path) -> list:
    """The reference: every row of every table through the row-by-row code."""
    from cbj_figures.provenance import _Context, _row_findings

    pkg = open_package(root)
    tables, _ = read_tables(pkg)
    ctx = _Context(pkg, tables)
    return [f for t in tables.values() for i in range(t.frame.height) for f in _row_findings(ctx, t, i)]


def test_vectorized_checks_report_exactly_the_row_by_row_findings(tmp_path):
    root = copy_package(tmp_path)
    edit_cells(root, "company_financials", "jiliu-revenue-2025-products", quote="基流科技AI算力集群产品收入达4.37亿元")
    edit_cells(root, "company_financials", "jiliu-revenue-2024-total", value="325.0")  # equal: no finding
    edit_cells(root, "company_financials", "jiliu-revenue-2023-total", value="31.80001", printed="3180万元 ")
    edit_cells(root, "company_ratios", "jiliu-market-share-2025", qualifier="exact")
    edit_cells(root, "company_ratios", "jiliu-gross-margin-2025-total", printed="二十一点八%")
    edit_cells(root, "company_counts", "jiliu-customers-2025-products", value="4.8e1")  # equal: no finding
    edit_cells(root, "company_counts", "jiliu-customers-2024-products", value="NaN")
    edit_cells(root, "leasing_deals", "zhaoyin-2026-01-16", amount="3")
    edit_cells(root, "entities", "guodian_gaoke", short_name_zh="国电高科技")
    edit_cells(root, "industry_counts", AT_LEAST, quote="等14家金融租赁公司落地商业卫星相关业务")
    expected = row_by_row(root)
    got = [f for f in provenance(root) if f.file != "datapackage.json"]
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    assert {f.code for f in got} == {
        "quote-not-in-source", "printed-value-mismatch", "printed-unparseable", "printed-not-in-quote",
        "verbatim-not-in-source", "qualifier-unprinted",
    }


def test_many_distinct_quotes_and_every_failing_row(tmp_path):
    """Past a few distinct quotes an article is searched with Aho-Corasick; every failing row is reported.

    Rewritten for the restructure: there is no CAP any more (it was 20, with one "... and N more rows"
    summary), so all 25 broken rows are reported, each at its own line, and no summary finding."""
    broken_rows = 25
    root = copy_package(tmp_path)
    path = root / "resources" / "company_financials.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, first = rows[0], rows[1]
    q = header.index("quote")
    text = (root / "resources" / "sources" / "000_d31d061fede478c7.txt").read_text(encoding="utf-8")
    article = ArticleText.from_text(text, 1, 95).joined
    extra = []
    for k in range(200):  # 200 distinct quotes, all in the article, each holding 3180万元
        row = list(first)
        row[0] = f"extra-{k}"
        start = article.index("3180万元")
        row[q] = article[max(0, start - 1 - k % 20) : start + 6 + k // 20]
        extra.append(row)
    broken = [list(r) for r in extra[:broken_rows]]
    for r in broken:
        r[0] = "broken-" + r[0]
        r[q] = r[q] + "不在原文里"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows[1:], *extra, *broken])
    pkg = open_package(root)
    tables, _ = read_tables(pkg)
    findings = [f for f in check_provenance(pkg, tables) if f.file == "resources/company_financials.csv"]
    assert all(f.line is not None for f in findings)  # no summary finding
    assert all(f.code == "quote-not-in-source" for f in findings)
    first_broken = len(rows) + len(extra) + 1
    assert [f.line for f in findings] == list(range(first_broken, first_broken + broken_rows))
    assert [f.row for f in findings] == [f.line for f in findings]  # one physical line a row here
