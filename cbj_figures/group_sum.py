"""Kind `group_sum` checks a whole long table at once (vectorized with polars) instead of
naming figures: within `table`, rows are grouped by the `group_by` fields, and in each group
the rows selected by the `parts` filter must sum to the one row selected by the `total`
filter, every value entering as its printed interval (or as an exact number when the field
has no `printed` property):

      - id: observations-segments-sum
        kind: group_sum
        description: the segments of each region and period add up to its total
        table: observations
        group_by: [region_id, period]         # one field or a list
        parts: {segment: {not: total}}        # filters: field -> value, [values] or {not: value or [values]}
        total: {segment: total}               # (null matches a missing value; conditions are and-ed)
        where: {metric: revenue}              # optional: rows outside it take no part
        field: value                          # optional: the figure field, when the table has several
        complete: true                        # optional: every group must have both parts and a total

A failing group is reported at its total row (file, line, field) with the computed and the
printed interval; a group with two totals, an unreadable printed figure, a row selected by
both filters or a filter matching no row at all are findings too. Without `complete`, groups
lacking parts or a total are not checked, and the reconciliation row says how many.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .findings import Finding
from .printed import ScaledFigures, decimal_column, parse_column
from .rulefile import (
    LAYER,
    OP_WORDS,
    FigureIndex,
    Filter,
    GroupSum,
    LoadedTableLike,
    Rule,
    RuleError,
    Tables,
    canon,
    line_of,
    row_key,
)

# ------------------------------------------------------------------ group_sum


def compile_group_sum(item: dict, idx: FigureIndex, rid: str, line: int | None) -> GroupSum:
    """Compile a group_sum rule against the table it names (fields checked now)."""
    table = item["table"]
    if not isinstance(table, str) or table not in idx.tables:
        idx.unknown_table(table, f"rule {rid!r}: unknown table {table!r}", line_of(item, "table", line))
    columns = idx.columns[table]
    schema_fields = {f.name: f.descriptor for f in idx.tables[table].schema.fields}

    def known_field(name: Any, what: str, where: int | None) -> str:
        if not isinstance(name, str) or name not in columns:
            raise RuleError(
                f"rule {rid!r}: {what} {name!r} is not a field of table {table!r} (fields: {', '.join(columns)})", where
            )
        return name

    by_line = line_of(item, "group_by", line)
    by = item["group_by"]
    by = [by] if isinstance(by, str) else by
    if not isinstance(by, list) or not by:
        raise RuleError(f"rule {rid!r}: 'group_by' must be a field name or a non-empty list of field names", by_line)
    group_by = tuple(known_field(b, "group_by field", line_of(item["group_by"], i, by_line)) for i, b in enumerate(by))
    if len(set(group_by)) != len(group_by):
        raise RuleError(f"rule {rid!r}: 'group_by' names a field twice", by_line)

    def filt(key: str, empty_ok: bool = False) -> Filter:
        value, where = item.get(key, {}), line_of(item, key, line)
        usage = "a mapping of field names to a value, a list of values, or {not: value or list}"
        if not isinstance(value, dict) or (not value and not empty_ok):
            raise RuleError(f"rule {rid!r}: {key!r} must be a filter: {usage}", where)
        conditions = []
        for name, wanted in value.items():
            at = line_of(value, name, where)
            known_field(name, f"{key!r} filters on", at)
            negated = False
            if isinstance(wanted, dict):
                if set(wanted) != {"not"}:
                    other = sorted(map(str, set(wanted) - {"not"})) or ["(nothing)"]
                    raise RuleError(
                        f"rule {rid!r}: {key!r} condition on {name!r} has unknown operator {other[0]!r} "
                        f"(a value, a list of values, or {{not: ...}})",
                        at,
                    )
                negated, wanted = True, wanted["not"]
            values = list(wanted) if isinstance(wanted, list) else [wanted]
            if not values or any(isinstance(v, (list, dict)) for v in values):
                raise RuleError(
                    f"rule {rid!r}: {key!r} condition on {name!r} needs plain values (text, number, true/false, null)",
                    at,
                )
            conditions.append((name, tuple(canon(v) for v in values), negated))
        return Filter(tuple(conditions))

    parts, total, where = filt("parts"), filt("total"), filt("where", empty_ok=True)
    numeric = {n: f for n, f in schema_fields.items() if f.get("type") in ("number", "integer") and n in columns}
    if "field" in item:
        fname = known_field(item["field"], "'field'", line_of(item, "field", line))
        if fname not in numeric:
            where = line_of(item, "field", line)
            raise RuleError(f"rule {rid!r}: field {fname!r} is not a number or integer field", where)
    else:
        figures = (
            [n for n, f in numeric.items() if f.get("printed")]
            or [n for n, f in numeric.items() if f.get("unit")]
            or list(numeric)
        )
        if len(figures) != 1:
            raise RuleError(
                f"rule {rid!r}: table {table!r} has {len(figures)} candidate figure fields "
                f"({', '.join(figures) or 'none'}); name one with 'field'",
                line,
            )
        fname = figures[0]
    spec, unit = numeric[fname], None
    if spec.get("printed"):
        try:
            unit = idx.unit(spec.get("unit"))
        except ValueError as e:
            raise RuleError(f"rule {rid!r}: field {fname!r} has printed figures, but {e}", line) from None
        for prop in ("printed", "qualifier"):
            if spec.get(prop) and spec[prop] not in columns:
                raise RuleError(f"rule {rid!r}: the {prop} field {spec[prop]!r} of {fname!r} is not in the table", line)
    complete = item.get("complete", False)
    if not isinstance(complete, bool):
        raise RuleError(f"rule {rid!r}: 'complete' must be true or false", line_of(item, "complete", line))
    lines = {k: line_of(item, k, line) for k in ("parts", "total", "where")}
    return GroupSum(table, group_by, parts, total, where, fname, spec, complete, lines, unit,
                    row_key(idx.tables[table], idx.claims.id))


def _filter_expr(f: Filter, schema: pl.Schema) -> pl.Expr:
    """A boolean column: the rows matching every condition, cells compared by their CSV spelling."""
    out = pl.lit(True)
    for name, values, negated in f.conditions:
        col, dtype = pl.col(name), schema[name]
        wanted = [v for v in values if v is not None]
        if dtype.is_float():
            numbers = [float(v) for v in wanted if _is_number(v)]
            match = col.is_in(numbers) if numbers else pl.lit(False)
        else:
            canon = pl.when(col != "").then(col) if dtype == pl.Utf8 else col.cast(pl.Utf8)
            match = canon.is_in(wanted) if wanted else pl.lit(False)
        match = match.fill_null(False)
        if None in values:
            match = match | col.is_null()
        out = out & (~match if negated else match)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def eval_group_sum(rule: Rule, g: GroupSum, tables: Tables) -> tuple[list[Finding], str, str]:
    """Every group at once; returns (failures, computed summary, printed summary)."""
    t = tables[g.table]
    frame, path = t.frame, t.path
    lines = t.lines if t.lines is not None else t.rows
    out: list[Finding] = []
    desc = rule.description or rule.kind

    def fail(code: str, message: str, line: int | None, fld: str | None, **kw: str) -> None:
        out.append(Finding(code, message, file=path, line=line, field=fld, layer=LAYER, rule=rule.id, **kw))

    def at_rule(message: str, key: str) -> tuple[list[Finding], str, str]:
        out.append(Finding("rule-error", message, file=rule.file, line=g.lines.get(key) or rule.line, layer=LAYER,
                           rule=rule.id))
        return out, "not evaluated", "not evaluated"

    where = _filter_expr(g.where, frame.schema)
    sel = frame.select(
        (where & _filter_expr(g.parts, frame.schema)).alias("_part"),
        (where & _filter_expr(g.total, frame.schema)).alias("_total"),
    )
    both = sel["_part"] & sel["_total"]
    if both.any():
        for i in both.arg_true().to_list():
            message = f"row is selected by both 'parts' {g.parts} and 'total' {g.total}"
            fail("rule-error", message, int(lines[i]), g.group_by[0])
        return out, "not evaluated", "not evaluated"
    for key, f in (("parts", g.parts), ("total", g.total)):
        if not sel["_" + key.rstrip("s")].any():
            return at_rule(f"no row of table {g.table!r} matches the {key!r} filter {f}", key)

    selected = sel["_part"] | sel["_total"]
    keep = selected.arg_true()
    sub = frame.select(*g.group_by).with_columns(_row=pl.int_range(pl.len(), dtype=keep.dtype), _line=lines)
    sub = sub.with_columns(_part=sel["_part"])
    if len(keep) < frame.height:
        sub = sub.filter(selected)
    try:
        scaled = _figures(t, g, keep)
    except ValueError as e:
        return at_rule(f"cannot evaluate: {e}", "total")
    figs = scaled.frame
    sub = sub.with_columns(
        _ok=figs["present"] & figs["error"].is_null(), _lo=figs["lo"], _hi=figs["hi"], _error=figs["error"]
    )
    unreadable = sub.filter(~pl.col("_ok"))
    for row in unreadable.iter_rows(named=True):
        why = row["_error"] or "no figure (the value or its printed text is missing)"
        fail("rule-error", f"cannot evaluate: {why}", row["_line"], g.spec.get("printed") or g.field)

    part, tot = pl.col("_part"), ~pl.col("_part")
    groups = sub.group_by(list(g.group_by), maintain_order=True).agg(
        n_parts=part.sum(),
        n_totals=tot.sum(),
        bad=(~pl.col("_ok")).sum(),
        lo=pl.col("_lo").filter(part).sum(),
        hi=pl.col("_hi").filter(part).sum(),
        lo_inf=pl.col("_lo").filter(part).is_null().any(),
        hi_inf=pl.col("_hi").filter(part).is_null().any(),
        t_lo=pl.col("_lo").filter(tot).first(),
        t_hi=pl.col("_hi").filter(tot).first(),
        t_row=pl.col("_row").filter(tot).first(),
        t_line=pl.col("_line").filter(tot).first(),
        t_lines=pl.col("_line").filter(tot).head(2),
        first_line=pl.col("_line").first(),
    )
    checked = (pl.col("n_parts") > 0) & (pl.col("n_totals") == 1) & (pl.col("bad") == 0)
    meets_ = (pl.col("lo_inf") | pl.col("t_hi").is_null() | (pl.col("lo") <= pl.col("t_hi"))) & (
        pl.col("t_lo").is_null() | pl.col("hi_inf") | (pl.col("t_lo") <= pl.col("hi"))
    )
    groups = groups.with_columns(_checked=checked, _holds=checked & meets_)

    def label(row: dict) -> str:
        return ", ".join(f"{k}={row[k]}" for k in g.group_by)

    twice = groups.filter(pl.col("n_totals") > 1)
    for row in twice.iter_rows(named=True):
        a, b = row["t_lines"]
        msg = f"group {label(row)} has {row['n_totals']} rows matching 'total' {g.total} (lines {a}, {b}, ...)"
        fail("rule-failed", msg, b, g.field)
    incomplete = groups.filter((pl.col("n_parts") == 0) | (pl.col("n_totals") == 0))
    if g.complete:
        for row in incomplete.iter_rows(named=True):
            missing = "no total row" if row["n_totals"] == 0 else "no part rows"
            msg = f"group {label(row)} has {missing} (the rule is 'complete')"
            fail("rule-failed", msg, row["first_line"], g.field)

    failing = groups.filter(pl.col("_checked") & ~pl.col("_holds"))
    has_ids = g.id_field is not None and g.id_field in frame.columns
    printed_field = g.spec.get("printed")
    for row in failing.iter_rows(named=True):
        computed = scaled.interval(None if row["lo_inf"] else row["lo"], None if row["hi_inf"] else row["hi"])
        printed = scaled.interval(row["t_lo"], row["t_hi"])
        cells = frame.row(row["t_row"], named=True)
        text = f" ({cells[printed_field]})" if printed_field else ""
        what = f"{g.table}/{cells[g.id_field]}{text}" if has_ids else f"the total{text}"
        msg = f"{desc}: computed {computed} {OP_WORDS['meets']} {what} {printed} (group {label(row)})"
        fail("rule-failed", msg, row["t_line"], g.field, computed=str(computed), printed=str(printed))

    n_checked = int(groups["_checked"].sum())
    n_hold = int(groups["_holds"].sum())
    skipped = 0 if g.complete else incomplete.height
    holds = "group holds" if n_checked == 1 else "groups hold"
    computed_s = f"{n_hold:,} {holds}" if n_hold == n_checked else f"{n_hold:,} of {n_checked:,} {holds}"
    printed_s = f"{_plural(n_checked, 'printed total')}"
    if skipped:
        printed_s += f"; {_plural(skipped, 'group')} without both parts and a total not checked"
    return out, computed_s, printed_s


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _figures(t: LoadedTableLike, g: GroupSum, rows: pl.Series) -> ScaledFigures:
    """The figure field of the selected rows: printed intervals, or exact stored values."""
    frame = t.frame
    every = len(rows) == frame.height

    def column(s: pl.Series) -> pl.Series:
        return s if every else s.gather(rows)

    if g.unit is not None:
        printed = column(frame.get_column(g.spec["printed"]))
        qcol = g.spec.get("qualifier")
        qualifier = column(frame.get_column(qcol)) if qcol else None
        return parse_column(printed, qualifier, g.unit)
    return decimal_column(column(t.text.get_column(g.field)))
