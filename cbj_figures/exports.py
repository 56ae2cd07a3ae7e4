"""pandera schemas and Great Expectations suites generated from the Table Schemas (one source of truth).

Written to `validators/pandera/<table>.py` (plain pandas + pandera, no import of ours) and
`validators/great_expectations/<table>.json` (`ExpectationSuite.to_json_dict()` shape).
Both read the CSV as text: `pandas.read_csv(path, dtype=str, keep_default_na=False,
na_values=<missingValues>)` -- without `keep_default_na=False` pandas turns "NA", "null",
"n/a", ... into NaN and a figure id "NA" would vanish.

Neither can express foreign keys (cross-table); the tables layer checks those. Number fields
with `groupChar`, `decimalChar` or `bareNumber: false` are refused (ExportError), not guessed.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import polars as pl

from cbj_figures.descriptor import PackageSpec, TableSpec, as_list, load_package
from cbj_figures.report import Finding
from cbj_figures.tables import (
    CAP,
    FALSE_VALUES,
    TRUE_VALUES,
    LoadedTable,
    cast_expr,
    cast_values,
    missing_values,
    partial_date,
    read_tables,
)

PANDERA_DIR = "validators/pandera"
GE_DIR = "validators/great_expectations"

# Lexical forms of a valid cell (Table Schema defaults), shared by both exports.
LEXICAL = {
    "integer": r"[+-]?\d+",
    "number": r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(NaN|INF|inf)",
    "year": r"\d{4}",
    "yearmonth": r"\d{4}-(0[1-9]|1[0-2])",
    "date": r"\d{4}-\d{2}-\d{2}",
    "datetime": r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?",
    "time": r"\d{2}:\d{2}:\d{2}",
}
STRING_FORMATS = {
    "email": r"[^@\s]+@[^@\s]+\.[^@\s]+",
    "uri": r"[A-Za-z][A-Za-z0-9+.\-]*:\S+",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "binary": r"[A-Za-z0-9+/]*={0,2}",
}
STRPTIME = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%dT%H:%M:%S", "time": "%H:%M:%S"}
NUMERIC = ("integer", "number", "year")


class ExportError(Exception):
    """A Table Schema feature the exports cannot mirror faithfully."""


def _kind(field: dict) -> str:
    kind = field.get("type", "string")
    if kind in ("integer", "number") and (
        {"groupChar", "decimalChar"} & field.keys() or field.get("bareNumber") is False
    ):
        raise ExportError(f"field {field['name']!r}: groupChar/decimalChar/bareNumber are not exported")
    return kind


def _lexical(field: dict) -> str | None:
    """Full-match regex of a valid cell, or None when the type has no textual check (date formats, any)."""
    kind, fmt = _kind(field), field.get("format")
    if kind == "string":
        return STRING_FORMATS.get(fmt)
    if kind in STRPTIME and fmt not in (None, "default"):
        return None
    return LEXICAL.get(kind)


def _strptime(field: dict) -> str | None:
    kind, fmt = field.get("type"), field.get("format")
    if kind not in STRPTIME or fmt == "any":
        return None
    return STRPTIME[kind] if fmt in (None, "default") else fmt


def _pk(schema: dict) -> list[str]:
    return as_list(schema.get("primaryKey"))


def _nullable(field: dict, schema: dict) -> bool:
    return not field.get("constraints", {}).get("required") and field["name"] not in _pk(schema)


# ---------------------------------------------------------------- pandera (pandas) module


def _py(value: object) -> str:
    """A deterministic, double-quoted Python literal (JSON's string syntax is valid Python)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


class _Code(str):
    """Source text that `_call` inserts as is (an expression, not a literal)."""

    __slots__ = ()


def _call(func: str, args: list[object], indent: int, **kwargs: object) -> str:
    """`func(arg, ..., key=value)` on one line when it fits in 100 columns, else one argument a line."""
    parts = [a if isinstance(a, _Code) else _py(a) for a in args]
    parts += [f"{k}={v if isinstance(v, _Code) else _py(v)}" for k, v in kwargs.items()]
    one = f"{func}({', '.join(parts)})"
    if indent + len(one) <= 100:
        return one
    pad = " " * (indent + 4)
    lines = []
    for arg in [*args, *kwargs.values()]:
        key = "" if len(lines) < len(args) else f"{list(kwargs)[len(lines) - len(args)]}="
        text = arg if isinstance(arg, _Code) else _py(arg)
        if isinstance(arg, list) and len(pad + key + text) > 100:  # one item a line
            text = "[\n" + "".join(f"{pad}    {_py(v)},\n" for v in arg) + f"{pad}]"
        lines.append(f"{pad}{key}{text},\n")
    return f"{func}(\n{''.join(lines)}{' ' * indent})"


def _pandas_checks(field: dict, indent: int) -> list[str]:
    """The `pa.Check(...)` expressions of one field, as source text."""
    kind, c, out = _kind(field), field.get("constraints", {}), []

    def check(func: str, *args: object, **kwargs: object) -> None:
        out.append(_call(func, list(args), indent, **kwargs))

    if (rx := _lexical(field)) is not None:
        check("pa.Check", _Code(f"lambda s: s.str.fullmatch({_py(rx)})"), name="type", error="type")
    if kind == "boolean":
        values = field.get("trueValues", TRUE_VALUES) + field.get("falseValues", FALSE_VALUES)
        check("pa.Check.isin", values, name="type", error="type")
    if (fmt := _strptime(field)) and kind != "datetime":
        check("pa.Check", _Code(f"lambda s: _dates(s, {_py(fmt)}).notna()"), name="type", error="type")
    if "enum" in c:
        if kind in NUMERIC:
            check("pa.Check", _Code(f"lambda s: _numbers(s).isin({_py(c['enum'])})"), name="enum", error="enum")
        else:
            check("pa.Check.isin", [str(v) for v in c["enum"]], name="enum", error="enum")
    ops = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}
    for rule, op in ops.items():
        if rule not in c:
            continue
        if kind in NUMERIC:
            check("pa.Check", _Code(f"lambda s: _bound(_numbers(s), {_py(op)}, {_py(c[rule])})"), name=rule, error=rule)
        elif (fmt := _strptime(field)) and kind != "datetime":
            bound = f"pd.Timestamp({_py(str(c[rule]))})"
            check(
                "pa.Check", _Code(f"lambda s: _bound(_dates(s, {_py(fmt)}), {_py(op)}, {bound})"), name=rule, error=rule
            )
        else:
            raise ExportError(f"field {field['name']!r}: {rule} on type {kind!r} is not exported")
    if kind == "string" and ("minLength" in c or "maxLength" in c):
        check("pa.Check.str_length", min_value=c.get("minLength"), max_value=c.get("maxLength"), error="length")
    if kind == "string" and "pattern" in c:  # str_matches is re.match: anchored at the start only
        check("pa.Check.str_matches", "(?:" + c["pattern"] + r")\Z", name="pattern", error="pattern")
    if field.get("partialDate"):
        check("pa.Check", _Code("lambda s: _partial_dates(s).notna()"), name="partialDate", error="partialDate")
    if c.get("unique") and _nullable(field, {}):  # Column(unique=True) would count missing values as duplicates
        check("pa.Check", _Code("lambda s: ~s.duplicated(keep=False)"), name="unique", error="unique")
    return out


