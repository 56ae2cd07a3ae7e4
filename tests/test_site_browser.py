"""The site in a real browser: Debian's headless Chromium, driven by playwright (`executable_path`; the
browser playwright would download is never used). Every page loads from `file://` with no console error
and no failed request, every internal link and download resolves, charts hold one mark a row, a click
on a figure shows its row and quote, the fact-check page lists every rule, and a package with one wrong
figure gives a site whose fact-check shows that rule failing. Screenshots of the main pages are written
to test-results/screenshots/ for a person to look at.

Without Chromium the tests are skipped with the reason; in CI (CI=true) they fail instead, because
.ci/run installs it.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import pytest
import yaml
from packages import REPO, copy_package, edit_cells

from cbj_figures.site import build_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("CBJ_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "test-results" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.browser


def _need_browser() -> None:
    why = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        why = "playwright is not installed (pip install -e '.[dev]')"
    if why is None and not CHROMIUM.exists():
        why = f"no Chromium at {CHROMIUM}: apt-get install chromium (Debian's package; .ci/run installs it)"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {why}")
        pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_browser()
    return build_site(REPO, tmp_path_factory.mktemp("site") / "site")


@pytest.fixture(scope="session")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4.73亿元 for 4.37亿元 (printed, value and quote agree, so the sum rule is what fails)."""
    _need_browser()
    pkg = copy_package(tmp_path_factory.mktemp("broken") / "pkg")
    edit_cells(pkg, "company_financials", "jiliu-revenue-2025-products", value="473", printed="4.73亿元",
               quote="2025年,基流科技AI算力集群产品收入为4.73亿元")
    return build_site(pkg, pkg.parent / "site", data_docs=False)


class Visit:
    """A page opened in a fresh tab, with every console error and failed request it caused."""

    def __init__(self, browser: Browser, url: str, width: int = 1280, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed request: {r.url} ({r.failure})"))
        self.response = self.page.goto(url, wait_until="load")

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *_: object) -> None:
        self.page.close()


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_page_loads_without_a_console_error_or_a_failed_request(browser: Browser, site: Path) -> None:
    assert len(pages(site)) >= 20
    for path in pages(site):
        with Visit(browser, path.as_uri()) as v:
            assert v.errors == [], f"{path.relative_to(site)}: {v.errors}"
            assert v.page.evaluate("document.documentElement.lang") == "en"


def _targets(page: Page) -> list[str]:
    return page.evaluate("""() => [
        ...Array.from(document.querySelectorAll('a[href]'), a => a.href),
        ...Array.from(document.querySelectorAll('link[href]'), l => l.href),
        ...Array.from(document.querySelectorAll('script[src]'), s => s.src)]""")


def test_every_internal_link_and_download_resolves(browser: Browser, site: Path) -> None:
    ids: dict[Path, set[str]] = {}
    checked = 0
    for path in pages(site):
        with Visit(browser, path.as_uri()) as v:
            ids[path] = set(v.page.evaluate("() => Array.from(document.querySelectorAll('[id]'), e => e.id)"))
            links = _targets(v.page)
        for url in links:
            parsed = urlparse(url)
            if parsed.scheme != "file":
                continue  # an external reference (a licence, semver.org): not part of the site
            target = Path(unquote(parsed.path))
            assert target.is_file(), f"{path.relative_to(site)} links to a missing {target}"
            assert target.resolve().is_relative_to(site.resolve()), f"{path.relative_to(site)} leaves the site"
            if parsed.fragment and target.suffix == ".html":
                if target not in ids:
                    with Visit(browser, target.as_uri()) as t:
                        ids[target] = set(t.page.evaluate(
                            "() => Array.from(document.querySelectorAll('[id]'), e => e.id)"))
                assert unquote(parsed.fragment) in ids[target], f"{path.relative_to(site)}: no #{parsed.fragment}"
            checked += 1
    assert checked > 500
    downloads = [p for p in (site / "downloads").rglob("*") if p.is_file()]
    assert any(p.suffix == ".zip" for p in downloads) and any(p.suffix == ".duckdb" for p in downloads)


