"""The evidence model: what a package declares about the evidence of its rows, read once for every reader.

Why one module: the conventions, provenance, the site and `cite` all follow a row to its source, that
source to the article that reported it, and the article to its lines of a text resource; they name a
referenced row the same way; they share the list of printed numbers deliberately not tabulated. The
package declares all of it in its descriptor's `conventions` block (our profile defines its shape):

- `citation`: the field naming a row's source and its quote; the sources table (its id, the article a
  source is reported in, the text resource and lines of an article, title, authors, date, ...) and the
  table of publishers.
- `claims`: the fields of what a row says besides its number (a package-wide figure id, its period and
  base period, the inferred flag and its note, the forecast flag, the metric), how the package's
  language prints a date (`dateForms`), the words that mark a forecast and the years each metric spans.
- `references`: how a row of a referenced table is named (`tables`: name fields, aliases, kind) and, for
  each reference field, what evidences it (`fields`: the kinds of row it may point at, the context its
  name must occur in, the speaker markers of an attribution, the labels of a coded value).
- `untabulated`: the printed numbers deliberately not tabulated, each with its quote and reason.

Nothing here knows a table or field of any package; a package that declares nothing gets empty
declarations, and the checks that need one are skipped.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from cbj_figures import safeio
from cbj_figures.package import Package

_BREAK = re.compile(r"\s*\n\s*")
SENTENCE_END = tuple("。！？!?.”」』…")  # a line ending so ends a paragraph (unless it continues mid-sentence)
CONTEXTS = ("quote", "paragraph", "section", "article")  # where a reference's name may be printed, narrowest first


def is_figure_field(field: Any) -> bool:
    """A numeric field holding published figures: it names its unit and its printed-text field (DESIGN.md, 2)."""
    get = field.get
    return get("type") in ("number", "integer") and bool(get("unit")) and bool(get("printed"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) and value:
        return (value,)
    return tuple(v for v in value if isinstance(v, str) and v) if isinstance(value, list) else ()


def _map(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------- what the package declares


@dataclass(frozen=True)
class SourceFields:
    """`conventions.citation.sources`: the fields of the sources table."""

    resource: str
    id: str
    reporter: str | None = None  # the field naming the source (an article) that reports this one
    text: str | None = None  # an article's text resource
    line_start: str | None = None  # its first and last line in that text
    line_end: str | None = None
    title: tuple[str, ...] = ()  # the first present, then the others in brackets
    authors: str | None = None
    date: str | None = None  # its publication date, as precise as known
    language: str | None = None
    kind: str | None = None
    article_kinds: tuple[str, ...] = ()  # kinds cited as journal articles
    publisher: str | None = None  # the field naming its publisher (an id of `publishers`)

    @classmethod
    def of(cls, spec: Any) -> SourceFields | None:
        spec = _map(spec)
        if not (_text(spec.get("resource")) and _text(spec.get("id"))):
            return None
        one = {k: _text(spec.get(k)) for k in ("reportedIn", "text", "lineStart", "lineEnd", "authors", "date",
                                              "language", "kind", "publisher")}
        return cls(spec["resource"], spec["id"], one["reportedIn"], one["text"], one["lineStart"], one["lineEnd"],
                   _texts(spec.get("title")), one["authors"], one["date"], one["language"], one["kind"],
                   _texts(spec.get("articleKinds")), one["publisher"])

    def role(self, row: dict, role: str) -> str:
        """The row's value of a declared role ("" when the package declares no such field)."""
        name = getattr(self, role)
        value = row.get(name) if isinstance(name, str) else None
        return "" if value is None else str(value)

    def titles(self, row: dict) -> list[str]:
        """Its titles present, in declared order."""
        return [str(row[n]) for n in self.title if row.get(n)]


