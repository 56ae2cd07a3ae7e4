"""The conventions layer: what a package that opts into our profile promises beyond the standard.

The conventions (docs/DESIGN.md) make every figure carry its evidence. This layer checks the ones
no other layer owns: the generated files are in step with their sources (the field registry and
the exported validators), tables are UTF-8 without a byte-order mark, units are declared, a figure id
names one figure in the whole package and a natural key one row; what each row claims besides its
number (claims.py); and that every number the texts print is accounted for (completeness.py). What
is the package's (its fields, words and lists) it declares (evidence.py). The quotes and printed
figures themselves are the provenance layer's, the arithmetic the consistency layer's.
"""

from __future__ import annotations

import polars as pl

from cbj_figures import safeio
from cbj_figures.dates import date_span, partial_date
from cbj_figures.evidence import Evidence, Sources, is_figure_field
from cbj_figures.findings import Finding
from cbj_figures.package import Package

__all__ = ["check_conventions", "date_span", "is_figure_field", "partial_date"]

LAYER = "conventions"
BOM = b"\xef\xbb\xbf"


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


def _figure_ids(tables: dict, key: str | None) -> list[Finding]:
    """Convention 5: a figure id (the field `conventions.claims.id`) is unique across the whole package
    (rules name figures as <table>/<id>)."""
    first: dict[str, str] = {}
    out = []
    for name, t in tables.items():
        if not key or key not in t.frame.columns:
            continue
        ids = t.frame.get_column(key)
        for i in ids.is_in(list(first)).fill_null(False).arg_true().to_list():
            fid = ids[i]
            out.append(Finding("duplicate-figure", f"figure id {fid!r} is also used in table {first[fid]!r}",
                               file=t.path, line=t.line(i), row=int(t.rows[i]), field=key, layer=LAYER))
        for fid in ids.drop_nulls().unique().to_list():
            first.setdefault(fid, name)
    return out


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
    from cbj_figures.claims import check_claims
    from cbj_figures.completeness import check_completeness

    ev = Evidence.of(pkg)
    sources = Sources.of(pkg, tables, ev)
    out = registry.stale_schemas(pkg.root) + exports.stale_exports(pkg) + _boms(pkg) + _units(pkg)
    out += _figure_ids(tables, ev.claims.id) + _partial_dates(tables) + _natural_keys(tables)
    return out + check_claims(ev, sources, tables) + check_completeness(pkg, ev, sources, tables)

