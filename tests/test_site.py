"""The site generator without a browser: what the package declares, where figures are marked, the charts'
marks, safety of every page against package text, and where the site may be written.

The browser tests (tests/test_site_browser.py) load the pages in Chromium.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from packages import REPO, copy_package, edit_cells

from cbj_figures.package import open_package
from cbj_figures.site import SiteError, build_site
from cbj_figures.site.charts import check_svg, render_chart
from cbj_figures.site.config import load_config
from cbj_figures.site.gedocs import sanitize
from cbj_figures.site.generate import lang
from cbj_figures.site.model import SiteModel, collect, figure_tables
from cbj_figures.site.releases import changelog, release_history
from cbj_figures.validate import Options, validate_run


@pytest.fixture(scope="module")
def model() -> SiteModel:
    report, ctx = validate_run(REPO, Options())
    return collect(ctx.pkg, report, ctx.tables, ctx.rules, load_config(REPO), citations=False)


def test_every_figure_and_every_declared_number_is_marked_where_it_is_printed(model: SiteModel) -> None:
    assert model.articles and not model.unlocated
    for article in model.articles.values():
        assert article.unlocated == []
    unmarked = [key for key, fig in model.figures.items() if fig.mark is None]
    assert unmarked == []
    rows = sum(len((REPO / "resources" / f"{name}.csv").read_text(encoding="utf-8").splitlines()) - 1
               for name in figure_tables(model.tables, model.ev))  # no cell of these tables breaks a line
    assert len(model.figures) == rows


def test_a_mark_covers_the_printed_figure_inside_its_quote(model: SiteModel) -> None:
    fig = model.figures["company_financials/jiliu-revenue-2025-total"]
    article = model.articles[fig.article]
    mark = next(m for m in article.marks if m.id == fig.mark)
    texts = [text for p in article.paragraphs for text, m, _ in p.segments if m is mark]
    assert "".join(texts) == "5.20亿元"
    assert [f.key for f in mark.figures] == [fig.key]


def test_overlapping_printings_share_one_mark(model: SiteModel) -> None:
    low = model.figures["valuation_multiples/software-infrastructure-ps-low"]
    high = model.figures["valuation_multiples/software-infrastructure-ps-high"]
    assert low.mark == high.mark


def test_untabulated_numbers_are_marked_with_their_reason(model: SiteModel) -> None:
    marks = [m for a in model.articles.values() for m in a.marks if m.kind == "untabulated"]
    printed = sorted(u.printed for m in marks for u in m.untabulated)
    assert printed == sorted(u.printed for u in model.ev.untabulated)
    assert "3—5年" in printed and all(u.reason for m in marks for u in m.untabulated)


def test_paragraphs_follow_sentences_not_the_transcript_line_breaks(model: SiteModel) -> None:
    paras = model.articles["cbj-jiliu-ipo"].paragraphs
    first = next(p for p in paras if p.kind == "p")
    text = "".join(t for t, _, _ in first.segments)
    assert text.startswith("成立仅3年") and "近期向港交所递交了上市申请" in text and text.endswith("3110万元。")
    assert [p.kind for p in paras[:2]] == ["h2", "aside"]  # the headline, the byline on its own


def test_events_are_marked_where_their_quote_begins(model: SiteModel) -> None:
    fig = model.figures["leasing_deals/zhongyin-2026-01-09"]
    article = model.articles[fig.article]
    mark = next(m for m in article.marks if m.id == fig.mark)
    assert mark.kind == "event"
    assert "".join(t for p in article.paragraphs for t, m, _ in p.segments if m is mark) == "1月9日"


def test_rules_are_attached_to_the_figures_they_name(model: SiteModel) -> None:
    rules = {r.id: r for r in model.figures["company_financials/jiliu-revenue-2025-total"].rules}
    assert rules["jiliu-segments-sum-2025"].status == "holds"
    assert rules["jiliu-segments-sum-2025"].printed == "[519.5, 520.5]"


# (chart id, rows drawn): the rows of the tables each chart's `where` selects, counted by hand
CHARTS = [("ai-compute-cluster-market", 3), ("jiliu-revenue-by-segment", 5), ("jiliu-gross-margins", 6),
          ("jiliu-customer-concentration", 4), ("china-launches-2025", 2), ("leasing-deals", 5)]


@pytest.mark.parametrize(("chart_id", "rows"), CHARTS)
def test_each_chart_draws_one_mark_a_row(model: SiteModel, chart_id: str, rows: int) -> None:
    chart = next(c for c in model.config.charts if c.id == chart_id)
    first, again = render_chart(model, chart), render_chart(model, chart)
    assert first.marks == len(first.rows) == rows
    assert first.svg == again.svg  # vl-convert renders the same bytes twice
    import xml.etree.ElementTree as ET

    root = ET.fromstring(first.svg)
    bars = [el for g in root.iter("{http://www.w3.org/2000/svg}g") if "mark-rect" in (g.get("class") or "")
            for el in g if el.tag.endswith("path")]
    assert len(bars) == rows
    assert all(r.printed in first.svg for r in first.rows)  # labelled as printed


def test_the_forecast_is_drawn_as_a_forecast(model: SiteModel) -> None:
    chart = next(c for c in model.config.charts if c.id == "ai-compute-cluster-market")
    rendered = render_chart(model, chart)
    assert [r.forecast for r in rendered.rows] == [False, False, True]
    assert "3891亿元 (预测 forecast)" in rendered.svg and "stroke-dasharray" in rendered.svg


@pytest.mark.parametrize("svg", [
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><g onload="alert(1)"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
])
def test_an_svg_that_could_run_code_is_refused(svg: str) -> None:
    with pytest.raises(SiteError):
        check_svg(svg)


def test_ge_pages_are_sanitized() -> None:
    html = ('<html><head><script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="https://x/y.css">'
            '</head><body><nav>GE</nav><div id="section-1" class="x" onclick="alert(1)">'
            '<a href="../../expectations/t.html">suite</a><a href="#section-1">top</a>'
            '<td><script>alert(2)</script>&lt;b&gt;</td><img src="https://x/logo.png">'
            '<span id="a1b2c3d4-0000-4000-8000-000000000000">x</span></div></body></html>')
    out = sanitize(html)
    for bad in ("<script", "onclick", "https://", "<img", "<link", "alert", "<nav", "expectations/t.html"):
        assert bad not in out
    assert 'href="#section-1"' in out and "&lt;b&gt;" in out and 'id="ge-1"' in out


def test_lang_of_a_text() -> None:
    assert lang("基流科技拟港股IPO") == "zh-Hans"
    assert lang("基流科技's revenue by segment, 2023–2025, CNY million") == "en"
    assert lang("5.20亿元") == "zh-Hans" and lang("520") == "en"


def test_the_changelog_and_the_release_history() -> None:
    notes = changelog((REPO / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert list(notes)[1:3] == ["1.0.0", "0.1.0"] and notes["1.0.0"][0] == "2026-11-29"
    current = open_package(REPO).version
    with release_history(REPO) as history:
        recorded = [("0.1.0", "releases/0.1.0"), ("1.0.0", "releases/1.0.0")]
        unreleased = [] if current in ("0.1.0", "1.0.0") else [(current, "this package")]
        assert [(v.version, v.where) for v in history][:3] == recorded + unreleased
        assert all(open_package(v.root).version == v.version for v in history)


# ---------------------------------------------------------------- where the site is written


def test_out_must_not_be_the_package_or_hold_it(tmp_path: Path) -> None:
    pkg = copy_package(tmp_path / "pkg")
    with pytest.raises(SiteError, match="package folder"):
        build_site(pkg, pkg, data_docs=False)
    with pytest.raises(SiteError, match="holds the package"):
        build_site(pkg, tmp_path, data_docs=False)


def test_a_folder_with_other_files_is_refused_not_emptied(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("mine", encoding="utf-8")
    with pytest.raises(SiteError, match="not a site"):
        build_site(REPO, out, data_docs=False)
    assert (out / "thesis.tex").read_text(encoding="utf-8") == "mine"


def test_a_malformed_site_yaml_is_one_clear_error(tmp_path: Path) -> None:
    pkg = copy_package(tmp_path / "pkg")
    (pkg / "site.yaml").write_text("charts:\n  - {id: x, title: t, kind: pie, table: market_size, x: period}\n",
                                   encoding="utf-8")
    with pytest.raises(SiteError, match="kind must be bar or timeline"):
        load_config(pkg)
    (pkg / "site.yaml").write_text("pictures: []\n", encoding="utf-8")
    with pytest.raises(SiteError, match="unknown top-level key 'pictures'"):
        load_config(pkg)


def test_package_text_is_escaped_on_every_page(tmp_path: Path) -> None:
    """A note, a quote's row and a source title holding markup reach the pages as text, never as markup."""
    pkg = copy_package(tmp_path / "pkg")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    edit_cells(pkg, "company_financials", "jiliu-revenue-2025-total", note=evil)
    edit_cells(pkg, "sources", "jiliu-prospectus", title_en=evil)
    out = build_site(pkg, tmp_path / "site", data_docs=False)
    pages = {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in out.rglob("*.html")}
    hits = [name for name, html in pages.items() if "&lt;script&gt;alert(&#34;x&#34;)" in html]
    assert "articles/cbj-jiliu-ipo.html" in hits and "tables/company_financials.html" in hits
    for name, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert html.count("<script") == 1, name  # only the site's own static/site.js