def test_each_chart_has_its_svg_with_one_mark_a_row(browser: Browser, site: Path) -> None:
    charts = yaml.safe_load((REPO / "site.yaml").read_text(encoding="utf-8"))["charts"]
    with Visit(browser, (site / "charts.html").as_uri()) as v:
        found = v.page.evaluate("""() => Array.from(document.querySelectorAll('section.chart'), s => ({
            id: s.id, marks: Number(s.dataset.marks),
            drawn: s.querySelectorAll('svg g.mark-rect.role-mark path').length,
            labels: s.querySelectorAll('svg g.mark-text.role-mark text').length,
            rows: s.querySelectorAll('table.chart-table tbody tr').length}))""")
    assert [c["id"] for c in found] == [f"chart-{c['id']}" for c in charts]
    for c in found:
        assert c["drawn"] == c["marks"] == c["rows"] == c["labels"] > 0, c


def _click_figure(page: Page, key: str) -> dict:
    """Click the mark of a figure (found through its card) and read the detail that opens."""
    mark_id = page.evaluate("""key => {
        const card = document.querySelector(`.card[data-figure="${key}"]`);
        return card.closest('.detail').dataset.mark; }""", key)
    page.click(f"#{mark_id}")
    detail = page.locator(f"#detail-{mark_id}")
    detail.wait_for(state="visible")
    return {"text": detail.inner_text(), "hash": page.evaluate("location.hash"), "mark": mark_id,
            "visible": page.evaluate("() => Array.from(document.querySelectorAll('.detail'))"
                                     ".filter(d => d.offsetParent !== null).map(d => d.id)")}


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_clicking_a_figure_shows_its_row_and_quote(browser: Browser, site: Path, width: int) -> None:
    import csv

    with open(REPO / "resources/company_financials.csv", encoding="utf-8") as fh:
        rows = {r["figure_id"]: r for r in csv.DictReader(fh)}
    with Visit(browser, (site / "articles/cbj-jiliu-ipo.html").as_uri(), width=width) as v:
        for fid in ("jiliu-revenue-2025-total", "jiliu-revenue-2025-operations"):
            row = rows[fid]
            shown = _click_figure(v.page, f"company_financials/{fid}")
            assert shown["visible"] == [f"detail-{shown['mark']}"]  # exactly one detail open
            assert v.page.locator(f"#{shown['mark']}").inner_text() == row["printed"]
            for text in (fid, row["printed"], row["value"], "CNY million", row["quote"], "jiliu-segments-sum-2025"):
                assert text in shown["text"], (fid, text)
            assert shown["hash"] == f"#detail-{shown['mark']}"
        assert v.errors == []


def test_a_deep_link_opens_the_figure(browser: Browser, site: Path) -> None:
    with Visit(browser, (site / "tables/company_financials.html").as_uri()) as v:
        href = v.page.get_attribute("#row-jiliu-revenue-2025-total a", "href")
    path, _, fragment = href.partition("#")
    assert fragment.startswith("detail-")
    with Visit(browser, (site / "tables" / path).resolve().as_uri() + "#" + fragment) as v:
        card = v.page.locator('.card[data-figure="company_financials/jiliu-revenue-2025-total"]')
        assert card.is_visible()
        assert v.errors == []


def test_the_copy_button_copies_the_citation(browser: Browser, site: Path) -> None:
    with Visit(browser, (site / "articles/cbj-jiliu-ipo.html").as_uri()) as v:
        _click_figure(v.page, "company_financials/jiliu-revenue-2025-total")
        button = v.page.locator('.detail.open button.copy').first
        button.click()
        v.page.wait_for_function("() => document.querySelector('.detail.open button.copy.done') !== null",
                                 timeout=5000)
        assert v.errors == []


def test_a_table_sorts_by_a_column(browser: Browser, site: Path) -> None:
    with Visit(browser, (site / "tables/market_size.html").as_uri()) as v:
        index = v.page.evaluate("""() => Array.from(document.querySelectorAll('table.rows thead th'),
                                     th => th.textContent.trim()).indexOf('value')""")
        v.page.click(f"table.rows thead th:nth-child({index + 1}) button")
        values = v.page.evaluate(f"""() => Array.from(document.querySelectorAll('table.rows tbody tr'),
                                      tr => Number(tr.cells[{index}].textContent))""")
        assert values == sorted(values)
        v.page.click(f"table.rows thead th:nth-child({index + 1}) button")
        assert v.page.evaluate(f"""() => Array.from(document.querySelectorAll('table.rows tbody tr'),
                                      tr => Number(tr.cells[{index}].textContent))""") == sorted(values, reverse=True)