@dataclass(frozen=True)
class NamedTable:
    """A table whose rows other rows refer to, and how a row of it is printed: its names, its aliases
    (a field of names separated by `;`, printed only in the article that names the row), its kind."""

    resource: str
    id: str
    names: tuple[str, ...] = ()
    aliases: str | None = None
    kind: str | None = None
    scope: str | None = None  # the field naming the article that names the row (aliases apply there)

    @classmethod
    def of(cls, resource: str, spec: Any, id_field: str | None) -> NamedTable | None:
        spec = _map(spec)
        key = _text(spec.get("id")) or id_field
        if not key:
            return None
        return cls(resource, key, _texts(spec.get("names")), _text(spec.get("aliases")), _text(spec.get("kind")),
                   _text(spec.get("scope")))

    def printed_names(self, row: dict, *, aliases: bool = True) -> list[str]:
        out = [str(row[n]) for n in self.names if row.get(n)]
        if aliases and self.aliases and row.get(self.aliases):
            out += [a.strip() for a in str(row[self.aliases]).split(";") if a.strip()]
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Reference:
    """`conventions.references.fields.<field>`: what evidences a reference (or a coded value) of a row."""

    field: str
    kinds: tuple[str, ...] = ()  # the kinds of row it may point at (empty: any)
    context: str = "quote"  # the widest text its name may be printed in: quote, paragraph or article
    markers: tuple[str, ...] = ()  # a speaker: `{name}认为`, `在{name}看来` ...; its name must occur in one
    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a coded value -> how it is printed
    unlabelled: str | None = None  # the coded value printed by naming none of the others (a total)
    separators: tuple[str, ...] = ()  # where a figure's clause starts (the unlabelled value is judged in it)

    @classmethod
    def of(cls, name: str, spec: Any) -> Reference:
        spec = _map(spec)
        context = spec.get("context") if spec.get("context") in CONTEXTS else "quote"
        labels = {str(k): _texts(v) for k, v in _map(spec.get("labels")).items()}
        return cls(name, _texts(spec.get("kinds")), context, _texts(spec.get("markers")), labels,
                   _text(spec.get("unlabelled")), _texts(spec.get("separators")))


@dataclass(frozen=True)
class DateForms:
    """How the package's language prints a year, a month and a day (`{year}年`, `{month}月`, `{month}月{day}日`),
    and the dashes of a printed range (`2023—2025年` prints 2023 as `{year}{dash}`)."""

    year: tuple[str, ...] = ()
    month: tuple[str, ...] = ()
    day: tuple[str, ...] = ()
    dashes: tuple[str, ...] = ()
    month_names: tuple[str, ...] = ()  # `{monthName}`: January ... December, where the language names months

    @classmethod
    def of(cls, spec: Any) -> DateForms:
        spec = _map(spec)
        names = _texts(spec.get("monthNames"))
        return cls(_texts(spec.get("year")), _texts(spec.get("month")), _texts(spec.get("day")),
                   _texts(spec.get("dashes")), names if len(names) == 12 else ())


@dataclass(frozen=True)
class Claims:
    """`conventions.claims`: the fields of what a row says besides its number, and how they are printed."""

    id: str | None = None  # a figure id unique across the package (rules name figures by it)
    period: str | None = None  # the date a figure refers to; a forecast is judged by it
    base: str | None = None  # the start of the span a change covers (never contradicted: 同比 implies it)
    inferred: str | None = None  # true exactly when a stored date part is not printed in the quote
    inference_note: str | None = None
    forecast: str | None = None
    forecast_markers: tuple[str, ...] = ()  # words marking a forecast (预计, 据预测, 有望 ...)
    metric: str | None = None
    spans: dict[str, int | str] = field(default_factory=dict)  # metric -> 0 (a level), n years, or "base"
    dates: DateForms = DateForms()

    @classmethod
    def of(cls, spec: Any) -> Claims:
        spec = _map(spec)
        one = {k: _text(spec.get(k)) for k in ("id", "period", "base", "inferred", "inferenceNote", "forecast",
                                              "metric")}
        spans = {str(k): v for k, v in _map(spec.get("spans")).items()
                 if v == "base" or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 200)}
        return cls(one["id"], one["period"], one["base"], one["inferred"], one["inferenceNote"], one["forecast"],
                   _texts(spec.get("forecastMarkers")), one["metric"], spans, DateForms.of(spec.get("dateForms")))


@dataclass(frozen=True)
class Untabulated:
    """A printed number the package deliberately does not tabulate, located by a quote of its article."""

    source: str
    printed: str
    quote: str
    reason: str
    reason_zh: str = ""
    index: int = 0  # its place in the list (`conventions.untabulated[index]`)


def _untabulated(value: Any) -> list[Untabulated]:
    out = []
    for i, item in enumerate(value if isinstance(value, list) else []):
        item = _map(item)
        parts = [_text(item.get(k)) for k in ("source", "printed", "quote", "reason")]
        if all(parts):
            out.append(Untabulated(*parts, reason_zh=_text(item.get("reason_zh")) or "", index=i))  # type: ignore[misc]
    return out


