"""pandera schema of table `company_ranks`: generated from schemas/company_ranks.json — do not edit.

Regenerate with `cbj-figures export`. Needs only pandas and pandera.

Convention: `schema` validates the cells exactly as written, missing values as NA, i.e. the frame

    pandas.read_csv(path, dtype=str, keep_default_na=False, na_values=MISSING_VALUES)

that `read_csv(path)` below returns (`keep_default_na=False`: pandas' defaults turn "NA", "null",
"n/a", ... into NaN). Types are checked on that text (check "type"), so no coercion is involved. Failure
cases name the Table Schema rule: type, enum, minimum, ..., minLength, maxLength, pattern, unique.
Foreign keys are not checked here (they span tables).

    from validators.pandera.company_ranks import read_csv, schema
    schema.validate(read_csv("resources/company_ranks.csv"), lazy=True)
"""

import pandas as pd
import pandera.pandas as pa

MISSING_VALUES = [""]


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
    {
        "figure_id": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[a-z0-9]+(-[a-z0-9]+)*$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
            ],
            nullable=False,
            unique=True,
        ),
        "entity_id": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[a-z0-9]+(_[a-z0-9]+)*$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
            ],
            nullable=False,
            unique=False,
        ),
        "metric": pa.Column(
            str,
            checks=[
                pa.Check.isin(["market_rank"], name="enum", error="enum"),
            ],
            nullable=False,
            unique=False,
        ),
        "segment": pa.Column(
            str,
            checks=[
                pa.Check.isin(
                    ["total", "ai_cluster_products", "ai_cluster_operations"],
                    name="enum",
                    error="enum",
                ),
            ],
            nullable=False,
            unique=False,
        ),
        "market_id": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[a-z0-9]+(_[a-z0-9]+)*$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
            ],
            nullable=True,
            unique=False,
        ),
        "base_period": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
                pa.Check(
                    lambda s: _partial_dates(s).notna(),
                    name="partialDate",
                    error="partialDate",
                ),
            ],
            nullable=True,
            unique=False,
        ),
        "period": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
                pa.Check(
                    lambda s: _partial_dates(s).notna(),
                    name="partialDate",
                    error="partialDate",
                ),
            ],
            nullable=True,
            unique=False,
        ),
        "value": pa.Column(
            str,
            checks=[
                pa.Check(lambda s: s.str.fullmatch("[+-]?\\d+"), name="type", error="type"),
                pa.Check(lambda s: _bound(_numbers(s), "ge", 1), name="minimum", error="minimum"),
            ],
            nullable=False,
            unique=False,
        ),
        "printed": pa.Column(
            str,
            checks=[
                pa.Check.str_length(min_value=1, name="minLength", error="minLength"),
            ],
            nullable=False,
            unique=False,
        ),
        "qualifier": pa.Column(
            str,
            checks=[
                pa.Check.isin(
                    [
                        "exact",
                        "approx",
                        "more_than",
                        "at_least",
                        "nearly",
                        "at_most",
                        "range_low",
                        "range_high",
                    ],
                    name="enum",
                    error="enum",
                ),
            ],
            nullable=False,
            unique=False,
        ),
        "is_forecast": pa.Column(
            str,
            checks=[
                pa.Check.isin(
                    ["true", "True", "TRUE", "1", "false", "False", "FALSE", "0"],
                    name="type",
                    error="type",
                ),
            ],
            nullable=False,
            unique=False,
        ),
        "inferred": pa.Column(
            str,
            checks=[
                pa.Check.isin(
                    ["true", "True", "TRUE", "1", "false", "False", "FALSE", "0"],
                    name="type",
                    error="type",
                ),
            ],
            nullable=False,
            unique=False,
        ),
        "inference_note": pa.Column(
            str,
            checks=[],
            nullable=True,
            unique=False,
        ),
        "attributed_to": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[a-z0-9]+(_[a-z0-9]+)*$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
            ],
            nullable=True,
            unique=False,
        ),
        "source_id": pa.Column(
            str,
            checks=[
                pa.Check.str_matches(
                    "(?:^[a-z0-9]+(-[a-z0-9]+)*$)\\Z",
                    name="pattern",
                    error="pattern",
                ),
            ],
            nullable=False,
            unique=False,
        ),
        "quote": pa.Column(
            str,
            checks=[
                pa.Check.str_length(min_value=1, name="minLength", error="minLength"),
            ],
            nullable=False,
            unique=False,
        ),
        "note": pa.Column(
            str,
            checks=[],
            nullable=True,
            unique=False,
        ),
    },
    strict=True,
    ordered=True,
    unique=["figure_id"],
    name="company_ranks",
)
