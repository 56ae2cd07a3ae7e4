"""The conventions layer: what a package that opts into our profile promises beyond the standard.

The conventions (docs/DESIGN.md) make every figure carry its evidence. This layer checks the ones
no other layer owns: the generated files are in step with their sources (the field registry and
the exported validators), tables are UTF-8 without a byte-order mark, and a figure id names one
figure in the whole package. The evidence itself is the provenance layer's, the arithmetic the
consistency layer's.
"""

from __future__ import annotations

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


def check_conventions(pkg: Package, tables: dict) -> list[Finding]:
    from cbj_figures import exports, registry

    out = registry.stale_schemas(pkg.root) + exports.stale_exports(pkg) + _boms(pkg)
    return out + _figure_ids(tables) + _partial_dates(tables)

