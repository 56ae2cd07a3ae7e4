"""Every number the source texts print is accounted for: the other direction of provenance (layer "conventions").

Provenance proves that what the tables say is printed; this proves that what is printed is in the tables.
Every number an article prints with a unit the package declares (`5.20亿元`, `16名`, `两部分`, `第九`), and
every date part it prints in a declared form (`2025年`, `4月`, `1月9日`), must be accounted for:

- a number is the printed text of a row whose quote holds it at that place (a figure field's `printed`);
- a date is one that some row's date fields state (printed in that row's quote);
- or the package lists it as deliberately not tabulated, with its quote and reason (`conventions.untabulated`).

Anything else is a finding at its line of the source text, naming the printed text: a deleted row, a
figure nobody tabulated, a repeat printing nobody explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cbj_figures.dates import DateReader, DateSpan, date_span
from cbj_figures.descriptor import locate_json
from cbj_figures.evidence import ArticleText, Evidence, Sources, is_figure_field
from cbj_figures.findings import Finding
from cbj_figures.package import Package
from cbj_figures.printed import CN_NUMERALS, RANGE_SEPARATORS, SUFFIX_WORDS, Unit, declared_units

LAYER = "conventions"


@dataclass(frozen=True)
class Number:
    """A number printed with a unit word, a scale word or as an ordinal: where, and as printed."""

    start: int
    end: int
    text: str


def number_pattern(units: dict[str, Unit]) -> re.Pattern | None:
    """Numbers as the package prints figures: a numeral (or a range of two), then the scale and unit words of
    one declared unit (`亿元`, `%`, `家`), or an ordinal (第九) of an ordinal unit. The words are the package's
    (escaped); the numerals, ranges and qualifier suffixes are the grammar of printed.py."""
    endings, ordinals = set(), set()
    for u in units.values():
        words = [*u.words] + ([] if u.word_required and u.words else [""])
        endings |= {s + w for s in u.scales for w in words if s + w}
        if u.ordinal:
            ordinals |= {w for w in u.words}
    if not endings and not ordinals:
        return None

    def alternatives(items: set[str]) -> str:
        return "|".join(re.escape(x) for x in sorted(items, key=lambda x: (-len(x), x))) or "(?!)"

    numeral = rf"(?:[0-9]+(?:,[0-9]{{3}})*(?:\.[0-9]+)?|[{CN_NUMERALS}]+)"
    separator = "|".join(re.escape(s) for s in RANGE_SEPARATORS)
    suffix = "|".join(re.escape(w) for w in SUFFIX_WORDS if len(w) == 1)
    number = rf"{numeral}(?:\s*(?:{separator})\s*{numeral})?(?:{suffix})?"
    ordinal = rf"(?P<ordinal>第{numeral}(?:{alternatives(ordinals)})?)" if ordinals or any(
        u.ordinal for u in units.values()) else "(?P<ordinal>(?!))"
    return re.compile(rf"{ordinal}|{number}\s*(?P<unit>{alternatives(endings)})")


def numbers_in(text: str, pattern: re.Pattern) -> list[Number]:
    """Every number with a unit (or an ordinal) in the text."""
    out = []
    for m in pattern.finditer(text):
        out.append(Number(m.start(), m.end(), m[0]))
    return out


DateKey = tuple[int | None, ...]  # (year,), (year or None, month), (year or None, month, day)


class Ledger:
    """What accounts for the numbers of each article: the places of printed figures, the stated dates."""

    def __init__(self) -> None:
        self.places: dict[str, list[tuple[int, int]]] = {}  # article id -> spans of accounted printings
        self.dates: set[DateKey] = set()  # what rows state: a month with its year only where both are printed

    def state(self, year: int | None, month: int | None, day: tuple[int, int] | None, value: str) -> None:
        """Record the parts of a row's date its quote prints."""
        parts = [int(p) for p in value.split("-")]
        if year:
            self.dates.add((year,))
        if month:
            self.dates |= {(None, month)} | ({(year, month)} if year else set())
        if day:
            self.dates |= {(None, *day)} | ({(parts[0], *day)} if year else set())

    def place(self, article: str, at: int, quote: str, printed: str) -> bool:
        inner = quote.find(printed)
        if inner < 0:
            return False
        self.places.setdefault(article, []).append((at + inner, at + inner + len(printed)))
        return True

    def holds(self, article: str, start: int, end: int) -> bool:
        return any(a <= start and end <= b for a, b in self.places.get(article, ()))

    def dated(self, d: DateSpan, year: int | None) -> bool:
        """A printed date part, with the year printed right before it (or None), is one a row states."""
        if d.part == "year":
            return (d.year,) in self.dates
        return ((year, d.month) if d.part == "month" else (year, d.month, d.day)) in self.dates


