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
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cbj_figures import safeio
from cbj_figures.constraints import applicable
from cbj_figures.findings import Finding
from cbj_figures.package import Package, Resource, open_package
from cbj_figures.schema import Field, Schema

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
EXPORTED = ("string", "integer", "number", "boolean", "date", "datetime", "time", "year", "yearmonth", "any")
TRUE_VALUES = ["true", "True", "TRUE", "1"]
FALSE_VALUES = ["false", "False", "FALSE", "0"]
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")  # a table name that is also a safe file name


class ExportError(Exception):
    """A Table Schema feature the exports cannot mirror faithfully."""


def _kind(field: Field) -> str:
    if field.type in ("integer", "number") and (
        {"groupChar", "decimalChar"} & field.descriptor.keys() or field.get("bareNumber") is False
    ):
        raise ExportError(f"field {field.name!r}: groupChar/decimalChar/bareNumber are not exported")
    if field.type not in EXPORTED:
        raise ExportError(f"field {field.name!r}: type {field.type!r} is not exported")
    return field.type


def _lexical(field: Field) -> str | None:
    """Full-match regex of a valid cell, or None when the type has no textual check (date formats, any)."""
    kind, fmt = _kind(field), field.format
    if kind == "string":
        return STRING_FORMATS.get(fmt)
    if kind in STRPTIME and fmt != "default":
        return None
    return LEXICAL.get(kind)


def _strptime(field: Field) -> str | None:
    kind, fmt = field.type, field.format
    if kind not in STRPTIME or fmt == "any":
        return None
    return STRPTIME[kind] if fmt == "default" else fmt


def _nullable(field: Field, schema: Schema | None) -> bool:
    return not field.required and (schema is None or field.name not in schema.primary_key)


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


def _pandas_checks(field: Field, indent: int) -> list[str]:
    """The `pa.Check(...)` expressions of one field, as source text."""
    kind, out = _kind(field), []

    def check(func: str, *args: object, **kwargs: object) -> None:
        out.append(_call(func, list(args), indent, **kwargs))

    if (rx := _lexical(field)) is not None:
        check("pa.Check", _Code(f"lambda s: s.str.fullmatch({_py(rx)})"), name="type", error="type")
    if kind == "boolean":
        values = list(field.get("trueValues", TRUE_VALUES)) + list(field.get("falseValues", FALSE_VALUES))
        check("pa.Check.isin", values, name="type", error="type")
    if (fmt := _strptime(field)) and kind != "datetime":
        check("pa.Check", _Code(f"lambda s: _dates(s, {_py(fmt)}).notna()"), name="type", error="type")
    out_ = PanderaOut(field, kind, _strptime(field), check)
    for constraint, value in applicable(field):
        if (func := constraint.backends.get("pandera")) is not None:
            func(field, value, out_)
    if field.get("partialDate"):
        check("pa.Check", _Code("lambda s: _partial_dates(s).notna()"), name="partialDate", error="partialDate")
    if field.unique and _nullable(field, None):  # Column(unique=True) would count missing values as duplicates
        check("pa.Check", _Code("lambda s: ~s.duplicated(keep=False)"), name="unique", error="unique")
    return out


@dataclass
class PanderaOut:
    """What a constraint's `pandera` function writes with: `check(func, *args, **kwargs)` adds a check."""

    field: Field
    kind: str
    strptime: str | None
    check: Callable[..., None]
    code = _Code
    py = staticmethod(_py)

    def refuse(self, why: str) -> None:
        raise ExportError(f"field {self.field.name!r}: {why}")


