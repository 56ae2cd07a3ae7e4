"""`site.yaml`: what the package declares for its site, read into typed records.

Why a file of the package: the generator is generic, and what is specific to a package (how its texts
break into paragraphs, how its codes read, which charts to draw from which rows) is data the package
carries, read with the safe YAML loader and checked here, so a malformed declaration is one clear error,
never a half-built site. The printed numbers it deliberately leaves out are evidence, not layout: the
descriptor declares them (`conventions.untabulated`, evidence.py), and the conventions layer checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cbj_figures import safeio

CONFIG = "site.yaml"
_CHART_KEYS = {"id", "title", "title_zh", "kind", "table", "where", "x", "y", "series", "forecast", "unit", "lookup",
               "note", "note_zh"}
_SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class SiteError(ValueError):
    """The package's site declarations cannot be used (a malformed site.yaml, a chart on a missing table)."""


@dataclass(frozen=True)
class Not:
    cond: Any


@dataclass(frozen=True)
class Pattern:
    """A full-match pattern, run by polars' regex engine: it never backtracks, so a hostile pattern cannot
    stall the build (as the tables layer and the release views run theirs)."""

    anchored: str

    def fullmatch(self, cell: str) -> bool:
        import polars as pl

        return bool(pl.Series([cell], dtype=pl.Utf8).str.contains(self.anchored)[0])


@dataclass(frozen=True)
class Lookup:
    """Show a coded field by the row it names in another table (an entity by its names)."""

    table: str
    key: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    title_zh: str
    kind: str  # bar | timeline
    table: str
    where: tuple[tuple[str, Any], ...]
    x: str
    y: str | None = None
    series: str | None = None
    forecast: str | None = None
    unit: str = ""
    lookup: Lookup | None = None
    note: str = ""
    note_zh: str = ""


@dataclass(frozen=True)
class Label:
    zh: str
    en: str


@dataclass
class SiteConfig:
    standalone: dict[str, tuple[str, ...]] = field(default_factory=dict)  # text resource -> fragments
    labels: dict[str, Label] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)

    def label(self, value: Any) -> Label | None:
        return self.labels.get(str(value)) if value is not None else None


def _text(value: Any, what: str, *, required: bool = True, exact: bool = False) -> str:
    """A text of the file; prose has its whitespace folded, quotes (`exact`) are kept as written."""
    if value is None and not required:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value).strip() == "":
        raise SiteError(f"{CONFIG}: {what} must be a non-empty text")
    return str(value) if exact else " ".join(str(value).split())


