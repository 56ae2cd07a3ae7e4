"""Provenance: every row is backed by the source text it cites (layer "provenance").

Why: a figure is only as good as its evidence. Each row's `quote` must occur in its article
(DESIGN.md, quote matching), each printed figure must occur in that quote and convert to the
stored value exactly, verbatim names must occur in the text, and the texts themselves must be
the ones the descriptor pins by sha256 and size.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .checks import Tables
from .descriptor import PackageSpec, file_digest
from .printed import parse
from .report import Finding

LAYER = "provenance"
DESCRIPTOR = "datapackage.json"
_BREAK = re.compile(r"\s*\n\s*")


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

    def find(self, quote: str) -> int | None:
        """Line of the original text on which `quote` starts, or None when it does not occur."""
        if not quote or "\n" in quote:
            return None
        at = self.joined.find(quote)
        if at < 0:
            return None
        return self.lines[bisect.bisect_right(self.starts, at) - 1]


def locate_quote(pkg: PackageSpec, tables: Tables, source_id: str, quote: str) -> int | None:
    """Public helper (e.g. for citations): the source-text line where a quote of `source_id` starts."""
    ctx = _Context(pkg, tables)
    article, _ = ctx.article(source_id)
    return article.find(quote) if article else None


class _Context:
    """Sources table, text resources and articles, read once."""

    def __init__(self, pkg: PackageSpec, tables: Tables):
        self.pkg, self.tables = pkg, tables
        self.sources: dict[str, dict] = {}
        if "sources" in tables:
            for row in tables["sources"].frame.iter_rows(named=True):
                if row.get("source_id"):
                    self.sources[row["source_id"]] = row
        self.texts: dict[str, str | None] = {}
        self.articles: dict[str, ArticleText] = {}

    def text(self, name: str) -> str | None:
        if name not in self.texts:
            spec = self.pkg.texts.get(name)
            try:
                self.texts[name] = (self.pkg.root / spec.path).read_text(encoding="utf-8") if spec else None
            except (OSError, UnicodeDecodeError):
                self.texts[name] = None
        return self.texts[name]

    def article(self, source_id: str) -> tuple[ArticleText | None, str]:
        """The article a source is (or is reported in), or None and why not."""
        seen: list[str] = []
        sid = source_id
        while True:
            row = self.sources.get(sid)
            if row is None:
                return None, f"source {sid!r} is not in the sources table"
            if row.get("text_resource"):
                break
            seen.append(sid)
            nxt = row.get("reported_in")
            if not nxt:
                return None, f"source {sid!r} has neither a text_resource nor reported_in"
            if nxt in seen:
                return None, f"reported_in of {source_id!r} loops ({' -> '.join([*seen, nxt])})"
            sid = nxt
        if sid in self.articles:
            return self.articles[sid], ""
        name = row["text_resource"]
        text = self.text(name)
        if text is None:
            return None, f"text resource {name!r} of source {sid!r} is missing or unreadable"
        first, last = row.get("text_line_start"), row.get("text_line_end")
        n = text.count("\n") + 1
        if not isinstance(first, int) or not isinstance(last, int) or not 1 <= first <= last <= n:
            return None, f"source {sid!r} has line span {first}..{last} outside its text (1..{n})"
        art = ArticleText.from_text(text, first, last)
        self.articles[sid] = art
        return art, ""


def _stored_text(t: Any, field: str, i: int) -> str | None:
    """The cell exactly as written when the loader kept it (`text`), else the typed value."""
    text = getattr(t, "text", None)
    if text is not None and field in text.columns:
        value = text.get_column(field)[i]
        return None if value in (None, "") else str(value)
    value = t.frame.get_column(field)[i]
    if value is None:
        return None
    return repr(value) if isinstance(value, float) else str(value)


def check_provenance(pkg: PackageSpec, tables: Tables) -> list[Finding]:
    """Quotes in their articles, printed figures in their quotes and equal to the stored values,
    verbatim fields in the text, and the pinned hash and size of every text resource."""
    out: list[Finding] = []
    ctx = _Context(pkg, tables)
    out += _check_texts(pkg)
    for t in tables.values():
        path = t.spec.path
        columns = set(t.frame.columns)
        fields = t.spec.schema.get("fields", [])
        figure_fields = [
            f for f in fields if f.get("type") in ("number", "integer") and f.get("unit") and f.get("printed")
        ]
        verbatim = [f["name"] for f in fields if f.get("verbatim") is True and f["name"] in columns]
        if not ({"quote", "source_id"} <= columns or figure_fields or verbatim):
            continue
        lines = t.lines.to_list() if hasattr(t.lines, "to_list") else list(t.lines)
        for i, row in enumerate(t.frame.iter_rows(named=True)):
            line = int(lines[i]) if i < len(lines) else None

            def bad(rule: str, message: str, fld: str, line: int | None = line, path: str = path) -> None:
                out.append(Finding(LAYER, rule, message, file=path, line=line, field=fld))

            quote = row.get("quote")
            article = None
            if "source_id" in columns and row.get("source_id"):
                article, why = ctx.article(row["source_id"])
                if article is None:
                    bad("source-text", f"cannot check against the source text: {why}", "source_id")
            if article is not None and "quote" in columns:
                if not quote:
                    bad("quote-missing", "row has no quote", "quote")
                elif "\n" in quote:
                    bad("quote-not-in-source", "a quote must not contain a line break", "quote")
                elif article.find(quote) is None:
                    hint = _nearest_hint(article.joined, quote)
                    msg = f"quote not found in {row['source_id']}'s article text{hint}: {quote}"
                    bad("quote-not-in-source", msg, "quote")
            if article is not None:
                for fld in verbatim:
                    value = row.get(fld)
                    if value and article.find(str(value)) is None:
                        bad("verbatim-not-in-source", f"{fld} {value!r} does not occur in the article text", fld)
            for f in figure_fields:
                _check_figure(f, t, i, row, bad)
    return out


def _check_figure(f: dict, t: Any, i: int, row: dict, bad: Any) -> None:
    """Printed text inside the quote, and parse(printed) == stored value exactly."""
    name, printed_field = f["name"], f["printed"]
    qualifier_field = f.get("qualifier")
    printed = row.get(printed_field)
    stored = _stored_text(t, name, i)
    if not printed:
        if stored is not None:
            bad("printed-missing", f"{name} has a value but {printed_field} is empty", printed_field)
        return
    quote = row.get("quote")
    if quote is not None and printed not in quote:
        bad("printed-not-in-quote", f"printed {printed!r} does not occur in the quote", printed_field)
    qualifier = row.get(qualifier_field) if qualifier_field else None
    try:
        fig = parse(printed, qualifier or "exact", f["unit"])
    except ValueError as e:
        bad("printed-unparseable", str(e), printed_field)
        return
    if stored is None:
        msg = f"{printed_field} is {printed!r} but {name} is empty (expected {fig.value})"
        bad("printed-value-mismatch", msg, name)
        return
    try:
        value = Decimal(stored)
    except InvalidOperation:
        bad("printed-value-mismatch", f"{name} {stored!r} is not a number", name)
        return
    if value != fig.value:
        canonical = format(fig.value.normalize(), "f")
        msg = f"{name} is {stored} but printed {printed!r} in {f['unit']} is {canonical}"
        bad("printed-value-mismatch", msg, name)


def _nearest_hint(joined: str, quote: str) -> str:
    """Where the longest matching prefix of the quote ends, to show what differs."""
    lo, hi = 0, len(quote)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote[:mid] in joined:
            lo = mid
        else:
            hi = mid - 1
    if lo < 2:
        return ""
    return f" (matches up to {quote[:lo][-12:]!r}, then differs at {quote[lo:lo + 12]!r})"


def _check_texts(pkg: PackageSpec) -> list[Finding]:
    """The source texts are the evidence: each must match the sha256 and size the descriptor pins."""
    out = []
    index = {r.get("name"): i for i, r in enumerate(pkg.descriptor.get("resources", [])) if isinstance(r, dict)}
    for name, spec in pkg.texts.items():
        i = index.get(name)
        where = f"$.resources[{i}]"
        path = pkg.root / spec.path
        if not path.is_file():
            msg = f"source text {spec.path} not found"
            out.append(Finding(LAYER, "text-missing", msg, file=DESCRIPTOR, field=f"{where}.path"))
            continue
        sha, size = file_digest(path)
        declared = spec.resource.get("hash")
        if not isinstance(declared, str) or not declared.startswith("sha256:"):
            msg = f"text resource {name!r} must pin its content with a 'sha256:' hash"
            out.append(Finding(LAYER, "text-hash", msg, file=DESCRIPTOR, field=f"{where}.hash"))
        elif declared.split(":", 1)[1].lower() != sha:
            msg = f"text resource {name!r} has sha256 {sha}, but the descriptor declares {declared.split(':', 1)[1]}"
            out.append(Finding(LAYER, "text-hash", msg, file=DESCRIPTOR, field=f"{where}.hash"))
        if spec.resource.get("bytes") != size:
            msg = f"text resource {name!r} has {size} bytes, but the descriptor declares {spec.resource.get('bytes')}"
            out.append(Finding(LAYER, "text-bytes", msg, file=DESCRIPTOR, field=f"{where}.bytes"))
    return out