def check_completeness(pkg: Package, ev: Evidence, sources: Sources, tables: dict) -> list[Finding]:
    units = declared_units(pkg.declared("units"))
    pattern = number_pattern(units)
    reader = DateReader(ev.claims.dates)
    promised = pkg.declared("untabulated") is not None  # by declaring what it leaves out (an empty list: nothing)
    if pattern is None or not (promised and ev.quote and ev.source and sources.fields):
        return []
    ledger, out = Ledger(), []
    for t in tables.values():
        if not {ev.quote, ev.source} <= set(t.frame.columns):
            continue
        figures = [f for f in t.schema.fields if is_figure_field(f) and f.get("printed") in t.frame.columns]
        dates = [f.name for f in t.schema.fields if f.get("partialDate") is True and f.name in t.frame.columns]
        for row in t.frame.iter_rows(named=True):
            quote, sid = str(row.get(ev.quote) or ""), row.get(ev.source)
            art, _ = sources.article(str(sid)) if sid else (None, "")
            at = art.offset(quote) if art is not None else None
            if at is not None:
                for f in figures:
                    if row.get(f.get("printed")):
                        ledger.place(sources.article_key(str(sid)), at, quote, str(row[f.get("printed")]))
            for name in dates:
                if quote and row.get(name) and date_span(str(row[name])) and reader.declared:
                    ledger.state(*reader.stated(quote, str(row[name])), str(row[name]))
    out += _untabulated(pkg, ev, sources, ledger)
    for sid, row in sources.rows.items():
        if not sources.has_text(row):
            continue
        art, _ = sources.article(sid)
        if art is not None:
            out += _unaccounted(art, sid, sources.text_path(sid), pattern, reader, ledger)
    return out


def _untabulated(pkg: Package, ev: Evidence, sources: Sources, ledger: Ledger) -> list[Finding]:
    """Place each deliberately untabulated number; one that cannot be placed is a finding at its entry."""
    out = []
    for item in ev.untabulated:
        art, why = sources.article(item.source)
        where = f"$.conventions.untabulated[{item.index}]"
        at = art.offset(item.quote) if art is not None else None
        if at is None:
            msg = why or f"untabulated {item.printed!r}: its quote does not occur in the text of {item.source!r}"
            out.append(Finding("quote-not-in-source", msg, file=pkg.file, field=f"{where}.quote", layer=LAYER))
        elif not ledger.place(sources.article_key(item.source), at, item.quote, item.printed):
            msg = f"untabulated {item.printed!r} does not occur in its quote {item.quote!r}"
            out.append(Finding("printed-not-in-quote", msg, file=pkg.file, field=f"{where}.printed", layer=LAYER))
    return locate_json(out, pkg.root)


def _unaccounted(art: ArticleText, sid: str, path: str | None, pattern: re.Pattern, reader: DateReader,
                 ledger: Ledger) -> list[Finding]:
    out = []
    dates = reader.printed(art.joined).spans if reader.declared else ()
    years = {d.end: d.year for d in dates if d.part == "year"}  # a year printed right before a month or day
    for d in dates:
        if not ledger.dated(d, years.get(d.start)) and not ledger.holds(sid, d.start, d.end):
            shown = art.joined[d.start : d.end]
            out.append(Finding("unaccounted-number", f"the article prints the date {shown!r} (its {d.part}), which no "
                               "row states and conventions.untabulated does not list", file=path,
                               line=art.line_at(d.start), layer=LAYER))
    for n in numbers_in(art.joined, pattern):
        if any(d.start < n.end and n.start < d.end for d in dates) or ledger.holds(sid, n.start, n.end):
            continue
        context = art.joined[max(n.start - 8, 0) : n.end + 4]
        out.append(Finding("unaccounted-number", f"the article prints {n.text!r} (…{context}…), which is neither a "
                           "row's printed figure at that place nor listed in conventions.untabulated with a reason",
                           file=path, line=art.line_at(n.start), layer=LAYER))
    return out