MODULE = '''"""pandera schema of table `{name}`: generated from {schema_path} — do not edit.

Regenerate with `cbj-figures export`. Needs only pandas and pandera.

Convention: `schema` validates the cells exactly as written, missing values as NA, i.e. the frame

    pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=MISSING_VALUES)

that `read_csv(path)` below returns (`keep_default_na=False`: pandas' defaults turn "NA", "null",
"n/a", ... into NaN). Types are checked on that text (check "type"), so no coercion is involved. Failure
cases name the Table Schema rule: type, enum, minimum, ..., length, pattern, unique.
Foreign keys are not checked here (they span tables).

    from validators.pandera.{name} import read_csv, schema
    schema.validate(read_csv("{path}"), lazy=True)
"""

import pandas as pd
import pandera.pandas as pa

MISSING_VALUES = {missing}


def read_csv(path) -> pd.DataFrame:
    """The table as text, missing values as NA: the frame `schema` expects."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=MISSING_VALUES)


def _numbers(s: pd.Series) -> pd.Series:
    """Numeric values; NaN where a cell is not a number (its "type" check reports it)."""
    return pd.to_numeric(s, errors="coerce")


def _dates(s: pd.Series, fmt: str) -> pd.Series:
    """Parsed dates; NaT for a cell that is not a real date (2025-02-30) or not in `fmt`."""
    return pd.to_datetime(s, format=fmt, errors="coerce")


def _partial_dates(s: pd.Series) -> pd.Series:
    """YYYY, YYYY-MM or YYYY-MM-DD as its first day; NaT when no such day exists (2025-02-30)."""
    padded = s.where(s.str.len() != 4, s + "-01-01")
    return pd.to_datetime(padded.where(padded.str.len() != 7, padded + "-01"), format="%Y-%m-%d", errors="coerce")


def _bound(values: pd.Series, op: str, bound) -> pd.Series:
    """A minimum/maximum; a cell that does not parse is left to its "type" check."""
    return getattr(values, op)(bound) | values.isna()


schema = pa.DataFrameSchema(
    {{
{columns}    }},
    strict=True,
    ordered=True,
    unique={unique},
    name={name_literal},
)
'''


