"""The descriptor and its Table Schemas: the single definition every other layer reads.

`load_package(root)` reads `datapackage.json` and each table resource's schema file, without
touching the data files; input it cannot use at all raises `PackageError` (exit 2).
`check_descriptor(pkg, profile)` reports what is wrong but usable, as findings.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from cbj_figures.profiles import V2_PACKAGE, official
from cbj_figures.report import Finding

V2_PROFILE = V2_PACKAGE
DESCRIPTOR = "datapackage.json"


class PackageError(Exception):
    """Input the toolkit cannot use at all (exit 2): broken JSON, missing schema file, ..."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.file, self.line = message, file, line

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class TableSpec:
    name: str
    path: str  # relative to the package root, POSIX style
    schema: dict  # the Table Schema, already loaded from schemas/<name>.json
    schema_path: str  # relative path of the schema file
    resource: dict  # the resource descriptor as written

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.schema.get("fields", [])]


@dataclass(frozen=True)
class TextSpec:
    name: str
    path: str
    resource: dict


@dataclass
class PackageSpec:
    root: Path
    descriptor: dict
    tables: dict[str, TableSpec] = field(default_factory=dict)
    texts: dict[str, TextSpec] = field(default_factory=dict)


# ---------------------------------------------------------------- loading


def _read_json(root: Path, rel: str) -> object:
    """Parse one JSON file; every way it can fail becomes a located PackageError."""
    path = root / rel
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise PackageError("file not found", file=rel) from None
    except UnicodeDecodeError as e:
        raise PackageError(f"not UTF-8: {e.reason}", file=rel) from None
    if text.startswith("\ufeff"):
        raise PackageError("starts with a UTF-8 BOM (write UTF-8 without BOM)", file=rel, line=1)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise PackageError(f"invalid JSON: {e.msg} (column {e.colno})", file=rel, line=e.lineno) from None


def safe_relpath(value: object, where: str) -> str:
    """A relative POSIX path inside the package; absolute or escaping paths are refused."""
    if not isinstance(value, str) or not value:
        raise PackageError(f"{where}: path must be a non-empty string, got {value!r}", file=DESCRIPTOR)
    p = PurePosixPath(value)
    if p.is_absolute() or "\\" in value or ":" in p.parts[0] or ".." in p.parts:
        raise PackageError(f"{where}: unsafe path {value!r} (must be relative, inside the package)", file=DESCRIPTOR)
    return p.as_posix()


def load_package(root: Path) -> PackageSpec:
    """Read the descriptor and the Table Schemas it points to (data files are not opened)."""
    root = Path(root)
    descriptor = _read_json(root, DESCRIPTOR)
    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("resources"), list):
        raise PackageError('descriptor must be an object with a "resources" list', file=DESCRIPTOR)
    pkg = PackageSpec(root=root, descriptor=descriptor)
    for i, res in enumerate(descriptor["resources"]):
        where = f"resources[{i}]"
        if not isinstance(res, dict) or not isinstance(res.get("name"), str):
            raise PackageError(f'{where}: a resource must be an object with a "name"', file=DESCRIPTOR)
        name = res["name"]
        if name in pkg.tables or name in pkg.texts:
            raise PackageError(f"{where}: duplicate resource name {name!r}", file=DESCRIPTOR)
        if res.get("type") == "table" or "schema" in res:
            path = safe_relpath(res.get("path"), where)
            schema_ref = res.get("schema")
            if isinstance(schema_ref, dict):  # inline schema: tolerated, the convention is a path
                schema, schema_path = schema_ref, DESCRIPTOR
            else:
                schema_path = safe_relpath(schema_ref, f"{where}.schema")
                schema = _read_json(root, schema_path)
            if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
                raise PackageError('a Table Schema must be an object with a "fields" list', file=schema_path)
            if not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in schema["fields"]):
                raise PackageError('every field needs a string "name"', file=schema_path)
            pkg.tables[name] = TableSpec(name, path, schema, schema_path, res)
        elif res.get("type") == "text" or res.get("format") == "txt":  # v2 profile allows only "table" as type
            pkg.texts[name] = TextSpec(name, safe_relpath(res.get("path"), where), res)
    return pkg


def inlined(pkg: PackageSpec) -> dict:
    """The descriptor with every schema path replaced by the loaded schema (what validators see)."""
    desc = copy.deepcopy(pkg.descriptor)
    for res in desc["resources"]:
        if res.get("name") in pkg.tables:
            res["schema"] = copy.deepcopy(pkg.tables[res["name"]].schema)
    return desc


