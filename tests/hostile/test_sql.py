"""Attack 2: SQL injection in `build`.

`build` writes a DuckDB database whose DDL is made from the Table Schemas. The promise: DDL is
built from validated numbers and quoted identifiers only, so a schema can neither run a
statement of its own nor write a file outside `--out`; what cannot be expressed safely is
refused with a clear error (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from .conftest import (
    NAME,
    RELEASE,
    Runner,
    assert_no_traceback,
    changed,
    edit_descriptor,
    edit_schema,
    field_of,
    read_rows,
    rehash,
    resource_of,
    snapshot,
    write_rows,
)


def _outside(tmp_path: Path) -> dict:
    """Everything of the test's folder except the output folder and the runner's scratch space."""
    snap = snapshot(tmp_path)
    return {k: v for k, v in snap.items() if not k.startswith(("out/", "run/")) and k not in ("out", "run")}


def _database(out: Path) -> Path:
    return out / RELEASE / f"{NAME}.duckdb"


@pytest.mark.parametrize(
    "bound",
    [
        "0) ; COPY (SELECT 42) TO '{pwned}' ; --",
        "0)); COPY (SELECT 42) TO '{pwned}'; CREATE TABLE smuggled (figure_id VARCHAR, x INT CHECK (x >= 0",
    ],
    ids=["comment-out", "balanced"],
)
def test_a_numeric_bound_cannot_inject_sql(bound: str, pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`minimum` is pasted into a CHECK: a string there must be refused, never executed."""
    pwned = tmp_path / "victim" / "pwned.csv"
    pwned.parent.mkdir()
    edit_schema(pkg, "market_size", lambda s: field_of(s, "value")["constraints"].update(
        minimum=bound.format(pwned=pwned)))
    before = _outside(tmp_path)
    result = cli("build", pkg, "--out", tmp_path / "out")
    assert not pwned.exists(), f"SQL from the schema ran and wrote {pwned}\n{result.brief()}"
    assert changed(before, _outside(tmp_path)) == [], "build wrote outside --out"
    assert_no_traceback(result)
    assert result.rc == 2, f"a non-numeric minimum must be refused (exit 2):\n{result.brief()}"


def test_an_enum_value_with_quotes_is_escaped(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """An allowed value `it's'); DROP TABLE sources; --` is data: the CHECK keeps it as a literal."""
    evil = "it's'); DROP TABLE sources; --"
    edit_schema(pkg, "leasing_deals", lambda s: field_of(s, "lease_structure")["constraints"]["enum"].append(evil))
    out = tmp_path / "out"
    result = cli("build", pkg, "--out", out)
    assert_no_traceback(result)
    assert result.rc == 0, result.brief()
    con = duckdb.connect(str(_database(out)))
    try:
        tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"sources", "leasing_deals"} <= tables
        row = con.execute("SELECT * FROM leasing_deals LIMIT 1").fetchone()
        columns = [d[0] for d in con.description]
        assert row is not None
        template = dict(zip(columns, row, strict=True))
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        template["deal_id"] = "hostile-enum-probe"
        template["lease_structure"] = evil
        con.execute(f"INSERT INTO leasing_deals ({names}) VALUES ({marks})", list(template.values()))
        template["deal_id"], template["lease_structure"] = "hostile-enum-probe-2", "rental"
        with pytest.raises(duckdb.ConstraintException):  # the CHECK still bites: values outside the enum fail
            con.execute(f"INSERT INTO leasing_deals ({names}) VALUES ({marks})", list(template.values()))
    finally:
        con.close()


def test_a_field_name_with_a_double_quote_is_quoted(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """A field `no"te` becomes exactly that column, or the build is refused; nothing else happens."""
    name = 'no"te); DROP TABLE sources; --'
    edit_schema(pkg, "market_size", lambda s: field_of(s, "note").update(name=name))
    rows = read_rows(pkg, "market_size")
    rows[0][rows[0].index("note")] = name
    write_rows(pkg, "market_size", rows)
    rehash(pkg)
    before = _outside(tmp_path)
    out = tmp_path / "out"
    result = cli("build", pkg, "--out", out)
    assert_no_traceback(result)
    assert changed(before, _outside(tmp_path)) == [], "build wrote outside --out"
    assert result.rc in (0, 2), result.brief()
    if result.rc == 0:
        con = duckdb.connect(str(_database(out)), read_only=True)
        try:
            columns = [r[0] for r in con.execute("DESCRIBE market_size").fetchall()]
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        finally:
            con.close()
        assert name in columns and "sources" in tables


def test_a_resource_name_with_a_double_quote_is_quoted(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """A resource `market"size` becomes exactly that table, or the build is refused."""
    name = 'market"size"; DROP TABLE sources; --'
    edit_descriptor(pkg, lambda d: resource_of(d, "market_size").update(name=name))
    before = _outside(tmp_path)
    out = tmp_path / "out"
    result = cli("build", pkg, "--out", out)
    assert_no_traceback(result)
    assert changed(before, _outside(tmp_path)) == [], "build wrote outside --out"
    assert result.rc in (0, 2), result.brief()
    if result.rc == 0:
        con = duckdb.connect(str(_database(out)), read_only=True)
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        finally:
            con.close()
        assert {name, "sources"} <= tables