def pandera_module(spec: TableSpec) -> str:
    """Source of `validators/pandera/<table>.py`: importable with only pandas and pandera installed."""
    schema, columns = spec.schema, []
    for f in schema["fields"]:
        checks = "".join(f"                {c},\n" for c in _pandas_checks(f, 16))
        checks = f"[\n{checks}            ]" if checks else "[]"
        unique = bool(f.get("constraints", {}).get("unique")) and not _nullable(f, {})
        columns.append(
            f"        {_py(f['name'])}: pa.Column(\n"
            f"            str,\n"
            f"            checks={checks},\n"
            f"            nullable={_nullable(f, schema)},\n"
            f"            unique={unique},\n"
            f"        ),\n"
        )
    return MODULE.format(
        name=spec.name,
        name_literal=_py(spec.name),
        schema_path=spec.schema_path,
        path=spec.path,
        missing=_py(missing_values(schema)),
        columns="".join(columns),
        unique=_py(_pk(schema) or None),
    )


# ---------------------------------------------------------------- pandera (polars) in memory


def _expr_check(name: str, make: Callable[[pl.Expr], pl.Expr], error: str | None = None):
    """A pandera polars Check from a column expression (missing values always pass)."""
    import pandera.polars as pap

    def check(data) -> pl.LazyFrame:
        col = pl.col(data.key)
        return data.lazyframe.select(col.is_null() | make(col).fill_null(False))

    return pap.Check(check, name=name, error=error)


def pandera_schema(table_schema: dict):
    """An in-memory pandera (polars backend) schema of the text frame, missing values as null.

    Same rules as the generated pandas module; polars because it checks 1M rows in well under
    a second where pandas' per-cell regex and parsing take several.
    """
    import pandera.polars as pap

    pk = _pk(table_schema)
    columns = {}
    for f in table_schema["fields"]:
        kind, c, checks = _kind(f), f.get("constraints", {}), []
        if kind != "string" or f.get("format") in STRING_FORMATS:
            checks.append(_expr_check("type", lambda e, f=f: cast_expr(f, e).is_not_null(), kind))
        if "enum" in c:
            allowed = [v for v in cast_values(f, c["enum"]) if v is not None]
            checks.append(_expr_check("enum", lambda e, f=f, a=allowed: cast_expr(f, e).is_in(a)))
        for rule, op in (("minimum", "ge"), ("maximum", "le"), ("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")):
            if rule in c and (bound := cast_values(f, [c[rule]])[0]) is not None:
                checks.append(_expr_check(rule, lambda e, f=f, op=op, b=bound: getattr(cast_expr(f, e), op)(b)))
        if kind == "string" and "minLength" in c:
            checks.append(_expr_check("minLength", lambda e, n=c["minLength"]: e.str.len_chars() >= n))
        if kind == "string" and "maxLength" in c:
            checks.append(_expr_check("maxLength", lambda e, n=c["maxLength"]: e.str.len_chars() <= n))
        if kind == "string" and "pattern" in c:
            checks.append(_expr_check("pattern", lambda e, p=c["pattern"]: e.str.contains(f"^(?:{p})$")))
        if f.get("partialDate"):
            checks.append(_expr_check("partialDate", lambda e: partial_date(e).is_not_null()))
        if c.get("unique"):
            checks.append(_expr_check("unique", lambda e: ~e.is_duplicated()))
        columns[f["name"]] = pap.Column(pl.Utf8, checks=checks, nullable=_nullable(f, table_schema))
    return pap.DataFrameSchema(columns, strict=True, ordered=True, unique=pk or None)


