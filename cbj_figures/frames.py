"""A table's typed outputs: polars for `load(engine="polars")`, pandas for `load()`, Arrow for Parquet and DuckDB.

One place renders every field type to every column type (types.py names them), so the loader,
the release build and the site all agree: nullable integers and floats, booleans, dates, and a
string field with an `enum` as a categorical in the enum's order.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pyarrow as pa

from cbj_figures.schema import Field, Schema


def _enum(field: Field) -> list[str] | None:
    enum = field.constraints.get("enum")
    return [str(v) for v in enum] if enum and field.type == "string" else None


def typed_frame(schema: Schema, frame: pl.DataFrame) -> pl.DataFrame:
    """Columns in schema order, each of its field's type; enum-constrained strings become `pl.Enum`."""
    columns = []
    for f in schema.fields:
        if f.name not in frame.columns:
            continue
        enum = _enum(f)
        dtype: Any = pl.Enum(list(dict.fromkeys(enum))) if enum else f.kind.polars
        columns.append(pl.col(f.name).cast(dtype, strict=False))
    return frame.select(columns)


def to_pandas(schema: Schema, frame: pl.DataFrame) -> Any:
    """Nullable pandas dtypes: Int64, Float64, boolean, string, datetime64 for dates, category for enums."""
    import pandas as pd

    data = {}
    for f in schema.fields:
        if f.name not in frame.columns:
            continue
        values = frame.get_column(f.name).to_list()
        enum = _enum(f)
        dtype: Any = pd.CategoricalDtype(list(dict.fromkeys(enum))) if enum else f.kind.pandas
        if dtype == "datetime64[ns]":
            data[f.name] = pd.Series(pd.to_datetime(values), dtype=dtype)
        else:
            data[f.name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(data)


def arrow_table(
    schema: Schema,
    frame: pl.DataFrame,
    extra: dict[str, pa.Array] | None = None,
    described: tuple[str, ...] = ("description",),
) -> pa.Table:
    """Columns in schema order, Arrow types from the schema; enums as dictionaries in enum order.

    Each column carries its field's description (`described`: with its declared translations) and unit
    as Arrow field metadata; `extra` columns (e.g. a figure's low/high interval) follow their field.
    """
    arrays, fields = [], []
    for f in schema.fields:
        if f.name not in frame.columns:
            continue
        values = frame.get_column(f.name).to_list()
        enum = _enum(f)
        if enum:
            categories = list(dict.fromkeys(enum))
            indices = pa.array([None if v is None else categories.index(v) for v in values], pa.int32())
            array: pa.Array = pa.DictionaryArray.from_arrays(indices, pa.array(categories, pa.string()))
        else:
            array = pa.array(values, f.kind.arrow)
        meta = {k: str(f.get(k)) for k in (*described, "unit") if f.get(k)}
        arrays.append(array)
        fields.append(pa.field(f.name, array.type, nullable=not f.required, metadata=meta or None))
        for name, column in (extra or {}).items():
            if name.startswith(f"{f.name}_") and name.rsplit("_", 1)[0] == f.name:
                arrays.append(column)
                fields.append(pa.field(name, column.type, metadata={"description": f"{name.rsplit('_', 1)[1]} end "
                                       f"of the interval {f.name} stands for (its printed precision and qualifier)"}))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
