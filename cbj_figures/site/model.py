"""What the site shows, gathered once from one validation run: figures, their evidence, the articles.

Why one run: the annotated article, the fact-check page and the Data Docs must show the same evidence,
so the typed tables, the rules, the reconciliations and the Great Expectations results all come from
the `validate_run` whose report the fact-check page prints. Nothing here writes HTML; every value is the
cell as written (`Table.text`), so a figure is shown as printed and never recomputed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cbj_figures import safeio
from cbj_figures.evidence import ArticleText, Evidence, Sources, Untabulated, is_figure_field
from cbj_figures.findings import Reconciliation, Report
from cbj_figures.package import Package
from cbj_figures.rulefile import Literal, Ref, Rule
from cbj_figures.site.config import SiteConfig
from cbj_figures.tables import Table

_SAFE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_SENTENCE_END = tuple("。！？!?”」』…")
_LEAD = re.compile(r"[,，。:：;；]")


def slug(text: str) -> str:
    """A file or HTML id part: the text itself when it is plainly safe, else a hash of it (never a path)."""
    return text if _SAFE.match(text) and ".." not in text else "x" + hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class RuleUse:
    """A consistency rule as a figure takes part in it, with the reconciliation of this run."""

    id: str
    description: str
    status: str  # holds | fails | waived | not run
    computed: str
    printed: str
    waived: str | None


@dataclass
class Figure:
    """One row of a table of figures or events, with its evidence."""

    table: str
    id: str  # the primary key value
    cells: dict[str, str | None]  # as written, in schema order
    figure_fields: list[dict]  # the schema entries of its figure fields (unit, printed, qualifier)
    quote: str
    source_id: str
    chain: list[dict] = field(default_factory=list)  # source rows: the figure's source, then what reported it
    article: str | None = None  # source id of the article holding the quote
    mark: str | None = None  # id of its mark in the article page
    lead: bool = False  # marked on the start of its quote (an event with no printed figure)
    rules: list[RuleUse] = field(default_factory=list)
    bibtex: str = ""
    apa: str = ""

    @property
    def key(self) -> str:
        return f"{self.table}/{self.id}"

    @property
    def anchor(self) -> str:
        return f"f-{slug(self.table)}--{slug(self.id)}"

    @property
    def printed(self) -> list[str]:
        return [p for f in self.figure_fields if (p := self.cells.get(f["printed"]))]


@dataclass
class Mark:
    """A highlighted stretch of an article: the figures (or untabulated numbers) printed there."""

    id: str
    start: int
    end: int
    figures: list[Figure] = field(default_factory=list)
    untabulated: list[Untabulated] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.figures:
            return "event" if all(f.lead for f in self.figures) else "figure"
        return "untabulated"


@dataclass
class Paragraph:
    kind: str  # p | h2 | h3 | aside (a standalone line: byline, caption)
    segments: list[tuple[str, Mark | None, bool]]  # text, its mark, whether the mark starts here
    line: int  # first line in the text resource


@dataclass
class Article:
    source: dict  # the sources row
    slug: str
    paragraphs: list[Paragraph] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    unlocated: list[str] = field(default_factory=list)  # why a figure or declared number could not be marked


@dataclass
class SiteModel:
    pkg: Package
    report: Report
    tables: dict[str, Table]
    rules: list[Rule]
    config: SiteConfig
    ev: Evidence = field(default_factory=Evidence)  # what the package declares of its evidence (evidence.py)
    sources: Sources | None = None  # its sources (cells as written) and their article texts
    figures: dict[str, Figure] = field(default_factory=dict)  # key -> figure
    articles: dict[str, Article] = field(default_factory=dict)  # source id -> article
    reconciliations: dict[str, Reconciliation] = field(default_factory=dict)
    unlocated: list[str] = field(default_factory=list)  # declared untabulated numbers not found in their text
    ge_results: dict = field(default_factory=dict)  # table -> Great Expectations result of the same run

    def names(self, table: str, field_name: str, value: str | None) -> str:
        """How a coded cell reads, from the row its foreign key names (`基流科技 / Shanghai Jiliu ...`)."""
        if not value or table not in self.tables:
            return ""
        for fk in self.tables[table].schema.foreign_keys:
            if list(fk.fields) != [field_name] or len(fk.ref_fields) != 1:
                continue
            target = self.tables.get(fk.resource or table)
            if target is None:
                continue
            row = _row_by(target, fk.ref_fields[0], value)
            if row:
                return " / ".join(self.ev.display_names(fk.resource or table, row))
        return ""


def cells_of(t: Table) -> list[dict[str, str | None]]:
    """Every row's cells as written (empty cells as None), in schema order."""
    names = [f.name for f in t.schema.fields if f.name in t.text.columns]
    return [{k: (v if v != "" else None) for k, v in row.items()} for row in t.text.select(names).iter_rows(named=True)]