# ---------------------------------------------------------------- checking


def _locate(pkg: PackageSpec, path: list) -> tuple[str, str]:
    """Map a JSON path in the inlined descriptor to (file, field): schema errors point at the schema file."""
    if len(path) >= 3 and path[0] == "resources" and path[2] == "schema":
        res = pkg.descriptor["resources"][path[1]]
        spec = pkg.tables.get(res.get("name"))
        if spec and spec.schema_path != DESCRIPTOR:
            return spec.schema_path, _jsonpath(path[3:])
    return DESCRIPTOR, _jsonpath(path)


def _jsonpath(path: list) -> str:
    out = "$"
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _frictionless(pkg: PackageSpec) -> list[Finding]:
    """frictionless' own metadata rules (profile + name/path/licence/... checks); messages only, no paths."""
    from frictionless import FrictionlessException, Package

    desc = inlined(pkg)
    found: list[str] = []
    try:  # metadata_validate yields every profile error, but raises on e.g. an unknown field type
        found += [e.message for e in Package.metadata_validate(desc)]
    except FrictionlessException as e:
        found.append(e.error.message)
    report = Package.validate_descriptor(desc, basepath=str(pkg.root))  # stops at the first error
    found += [e.message for e in report.errors]
    out = []
    for msg in dict.fromkeys(found):  # de-duplicated, in order
        prop = msg.rsplit(" at property '", 1)[1].rstrip("'") if " at property '" in msg else None
        out.append(Finding("descriptor", "frictionless", msg, file=DESCRIPTOR, field=prop))
    return out


def _jsonschema(pkg: PackageSpec, schema: dict) -> list[Finding]:
    """The official Data Package v2 JSON Schema, applied to the descriptor with schemas inlined."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    out = []
    for err in sorted(validator.iter_errors(inlined(pkg)), key=lambda e: list(map(str, e.absolute_path))):
        message = err.message
        if err.context:  # anyOf/oneOf: explain with the branch matching the "type", if any
            err = _branch_error(err)
            message = err.message
        file, where = _locate(pkg, list(err.absolute_path))
        out.append(Finding("descriptor", "profile", message[:300], file=file, field=where))
    return out


def _branch_error(err):
    """The most telling sub-error of an anyOf/oneOf failure (e.g. a field of an unknown type)."""
    from jsonschema.exceptions import best_match

    def on_type(e) -> bool:
        return list(e.relative_path)[-1:] == ["type"]

    branches: dict = {}
    for c in err.context:
        branches.setdefault(c.relative_schema_path[0], []).append(c)
    typed = [c for b in branches.values() if not any(on_type(c) for c in b) for c in b]
    return best_match(typed or [c for c in err.context if on_type(c)] or err.context)


def _references(pkg: PackageSpec) -> list[Finding]:
    """Key definitions frictionless accepts silently: unknown fields or resources in primary/foreign keys."""
    out = []
    for spec in pkg.tables.values():
        names = set(spec.field_names)

        def bad(msg: str, where: str, spec: TableSpec = spec) -> None:
            out.append(Finding("descriptor", "schema-reference", msg, file=spec.schema_path, field=where))

        for key in as_list(spec.schema.get("primaryKey")):
            if key not in names:
                bad(f"primary key field {key!r} is not a field", "$.primaryKey")
        for i, fk in enumerate(spec.schema.get("foreignKeys", [])):
            where = f"$.foreignKeys[{i}]"
            fields, ref = as_list(fk.get("fields")), fk.get("reference", {})
            target = ref.get("resource") or spec.name
            ref_fields = as_list(ref.get("fields"))
            for f in fields:
                if f not in names:
                    bad(f"foreign key field {f!r} is not a field", where)
            if target not in pkg.tables:
                bad(f"foreign key references unknown table {target!r}", where)
            elif missing := [f for f in ref_fields if f not in pkg.tables[target].field_names]:
                bad(f"foreign key references unknown fields {missing} of {target!r}", where)
            if len(fields) != len(ref_fields):
                bad("foreign key fields and reference fields differ in number", where)
    return out


def is_figure_field(field: dict) -> bool:
    """A numeric field holding published figures: it names its unit and its printed-text field (DESIGN.md, 2)."""
    return field.get("type") in ("number", "integer") and bool(field.get("unit")) and bool(field.get("printed"))


def as_list(value: object) -> list:
    """Keys may be written as a string (v1) or a list (v2)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def json_lines(text: str) -> dict[str, int]:
    """The line on which each value of a JSON text starts, by JSON path (`$.resources[3].hash`)."""
    decoder, lines = json.JSONDecoder(), {}

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n,:":
            i += 1
        return i

    def value(i: int, path: str) -> int:
        i = skip(i)
        lines[path] = text.count("\n", 0, i) + 1
        if text[i] == "{":
            i = skip(i + 1)
            while text[i] != "}":
                key, i = json.decoder.scanstring(text, i + 1)
                i = skip(value(i, f"{path}.{key}"))
            return i + 1
        if text[i] == "[":
            i, n = skip(i + 1), 0
            while text[i] != "]":
                i, n = skip(value(i, f"{path}[{n}]")), n + 1
            return i + 1
        return decoder.raw_decode(text, i)[1]

    value(0, "$")
    return lines