def _mapping(value: Any, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SiteError(f"{CONFIG}: {what} must be a mapping")
    return value


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SiteError(f"{CONFIG}: {what} must be a list")
    return value


def _condition(value: Any, what: str) -> Any:
    """A filter value as `views:` writes it: a scalar, a list of scalars, null, {pattern: regex} or {not: ...}."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, list) and all(v is None or isinstance(v, (str, int, float, bool)) for v in value):
        return tuple(value)
    if isinstance(value, dict) and set(value) == {"not"}:
        return Not(_condition(value["not"], what))
    if isinstance(value, dict) and set(value) == {"pattern"} and isinstance(value["pattern"], str):
        import polars as pl

        anchored = f"^(?:{value['pattern']})$"
        try:
            pl.select(pl.lit("").str.contains(anchored))
        except pl.exceptions.PolarsError as e:
            raise SiteError(f"{CONFIG}: {what}: a pattern the regex engine cannot run: {e}") from None
        return Pattern(anchored)
    raise SiteError(f"{CONFIG}: {what}: a value, a list, null, {{pattern: regex}} or {{not: ...}}")


def _chart(raw: Any, i: int) -> Chart:
    what = f"charts[{i}]"
    raw = _mapping(raw, what)
    unknown = set(raw) - _CHART_KEYS
    if unknown:
        raise SiteError(f"{CONFIG}: {what}: unknown key {sorted(map(str, unknown))[0]!r}")
    cid = _text(raw.get("id"), f"{what}.id")
    if not _SAFE_ID.match(cid):
        raise SiteError(f"{CONFIG}: {what}.id {cid!r} must be lower-case letters, digits and hyphens")
    kind = raw.get("kind", "bar")
    if kind not in ("bar", "timeline"):
        raise SiteError(f"{CONFIG}: chart {cid}: kind must be bar or timeline, not {kind!r}")
    where = tuple((str(k), _condition(v, f"chart {cid}: where.{k}"))
                  for k, v in _mapping(raw.get("where"), f"chart {cid}: where").items())
    lookup = None
    if raw.get("lookup") is not None:
        lk = _mapping(raw["lookup"], f"chart {cid}: lookup")
        fields = tuple(_text(f, f"chart {cid}: lookup.fields") for f in _list(lk.get("fields"), "lookup.fields"))
        lookup = Lookup(_text(lk.get("table"), "lookup.table"), _text(lk.get("key"), "lookup.key"), fields)
    if kind == "timeline" and not raw.get("y"):
        raise SiteError(f"{CONFIG}: chart {cid}: a timeline needs y (the lane of each row)")
    optional = {k: _text(raw.get(k), f"chart {cid}: {k}", required=False) or None for k in ("y", "series", "forecast")}
    return Chart(
        id=cid, title=_text(raw.get("title"), f"chart {cid}: title"),
        title_zh=_text(raw.get("title_zh"), f"chart {cid}: title_zh", required=False),
        kind=kind, table=_text(raw.get("table"), f"chart {cid}: table"), where=where,
        x=_text(raw.get("x"), f"chart {cid}: x"), **optional,
        unit=_text(raw.get("unit"), f"chart {cid}: unit", required=False), lookup=lookup,
        note=_text(raw.get("note"), f"chart {cid}: note", required=False),
        note_zh=_text(raw.get("note_zh"), f"chart {cid}: note_zh", required=False),
    )


def load_config(root: Path) -> SiteConfig:
    """The package's site.yaml (an empty configuration when it has none); SiteError when malformed."""
    try:
        text = safeio.read_inside(Path(root), CONFIG, what="site configuration").decode("utf-8")
    except FileNotFoundError:
        return SiteConfig()
    except (safeio.UnsafeInput, UnicodeDecodeError) as e:
        raise SiteError(f"{CONFIG}: {getattr(e, 'message', e)}") from None
    try:
        doc = safeio.load_yaml(text, file=CONFIG)
    except (safeio.UnsafeInput, yaml.YAMLError) as e:
        raise SiteError(f"{CONFIG}: broken YAML: {getattr(e, 'message', e)}") from None
    doc = _mapping(doc, "the file")
    unknown = set(doc) - {"texts", "labels", "charts"}
    if unknown:
        raise SiteError(f"{CONFIG}: unknown top-level key {sorted(map(str, unknown))[0]!r}")
    config = SiteConfig()
    for name, spec in _mapping(doc.get("texts"), "texts").items():
        spec = _mapping(spec, f"texts.{name}")
        config.standalone[str(name)] = tuple(_text(s, f"texts.{name}.standalone", exact=True)
                                             for s in _list(spec.get("standalone"), f"texts.{name}.standalone"))
    for key, raw in _mapping(doc.get("labels"), "labels").items():
        raw = _mapping(raw, f"labels.{key}")
        config.labels[str(key)] = Label(_text(raw.get("zh"), f"labels.{key}.zh"), _text(raw.get("en"),
                                                                                          f"labels.{key}.en"))
    seen: set[str] = set()
    for i, raw in enumerate(_list(doc.get("charts"), "charts")):
        chart = _chart(raw, i)
        if chart.id in seen:
            raise SiteError(f"{CONFIG}: chart id {chart.id!r} is used twice")
        seen.add(chart.id)
        config.charts.append(chart)
    return config


def matches(cells: dict[str, str | None], where: tuple[tuple[str, Any], ...]) -> bool:
    """A row (its cells as written) passes a `where` filter (conditions on the CSV spelling of values)."""
    return all(_holds(cells.get(name), cond) for name, cond in where)


def _holds(cell: str | None, cond: Any) -> bool:
    if isinstance(cond, Not):
        return not _holds(cell, cond.cond)
    if isinstance(cond, Pattern):
        return cell is not None and cond.fullmatch(cell)
    if isinstance(cond, tuple):
        return any(_holds(cell, c) for c in cond)
    if cond is None:
        return cell is None or cell == ""
    spelled = ("true" if cond else "false") if isinstance(cond, bool) else str(cond)
    return cell == spelled