def text_frame(t: LoadedTable) -> pl.DataFrame:
    """The cells as written with the schema's missing values as null (what both exports validate)."""
    missing = missing_values(t.spec.schema)
    return t.text.with_columns(pl.when(~pl.col(n).is_in(missing)).then(pl.col(n)).alias(n) for n in t.text.columns)


_RULES = {"not_nullable": "required", "field_uniqueness": "unique", "multiple_fields_uniqueness": "primary-key"}


def run_pandera(tables: dict[str, LoadedTable]) -> list[Finding]:
    """Layer "pandera": each readable table against its in-memory pandera schema, located by line."""
    import pandera.polars as pap

    out: list[Finding] = []
    for t in tables.values():
        try:
            pap_schema = pandera_schema(t.spec.schema)
            pap_schema.validate(text_frame(t), lazy=True)
        except ExportError as e:
            out.append(Finding("pandera", "unsupported", str(e), file=t.spec.schema_path))
        except pap.errors.SchemaErrors as e:
            out += _pandera_findings(t, e.failure_cases)
    return out


def _pandera_findings(t: LoadedTable, cases: pl.DataFrame) -> list[Finding]:
    out: list[Finding] = []
    counts: dict[tuple, int] = {}
    pk = ",".join(_pk(t.spec.schema))
    for row in cases.iter_rows(named=True):
        rule = _RULES.get(row["check"], row["check"])
        field = row["column"] or (pk if rule == "primary-key" else None)
        key = (rule, field)
        counts[key] = counts.get(key, 0) + 1
        if counts[key] > CAP:
            continue
        line = t.lines[row["index"]] if row["index"] is not None else None
        msg = f"{row['failure_case']!r} fails pandera check {row['check']!r}"
        out.append(Finding("pandera", rule, msg, file=t.spec.path, line=line, field=field))
    for (rule, field), n in counts.items():
        if n > CAP:
            out.append(Finding("pandera", rule, f"... and {n - CAP} more failures", file=t.spec.path, field=field))
    return out


# ---------------------------------------------------------------- Great Expectations suites


def _expect(kind: str, **kwargs: object) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": "critical"}