def locate_json(findings: list[Finding], root: Path) -> list[Finding]:
    """Give findings that point into a JSON file by JSON path the line of that path (or of its nearest parent)."""
    cache: dict[str, dict[str, int]] = {}
    out = []
    for f in findings:
        if f.line is None and f.file and f.file.endswith(".json") and (f.field or "").startswith("$"):
            if f.file not in cache:
                try:
                    cache[f.file] = json_lines((root / f.file).read_text(encoding="utf-8"))
                except (OSError, ValueError, IndexError):
                    cache[f.file] = {}
            path, lines = f.field, cache[f.file]
            while path and path not in lines:
                path = path[: max(path.rfind("."), path.rfind("["))] if path != "$" else ""
            if path:
                f = replace(f, line=lines[path])
        out.append(f)
    return out


def file_digest(path: Path, algo: str = "sha256") -> tuple[str, int]:
    """(hex digest, size in bytes) of a file, read in chunks; the one hashing routine of the toolkit."""
    digest, size = hashlib.new(algo), 0
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _files(pkg: PackageSpec) -> list[Finding]:
    """Each table's declared `bytes` and `hash` must match its file.

    A missing table file is the table layer's finding, and the source texts are provenance's:
    each failure is reported once, by the layer that owns it.
    """
    out = []
    for i, res in enumerate(pkg.descriptor["resources"]):
        spec = pkg.tables.get(res.get("name"))
        if spec is None or not (pkg.root / spec.path).is_file():
            continue
        algo, _, want = res.get("hash", "").rpartition(":") if isinstance(res.get("hash"), str) else ("", "", "")
        algo = algo or "md5"  # a hash without prefix is MD5 (Data Package spec)
        if algo not in hashlib.algorithms_available:
            msg = f"unknown hash algorithm {algo!r}"
            out.append(Finding("descriptor", "resource-hash", msg, file=DESCRIPTOR, field=f"$.resources[{i}].hash"))
            continue
        got, size = file_digest(pkg.root / spec.path, algo)
        if "bytes" in res and res["bytes"] != size:
            msg = f"declared bytes {res['bytes']} but the file has {size}"
            out.append(Finding("descriptor", "resource-bytes", msg, file=DESCRIPTOR, field=f"$.resources[{i}].bytes"))
        if want and got != want.lower():
            msg = f"declared {algo} {want} but the file has {got}"
            out.append(Finding("descriptor", "resource-hash", msg, file=DESCRIPTOR, field=f"$.resources[{i}].hash"))
    return out


def check_descriptor(pkg: PackageSpec, profile: dict | None = None) -> list[Finding]:
    """Descriptor-layer findings: frictionless rules, the official v2 profile, key references, file hashes.

    `profile` overrides the official Data Package v2 JSON Schema (`profiles.official`).
    """
    out = []
    if pkg.descriptor.get("$schema") != V2_PROFILE:
        # Without it frictionless silently applies v1 rules (and v1 name patterns, key forms, ...).
        msg = f'"$schema" must be {V2_PROFILE!r} (frictionless applies Data Package v1 rules otherwise)'
        out.append(Finding("descriptor", "profile-version", msg, file=DESCRIPTOR, field="$.$schema"))
    out += _frictionless(pkg)
    out += _jsonschema(pkg, profile if profile is not None else official("datapackage", "2.0"))
    out += _references(pkg)
    out += _files(pkg)
    return out
