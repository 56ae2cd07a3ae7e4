"""Wide views of the release database, declared by the package (`views:` in schemas/fields.yaml).

A view is data, not SQL: a table, the fields that make its rows, the field whose values become
columns, the value field, and a filter of plain values. It is compiled here with every identifier
quoted and every value a string literal, so a package cannot smuggle a statement into the build.

    views:
      revenue_by_segment_year:
        description: Revenue (CNY million) by segment and year
        table: company_financials
        rows: [entity_id, segment]
        columns: period            # one column per distinct value
        value: value
        where: {metric: revenue, period: {pattern: "[0-9]{4}"}, base_period: null}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbj_figures import registry

_KEYS = {"description", "table", "rows", "columns", "value", "where"}


class ViewError(ValueError):
    """A view the package declares that cannot be built."""


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class View:
    name: str
    table: str
    rows: tuple[str, ...]
    columns: str
    value: str
    where: tuple[tuple[str, Any], ...]
    description: str = ""

    def fields(self) -> set[str]:
        return {*self.rows, self.columns, self.value, *(f for f, _ in self.where)}

    def condition(self) -> str:
        """The filter as SQL: `field: value`, `[values]`, `null`, `{pattern: regex}`, `{not: ...}`."""
        return " AND ".join(_condition(ident(f), v) for f, v in self.where) or "TRUE"


def _condition(column: str, value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"not"}:
        return f"NOT ({_condition(column, value['not'])})"
    if isinstance(value, dict) and set(value) == {"pattern"}:
        return f"regexp_full_match({column}, {literal(value['pattern'])})"
    if value is None:
        return f"{column} IS NULL"
    if isinstance(value, list):
        return f"CAST({column} AS VARCHAR) IN ({', '.join(literal(_text(v)) for v in value)})"
    return f"CAST({column} AS VARCHAR) = {literal(_text(value))}"


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def declared(root: Path) -> list[View]:
    """The views of the package's registry ([] without one); ViewError for a malformed one."""
    doc = registry.document(root)
    raw = (doc or {}).get("views") or {}
    if not isinstance(raw, dict):
        raise ViewError("`views` in the registry is a mapping of view names to views")
    out = []
    for name, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) - _KEYS or not {"table", "rows", "columns"} <= set(spec):
            raise ViewError(f"view {name!r} needs table, rows and columns (and optional value, where, description)")
        rows = spec["rows"] if isinstance(spec["rows"], list) else [spec["rows"]]
        where = spec.get("where") or {}
        if not isinstance(where, dict) or not all(isinstance(r, str) for r in rows):
            raise ViewError(f"view {name!r}: rows are field names and where is a mapping of fields to values")
        value, description = str(spec.get("value", "value")), str(spec.get("description", ""))
        out.append(View(str(name), str(spec["table"]), tuple(rows), str(spec["columns"]), value, tuple(where.items()),
                        description))
    return out
