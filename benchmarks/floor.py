"""The floor: a hand-written polars validator of the checks `cbj-figures validate` runs on the benchmark's packages.

    python benchmarks/floor.py PATH/datapackage.json               # prints VALID or INVALID (exit 0 or 1)
    python benchmarks/floor.py --streaming PATH/datapackage.json   # the same checks in polars' streaming engine

Only what those packages need (it is not a general validator): local CSV tables, comma-separated,
UTF-8, header on line 1, one record a line; schemas inline or in a file; field types string,
integer, number, year and boolean (default formats); constraints required, unique, pattern,
enum, minimum, maximum, minLength, maxLength; primary keys, foreign keys (anti-join); the
declared `hash` (sha256) and `bytes` of each file. For each table: the header against the
schema, every cell cast to its type (a failure counted), then the constraints on the cells that
are of their type, all as one polars query over a frame of text columns. The hash is computed
in a thread while polars parses (hashlib releases the GIL).

`--streaming`: the same query over `pl.scan_csv` collected by polars' streaming engine (batches,
memory bounded by what the query keeps: the distinct keys), the foreign keys as streaming anti-joins.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from pathlib import Path

import polars as pl

TRUE, FALSE = ["true", "True", "TRUE", "1"], ["false", "False", "FALSE", "0"]


def typed(field: dict, text: pl.Expr) -> pl.Expr:
    """The cell as its type; null where it is not of the type."""
    kind = field.get("type", "string")
    if kind == "integer":
        return text.cast(pl.Int64, strict=False)
    if kind == "number":
        return text.cast(pl.Float64, strict=False)
    if kind == "year":
        return pl.when(text.str.len_bytes() == 4).then(text.cast(pl.Int64, strict=False)).otherwise(None)
    if kind == "boolean":
        return pl.when(text.is_in(TRUE)).then(True).when(text.is_in(FALSE)).then(False)
    if kind == "string":
        return text
    raise SystemExit(f"floor.py: type {kind!r} is not supported")


def bound(field: dict, value: object) -> object:
    return float(value) if field.get("type") == "number" else int(value)  # type: ignore[arg-type]


def checks(field: dict, missing: list[str]) -> list[tuple[str, pl.Expr]]:
    """(name, count of failing rows) of each rule of one field."""
    name, c = field["name"], field.get("constraints", {})
    text = pl.col(name)
    present = text.is_not_null() & ~text.is_in(missing)
    value = typed(field, text)
    out = [("type", (present & value.is_null()).sum())]
    ok = present & value.is_not_null()  # a cell of the wrong type skips the constraints
    if c.get("required"):
        out.append(("required", (~present).sum()))
    if c.get("unique"):
        out.append(("unique", ok.sum() - value.filter(ok).n_unique()))  # rows that repeat an earlier value
    if "pattern" in c:
        out.append(("pattern", (ok & ~text.str.contains(f"^(?:{c['pattern']})$")).sum()))
    if "enum" in c:
        allowed = pl.Series([bound(field, v) if field.get("type") in ("integer", "number", "year") else v
                             for v in c["enum"]])
        out.append(("enum", (ok & ~value.is_in(allowed.implode())).sum()))
    for key, op in (("minimum", "lt"), ("maximum", "gt")):
        if key in c:
            out.append((key, (ok & getattr(value, op)(bound(field, c[key]))).sum()))
    for key, op in (("minLength", "lt"), ("maxLength", "gt")):
        if key in c:
            out.append((key, (ok & getattr(text.str.len_chars(), op)(c[key])).sum()))
    return [(f"{name}: {rule}", expr.alias(f"{name}: {rule}")) for rule, expr in out]


def sha256(path: Path, into: dict) -> None:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
            size += len(chunk)
    into["hash"], into["bytes"] = f"sha256:{digest.hexdigest()}", size


def schema_of(root: Path, res: dict) -> dict:
    schema = res["schema"]
    return json.loads((root / schema).read_text(encoding="utf-8")) if isinstance(schema, str) else schema


def key_fields(fk: dict) -> tuple[list[str], list[str]]:
    own, theirs = fk["fields"], fk["reference"]["fields"]
    return ([own], [theirs]) if isinstance(own, str) else (own, theirs)


def validate(descriptor: Path) -> list[str]:
    """Every error found, as text (empty: valid)."""
    root = descriptor.parent
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    schemas = {res["name"]: schema_of(root, res) for res in package["resources"]}
    keys: dict[str, set[str]] = {name: set() for name in schemas}  # the columns foreign keys need, by table
    for name, schema in schemas.items():
        for fk in schema.get("foreignKeys", []):
            own, theirs = key_fields(fk)
            keys[name] |= set(own)
            keys.setdefault(fk["reference"].get("resource") or name, set()).update(theirs)
    errors: list[str] = []
    frames: dict[str, pl.DataFrame] = {}  # the key columns of each table, typed
    lazies: dict[str, pl.LazyFrame] = {}  # the same, as queries (--streaming)
    for res in package["resources"]:
        path, schema = root / res["path"], schemas[res["name"]]
        fields = schema["fields"]
        missing = [m if isinstance(m, str) else m["value"] for m in schema.get("missingValues", [""])]
        file: dict = {}
        hasher = threading.Thread(target=sha256, args=(path, file)) if "hash" in res or "bytes" in res else None
        if hasher:
            hasher.start()
        with path.open(encoding="utf-8") as fh:
            header = fh.readline().rstrip("\r\n").split(",")
        names = [f["name"] for f in fields]
        if header != names:
            errors.append(f"{res['path']}:1: header {header} is not the schema's fields {names}")
        elif STREAMING:
            lazy = pl.scan_csv(path, infer_schema=False)
            pk = schema.get("primaryKey", [])
            pk = [pk] if isinstance(pk, str) else pk
            rules = [expr for f in fields for _, expr in checks(f, missing)]
            if pk:
                key = pl.col(pk[0]) if len(pk) == 1 else pl.struct(pk)
                rules.append((pl.len() - key.n_unique()).alias(f"primary key {pk}"))
            counts = lazy.select(rules).collect(engine="streaming").row(0, named=True)
            errors += [f"{res['path']}: {n} row(s) break {rule}" for rule, n in counts.items() if n]
            lazies[res["name"]] = lazy.select(
                typed(f, pl.col(f["name"]).replace(missing, None)) for f in fields if f["name"] in keys[res["name"]])
        else:
            frame = pl.read_csv(path, infer_schema=False)
            pk = schema.get("primaryKey", [])
            pk = [pk] if isinstance(pk, str) else pk
            rules = [expr for f in fields for _, expr in checks(f, missing)]
            if pk:  # rows that repeat an earlier key
                key = pl.col(pk[0]) if len(pk) == 1 else pl.struct(pk)
                rules.append((pl.len() - key.n_unique()).alias(f"primary key {pk}"))
            counts = frame.select(rules).row(0, named=True)  # one query: polars runs the rules in parallel
            errors += [f"{res['path']}: {n} row(s) break {rule}" for rule, n in counts.items() if n]
            frames[res["name"]] = frame.select(
                typed(f, pl.col(f["name"]).replace(missing, None)) for f in fields if f["name"] in keys[res["name"]])
            del frame
        if hasher:
            hasher.join()
            if "hash" in res and res["hash"] != file["hash"]:
                errors.append(f"{res['path']}: hash {file['hash']} is not the declared {res['hash']}")
            if "bytes" in res and res["bytes"] != file["bytes"]:
                errors.append(f"{res['path']}: {file['bytes']} bytes, not the declared {res['bytes']}")
    for name, schema in schemas.items():
        for fk in schema.get("foreignKeys", []):
            own, theirs = key_fields(fk)
            target = fk["reference"].get("resource") or name
            renamed = (pl.col(a).alias(b) for a, b in zip(own, theirs, strict=True))
            if STREAMING and name in lazies and target in lazies:
                child = lazies[name].with_row_index("i").select("i", *renamed)
                child = child.filter(pl.any_horizontal(pl.col(theirs).is_not_null()))
                dangling = child.join(lazies[target].select(theirs).unique(), on=theirs, how="anti", nulls_equal=True)
                for i in dangling.select("i").head(10).collect(engine="streaming")["i"]:
                    errors.append(f"{name}:{i + 2}: {own} not in {target}{theirs}")
                continue
            if name not in frames or target not in frames:
                errors.append(f"{name}: foreign key {own} to {target!r} not checked (a table was not read)")
                continue
            child = frames[name].with_row_index("i").select("i", *renamed)
            child = child.filter(pl.any_horizontal(pl.col(theirs).is_not_null()))  # a key all empty is not checked
            dangling = child.join(frames[target].select(theirs).unique(), on=theirs, how="anti", nulls_equal=True)
            for i in dangling["i"].head(10):
                errors.append(f"{name}:{i + 2}: {own} not in {target}{theirs}")
    return errors


STREAMING = False


def main() -> int:
    global STREAMING
    args = sys.argv[1:]
    STREAMING = args[0] == "--streaming"
    errors = validate(Path(args[-1]))
    print("\n".join([*errors, "INVALID" if errors else "VALID"]))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