@dataclass(frozen=True)
class Evidence:
    """Everything the package declares about evidence (`conventions`), read once from its descriptor."""

    source: str | None = None  # the field of a row naming its source
    quote: str | None = None  # the field holding its verbatim quote
    sources: SourceFields | None = None
    publishers: NamedTable | None = None
    claims: Claims = Claims()
    named: dict[str, NamedTable] = field(default_factory=dict)  # resource -> how its rows are named
    references: dict[str, Reference] = field(default_factory=dict)  # field -> what evidences it
    untabulated: tuple[Untabulated, ...] = ()

    @classmethod
    def of(cls, pkg: Package) -> Evidence:
        citation, refs = _map(pkg.declared("citation")), _map(pkg.declared("references"))
        pub = _map(citation.get("publishers"))
        publishers = (NamedTable.of(pub["resource"], {"id": pub.get("id"), "names": pub.get("name")}, None)
                      if _text(pub.get("resource")) else None)
        named = {}
        for resource, spec in _map(refs.get("tables")).items():
            res = pkg.tables.get(str(resource))
            pk = list(res.schema.primary_key) if res is not None and res.schema else []
            table = NamedTable.of(str(resource), spec, pk[0] if len(pk) == 1 else None)
            if table:
                named[str(resource)] = table
        references = {str(k): Reference.of(str(k), v) for k, v in _map(refs.get("fields")).items()}
        return cls(_text(citation.get("source")), _text(citation.get("quote")),
                   SourceFields.of(citation.get("sources")), publishers, Claims.of(pkg.declared("claims")), named,
                   references, tuple(_untabulated(pkg.declared("untabulated"))))

    def display_names(self, resource: str, row: dict) -> list[str]:
        """How a row of `resource` reads for a reader: its declared names (no aliases), its publisher names, its
        titles, as the package declares them (the site shows a coded cell so)."""
        fields = [*(self.named[resource].names if resource in self.named else ())]
        if self.publishers and self.publishers.resource == resource:
            fields += self.publishers.names
        if self.sources and self.sources.resource == resource:
            fields += self.sources.title
        return list(dict.fromkeys(str(row[f]) for f in fields if row.get(f)))

    def evidence_fields(self) -> tuple[str, ...]:
        """The declared fields of a row's evidence and claims beside its figure (for the `figures` view)."""
        c = self.claims
        found = [c.forecast, c.inferred, self.references_of("markers"), self.source, self.quote]
        return tuple(dict.fromkeys(f for f in found if f))

    def references_of(self, what: str) -> str | None:
        """The first reference field declaring `what` (markers: the attribution)."""
        return next((name for name, ref in self.references.items() if getattr(ref, what)), None)


# ---------------------------------------------------------------- an article's text


@dataclass
class ArticleText:
    """One article's lines of a text resource, with line breaks removed for matching."""

    joined: str  # the article with every line break (and the blanks around it) removed
    starts: list[int]  # offset in `joined` where each kept chunk begins
    lines: list[int]  # original 1-based line of each chunk

    @classmethod
    def from_text(cls, text: str, first: int, last: int) -> ArticleText:
        all_lines = text.split("\n")
        segment = "\n".join(all_lines[first - 1 : last])
        joined, starts, lines, pos, size = [], [], [], 0, 0
        for m in [*_BREAK.finditer(segment), None]:
            end = m.start() if m else len(segment)
            chunk = segment[pos:end]
            if chunk:
                starts.append(size)
                lines.append(first + segment.count("\n", 0, pos))
                joined.append(chunk)
                size += len(chunk)
            if m:
                pos = m.end()
        return cls("".join(joined), starts, lines)

    def offset(self, quote: str) -> int | None:
        """Where `quote` starts in `joined`, or None when it does not occur (or holds a line break)."""
        if not quote or "\n" in quote:
            return None
        at = self.joined.find(quote)
        return at if at >= 0 else None

    def find(self, quote: str) -> int | None:
        """Line of the original text on which `quote` starts, or None when it does not occur."""
        at = self.offset(quote)
        return None if at is None else self.line_at(at)

    def line_at(self, offset: int) -> int:
        return self.lines[max(bisect.bisect_right(self.starts, offset) - 1, 0)]

    def paragraph(self, start: int, end: int) -> str:
        """The paragraph(s) holding `joined[start:end]`: a line continues on the next unless it ends a sentence
        or is a heading (`#`), as the text was transcribed from a page that wraps mid-sentence."""
        ends = [*self.starts[1:], len(self.joined)]
        first = last = bisect.bisect_right(self.starts, start) - 1
        while first > 0 and not self._closes(first - 1, ends):
            first -= 1
        last = max(bisect.bisect_right(self.starts, max(end - 1, start)) - 1, last)
        while last < len(self.starts) - 1 and not self._closes(last, ends):
            last += 1
        return self.joined[self.starts[max(first, 0)] : ends[last]] if self.starts else ""

    def section(self, at: int) -> str:
        """The section holding `joined[at]`: from the heading (`#`) before it to the next heading."""
        ends = [*self.starts[1:], len(self.joined)]
        heads = [i for i, s in enumerate(self.starts) if self.joined.startswith("#", s)]
        chunk = bisect.bisect_right(self.starts, at) - 1
        first = max((h for h in heads if h <= chunk), default=0)
        last = min((h for h in heads if h > chunk), default=len(self.starts)) - 1
        return self.joined[self.starts[first] : ends[last]] if self.starts else ""

    def _closes(self, chunk: int, ends: list[int]) -> bool:
        text = self.joined[self.starts[chunk] : ends[chunk]].rstrip()
        nxt = self.joined[ends[chunk] : ends[chunk + 1]] if chunk + 1 < len(ends) else ""
        return text.endswith(SENTENCE_END) or text.startswith("#") or nxt.startswith("#")


