"""Provenance: every row is backed by the source text it cites (layer "provenance").

Why: a figure is only as good as its evidence. Each row's `quote` must occur in its article
(DESIGN.md, quote matching), each printed figure must occur in that quote and convert to the
stored value exactly, verbatim names must occur in the text, and the texts themselves must be
the ones the descriptor pins by sha256 and size.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from .evidence import ArticleText, Evidence, Sources, is_figure_field
from .findings import Finding
from .package import Package
from .printed import QUOTE_WORDS, Unit, decimal_column, declared_units, parse, parse_column, qualifier_words
from .rulefile import Tables

LAYER = "provenance"
DESCRIPTOR = "datapackage.json"
__all__ = ["ArticleText", "check_literals", "check_provenance", "locate_quote"]
_FEW = 64  # distinct values of one article searched with `in`; more go through Aho-Corasick


def locate_quote(pkg: Package, tables: Tables, source_id: str, quote: str) -> int | None:
    """Public helper (e.g. for citations): the source-text line where a quote of `source_id` starts."""
    ctx = _Context(pkg, tables)
    article, _ = ctx.article(source_id)
    return article.find(quote) if article else None


class _Context:
    """The evidence the package declares (which fields hold a row's source and quote), its sources and their
    article texts (evidence.Sources), read once."""

    def __init__(self, pkg: Package, tables: Tables):
        self.pkg, self.tables = pkg, tables
        self.units = declared_units(pkg.declared("units"))  # a figure in another unit: the conventions layer reports it
        self.ev = Evidence.of(pkg)
        self.source, self.quote = self.ev.source, self.ev.quote
        self.sources = Sources.of(pkg, tables, self.ev)
        self.articles = self.sources.articles  # by the source id of the article itself
        self.article = self.sources.article
        self.article_key = self.sources.article_key


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


def check_provenance(pkg: Package, tables: Tables) -> list[Finding]:
    """Quotes in their articles, printed figures in their quotes and equal to the stored values,
    verbatim fields in the text, and the pinned hash and size of every text resource.

    Vectorized: each check is a column expression or a look-up of the distinct values only
    (quotes per article, printed figures via `parse_column`); the row-by-row code runs only on
    the rows it reports, CAP of them per (rule, field), so the messages are the same either way.
    """
    out: list[Finding] = []
    ctx = _Context(pkg, tables)
    for t in tables.values():
        out += _check_table(ctx, t)
    return out


def check_literals(pkg: Package, tables: Tables, literals: list) -> list[Finding]:
    """The printed literals of the rule files (`checks.Literal`) are evidenced like table rows."""
    out: list[Finding] = []
    ctx = _Context(pkg, tables)
    for lit in literals:
        article, why = ctx.article(lit.source)
        if article is None:
            out.append(Finding("source-text", why, file=lit.file, line=lit.line, field="source", layer=LAYER))
        elif article.find(lit.quote) is None:
            msg = f"quote {lit.quote!r} does not occur in the text of {lit.source!r}"
            out.append(Finding("quote-not-in-source", msg, file=lit.file, line=lit.line, field="quote", layer=LAYER))
        if lit.printed not in lit.quote:
            msg = f"printed {lit.printed!r} does not occur in its quote {lit.quote!r}"
            out.append(Finding("printed-not-in-quote", msg, file=lit.file, line=lit.line, field="printed",
                               layer=LAYER))
        if _unprinted_qualifier(lit.printed, lit.qualifier, lit.quote):
            msg = _unprinted_message(lit.printed, lit.qualifier)
            out.append(Finding("qualifier-unprinted", msg, file=lit.file, line=lit.line, field="qualifier",
                               layer=LAYER))
    return out


def _unprinted_qualifier(printed: str | None, qualifier: str | None, quote: str | None) -> bool:
    """A qualifier of QUOTE_WORDS (at_least) with neither its word in the figure nor its words in the quote."""
    if not printed or qualifier not in QUOTE_WORDS:
        return False
    return not any(w in printed for w in qualifier_words(qualifier)) and not any(
        w in (quote or "") for w in QUOTE_WORDS[qualifier]
    )


def _unprinted_message(printed: str, qualifier: str) -> str:
    return (
        f"qualifier {qualifier!r} needs its word ({', '.join(qualifier_words(qualifier))}) in the printed figure "
        f"{printed!r}, or {' / '.join(QUOTE_WORDS[qualifier])} in the quote"
    )


def _evidence_fields(t: Any, units: dict[str, Unit]) -> tuple[list[dict], list[str]]:
    """The table's figure fields in a declared unit and the names of its verbatim fields, among its columns."""
    columns = set(t.frame.columns)
    fields = [f for f in t.schema.fields if f.name in columns]
    figures = [f.descriptor for f in fields if is_figure_field(f) and f.get("unit") in units]
    return figures, [f.name for f in fields if f.get("verbatim") is True]


def _check_table(ctx: _Context, t: Any) -> list[Finding]:
    """One table: a mask of failing rows per (rule, field), then the row-by-row messages of the first CAP."""
    columns = set(t.frame.columns)
    figure_fields, verbatim = _evidence_fields(t, ctx.units)
    qf, sf = ctx.quote or "", ctx.source or ""
    if not ({qf, sf} <= columns or figure_fields or verbatim):
        return []
    frame = t.frame
    n = frame.height
    no = pl.Series([False] * n, dtype=pl.Boolean)
    masks: dict[tuple[str, str], pl.Series] = {}  # (rule, field) -> failing rows

    def text_col(name: str) -> pl.Series:
        return _blank_as_null(frame.get_column(name).cast(pl.Utf8))

    # the article of each row (None where the source resolves to no text)
    article_of: dict[str, str | None] = {}
    if sf in columns:
        sids = text_col(sf)
        bad_source: list[str] = []
        for sid in sids.drop_nulls().unique().to_list():
            art, _ = ctx.article(sid)
            article_of[sid] = ctx.article_key(sid) if art is not None else None
            if art is None:
                bad_source.append(sid)
        masks[("source-text", sf)] = sids.is_in(bad_source).fill_null(False) if bad_source else no
        key = sids.replace_strict(article_of, default=None, return_dtype=pl.Utf8) if article_of else sids.clear(n)
    else:
        key = pl.Series([None] * n, dtype=pl.Utf8)
    has_article = key.is_not_null()

    quote = text_col(qf) if qf in columns else None
    if quote is not None and has_article.any():
        masks[("quote-missing", qf)] = has_article & quote.is_null()
        breaks = quote.str.contains("\n", literal=True).fill_null(False)
        masks[("quote-not-in-source", qf)] = (
            has_article & quote.is_not_null() & (breaks | _absent(ctx, key, _blank_as_null(quote, breaks)))
        )
    for name in verbatim:
        values = text_col(name)
        masks[("verbatim-not-in-source", name)] = has_article & _absent(ctx, key, values)
    raw_quote = frame.get_column(qf).cast(pl.Utf8) if qf in columns else None
    for f in figure_fields:
        masks.update(_figure_masks(f, ctx.units[f["unit"]], t, raw_quote))

    report: dict[int, set[tuple[str, str]]] = {}
    for (code, fld), mask in masks.items():
        for i in mask.arg_true().to_list():
            report.setdefault(i, set()).add((code, fld))
    details = [_row_findings(ctx, t, i) for i in sorted(report)]
    return [f for i, fs in zip(sorted(report), details, strict=True) for f in fs if (f.code, f.field) in report[i]]


def _absent(ctx: _Context, key: pl.Series, values: pl.Series) -> pl.Series:
    """True where a value does not occur in its row's article (False where either is missing).

    Each article is searched once for its distinct values: with `in` for a few, with polars'
    Aho-Corasick (`extract_many`, overlapping: every occurrence of every value) for many.
    """
    out = pl.Series([False] * len(values), dtype=pl.Boolean)
    distinct = pl.DataFrame({"k": key, "v": values}).drop_nulls().unique()
    for (art_key,), group in distinct.group_by(["k"]):
        text = ctx.articles[art_key].joined
        wanted = group.get_column("v").to_list()
        if len(wanted) > _FEW:
            found = set(pl.Series([text]).str.extract_many(wanted, overlapping=True)[0].to_list())
            missing = [v for v in wanted if v not in found]
        else:
            missing = [v for v in wanted if v not in text]
        if missing:
            out = out | ((key == art_key) & values.is_in(missing)).fill_null(False)
    return out


def _figure_masks(f: dict, unit: Unit, t: Any, quote: pl.Series | None) -> dict[tuple[str, str], pl.Series]:
    """The rows failing each figure check of one figure field (the same logic as `_check_figure`)."""
    frame = t.frame
    name, printed_field = f["name"], f["printed"]
    qualifier_field = f.get("qualifier")
    if printed_field in frame.columns:
        printed = frame.get_column(printed_field).cast(pl.Utf8)
    else:
        printed = pl.Series([None] * frame.height, dtype=pl.Utf8)
    has_printed = printed.is_not_null() & (printed != "")
    stored = _stored_column(t, name)
    masks = {("printed-missing", printed_field): ~has_printed & stored.is_not_null()}
    if quote is not None:
        inside = quote.str.contains(printed, literal=True)
        masks[("printed-not-in-quote", printed_field)] = has_printed & quote.is_not_null() & ~inside.fill_null(True)
    if qualifier_field and qualifier_field in frame.columns:
        qualifier = frame.get_column(qualifier_field).cast(pl.Utf8)
    else:
        qualifier = pl.Series([None] * frame.height, dtype=pl.Utf8)
    rows = pl.DataFrame({"p": printed, "q": qualifier, "s": stored})
    distinct = rows.unique()
    if distinct.height * 2 > rows.height:  # few repeats: judge every row
        judged = _judge_figures(rows, unit)
    else:  # judge each distinct (printed, qualifier, stored) once
        judged = rows.join(
            pl.concat([distinct, _judge_figures(distinct, unit)], how="horizontal"),
            on=["p", "q", "s"],
            how="left",
            maintain_order="left",
            nulls_equal=True,
        )
    masks[("printed-unparseable", printed_field)] = has_printed & judged.get_column("unparseable")
    if qualifier_field:  # at_least: its word in the figure, or (据)不完全统计 in the quote (_unprinted_qualifier)
        unprinted = no = pl.Series([False] * frame.height, dtype=pl.Boolean)
        for q, context in QUOTE_WORDS.items():
            in_figure = printed.str.contains("|".join(map(re.escape, qualifier_words(q)))).fill_null(False)
            in_quote = no if quote is None else quote.str.contains("|".join(map(re.escape, context)))
            unprinted = unprinted | (has_printed & (qualifier == q) & ~in_figure & ~in_quote.fill_null(False))
        masks[("qualifier-unprinted", qualifier_field)] = unprinted.fill_null(False)
    unread = t.frame.get_column(name).is_null() & stored.is_not_null()  # a type error: the tables layer's finding
    masks[("printed-value-mismatch", name)] = judged.get_column("mismatch") & ~unread
    return masks


def _judge_figures(rows: pl.DataFrame, unit: Unit) -> pl.DataFrame:
    """unparseable: the printed text cannot be read; mismatch: it can, but the stored value is
    missing, not a number, or not exactly its value."""
    try:
        figs = parse_column(rows.get_column("p"), rows.get_column("q"), unit).frame
        values = decimal_column(rows.get_column("s")).frame
    except ValueError:  # a value too large for exact column arithmetic (1e400): judged one by one instead
        return _judge_each(rows, unit)
    parsed = figs.get_column("present") & figs.get_column("error").is_null()
    unequal = rows.get_column("s").is_null() | values.get_column("error").is_not_null() | ~_same_number(figs, values)
    return pl.DataFrame({"unparseable": figs.get_column("error").is_not_null(), "mismatch": parsed & unequal})


def _judge_each(rows: pl.DataFrame, unit: Unit) -> pl.DataFrame:
    """`_judge_figures` row by row, with Decimal (no digit limit): for the rare column that needs it."""
    unparseable, mismatch = [], []
    for printed, qualifier, stored in rows.iter_rows():
        try:
            fig = parse(printed, qualifier or "exact", unit) if printed else None
        except ValueError:
            unparseable.append(True)
            mismatch.append(False)
            continue
        unparseable.append(False)
        try:
            value = Decimal(stored) if stored is not None else None
        except InvalidOperation:
            value = None
        ok = fig is None or (value is not None and value.is_finite() and value == fig.value)
        mismatch.append(not ok)
    return pl.DataFrame({"unparseable": unparseable, "mismatch": mismatch}, schema={"unparseable": pl.Boolean,
                                                                                     "mismatch": pl.Boolean})


def _stored_column(t: Any, field: str) -> pl.Series:
    """The cells exactly as written when the loader kept them (`text`), else the typed values as text."""
    text = getattr(t, "text", None)
    if text is not None and field in text.columns:
        s = text.get_column(field).cast(pl.Utf8)
    else:
        s = t.frame.get_column(field)
        s = s.map_elements(repr, return_dtype=pl.Utf8) if s.dtype.is_float() else s.cast(pl.Utf8)
    return _blank_as_null(s)


def _blank_as_null(s: pl.Series, also: pl.Series | None = None) -> pl.Series:
    """Empty cells (and those where `also` is true) as null."""
    drop = (s == "") if also is None else ((s == "") | also)
    return s.to_frame("s").select(pl.when(~drop.fill_null(False)).then(pl.col("s"))).to_series()


def _same_number(a: pl.DataFrame, b: pl.DataFrame) -> pl.Series:
    """int(m) * 10**k equal in both frames, compared digit for digit (no scaling, so no overflow)."""

    def canonical(frame: pl.DataFrame) -> pl.DataFrame:
        m, k = pl.col("m"), pl.col("k").cast(pl.Int64)
        negative = m.str.starts_with("-")
        digits = m.str.strip_chars_start("+-").str.strip_chars_start("0")
        mantissa = digits.str.strip_chars_end("0")
        shift = (digits.str.len_chars() - mantissa.str.len_chars()).cast(pl.Int64)
        zero = mantissa == ""
        return frame.select(
            sign=pl.when(zero).then(False).otherwise(negative),
            mantissa=mantissa,
            exp=pl.when(zero).then(0).otherwise(k + shift),
        )

    x, y = canonical(a), canonical(b)
    return ((x["sign"] == y["sign"]) & (x["mantissa"] == y["mantissa"]) & (x["exp"] == y["exp"])).fill_null(False)


def _row_findings(ctx: _Context, t: Any, i: int) -> list[Finding]:
    """Every provenance finding of one row, row by row (the messages of the reported rows)."""
    out: list[Finding] = []
    columns = set(t.frame.columns)
    figure_fields, verbatim = _evidence_fields(t, ctx.units)
    row = t.frame.row(i, named=True)

    def bad(code: str, message: str, fld: str) -> None:
        out.append(Finding(code, message, file=t.path, line=t.line(i), row=int(t.rows[i]), field=fld, layer=LAYER))

    qf, sf = ctx.quote or "", ctx.source or ""
    quote = row.get(qf) if qf else None
    article = None
    if sf in columns and row.get(sf):
        article, why = ctx.article(row[sf])
        if article is None:
            bad("source-text", f"cannot check against the source text: {why}", sf)
    if article is not None and qf in columns:
        if not quote:
            bad("quote-missing", "row has no quote", qf)
        elif "\n" in quote:
            bad("quote-not-in-source", "a quote must not contain a line break", qf)
        elif article.find(quote) is None:
            hint = _nearest_hint(article.joined, quote)
            msg = f"quote not found in {row[sf]}'s article text{hint}: {quote}"
            bad("quote-not-in-source", msg, qf)
    if article is not None:
        for fld in verbatim:
            value = row.get(fld)
            if value and article.find(str(value)) is None:
                bad("verbatim-not-in-source", f"{fld} {value!r} does not occur in the article text", fld)
    for f in figure_fields:
        _check_figure(f, ctx.units[f["unit"]], t, i, row, bad, quote if qf in columns else None)
    return out


def _check_figure(f: dict, unit: Unit, t: Any, i: int, row: dict, bad: Any, quote: str | None) -> None:
    """Printed text inside the quote, and parse(printed) == stored value exactly."""
    name, printed_field = f["name"], f["printed"]
    qualifier_field = f.get("qualifier")
    printed = row.get(printed_field)
    stored = _stored_text(t, name, i)
    if not printed:
        if stored is not None:
            bad("printed-missing", f"{name} has a value but {printed_field} is empty", printed_field)
        return
    if quote is not None and printed not in quote:
        bad("printed-not-in-quote", f"printed {printed!r} does not occur in the quote", printed_field)
    qualifier = row.get(qualifier_field) if qualifier_field else None
    if qualifier_field and _unprinted_qualifier(printed, qualifier, quote):
        bad("qualifier-unprinted", _unprinted_message(printed, qualifier), qualifier_field)
    try:
        fig = parse(printed, qualifier or "exact", unit)
    except ValueError as e:
        bad("printed-unparseable", str(e), printed_field)
        return
    if stored is None:
        msg = f"{printed_field} is {printed!r} but {name} is empty (expected {fig.value})"
        bad("printed-value-mismatch", msg, name)
        return
    if t.frame.get_column(name)[i] is None:  # written, but not a number: the tables layer's type error
        return
    try:
        value = Decimal(stored)
    except InvalidOperation:
        bad("printed-value-mismatch", f"{name} {stored!r} is not a number", name)
        return
    if not value.is_finite():  # NaN, sNaN, Infinity: no printed figure stands for them (and sNaN cannot compare)
        bad("printed-value-mismatch", f"{name} {stored!r} is not a finite number", name)
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
    return f" (matches up to {quote[:lo][-12:]!r}, then differs at {quote[lo : lo + 12]!r})"


