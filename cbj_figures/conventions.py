"""The conventions layer: what a package that opts into our profile promises beyond the standard.

The conventions (docs/DESIGN.md) make every figure carry its evidence. This layer checks the ones
no other layer owns: the generated files are in step with their sources (the field registry and
the exported validators), tables are UTF-8 without a byte-order mark, and a figure id names one
figure in the whole package. The evidence itself is the provenance layer's, the arithmetic the
consistency layer's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import polars as pl

from cbj_figures import safeio
from cbj_figures.findings import Finding
from cbj_figures.package import Package

LAYER = "conventions"
BOM = b"\xef\xbb\xbf"


def is_figure_field(field: Any) -> bool:
    """A numeric field holding published figures: it names its unit and its printed-text field (DESIGN.md, 2)."""
    get = field.get
    return get("type") in ("number", "integer") and bool(get("unit")) and bool(get("printed"))


def _boms(pkg: Package) -> list[Finding]:
    out = []
    for res in pkg.tables.values():
        for rel in res.paths:
            try:
                with safeio.open_inside(pkg.root, rel) as fh:
                    if fh.read(3) == BOM:
                        out.append(Finding("convention-error", "the file starts with a UTF-8 byte-order mark; the "
                                           "conventions write UTF-8 without one", file=rel, line=1, row=1, layer=LAYER))
            except (OSError, safeio.UnsafeInput):
                continue  # the tables layer has reported it
    return out


def _figure_ids(tables: dict) -> list[Finding]:
    """Convention 5: a figure id is unique across the whole package (rules name figures as <table>/<id>)."""
    first: dict[str, str] = {}
    out = []
    for name, t in tables.items():
        if "figure_id" not in t.frame.columns:
            continue
        ids = t.frame.get_column("figure_id")
        for i in ids.is_in(list(first)).fill_null(False).arg_true().to_list():
            fid = ids[i]
            out.append(Finding("duplicate-figure", f"figure id {fid!r} is also used in table {first[fid]!r}",
                               file=t.path, line=t.line(i), row=int(t.rows[i]), field="figure_id", layer=LAYER))
        for fid in ids.drop_nulls().unique().to_list():
            first.setdefault(fid, name)
    return out


def partial_date(e: pl.Expr) -> pl.Expr:
    """A `partialDate` value (YYYY, YYYY-MM or YYYY-MM-DD) as its first day; null when no such day exists.

    Dates stay as precise as published, so they are strings; their pattern alone would let 2025-02-30 through.
    """
    n = e.str.len_chars()
    padded = pl.when(n == 4).then(e + "-01-01").when(n == 7).then(e + "-01").otherwise(e)
    ok = e.str.contains(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
    return pl.when(ok).then(padded.str.to_date("%Y-%m-%d", strict=False))


def _partial_dates(tables: dict) -> list[Finding]:
    """Convention 2: a field marked `partialDate` holds a real year, month or day, as precise as published."""
    out = []
    for t in tables.values():
        for f in t.schema.fields:
            if f.get("partialDate") is not True or f.name not in t.frame.columns:
                continue
            values = t.frame.get_column(f.name).cast(pl.Utf8)
            bad = values.is_not_null() & pl.select(partial_date(pl.lit(values))).to_series().is_null()
            for i in bad.arg_true().to_list():
                out.append(Finding("convention-error", f"{values[i]!r} is not a calendar year, month or day "
                                   "(YYYY, YYYY-MM or YYYY-MM-DD)", file=t.path, line=t.line(i),
                                   row=int(t.rows[i]), field=f.name, layer=LAYER, rule="partialDate"))
    return out


# ---------------------------------------------------------------- what a row says about its figure
#
# A row claims more than its number: a period, a forecast flag, an attribution, that it is one
# figure. Each claim must be as supported by the row's quote as the number is (DESIGN.md,
# "Stated and inferred dates"). The fields are the conventions' names: `period`, `base_period`,
# `date` (dates as precise as printed), `inferred` and `inference_note`, `is_forecast`,
# `attributed_to`, `source_id` and `quote`; a source's publication is its `date` in `sources`.

RANGE_DASHES = "—–－-～~至到"
_ATTRIBUTION = re.compile(r"[\u4e00-\u9fff]{2,8}认为|在[\u4e00-\u9fff]{2,12}看来|[\u4e00-\u9fff]{2,4}说[:：,，]"
                          r"|据(?!不完全|记者不完全|预测)[\u4e00-\u9fff]{2,12}(?:预测|统计|表示|称)")


def date_span(value: str) -> tuple[dt.date, dt.date] | None:
    """A date as precise as printed (YYYY, YYYY-MM, YYYY-MM-DD) as its first and last day."""
    parts = value.split("-")
    try:
        if len(parts) == 1:
            return dt.date(int(parts[0]), 1, 1), dt.date(int(parts[0]), 12, 31)
        if len(parts) == 2:
            first = dt.date(int(parts[0]), int(parts[1]), 1)
            return first, (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        day = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        return day, day
    except ValueError:
        return None


def unprinted(quote: str, value: str) -> list[str]:
    """The parts of a stored date its quote does not print: a year as `2025年` (or `2025—` opening a range),
    a month as `4月`, a day as `4月7日`. Empty: the date is stated."""
    parts, missing = value.split("-"), []
    year = parts[0]
    if f"{year}年" not in quote and not any(f"{year}{d}" in quote for d in RANGE_DASHES):
        missing.append(f"the year {year}")
    if len(parts) >= 2 and not re.search(rf"(?<![0-9]){int(parts[1])}月", quote):
        missing.append(f"the month {int(parts[1])}月")
    if len(parts) == 3 and not re.search(rf"(?<![0-9]){int(parts[1])}月{int(parts[2])}日", quote):
        missing.append(f"the day {int(parts[1])}月{int(parts[2])}日")
    return missing


def contradicted(quote: str, value: str) -> str | None:
    """A year or month the quote prints that rules out the stored one (a printed range admits its years)."""
    years = [int(y) for y in re.findall(r"(?<![0-9])([0-9]{4})(?=年)", quote)]
    ranges = [(int(a), int(b)) for a, b in re.findall(rf"([0-9]{{4}})[{RANGE_DASHES}]([0-9]{{4}})", quote)]
    year = int(value.split("-")[0])
    if years and year not in years and not any(a <= year <= b for a, b in ranges):
        return f"the quote prints the year(s) {sorted(set(years))}, not {year}"
    months = [int(m) for m in re.findall(r"(?<![0-9])([0-9]{1,2})(?=月)", quote)]
    if "-" in value and months and int(value.split("-")[1]) not in months and str(year) in quote:
        return f"the quote prints the month(s) {sorted(set(months))}, not {int(value.split('-')[1])}"
    return None


def _publications(tables: dict) -> dict[str, tuple[dt.date, dt.date]]:
    """source id -> when it was published: its own date, else the date of the article that reports it."""
    t = tables.get("sources")
    if t is None or not {"source_id", "date"} <= set(t.frame.columns):
        return {}
    rows = {r["source_id"]: r for r in t.frame.iter_rows(named=True) if r.get("source_id")}
    out = {}
    for sid, row in rows.items():
        date = row.get("date") or (rows.get(row.get("reported_in") or "", {}) or {}).get("date")
        if date and (span := date_span(str(date))):
            out[sid] = span
    return out


def _claims(tables: dict) -> list[Finding]:
    out: list[Finding] = []
    published = _publications(tables)
    for t in tables.values():
        cols = set(t.frame.columns)
        if "quote" not in cols:
            continue
        dates = [c for c in ("base_period", "period", "date") if c in cols]
        for i, row in enumerate(t.frame.iter_rows(named=True)):
            quote = row.get("quote") or ""

            def bad(code: str, message: str, field: str, i: int = i, t: Any = t) -> None:
                out.append(Finding(code, message, file=t.path, line=t.line(i), row=int(t.rows[i]), field=field,
                                   layer=LAYER))

            missing = {c: unprinted(quote, str(row[c])) for c in dates if row.get(c) and date_span(str(row[c]))}
            gaps = [f"{c} {row[c]}: {', '.join(m)} not printed" for c, m in missing.items() if m]
            if "inferred" in cols and quote:
                if gaps and not (row.get("inferred") and row.get("inference_note")):
                    bad("period-not-in-quote", f"{'; '.join(gaps)} in the quote, yet the row is not flagged inferred "
                        "with a reason", "inferred")
                elif missing and not gaps and row.get("inferred"):
                    dated = ", ".join(f"{c} {row[c]}" for c in missing)
                    bad("period-not-in-quote", f"the quote prints {dated}: the row is stated, not inferred", "inferred")
            for c in missing:  # a base period is the period before (同比): printed or not, never contradicted
                if c != "base_period" and (why := contradicted(quote, str(row[c]))):
                    bad("period-not-in-quote", f"{c} {row[c]} contradicts its quote: {why}", c)
            if "is_forecast" in cols and row.get("period") and (span := date_span(str(row["period"]))):
                pub = published.get(row.get("source_id") or "")
                if pub and span[0] > pub[1] and not row.get("is_forecast"):
                    bad("forecast-flag", f"period {row['period']} lies after its source's publication "
                        f"({pub[0].year}): it is a forecast", "is_forecast")
                elif pub and span[1] < pub[0] and row.get("is_forecast"):
                    bad("forecast-flag", f"period {row['period']} ended before its source's publication "
                        f"({pub[0].year}): it cannot be a forecast", "is_forecast")
            if "attributed_to" in cols and not row.get("attributed_to") and (m := _ATTRIBUTION.search(quote)):
                bad("attribution-missing", f"the quote attributes it ({m[0]}), but attributed_to is empty",
                    "attributed_to")
    return out


def _natural_keys(tables: dict) -> list[Finding]:
    """A table's `naturalKey` (what tells two figures apart) is unique, empty cells compared as values:
    the same published figure is never stored twice."""
    out = []
    for t in tables.values():
        key = t.schema.get("naturalKey")
        if not isinstance(key, list) or not key or not set(key) <= set(t.frame.columns):
            continue
        frame = t.frame.select(key).with_row_index("_i")
        repeated = ~frame.select(pl.struct(key).is_first_distinct()).to_series()
        if not repeated.any():
            continue
        first = frame.unique(subset=key, keep="first", maintain_order=True).rename({"_i": "_first"})
        shown = frame.filter(repeated).join(first, on=key, how="left", nulls_equal=True)
        for i, j in zip(shown["_i"].to_list(), shown["_first"].to_list(), strict=True):
            out.append(Finding("duplicate-figure", f"the same figure as row {int(t.rows[j])}: its natural key "
                               f"({', '.join(key)}) repeats", file=t.path, line=t.line(i), row=int(t.rows[i]),
                               field=",".join(key), layer=LAYER, rule="naturalKey"))
    return out


def _units(pkg: Package) -> list[Finding]:
    """Every figure field names a unit the package declares (`conventions.units`), so its printed
    figures can be read; the provenance and consistency layers skip a figure in any other unit."""
    from cbj_figures.descriptor import locate_json
    from cbj_figures.printed import declared_units

    units, out = declared_units(pkg.declared("units")), []
    for res in pkg.tables.values():
        for i, f in enumerate(res.schema.fields if res.schema else ()):
            if is_figure_field(f) and f.get("unit") not in units:
                where = f"$.fields[{i}].unit" if res.schema_file else f"{res.where}.schema.fields[{i}].unit"
                msg = (f"field {f.name!r} is in unit {f.get('unit')!r}, which the package does not declare in "
                       f"conventions.units (declared: {', '.join(units) or 'none'}), so its figures cannot be read")
                out.append(Finding("convention-error", msg, file=res.schema_file or pkg.file, field=where, layer=LAYER))
    return locate_json(out, pkg.root)


def check_conventions(pkg: Package, tables: dict) -> list[Finding]:
    from cbj_figures import exports, registry

    out = registry.stale_schemas(pkg.root) + exports.stale_exports(pkg) + _boms(pkg) + _units(pkg)
    return out + _figure_ids(tables) + _partial_dates(tables) + _natural_keys(tables) + _claims(tables)