MODULE = '''"""pandera schema of table `{name}`: generated from {schema_path} — do not edit.

Regenerate with `cbj-figures export`. Needs only pandas and pandera.

Convention: `schema` validates the cells exactly as written, missing values as NA, i.e. the frame

    pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=MISSING_VALUES)

that `read_csv(path)` below returns (`keep_default_na=False`: pandas' defaults turn "NA", "null",
"n/a", ... into NaN). Types are checked on that text (check "type"), so no coercion is involved. Failure
cases name the Table Schema rule: type, enum, minimum, ..., minLength, maxLength, pattern, unique.
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


def pandera_module(spec: Resource) -> str:
    """Source of `validators/pandera/<table>.py`: importable with only pandas and pandera installed."""
    schema, columns = spec.schema, []
    for f in schema.fields:
        checks = "".join(f"                {c},\n" for c in _pandas_checks(f, 16))
        checks = f"[\n{checks}            ]" if checks else "[]"
        unique = f.unique and not _nullable(f, None)
        columns.append(
            f"        {_py(f.name)}: pa.Column(\n"
            f"            str,\n"
            f"            checks={checks},\n"
            f"            nullable={_nullable(f, schema)},\n"
            f"            unique={unique},\n"
            f"        ),\n"
        )
    return MODULE.format(
        name=spec.name,
        name_literal=_py(spec.name),
        schema_path=spec.schema_file or "datapackage.json",
        path=spec.path,
        missing=_py(list(schema.missing_values)),
        columns="".join(columns),
        unique=_py(list(schema.primary_key) or None),
    )


# ---------------------------------------------------------------- Great Expectations suites


def _expect(kind: str, **kwargs: object) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {}, "severity": "critical"}


def ge_suite(spec: Resource) -> dict:
    """An ExpectationSuite (to_json_dict shape) mirroring the Table Schema.

    Meant for the frame `ge_frame` builds: text, with integer/number/year columns converted to
    pandas Int64/Float64 when every cell is a valid number (GE compares those numerically).
    """
    schema, exps = spec.schema, []
    exps.append(_expect("expect_table_columns_to_match_ordered_list", column_list=schema.names))
    for f in schema.fields:
        name, kind = f.name, _kind(f)
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
            values = list(f.get("trueValues", TRUE_VALUES)) + list(f.get("falseValues", FALSE_VALUES))
            exps.append(_expect("expect_column_values_to_be_in_set", column=name, value_set=values))
        elif (rx := _lexical(f)) is not None:
            exps.append(_expect("expect_column_values_to_match_regex", column=name, regex=f"^(?:{rx})$"))
        if (fmt := _strptime(f)) and kind != "datetime":
            exps.append(_expect("expect_column_values_to_match_strftime_format", column=name, strftime_format=fmt))
        for constraint, value in applicable(f):
            if (func := constraint.backends.get("ge")) is not None:
                exps += func(f, value, kind)
    if len(pk := list(schema.primary_key)) > 1:
        exps.append(_expect("expect_compound_columns_to_be_unique", column_list=pk))
    elif pk and not any(
        e["type"] == "expect_column_values_to_be_unique" and e["kwargs"]["column"] == pk[0] for e in exps
    ):
        exps.append(_expect("expect_column_values_to_be_unique", column=pk[0]))
    meta = {
        "generated_from": spec.schema_file or "datapackage.json",
        "note": "generated — do not edit; regenerate with `cbj-figures export`",
        "loader": "pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=missing_values); "
        "then integer/number/year columns whose cells all match their lexical form -> Int64/Float64",
        "missing_values": list(schema.missing_values),
    }
    return {"name": spec.name, "id": None, "expectations": exps, "meta": meta, "notes": None}


# ---------------------------------------------------------------- writing and staleness


def generated(pkg: Package) -> dict[str, str]:
    """Every export file (relative path -> content), deterministic: sorted, stable formatting."""
    files = {}
    for name in sorted(pkg.tables):
        res = pkg.tables[name]
        if res.schema is None:
            continue
        if not SAFE_NAME.match(name):
            raise ExportError(f"table name {name!r} is not a safe file name ([a-z0-9._-]): not exported")
        files[f"{PANDERA_DIR}/{name}.py"] = pandera_module(res)
        files[f"{GE_DIR}/{name}.json"] = json.dumps(ge_suite(res), ensure_ascii=False, indent=2) + "\n"
    return files


def export(root: Path) -> list[str]:
    """Write the exports for the package at `root` (inside its validators/ only); the paths written."""
    pkg = open_package(root)
    files = generated(pkg)
    for rel, content in files.items():
        safeio.write(safeio.under(pkg.root, rel), content)
    return sorted(files)


def stale_exports(pkg: Package) -> list[Finding]:
    """Exports that differ from what the schemas generate now (missing, changed or orphaned); writes nothing.

    A package that ships no validators/ folder has no exports to keep in step.
    """
    root = pkg.root
    if not (root / "validators").is_dir():
        return []
    try:
        files = generated(pkg)
    except ExportError as e:
        return [Finding("unsupported", str(e), layer="conventions")]
    out = []
    for rel, content in files.items():
        try:
            current = safeio.read_inside(root, rel).decode("utf-8")
        except FileNotFoundError:
            out.append(Finding("stale-export", "export missing: run `cbj-figures export`", file=rel))
            continue
        except (safeio.UnsafeInput, UnicodeDecodeError) as e:
            out.append(Finding("stale-export", f"export unreadable: {e}", file=rel))
            continue
        if current != content:
            out.append(Finding("stale-export", "export differs from its schema: re-export", file=rel))
    for folder, ext in ((PANDERA_DIR, "py"), (GE_DIR, "json")):
        for path in sorted((root / folder).glob(f"*.{ext}")):
            rel = path.relative_to(root).as_posix()
            if rel not in files and path.name != "__init__.py":
                out.append(Finding("stale-export", "export of no table (schema removed?)", file=rel))
    return out
