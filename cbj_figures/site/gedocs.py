"""Great Expectations Data Docs of the validation run the site reports, made safe to publish.

Why not GE's own `build_data_docs`: the cross-check layer runs GE in an ephemeral context, which keeps
no results store to build a docs site from. GE renders a validation page from a result object alone,
so the site renders each table's result of the same run with GE's own renderer and page view
(`ValidationResultsPageRenderer`, `DefaultJinjaPageView`), then fixes what a static, offline and
deterministic site cannot take:

- GE's page view does not escape the values it prints (its `.j2` templates fall outside Jinja's
  autoescape), so a cell holding markup would run in the reader's browser; and its pages load
  Bootstrap, jQuery and Vega from CDNs. The page is passed through an allow-list sanitizer (nh3,
  the Ammonia HTML sanitizer): no script, style, image or remote link survives, only fragment links.
- The run's load time and random element ids are replaced by fixed ones, so two builds are identical.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TAGS = {"div", "span", "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
        "ul", "ol", "li", "code", "pre", "strong", "em", "b", "i", "small", "a", "br", "hr", "sup", "sub", "caption"}
DROPPED = {"script", "style", "nav", "footer", "button", "title", "head"}  # removed with their content


@dataclass
class DataDocsPage:
    table: str
    success: bool
    evaluated: int
    successful: int
    html: str  # the sanitized body of GE's validation page


def _href(tag: str, attr: str, value: str) -> str | None:
    if attr == "href":
        return value if value.startswith("#") else None  # GE's links point into a docs site that is not here
    return value


def sanitize(html: str) -> str:
    """GE's page reduced to safe, self-contained markup (allow-listed tags; class, id, span and fragment links)."""
    import nh3

    counter: dict[str, str] = {}
    html = _UUID.sub(lambda m: counter.setdefault(m[0], f"ge-{len(counter) + 1}"), html)
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags=DROPPED,
        attributes={"*": {"class", "id"}, "a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}},
        attribute_filter=_href,
        link_rel=None,
        strip_comments=True,
    )


def _steady(result: Any, run_name: str) -> Any:
    """A copy of the result without what differs between two runs of the same data (the load time)."""
    result = copy.deepcopy(result)
    meta = dict(result.meta)
    markers = {k: v for k, v in (meta.get("batch_markers") or {}).items() if k != "ge_load_time"}
    meta["batch_markers"] = markers
    meta["run_id"] = {"run_name": run_name, "run_time": None}
    result.meta = meta
    return result


def render_data_docs(results: dict[str, Any], run_name: str) -> list[DataDocsPage]:
    """One sanitized GE validation page a table, in the order the run validated them."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    renderer, view = ValidationResultsPageRenderer(), DefaultJinjaPageView()
    pages = []
    for table, result in results.items():
        steady = _steady(result, run_name)
        html = view.render(renderer.render(steady))
        stats = steady.statistics or {}
        pages.append(DataDocsPage(table, bool(steady.success), int(stats.get("evaluated_expectations", 0)),
                                  int(stats.get("successful_expectations", 0)), sanitize(html)))
    return pages