def _row_by(t: Table, key: str, value: str) -> dict | None:
    if key not in t.text.columns:
        return None
    for row in cells_of(t):
        if row.get(key) == value:
            return row
    return None


def figure_tables(tables: dict[str, Table], ev: Evidence) -> list[str]:
    """Tables of figures or events: a one-field primary key, the quote and source the package declares, and a
    figure or date field (the sources table itself is the chain, not a figure)."""
    out = []
    sources = ev.sources.resource if ev.sources else None
    for name, t in tables.items():
        names = {f.name for f in t.schema.fields}
        if name == sources or len(t.schema.primary_key) != 1 or not (ev.quote and ev.source):
            continue
        if not {ev.quote, ev.source} <= names:
            continue
        if any(is_figure_field(f) or f.get("partialDate") for f in t.schema.fields):
            out.append(name)
    return out


def collect(pkg: Package, report: Report, tables: dict[str, Table], rules: list[Rule], config: SiteConfig,
            *, citations: bool = True) -> SiteModel:
    """The model of the site: figures with their evidence, rules and citations; articles with their marks."""
    ev = Evidence.of(pkg)
    resource = ev.sources.resource if ev.sources else None
    rows = cells_of(tables[resource]) if resource in tables else []
    model = SiteModel(pkg, report, tables, rules, config, ev, Sources(pkg, ev, rows))
    model.reconciliations = {r.rule: r for r in report.reconciliations}
    uses = rule_uses(rules, model.reconciliations)
    for name in figure_tables(tables, ev):
        t = tables[name]
        pk = t.schema.primary_key[0]
        fig_fields = [f.descriptor for f in t.schema.fields if is_figure_field(f)]
        for cells in cells_of(t):
            if not cells.get(pk):
                continue
            fig = Figure(name, cells[pk], cells, fig_fields, cells.get(ev.quote or "") or "",
                         cells.get(ev.source or "") or "")
            fig.chain = model.sources.chain(fig.source_id)
            fig.rules = uses.get(fig.key, [])
            model.figures[fig.key] = fig
    if citations:
        _cite(model)
    _articles(model)
    return model


def _walk(expr: Any) -> list[Any]:
    """Every operand of a rule expression, depth first, in the order written."""
    if isinstance(expr, (Ref, Literal)):
        return [expr]
    out: list[Any] = []
    if dataclasses.is_dataclass(expr) and not isinstance(expr, type):
        for f in dataclasses.fields(expr):
            out += _walk(getattr(expr, f.name))
    elif isinstance(expr, (list, tuple)):
        for x in expr:
            out += _walk(x)
    return out


def operands(rule: Rule) -> list[Ref | Literal]:
    """The figures and printed literals a rule compares, each once, in the order written."""
    found: list[Ref | Literal] = []
    for check in rule.checks:
        for x in [*_walk(check.computed), *_walk(check.target)]:
            if x not in found:
                found.append(x)
    return found


def status(rec: Reconciliation | None) -> str:
    if rec is None:
        return "not run"
    if rec.waived:
        return "waived"
    return "holds" if rec.holds else "fails"


def rule_uses(rules: list[Rule], recs: dict[str, Reconciliation]) -> dict[str, list[RuleUse]]:
    """figure key -> the rules it takes part in."""
    out: dict[str, list[RuleUse]] = {}
    for rule in rules:
        rec = recs.get(rule.id)
        use = RuleUse(rule.id, rule.description or rule.kind, status(rec), rec.computed if rec else "",
                      rec.printed if rec else "", rec.waived if rec else None)
        for x in operands(rule):
            if isinstance(x, Ref):
                out.setdefault(f"{x.table}/{x.figure_id}", []).append(use)
    return out


def _cite(model: SiteModel) -> None:
    from cbj_figures.cite import cite

    for fig in model.figures.values():
        try:
            fig.bibtex = cite(fig.key, "bibtex", pkg=model.pkg, tables=model.tables)
            fig.apa = cite(fig.key, "apa", pkg=model.pkg, tables=model.tables)
        except (LookupError, ValueError, KeyError, TypeError):  # a row or descriptor too thin to cite
            continue


# ---------------------------------------------------------------- articles