def ge_suite(spec: TableSpec) -> dict:
    """An ExpectationSuite (to_json_dict shape) mirroring the Table Schema.

    Meant for the frame `ge_frame` builds: text, with integer/number/year columns converted to
    pandas Int64/Float64 when every cell is a valid number (GE compares those numerically).
    """
    schema, exps = spec.schema, []
    exps.append(_expect("expect_table_columns_to_match_ordered_list", column_list=spec.field_names))
    for f in schema["fields"]:
        name, kind, c = f["name"], _kind(f), f.get("constraints", {})
        if not _nullable(f, schema):
            exps.append(_expect("expect_column_values_to_not_be_null", column=name))
        if kind in ("integer", "year"):  # GE names pandas extension dtypes by class: "Int64Dtype"
            exps.append(
                _expect("expect_column_values_to_be_in_type_list", column=name, type_list=["Int64Dtype", "int64"])
            )
        elif kind == "number":
            exps.append(
                _expect("expect_column_values_to_be_in_type_list", column=name, type_list=["Float64Dtype", "float64"])
            )
        elif kind == "boolean":
            values = f.get("trueValues", TRUE_VALUES) + f.get("falseValues", FALSE_VALUES)
            exps.append(_expect("expect_column_values_to_be_in_set", column=name, value_set=values))
        elif (rx := _lexical(f)) is not None:
            exps.append(_expect("expect_column_values_to_match_regex", column=name, regex=f"^(?:{rx})$"))
        if (fmt := _strptime(f)) and kind != "datetime":
            exps.append(_expect("expect_column_values_to_match_strftime_format", column=name, strftime_format=fmt))
        if c.get("unique"):
            exps.append(_expect("expect_column_values_to_be_unique", column=name))
        if "enum" in c:
            values = c["enum"] if kind in NUMERIC else [str(v) for v in c["enum"]]
            exps.append(_expect("expect_column_values_to_be_in_set", column=name, value_set=values))
        low = c.get("minimum", c.get("exclusiveMinimum"))
        high = c.get("maximum", c.get("exclusiveMaximum"))
        # GE 1.x compares only values of one Python type (a missing value, NaN, breaks a text column):
        # bounds are mirrored for numbers only; date bounds live in the tables and pandera layers.
        if (low is not None or high is not None) and kind in NUMERIC:
            exps.append(
                _expect(
                    "expect_column_values_to_be_between",
                    column=name,
                    min_value=low,
                    max_value=high,
                    strict_min="exclusiveMinimum" in c,
                    strict_max="exclusiveMaximum" in c,
                )
            )
        if kind == "string" and ("minLength" in c or "maxLength" in c):
            exps.append(
                _expect(
                    "expect_column_value_lengths_to_be_between",
                    column=name,
                    min_value=c.get("minLength"),
                    max_value=c.get("maxLength"),
                )
            )
        if kind == "string" and "pattern" in c:
            exps.append(_expect("expect_column_values_to_match_regex", column=name, regex=f"^(?:{c['pattern']})$"))
    if len(pk := _pk(schema)) > 1:
        exps.append(_expect("expect_compound_columns_to_be_unique", column_list=pk))
    elif pk and not any(
        e["type"] == "expect_column_values_to_be_unique" and e["kwargs"]["column"] == pk[0] for e in exps
    ):
        exps.append(_expect("expect_column_values_to_be_unique", column=pk[0]))
    meta = {
        "generated_from": spec.schema_path,
        "note": "generated — do not edit; regenerate with `cbj-figures export`",
        "loader": "pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=missing_values); "
        "then integer/number/year columns whose cells all match their lexical form -> Int64/Float64",
        "missing_values": missing_values(schema),
    }
    return {"name": spec.name, "id": None, "expectations": exps, "meta": meta, "notes": None}


