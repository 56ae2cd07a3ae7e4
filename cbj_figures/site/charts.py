"""Charts the package declares (`charts:` in site.yaml), rendered at build time to static SVG.

Why at build time: a reader sees the chart without JavaScript, from `file://` or any static host, and
two builds give the same bytes (vl-convert is deterministic; the data go in as inline values in row
order). One mark a row, at the row's stored value, labelled with the figure as printed: a chart shows
only what the table holds. Package text enters a spec only as data values (never as a field name or an
expression), and the SVG is checked to hold no script, foreign object or event handler before it is
inlined in a page.
"""

from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from cbj_figures.conventions import is_figure_field
from cbj_figures.site.config import Chart, SiteConfig, SiteError, matches
from cbj_figures.site.model import Figure, SiteModel, cells_of

PALETTE = ["#1f5fa8", "#e07b1a", "#3a9a5b", "#b03a48", "#7a5cb8"]
FORECAST = "预测 forecast"
REPORTED = "实际 reported"
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass
class ChartRow:
    figure: Figure
    x: str  # the x cell as written
    x_label: str
    series: str
    series_label: str
    value: float | None
    value_text: str  # the value cell as written
    printed: str
    forecast: bool


@dataclass
class RenderedChart:
    chart: Chart
    rows: list[ChartRow]
    svg: str
    marks: int  # one a row: the bars or spans drawn
    sources: list[dict] = field(default_factory=list)  # the sources rows the chart's figures cite


def _label(config: SiteConfig, value: str | None, names: str = "") -> str:
    if value is None:
        return ""
    label = config.label(value)
    if label:
        return f"{label.zh} {label.en}"
    return names or value


def select(model: SiteModel, chart: Chart) -> list[ChartRow]:
    """The rows a chart draws, in table order, each with its value field as written."""
    t = model.tables.get(chart.table)
    if t is None:
        raise SiteError(f"site.yaml: chart {chart.id}: table {chart.table!r} is not in the package")
    columns = set(t.text.columns)
    needed = {chart.x, *(f for f in (chart.y, chart.series, chart.forecast) if f), *(k for k, _ in chart.where)}
    if needed - columns:
        raise SiteError(f"site.yaml: chart {chart.id}: {chart.table} has no field {sorted(needed - columns)[0]!r}")
    figure_fields = [f.descriptor for f in t.schema.fields if is_figure_field(f)]
    pk = t.schema.primary_key[0] if len(t.schema.primary_key) == 1 else None
    rows = []
    for cells in cells_of(t):
        if not matches(cells, chart.where) or pk is None:
            continue
        fig = model.figures.get(f"{chart.table}/{cells.get(pk)}")
        if fig is None:
            continue
        spec = next((f for f in figure_fields if cells.get(f["name"]) not in (None, "")), None)
        value = float(cells[spec["name"]]) if spec else None
        printed = cells.get(spec["printed"]) or "" if spec else ""
        x = cells.get(chart.x) or ""
        series = cells.get(chart.series) or "" if chart.series else ""
        rows.append(ChartRow(fig, x, _label(model.config, x), series, _label(model.config, series), value,
                             cells[spec["name"]] if spec else "", printed,
                             chart.forecast is not None and cells.get(chart.forecast) == "true"))
    return rows


def _bar(chart: Chart, rows: list[ChartRow]) -> dict:
    import altair as alt

    values = [{"x": r.x_label, "series": r.series_label or "", "value": r.value, "fid": r.figure.key,
               "label": r.printed + (f" ({FORECAST})" if r.forecast else ""),
               "kind": FORECAST if r.forecast else REPORTED} for r in rows if r.value is not None]
    x_order = list(dict.fromkeys(v["x"] for v in values))
    s_order = list(dict.fromkeys(v["series"] for v in values))
    base = alt.Chart(alt.Data(values=values))
    x = alt.X("x:N", sort=x_order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=160))
    y = alt.Y("value:Q", title=chart.unit or None, axis=alt.Axis(grid=True))
    enc: dict[str, Any] = {"x": x, "y": y, "description": alt.Description("fid:N")}
    if chart.series:
        enc["xOffset"] = alt.XOffset("series:N", sort=s_order)
        enc["color"] = alt.Color("series:N", sort=s_order, title=None,
                                 scale=alt.Scale(domain=s_order, range=PALETTE[: len(s_order)] or PALETTE[:1]),
                                 legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=320))
    else:
        enc["color"] = alt.value(PALETTE[0])
    kinds = [k for k in (REPORTED, FORECAST) if any(v["kind"] == k for v in values)]
    if FORECAST in kinds:
        enc["fillOpacity"] = alt.FillOpacity("kind:N", sort=kinds, title=None,
                                             scale=alt.Scale(domain=kinds, range=[1, 0.3][: len(kinds)]
                                                             if kinds[0] == REPORTED else [0.3]),
                                             legend=alt.Legend(orient="bottom"))
        enc["strokeDash"] = alt.StrokeDash("kind:N", sort=kinds, legend=None,
                                           scale=alt.Scale(domain=kinds, range=[[1, 0], [4, 3]][: len(kinds)]
                                                           if kinds[0] == REPORTED else [[4, 3]]))
    bars = base.mark_bar(stroke=PALETTE[0], strokeWidth=1.5).encode(**enc)
    text_enc = {"x": x, "y": y, "text": alt.Text("label:N")}
    if chart.series:
        text_enc["xOffset"] = enc["xOffset"]
    labels = base.mark_text(baseline="bottom", dy=-3, fontSize=11).encode(**text_enc)
    width = min(520, max(260, 70 * len(x_order) * max(1, len(s_order) if chart.series else 1)))
    return alt.layer(bars, labels).properties(width=width, height=240).to_dict()