def _articles(model: SiteModel) -> None:
    sources = model.sources
    texts: dict[str, ArticleText] = {}
    for sid, row in sources.rows.items():
        if sources.has_text(row):
            art, _ = sources.article(sid)
            if art is not None:
                texts[sid] = art
                model.articles[sid] = Article(row, slug(sid))
    spans: dict[str, list[tuple[int, int, Figure | Untabulated]]] = {sid: [] for sid in texts}
    for fig in model.figures.values():
        article = next((sources.id_of(s) for s in fig.chain if sources.id_of(s) in texts), None)
        fig.article = article
        if article is None:
            continue
        span = _locate(texts[article].joined, fig.quote, fig.printed)
        if span is None:
            model.articles[article].unlocated.append(f"{fig.key}: its quote or printed figure is not in the text")
            continue
        fig.lead = not fig.printed
        spans[article].append((*span, fig))
    for item in model.ev.untabulated:
        article = next((sources.id_of(s) for s in sources.chain(item.source) if sources.id_of(s) in texts), None)
        span = _locate(texts[article].joined, item.quote, [item.printed]) if article else None
        if span is None:
            model.unlocated.append(f"untabulated {item.printed!r}: its quote is not in the text of {item.source!r}")
            continue
        spans[article].append((*span, item))
    n = 0
    for sid, art in model.articles.items():
        marks = _merge(spans[sid], n)
        n += len(marks)
        art.marks = marks
        for mark in marks:
            for fig in mark.figures:
                fig.mark = mark.id
        standalone = model.config.standalone.get(model.ev.sources.role(art.source, "text"), ())
        art.paragraphs = paragraphs(texts[sid], marks, standalone)


def _locate(joined: str, quote: str, printed: list[str]) -> tuple[int, int] | None:
    """Where a figure is printed: its printed text inside its quote, or (an event) the quote's lead clause."""
    if not quote or "\n" in quote:
        return None
    at = joined.find(quote)
    if at < 0:
        return None
    for text in printed:
        inner = quote.find(text)
        if inner >= 0:
            return at + inner, at + inner + len(text)
    if printed:
        return None
    lead = _LEAD.search(quote)
    end = lead.start() if lead and lead.start() > 0 else len(quote)
    return at, at + end


def _merge(spans: list[tuple[int, int, Any]], first: int) -> list[Mark]:
    """Overlapping spans become one mark listing every figure printed there."""
    marks: list[Mark] = []
    for start, end, item in sorted(spans, key=lambda s: (s[0], -s[1], _order(s[2]))):
        if marks and start < marks[-1].end:
            mark = marks[-1]
            mark.end = max(mark.end, end)
        else:
            mark = Mark(f"m-{first + len(marks) + 1}", start, end)
            marks.append(mark)
        if isinstance(item, Figure):
            mark.figures.append(item)
        else:
            mark.untabulated.append(item)
    return marks


def _order(item: Any) -> str:
    return item.key if isinstance(item, Figure) else "~" + item.printed


def paragraphs(art: ArticleText, marks: list[Mark], standalone: tuple[str, ...]) -> list[Paragraph]:
    """The article's paragraphs as published: a line continues on the next unless it ends a sentence, is a
    heading (`#`), or is declared standalone; marks are cut at paragraph ends."""
    ends = [*art.starts[1:], len(art.joined)]
    chunks = [(art.joined[s:e], s, e, line) for s, e, line in zip(art.starts, ends, art.lines, strict=True)]
    out: list[Paragraph] = []
    group: list[tuple[str, int, int, int]] = []

    def alone(text: str) -> bool:
        return text.startswith("#") or any(f in text for f in standalone)

    def flush() -> None:
        if group:
            head = group[0][0]
            level = len(head) - len(head.lstrip("#"))
            kind = ("h2" if level == 1 else "h3") if level else ("aside" if alone(head) else "p")
            skip = len(head) - len(head[level:].lstrip()) if level else 0
            out.append(Paragraph(kind, _segments(art.joined, group[0][1] + skip, group[-1][2], marks), group[0][3]))
            group.clear()

    for chunk in chunks:
        text = chunk[0]
        if alone(text):
            flush()
            group.append(chunk)
            flush()
            continue
        group.append(chunk)
        if text.rstrip().endswith(_SENTENCE_END):
            flush()
    flush()
    return out


def _segments(joined: str, start: int, end: int, marks: list[Mark]) -> list[tuple[str, Mark | None, bool]]:
    out: list[tuple[str, Mark | None, bool]] = []
    pos = start
    for mark in marks:
        a, b = max(mark.start, start), min(mark.end, end)
        if a >= b:
            continue
        if a > pos:
            out.append((joined[pos:a], None, False))
        out.append((joined[a:b], mark, a == mark.start))
        pos = b
    if pos < end:
        out.append((joined[pos:end], None, False))
    return out


def read_page(root: Path, rel: str) -> str | None:
    """A text file of the package (CHANGELOG.md), None when absent or unreadable."""
    try:
        return safeio.read_inside(root, rel).decode("utf-8")
    except (OSError, UnicodeDecodeError, safeio.UnsafeInput):
        return None