def ge_frame(path: Path, table_schema: dict):
    """The pandas frame the suites expect (see `ge_suite`); a column with a bad number stays text."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=missing_values(table_schema))
    for f in table_schema["fields"]:
        kind, name = f.get("type"), f["name"]
        if kind in NUMERIC and name in df.columns:
            s = df[name]
            if (s.isna() | s.str.fullmatch(LEXICAL[kind])).all():
                df[name] = pd.to_numeric(s).astype("Float64" if kind == "number" else "Int64")
    return df


def run_ge(pkg: PackageSpec, tables: dict[str, LoadedTable]) -> list[Finding]:
    """Layer "great_expectations": every suite against its CSV, in an ephemeral context (nothing written)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no usage statistics over the network
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = ctx.data_sources.add_pandas("package")
    out: list[Finding] = []
    for name, t in tables.items():
        try:
            suite_dict = ge_suite(t.spec)
        except ExportError as e:
            out.append(Finding("great_expectations", "unsupported", str(e), file=t.spec.schema_path))
            continue
        df = ge_frame(pkg.root / t.spec.path, t.spec.schema)
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        suite = gx.ExpectationSuite(name=name, expectations=suite_dict["expectations"], meta=suite_dict["meta"])
        result = batch.get_batch(batch_parameters={"dataframe": df}).validate(suite, result_format="COMPLETE")
        located = len(df) == len(t.lines)  # blank rows, dropped by the tables layer, would shift lines
        for r in result.results:
            if r.success:
                continue
            cfg = r.expectation_config
            field = cfg.kwargs.get("column") or ",".join(cfg.kwargs.get("column_list", []))
            rule = cfg.type.removeprefix("expect_")
            if raised := _exception(r.exception_info):
                msg = f"{cfg.type} raised: {raised}"
                out.append(Finding("great_expectations", rule, msg, file=t.spec.path, field=field))
                continue
            idx = r.result.get("unexpected_index_list") or []
            values = r.result.get("unexpected_list") or []
            for k, i in enumerate(idx[:CAP]):
                value = values[k] if k < len(values) else None
                line = int(t.lines[i]) if located and isinstance(i, int) else None
                out.append(
                    Finding(
                        "great_expectations",
                        rule,
                        f"{value!r} fails {cfg.type}",
                        file=t.spec.path,
                        line=line,
                        field=field,
                    )
                )
            if len(idx) > CAP:
                out.append(
                    Finding("great_expectations", rule, f"... and {len(idx) - CAP} more", file=t.spec.path, field=field)
                )
            if not idx:
                observed = r.result.get("observed_value")
                out.append(
                    Finding(
                        "great_expectations",
                        rule,
                        f"{cfg.type} failed (observed {observed!r})",
                        file=t.spec.path,
                        field=field,
                    )
                )
    return out


def _exception(info: dict | None) -> str | None:
    """GE 1.x nests exception info by metric id; older shapes have it flat."""
    if not info:
        return None
    for item in [info, *[v for v in info.values() if isinstance(v, dict)]]:
        if item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None


# ---------------------------------------------------------------- writing and staleness


def generated(pkg: PackageSpec) -> dict[str, str]:
    """Every export file (relative path -> content), deterministic: sorted, stable formatting."""
    files = {}
    for name in sorted(pkg.tables):
        spec = pkg.tables[name]
        files[f"{PANDERA_DIR}/{name}.py"] = pandera_module(spec)
        files[f"{GE_DIR}/{name}.json"] = json.dumps(ge_suite(spec), ensure_ascii=False, indent=2) + "\n"
    return files


def export(root: Path) -> list[str]:
    """Write the exports for the package at `root`; returns the paths written (relative)."""
    root = Path(root)
    files = generated(load_package(root))
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="\n")
    return sorted(files)


def stale_exports(root: Path) -> list[Finding]:
    """Exports that differ from what the schemas generate now (missing, changed or orphaned); writes nothing.

    A package that ships no validators/ folder has no exports to keep in step.
    """
    root = Path(root)
    if not (root / "validators").is_dir():
        return []
    pkg = load_package(root)
    try:
        files = generated(pkg)
    except ExportError as e:
        return [Finding("descriptor", "unsupported", str(e))]
    out = []
    for rel, content in files.items():
        path = root / rel
        if not path.is_file():
            out.append(Finding("descriptor", "stale-export", "export missing: run `cbj-figures export`", file=rel))
        elif path.read_text(encoding="utf-8") != content:
            out.append(Finding("descriptor", "stale-export", "export differs from its schema: re-export", file=rel))
    for folder, ext in ((PANDERA_DIR, "py"), (GE_DIR, "json")):
        for path in sorted((root / folder).glob(f"*.{ext}")):
            rel = path.relative_to(root).as_posix()
            if rel not in files and path.name != "__init__.py":
                out.append(Finding("descriptor", "stale-export", "export of no table (schema removed?)", file=rel))
    return out


if __name__ == "__main__" and sys.argv[1:2] == ["--pandera"]:  # the second process of run_pandera_beside
    _tables, _ = read_tables(load_package(Path(sys.argv[2])))
    print(json.dumps([asdict(f) for f in run_pandera(_tables)], ensure_ascii=False), flush=True)
    os._exit(0)  # no interpreter teardown: the findings are out (see cli.run)
