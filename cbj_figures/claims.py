"""What a row says besides its number, each claim as evidenced as the number is (layer "conventions").

Researchers cite rows: who said it, about which company, segment and period, forecast or result. Each is a
claim, and the package declares how each is printed (evidence.py): a date part is stated only when the
quote prints it; a forecast is one by its period or its wording; a metric relates the years it declares;
a reference's name (or a coded value's label) occurs in the quote or the context declared for it, and
points at a row of an allowed kind. A wrong claim is a finding at its row and field, naming what the
quote says instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cbj_figures.dates import DateReader, date_span, year_of
from cbj_figures.evidence import CONTEXTS, ArticleText, Evidence, NamedTable, Reference, Sources, is_figure_field
from cbj_figures.findings import Finding

LAYER = "conventions"
_SHOWN = 3  # names listed in a message


@dataclass
class RowText:
    """A row's quote and where it stands in its article (None where the quote or the article is not found)."""

    quote: str
    article: ArticleText | None
    article_id: str | None
    at: int | None  # offset of the quote in the article's joined text
    figure_at: int  # offset in the quote of its first printed figure (its end when it prints none)

    def context(self, widest: str) -> list[tuple[str, str]]:
        """(name, text) from the quote out to the widest context allowed: quote, paragraph, section, article."""
        out = [("quote", self.quote)]
        if self.article is None or self.at is None:
            return out
        if CONTEXTS.index(widest) >= 1:
            out.append(("paragraph", self.article.paragraph(self.at, self.at + len(self.quote))))
        if CONTEXTS.index(widest) >= 2:
            out.append(("section", self.article.section(self.at)))
        if CONTEXTS.index(widest) >= 3:
            out.append(("article", self.article.joined))
        return out


class Referenced:
    """The rows of a referenced table by id, with how each is printed in a given article."""

    def __init__(self, table: Any, named: NamedTable | None, sources: Sources):
        self.named = named
        key = named.id if named else None
        rows = table.frame.to_dicts() if table is not None else []
        self.rows: dict[str, dict] = {str(r[key]): r for r in rows if key and r.get(key) is not None}
        self.sources = sources

    def kind(self, rid: str) -> str | None:
        row, field = self.rows.get(rid), self.named.kind if self.named else None
        return str(row[field]) if row and field and row.get(field) is not None else None

    def names(self, rid: str, article_id: str | None) -> list[str]:
        """Its names, and its aliases where the row is read in the article that names it."""
        row, named = self.rows.get(rid), self.named
        if row is None or named is None:
            return []
        if not named.scope:
            return named.printed_names(row)
        scope = row.get(named.scope)
        home = self.sources.article_key(str(scope)) if scope and self.sources.article(str(scope))[0] else None
        return named.printed_names(row, aliases=home is not None and home == article_id)


def _first(texts: list[str], names: list[str], markers: tuple[str, ...]) -> str | None:
    """The first printing of one of `names` (inside a marker, where markers are declared) in the texts."""
    forms = [m.replace("{name}", n) for n in names for m in markers] if markers else names
    for text in texts:
        for form in forms:
            if form and form in text:
                return form
    return None


