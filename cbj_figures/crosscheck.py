"""The cross-check layers (`--all`): the tables again, through pandera and Great Expectations.

Why: a second and third implementation of the same Table Schema rules, in the libraries data
teams already use, built from the same schemas. They report only what the tables layer did not
(a disagreement is worth a look; a repeat is noise); a table the tables layer could not read is
reported as not checked; a rule they cannot express is `unsupported`, never a data error. Both
see the cells the tables layer read (no file is read again, and nothing in the package runs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import polars as pl

from cbj_figures.constraints import NUMERIC, applicable
from cbj_figures.exports import ExportError, _kind, ge_suite
from cbj_figures.findings import Finding
from cbj_figures.package import Package
from cbj_figures.schema import Schema
from cbj_figures.tables import Table, cast

_CODES = {"type": "type-error", "not_nullable": "constraint-error", "field_uniqueness": "unique-error",
          "multiple_fields_uniqueness": "primary-key", "unique": "unique-error"}


def _not_checked(layer: str, unread: set[str], pkg_tables: dict) -> list[Finding]:
    return [Finding("not-checked", f"table {name!r} could not be read, so the {layer} layer did not check it",
                    file=pkg_tables[name].path if name in pkg_tables else None, layer=layer) for name in sorted(unread)]


def _located(t: Table, i: int | None, code: str, message: str, field: str | None, layer: str) -> Finding:
    row = int(t.rows[i]) if i is not None and i < len(t.rows) else None
    line = t.line(i) if i is not None and i < len(t.rows) else None
    return Finding(code, message, file=t.path, line=line, row=row, field=field, layer=layer)


def text_frame(t: Table) -> pl.DataFrame:
    """The cells as written, each field's missing values as null (what both libraries validate)."""
    columns = []
    for f in t.schema.fields:
        if f.name in t.text.columns:
            columns.append(pl.when(~pl.col(f.name).is_in(list(f.missing_values))).then(pl.col(f.name)).alias(f.name))
    return t.text.select(columns)


# ---------------------------------------------------------------- pandera (polars backend)


def _expr_check(name: str, make: Callable[[pl.Series], pl.Series], error: str | None = None) -> Any:
    """A pandera polars Check from a function of the column (missing values always pass)."""
    import pandera.polars as pap

    def check(data: Any) -> pl.LazyFrame:
        frame = data.lazyframe.collect()
        column = frame.get_column(data.key)
        return pl.DataFrame({data.key: column.is_null() | make(column).fill_null(False)}).lazy()

    return pap.Check(check, name=name, error=error)


def pandera_schema(schema: Schema) -> Any:
    """An in-memory pandera schema of the text frame, built from the Table Schema (no code is generated)."""
    import pandera.polars as pap

    columns = {}
    for f in schema.fields:
        _kind(f)  # raises ExportError for what pandera cannot mirror
        checks = []
        if f.type != "string" or f.format != "default":
            checks.append(_expr_check("type", lambda s, f=f: ~cast(f, s).invalid, f.type))
        for c, value in applicable(f):
            make = c.backends.get("pandera_polars")
            try:
                got = make(f, value) if make else None
            except ValueError as e:
                raise ExportError(str(e)) from None
            if got is not None:
                checks.append(_expr_check(*got))
        nullable = not f.required and f.name not in schema.primary_key
        columns[f.name] = pap.Column(pl.Utf8, checks=checks, nullable=nullable)
    return pap.DataFrameSchema(columns, strict=False, unique=list(schema.primary_key) or None)


def run_pandera(pkg: Package, tables: dict[str, Table], unread: set[str], seen: set) -> list[Finding]:
    """Layer "pandera": each table through its pandera schema; only what the tables layer did not report."""
    import pandera.polars as pap

    out = _not_checked("pandera", unread, pkg.tables)
    for t in tables.values():
        try:
            schema = pandera_schema(t.schema)
            schema.validate(text_frame(t), lazy=True)
        except ExportError as e:
            out.append(Finding("unsupported", f"pandera cannot check this: {e}", file=t.path, layer="pandera"))
        except pap.errors.SchemaErrors as e:
            for case in e.failure_cases.iter_rows(named=True):
                code = _CODES.get(case["check"], "constraint-error")
                field = case["column"] or ",".join(t.schema.primary_key)
                i = case["index"]
                finding = _located(t, i, code, f"{case['failure_case']!r} fails pandera check {case['check']!r}",
                                   field, "pandera")
                if (finding.file, finding.row, finding.field) not in seen:
                    out.append(finding)
    return out


# ---------------------------------------------------------------- Great Expectations


def ge_frame(t: Table) -> Any:
    """The pandas frame the suites expect (see exports.ge_suite): text, numbers as numbers where all are."""
    import pandas as pd

    df = text_frame(t).to_pandas()
    for f in t.schema.fields:
        if f.type in NUMERIC and f.name in df.columns:
            typed = t.frame.get_column(f.name)
            if not (df[f.name].notna() & typed.is_null().to_pandas()).any():  # every present cell is a number
                df[f.name] = pd.Series(typed.to_list(), dtype="Float64" if f.type == "number" else "Int64")
    return df


def run_ge(pkg: Package, tables: dict[str, Table], unread: set[str], seen: set,
           results: dict | None = None) -> list[Finding]:
    """Layer "great_expectations": every suite against its table, in an ephemeral context (nothing written).
    `results` (table -> validation result) keeps GE's own results, for Data Docs of the same run."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics over the network
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    layer = "great_expectations"
    out = _not_checked(layer, unread, pkg.tables)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = ctx.data_sources.add_pandas("package")
    for name, t in tables.items():
        try:
            suite_dict = ge_suite(t.resource if t.resource.schema else replace(t.resource, schema=t.schema))
        except ExportError as e:
            out.append(Finding("unsupported", f"Great Expectations cannot check this: {e}", file=t.path, layer=layer))
            continue
        df = ge_frame(t)
        batch = source.add_dataframe_asset(f"t{len(out)}-{name}").add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=name, expectations=suite_dict["expectations"], meta=suite_dict["meta"])
        result = batch.get_batch(batch_parameters={"dataframe": df}).validate(suite, result_format="COMPLETE")
        if results is not None:
            results[name] = result
        for r in result.results:
            if r.success:
                continue
            cfg = r.expectation_config
            field = cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list", []))
            if raised := _exception(r.exception_info):
                out.append(Finding("unsupported", f"{cfg.type} could not run: {raised}", file=t.path, field=field,
                                   layer=layer))
                continue
            idx = r.result.get("unexpected_index_list") or []
            values = r.result.get("unexpected_list") or []
            code = "type-error" if cfg.type.endswith(("type_list", "strftime_format")) else "constraint-error"
            for k, i in enumerate(idx):
                value = values[k] if k < len(values) else None
                finding = _located(t, i if isinstance(i, int) else None, code, f"{value!r} fails {cfg.type}",
                                   field, layer)
                if (finding.file, finding.row, finding.field) not in seen:
                    out.append(finding)
            if not idx and (t.path, None, field) not in seen and not any(f.file == t.path and f.field == field
                                                                          for f in out):
                observed = r.result.get("observed_value")
                out.append(Finding("constraint-error", f"{cfg.type} failed (observed {observed!r})", file=t.path,
                                   field=field, layer=layer))
    return out


def _exception(info: dict | None) -> str | None:
    """GE 1.x nests exception info by metric id; older shapes have it flat."""
    if not info:
        return None
    for item in [info, *[v for v in info.values() if isinstance(v, dict)]]:
        if item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None