def _span(text: str) -> tuple[str, str] | None:
    """A partial date as the span it names: 2026-01 is [2026-01-01, 2026-02-01)."""
    m = _DATE.match(text or "")
    if not m:
        return None
    y, mo, d = int(m[1]), int(m[2] or 0), int(m[3] or 0)
    if d:
        last = calendar.monthrange(y, mo)[1]
        end = (y + (mo == 12 and d == last), (mo % 12) + 1 if d == last else mo, 1 if d == last else d + 1)
        return f"{y:04d}-{mo:02d}-{d:02d}", f"{end[0]:04d}-{end[1]:02d}-{end[2]:02d}"
    if mo:
        return f"{y:04d}-{mo:02d}-01", (f"{y + 1:04d}-01-01" if mo == 12 else f"{y:04d}-{mo + 1:02d}-01")
    return f"{y:04d}-01-01", f"{y + 1:04d}-01-01"


def _timeline(chart: Chart, rows: list[ChartRow], lanes: list[str], chart_inferred: str = "") -> dict:
    import altair as alt

    values = []
    for r, lane in zip(rows, lanes, strict=True):
        span = _span(r.x)
        if span is None:
            continue
        inferred = r.figure.cells.get(chart_inferred) == "true"
        label = r.x + ("*" if inferred else "") + (f" {r.printed}" if r.printed else "")
        values.append({"lane": lane, "start": span[0], "end": span[1], "label": label, "fid": r.figure.key})
    order = list(dict.fromkeys(v["lane"] for v in values))
    base = alt.Chart(alt.Data(values=values))
    first = min((v["start"] for v in values), default="2000-01-01")[:8] + "01"
    last = _span(max((v["end"] for v in values), default="2000-01-01")[:7])  # the month after the last span ends
    room = _span((last[1] if last else "2000-02-01")[:7])  # and one more, for its label
    domain = [first, room[1] if room else first]
    x = alt.X("start:T", title=None, scale=alt.Scale(type="utc", domain=domain),
              axis=alt.Axis(format="%Y-%m", tickCount="month", labelAngle=0))
    y = alt.Y("lane:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    spans = base.mark_bar(color=PALETTE[0], height=14, cornerRadius=2).encode(
        x=x, x2="end:T", y=y, description=alt.Description("fid:N"))
    labels = base.mark_text(align="left", dx=6, fontSize=11).encode(x="end:T", y=y, text="label:N")
    return alt.layer(spans, labels).properties(width=460, height=alt.Step(34)).to_dict()


_FORBIDDEN = {"script", "foreignObject", "iframe", "object", "embed", "a", "use", "image", "animate", "set"}


def check_svg(svg: str) -> None:
    """The SVG holds only drawing: no script, foreign content, link, animation or event handler."""
    root = ET.fromstring(svg)
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in _FORBIDDEN or any(a.rsplit("}", 1)[-1].lower().startswith("on") or "href" in a for a in el.attrib):
            raise SiteError(f"the chart's SVG holds a <{tag}> or an attribute a drawing does not need")


def render_chart(model: SiteModel, chart: Chart) -> RenderedChart:
    import vl_convert

    rows = select(model, chart)
    if chart.kind == "timeline":
        lookup = chart.lookup
        target = model.tables.get(lookup.table) if lookup else None
        lanes = []
        for r in rows:
            code = r.figure.cells.get(chart.y or "") or ""
            named = ""
            if lookup and target is not None:
                hit = next((c for c in cells_of(target) if c.get(lookup.key) == code), None)
                named = " ".join(dict.fromkeys(hit[f] for f in lookup.fields if hit and hit.get(f))) if hit else ""
            lanes.append(_label(model.config, code, named))
        spec = _timeline(chart, rows, lanes, model.ev.claims.inferred or "")
        drawn = sum(1 for r in rows if _span(r.x))
    else:
        spec = _bar(chart, rows)
        drawn = sum(1 for r in rows if r.value is not None)
    spec["title"] = {"text": chart.title_zh or chart.title, "subtitle": chart.title if chart.title_zh else "",
                     "anchor": "start", "fontSize": 14, "subtitleFontSize": 12}
    spec["config"] = {"font": "Noto Sans CJK SC, WenQuanYi Zen Hei, sans-serif", "view": {"stroke": None},
                      "background": "white"}
    svg = vl_convert.vegalite_to_svg(spec)
    check_svg(svg)
    seen: dict[str, dict] = {}
    for r in rows:
        for s in r.figure.chain:
            seen.setdefault(model.sources.id_of(s), s)
    return RenderedChart(chart, rows, svg, drawn, list(seen.values()))


def render_charts(model: SiteModel) -> list[RenderedChart]:
    return [render_chart(model, chart) for chart in model.config.charts]