# ---------------------------------------------------------------- sources and their articles


class Sources:
    """The sources table and the texts of its articles, read once: a source's chain (the source, the article
    that reported it, ...) and the article text a row's quote is looked up in."""

    def __init__(self, pkg: Package, evidence: Evidence, rows: list[dict]):
        self.pkg, self.ev, self.fields = pkg, evidence, evidence.sources
        key = self.fields.id if self.fields else None
        self.rows: dict[str, dict] = {str(r[key]): r for r in rows if key and r.get(key) not in (None, "")}
        self._texts: dict[str, str | None] = {}
        self.articles: dict[str, ArticleText] = {}  # by the source id of the article itself
        self.keys: dict[str, str] = {}  # source id -> the source id of its article

    @classmethod
    def of(cls, pkg: Package, tables: dict, evidence: Evidence | None = None) -> Sources:
        """From typed tables (`Table.frame`) of a validation run."""
        ev = evidence or Evidence.of(pkg)
        t = tables.get(ev.sources.resource) if ev.sources else None
        return cls(pkg, ev, t.frame.to_dicts() if t is not None else [])

    def chain(self, source_id: str | None) -> list[dict]:
        """The source, then the article that reported it, and so on (a loop stops the chain)."""
        out: list[dict] = []
        sid, seen = source_id, set()
        reported = self.fields.reporter if self.fields else None
        while sid and sid in self.rows and sid not in seen:
            seen.add(sid)
            out.append(self.rows[sid])
            nxt = self.rows[sid].get(reported) if reported else None
            sid = str(nxt) if nxt not in (None, "") else None
        return out

    def id_of(self, row: dict) -> str:
        return self.fields.role(row, "id") if self.fields else ""

    def has_text(self, row: dict) -> bool:
        return bool(self.fields and self.fields.role(row, "text"))

    def article_key(self, source_id: str) -> str | None:
        """The id of the article a source is (or is reported in), once `article` found it."""
        return self.keys.get(source_id)

    def published(self, source_id: str | None) -> str | None:
        """When a source was published: its own date, else the date of the first source of its chain with one."""
        for row in self.chain(source_id):
            date = self.fields.role(row, "date") if self.fields else ""
            if date:
                return date
        return None

    def text(self, name: str) -> str | None:
        if name not in self._texts:
            res = self.pkg.texts.get(name)
            try:
                raw = safeio.read_inside(self.pkg.root, res.paths[0], limit=safeio.MAX_TEXT) if res else None
                self._texts[name] = raw.decode("utf-8") if raw is not None else None
            except (OSError, UnicodeDecodeError, safeio.UnsafeInput):
                self._texts[name] = None
        return self._texts[name]

    def article(self, source_id: str) -> tuple[ArticleText | None, str]:
        """The article a source is (or is reported in), or None and why not."""
        f = self.fields
        if f is None:
            return None, "the package declares no sources table (conventions.citation.sources)"
        seen: list[str] = []
        sid = source_id
        while True:
            row = self.rows.get(sid)
            if row is None:
                return None, f"source {sid!r} is not in the {f.resource} table"
            if f.role(row, "text"):
                break
            seen.append(sid)
            nxt = f.role(row, "reporter")
            if not nxt:
                return None, f"source {sid!r} has neither a {f.text} nor {f.reporter}"
            if nxt in seen:
                return None, f"{f.reporter} of {source_id!r} loops ({' -> '.join([*seen, nxt])})"
            sid = nxt
        if sid in self.articles:
            self.keys[source_id] = sid
            return self.articles[sid], ""
        name = f.role(row, "text")
        text = self.text(name)
        if text is None:
            return None, f"text resource {name!r} of source {sid!r} is missing or unreadable"
        first, last = _line(row.get(f.line_start or "")), _line(row.get(f.line_end or ""))
        n = text.count("\n") + 1
        if first is None or last is None or not 1 <= first <= last <= n:
            return None, f"source {sid!r} has line span {first}..{last} outside its text (1..{n})"
        art = ArticleText.from_text(text, first, last)
        self.articles[sid] = art
        self.keys[source_id] = sid
        return art, ""

    def text_path(self, article_id: str) -> str | None:
        """The file of the text resource an article is in."""
        row = self.rows.get(article_id)
        res = self.pkg.texts.get(self.fields.role(row, "text")) if row and self.fields else None
        return res.path if res else None


def _line(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None