class ClaimChecker:
    """Every claim of every row of the tables, against the declarations of the package."""

    def __init__(self, ev: Evidence, sources: Sources, tables: dict):
        self.ev, self.sources, self.tables = ev, sources, tables
        self.dates = DateReader(ev.claims.dates)
        self.referenced: dict[str, Referenced] = {}

    def target(self, resource: str) -> Referenced:
        if resource not in self.referenced:
            self.referenced[resource] = Referenced(self.tables.get(resource), self.ev.named.get(resource), self.sources)
        return self.referenced[resource]

    def row_text(self, t: Any, row: dict) -> RowText:
        quote = str(row.get(self.ev.quote) or "") if self.ev.quote else ""
        sid = row.get(self.ev.source) if self.ev.source else None
        art, _ = self.sources.article(str(sid)) if sid else (None, "")
        at = art.offset(quote) if art is not None else None
        figure_at = len(quote)
        for f in t.schema.fields:
            printed = row.get(f.get("printed")) if is_figure_field(f) else None
            if printed and str(printed) in quote:
                figure_at = min(figure_at, quote.find(str(printed)))
        return RowText(quote, art, self.sources.article_key(str(sid)) if sid else None, at, figure_at)

    def check(self) -> list[Finding]:
        out: list[Finding] = []
        for t in self.tables.values():
            if not self.ev.quote or self.ev.quote not in t.frame.columns:
                continue
            refs = self._references_of(t)
            dates = [f.name for f in t.schema.fields if f.get("partialDate") is True and f.name in t.frame.columns]
            for i, row in enumerate(t.frame.iter_rows(named=True)):

                def bad(code: str, message: str, field: str, i: int = i, t: Any = t) -> None:
                    out.append(Finding(code, message, file=t.path, line=t.line(i), row=int(t.rows[i]), field=field,
                                       layer=LAYER))

                text = self.row_text(t, row)
                self._dates(t, row, text, dates, bad)
                self._forecast(t, row, text, bad)
                self._span(t, row, bad)
                for ref, resource in refs:
                    self._reference(row, text, ref, resource, bad)
        return out

    def _references_of(self, t: Any) -> list[tuple[Reference, str | None]]:
        """The declared reference fields of a table, with the table each points at (None: a coded value or text)."""
        single = {fk.fields[0]: fk.resource or t.name for fk in t.schema.foreign_keys if len(fk.fields) == 1}
        own = set(t.schema.primary_key)  # a row's own identity is no claim about anything
        return [(ref, single.get(name)) for name, ref in self.ev.references.items()
                if name in t.frame.columns and name not in own]

    # ------------------------------------------------------------ dates

    def _dates(self, t: Any, row: dict, text: RowText, dates: list[str], bad: Callable) -> None:
        c = self.ev.claims
        if not self.dates.declared or not text.quote:
            return
        missing = {f: self.dates.unprinted(text.quote, str(row[f])) for f in dates
                   if row.get(f) and date_span(str(row[f]))}
        derived = self._derived_base(row)
        if derived and c.base in missing:
            missing[c.base] = [*missing[c.base], derived]
        gaps = [f"{f} {row[f]}: {', '.join(m)} not printed" for f, m in missing.items() if m]
        flag, note = (row.get(c.inferred), row.get(c.inference_note)) if c.inferred else (None, None)
        if c.inferred and c.inferred in t.frame.columns:
            if gaps and not (flag and (note or not c.inference_note)):
                bad("period-not-in-quote", f"{'; '.join(gaps)} in the quote, yet the row is not flagged "
                    f"{c.inferred} with a reason", c.inferred)
            elif missing and not gaps and flag:
                dated = ", ".join(f"{f} {row[f]}" for f in missing)
                bad("period-not-in-quote", f"the quote prints {dated}: the row is stated, not inferred", c.inferred)
        for f in missing:  # a base period is the period before (同比): printed or not, never contradicted
            if f != c.base and (why := self.dates.contradicted(text.quote, str(row[f]))):
                bad("period-not-in-quote", f"{f} {row[f]} contradicts its quote: {why}", f)

    def _derived_base(self, row: dict) -> str | None:
        """Why a base period is the metric's, not the quote's: a change over a fixed number of years."""
        c = self.ev.claims
        span = c.spans.get(str(row.get(c.metric))) if c.metric else None
        if isinstance(span, int) and span > 0 and c.base and row.get(c.base):
            return f"the {c.metric} {row[c.metric]} spans {span} year(s), so its start is the metric's"
        return None

    # ------------------------------------------------------------ forecasts

    def _forecast(self, t: Any, row: dict, text: RowText, bad: Callable) -> None:
        c = self.ev.claims
        if not c.forecast or c.forecast not in t.frame.columns:
            return
        flag = bool(row.get(c.forecast))
        marker = next((m for m in c.forecast_markers if m in text.quote[: text.figure_at]), None)
        period = row.get(c.period) if c.period else None
        span = date_span(str(period)) if period else None
        sid = row.get(self.ev.source) if self.ev.source else None
        pub = self.sources.published(str(sid)) if sid else None
        published = date_span(pub) if pub else None
        after = bool(span and published and span[0] > published[1])
        if after and not flag:
            bad("forecast-flag", f"{c.period} {period} lies after its source's publication ({pub}): it is a forecast",
                c.forecast)
        elif span and published and span[1] < published[0] and flag:
            bad("forecast-flag", f"{c.period} {period} ended before its source's publication ({pub}): it cannot be a "
                "forecast", c.forecast)
        elif marker and not flag:
            bad("forecast-flag", f"the quote marks its figure as a forecast ({marker}), but {c.forecast} is false",
                c.forecast)
        elif flag and not marker and not after and c.forecast_markers:
            markers = ", ".join(c.forecast_markers)
            bad("forecast-flag", f"{c.forecast} is true, but the quote prints no forecast marker ({markers}) before "
                f"its figure and {c.period or 'its period'} {period or '(none)'} does not lie after its source's "
                f"publication ({pub or 'unknown'})", c.forecast)

    # ------------------------------------------------------------ what a metric spans

    def _span(self, t: Any, row: dict, bad: Callable) -> None:
        c = self.ev.claims
        if not (c.spans and c.metric and c.metric in t.frame.columns and row.get(c.metric)):
            return
        metric = str(row[c.metric])
        base, period = (row.get(c.base) if c.base else None), (row.get(c.period) if c.period else None)
        field = c.base or c.metric
        if metric not in c.spans:
            bad("metric-span", f"{c.metric} {metric!r} declares no span (conventions.claims.spans), so its periods "
                "cannot be checked", c.metric)
            return
        span = c.spans[metric]
        if span == 0:
            if base:
                bad("metric-span", f"{metric} is a level: it has no {c.base} (here {base})", field)
        elif not base or not period:
            what = f"{span} year(s)" if isinstance(span, int) else f"from its {c.base} to its {c.period}"
            bad("metric-span", f"{metric} spans {what}: it needs both {c.base} and {c.period}", field)
        else:
            start, end = year_of(base), year_of(period)
            if start is None or end is None:
                return
            if isinstance(span, int) and end - start != span:
                bad("metric-span", f"{metric} spans {span} year(s), but {c.base} {base} and {c.period} {period} are "
                    f"{end - start} apart", field)
            elif span == "base" and start >= end:
                bad("metric-span", f"{metric} runs from its {c.base} to its {c.period}, but {base} is not before "
                    f"{period}", field)

    # ------------------------------------------------------------ references and coded values

    def _reference(self, row: dict, text: RowText, ref: Reference, resource: str | None, bad: Callable) -> None:
        value = row.get(ref.field)
        if resource is None:
            if ref.labels:
                self._label(row, text, ref, bad)
            elif value not in (None, "") and text.quote:
                self._text(str(value), text, ref, bad)
            return
        target = self.target(resource)
        if value in (None, ""):
            if ref.markers and text.quote:
                self._unattributed(text, ref, target, bad)
            return
        value = str(value)
        kind = target.kind(value)
        if ref.kinds and kind is not None and kind not in ref.kinds:
            bad("reference-kind", f"{ref.field} {value} is a {kind}; {ref.field} points at a "
                f"{' or '.join(ref.kinds)} only (conventions.references)", ref.field)
            return
        if not text.quote or target.named is None:
            return
        names = target.names(value, text.article_id)
        texts = [t for _, t in text.context(ref.context)]
        if not names or _first(texts, names, ref.markers):
            return
        where = " or ".join(name for name, _ in text.context(ref.context))
        others = self._named_instead(text, ref, target, value, texts)
        shown = ", ".join(names[:_SHOWN])
        printed = "with a speaker marker " if ref.markers else ""
        bad("reference-not-in-quote", f"{ref.field} {value} ({shown}) is not named {printed}in the {where}; "
            f"it names {others} instead", ref.field)

    def _allowed(self, target: Referenced, rid: str, claimed_kind: str | None, ref: Reference) -> bool:
        kind = target.kind(rid)
        return kind in ref.kinds if ref.kinds else kind == claimed_kind

    def _named_instead(self, text: RowText, ref: Reference, target: Referenced, value: str, texts: list[str]) -> str:
        claimed_kind = target.kind(value)
        found = []
        for rid in target.rows:
            if rid != value and self._allowed(target, rid, claimed_kind, ref):
                form = _first(texts, target.names(rid, text.article_id), ref.markers)
                if form:
                    found.append(f"{form} ({rid})")
        if not found:
            return f"no {' or '.join(ref.kinds) if ref.kinds else claimed_kind or 'row'} of {target.named.id}"
        return ", ".join(found[:_SHOWN]) + (", ..." if len(found) > _SHOWN else "")

    def _unattributed(self, text: RowText, ref: Reference, target: Referenced, bad: Callable) -> None:
        texts = [t for _, t in text.context(ref.context)]
        for rid in target.rows:
            if ref.kinds and target.kind(rid) not in ref.kinds:
                continue
            if form := _first(texts, target.names(rid, text.article_id), ref.markers):
                where = "quote" if form in text.quote else "paragraph"
                bad("attribution-missing", f"the {where} attributes it ({form}: {rid}), but {ref.field} is empty",
                    ref.field)
                return

    def _text(self, value: str, text: RowText, ref: Reference, bad: Callable) -> None:
        """A text claim (an asset, a description as printed) occurs in its context."""
        contexts = text.context(ref.context)
        if not any(value in t for _, t in contexts):
            where = " or ".join(name for name, _ in contexts)
            bad("reference-not-in-quote", f"{ref.field} {value!r} is not printed in the {where}", ref.field)

    def _label(self, row: dict, text: RowText, ref: Reference, bad: Callable) -> None:
        """A coded value is the one whose label is printed nearest before the figure; the unlabelled value
        (a total) is claimed by a figure whose clause names none."""
        value = row.get(ref.field)
        if value in (None, "") or not text.quote:
            return
        value, before = str(value), text.quote[: text.figure_at]
        hits = _labels_in(before, ref.labels)
        if value == ref.unlabelled:
            clause_start = max((before.rfind(s) + len(s) for s in ref.separators if s in before), default=0)
            inside = [(at, v, label) for at, v, label in hits if at >= clause_start]
            if inside:
                _, named, label = inside[-1]
                bad("reference-not-in-quote", f"{ref.field} {value} names no {ref.field}, but the figure's clause "
                    f"names {label} ({named})", ref.field)
            return
        if value not in ref.labels:
            return
        shown = ", ".join(ref.labels[value][:_SHOWN])
        if not hits:
            bad("reference-not-in-quote", f"{ref.field} {value} ({shown}) is not printed before the figure in the "
                f"quote, which names no {ref.field}", ref.field)
        elif hits[-1][1] != value:
            _, named, label = hits[-1]
            bad("reference-not-in-quote", f"{ref.field} {value} ({shown}) is not what the quote names for the "
                f"figure: it names {label} ({named}) instead", ref.field)


def _labels_in(text: str, labels: dict[str, tuple[str, ...]]) -> list[tuple[int, str, str]]:
    """(offset, value, label) of every printed label, longest first, none inside another, in text order."""
    taken = [False] * len(text)
    found = []
    every = sorted(((label, value) for value, ls in labels.items() for label in ls), key=lambda x: -len(x[0]))
    for label, value in every:
        start = text.find(label)
        while start >= 0:
            if not any(taken[start : start + len(label)]):
                taken[start : start + len(label)] = [True] * len(label)
                found.append((start, value, label))
            start = text.find(label, start + 1)
    return sorted(found)


def check_claims(ev: Evidence, sources: Sources, tables: dict) -> list[Finding]:
    return ClaimChecker(ev, sources, tables).check()