def _rule_ids() -> list[str]:
    return [r["id"] for f in sorted((REPO / "checks").glob("*.yaml"))
            for r in yaml.safe_load(f.read_text(encoding="utf-8")).get("rules", [])]


def test_the_fact_check_page_shows_every_rule(browser: Browser, site: Path) -> None:
    with Visit(browser, (site / "factcheck.html").as_uri()) as v:
        rows = v.page.evaluate("""() => Array.from(document.querySelectorAll('tr[data-rule]'),
                                   tr => [tr.dataset.rule, tr.dataset.status])""")
        layers = v.page.evaluate("""() => Array.from(document.querySelectorAll('tr[data-layer]'),
                                     tr => [tr.dataset.layer, tr.dataset.status])""")
        assert v.page.inner_text("#verdict") == "valid"
    assert sorted(r for r, _ in rows) == sorted(_rule_ids())
    assert {s for _, s in rows} == {"holds"}
    assert dict(layers) == {name: "ok" for name in ("descriptor", "tables", "conventions", "consistency",
                                                    "provenance", "pandera", "great_expectations")}


def test_the_data_docs_of_the_run_are_linked_in(browser: Browser, site: Path) -> None:
    with Visit(browser, (site / "datadocs/index.html").as_uri()) as v:
        suites = v.page.evaluate(
            "() => Array.from(document.querySelectorAll('tr[data-status]'), tr => tr.dataset.status)")
    assert len(suites) == len(list((REPO / "schemas").glob("*.json"))) and set(suites) == {"holds"}
    with Visit(browser, (site / "datadocs/market_size.html").as_uri()) as v:
        text = v.page.inner_text(".ge")
        assert v.errors == []
    assert "Overview" in text and "Status: Succeeded" in text and "figure_id" in text


def test_a_broken_figure_shows_its_rule_failing(browser: Browser, broken_site: Path) -> None:
    with Visit(browser, (broken_site / "factcheck.html").as_uri()) as v:
        status = v.page.get_attribute('tr[data-rule="jiliu-segments-sum-2025"]', "data-status")
        verdict = v.page.inner_text("#verdict")
        assert v.errors == []
    assert status == "fails" and verdict.startswith("invalid")
    with Visit(browser, (broken_site / "articles/cbj-jiliu-ipo.html").as_uri()) as v:
        assert "company_financials/jiliu-revenue-2025-products" in v.page.inner_text(".warn")  # not in the text


def test_two_builds_are_identical(site: Path, tmp_path: Path) -> None:
    again = build_site(REPO, tmp_path / "again")
    left = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    right = sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    assert left == right
    _, mismatch, errors = filecmp.cmpfiles(site, again, left, shallow=False)
    assert mismatch == [] and errors == []


MAIN_PAGES = [("index.html", 1280), ("articles/cbj-jiliu-ipo.html#detail-m-9", 1280),
              ("articles/cbj-leasing-space.html", 1280), ("charts.html", 1280), ("factcheck.html", 1280),
              ("tables/company_financials.html", 1280), ("releases.html", 1280), ("datadocs/market_size.html", 1280),
              ("articles/cbj-jiliu-ipo.html#detail-m-9", 390), ("charts.html", 390)]


def test_screenshots_of_the_main_pages(browser: Browser, site: Path, broken_site: Path) -> None:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    shots = [(site, rel, w, "") for rel, w in MAIN_PAGES] + [(broken_site, "factcheck.html#reconciliation", 1280,
                                                              "broken-")]
    for root, rel, width, prefix in shots:
        path, _, fragment = rel.partition("#")
        url = (root / path).as_uri() + (f"#{fragment}" if fragment else "")
        with Visit(browser, url, width=width, height=900 if width > 500 else 844) as v:
            v.page.wait_for_timeout(100)
            name = prefix + rel.replace("/", "_").replace("#", "_").removesuffix(".html") + f"-{width}.png"
            v.page.screenshot(path=str(SCREENSHOTS / name))
            assert v.errors == []
    assert len(list(SCREENSHOTS.glob("*.png"))) == len(shots)