def test_a_package_of_the_standard_alone_gets_a_site(tmp_path: Path) -> None:
    """No conventions, no site.yaml, no sources, no name to release under: pages of what there is, no crash."""
    out = build_site(REPO / "tests" / "corpus" / "descriptor-v2", tmp_path / "site", data_docs=False)
    assert {"index.html", "factcheck.html", "charts.html", "releases.html"} <= {p.name for p in out.iterdir()}
    assert list((out / "tables").glob("*.html")) and not (out / "articles").exists()


def test_a_chart_filter_pattern_runs_without_backtracking(tmp_path: Path) -> None:
    pkg = copy_package(tmp_path / "pkg")
    chart = "charts:\n  - {id: x, title: t, table: market_size, x: period, where: {period: {pattern: '%s'}}}\n"
    (pkg / "site.yaml").write_text(chart % "(a+)+\\1", encoding="utf-8")  # a back-reference: refused
    with pytest.raises(SiteError, match="regex engine cannot run"):
        load_config(pkg)
    (pkg / "site.yaml").write_text(chart % "(a|a)*b", encoding="utf-8")  # catastrophic for a backtracker
    pattern = load_config(pkg).charts[0].where[0][1]
    assert pattern.fullmatch("a" * 5000) is False and pattern.fullmatch("aab") is True
