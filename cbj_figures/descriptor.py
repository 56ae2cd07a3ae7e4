"""The descriptor layer: the package's metadata against the standard of its version.

Three judges, each for what it does best: frictionless-py's own metadata rules (names, paths,
licences, keys, v1/v2 version gates), the JSON Schema of the package's profile (the official v1
or v2 profile, or the extension profile it declares, such as ours), and the files' declared
`hash` and `bytes`. Nothing is fetched: a remote `profile` is reported as not checked.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from cbj_figures import safeio
from cbj_figures.findings import CODES, Finding
from cbj_figures.package import Package, Resource
from cbj_figures.profiles import RemoteReference, official, profile_for, validator

LAYER = "descriptor"
_KNOWN_PROFILES = (
    "data-package", "tabular-data-package", "fiscal-data-package", "data-resource", "tabular-data-resource",
)


def inlined(pkg: Package) -> dict:
    """The descriptor as frictionless should judge it: schemas and dialects inlined, remote profiles left out."""
    desc = copy.deepcopy(pkg.descriptor)
    by_index = {r.index: r for r in pkg.resources}
    for i, res in enumerate(desc.get("resources", [])):
        if not isinstance(res, dict):
            continue
        ours = by_index.get(i)
        if ours is not None and ours.schema_raw is not None and isinstance(res.get("schema"), str):
            res["schema"] = copy.deepcopy(ours.schema_raw)
        if ours is not None and isinstance(res.get("dialect"), str):
            res["dialect"] = ours.dialect
        if isinstance(res.get("profile"), str) and res["profile"] not in _KNOWN_PROFILES:
            del res["profile"]
    if isinstance(desc.get("profile"), str) and desc["profile"] not in _KNOWN_PROFILES:
        del desc["profile"]
    return desc


def _remote_profiles(pkg: Package) -> list[Finding]:
    out = []
    values = [("$.profile", pkg.descriptor.get("profile"))]
    values += [(f"$.resources[{i}].profile", r.get("profile")) for i, r in enumerate(pkg.descriptor["resources"])
               if isinstance(r, dict)]
    for where, value in values:
        if isinstance(value, str) and value not in _KNOWN_PROFILES:
            out.append(Finding("not-checked", f"profile {value!r} is not one this toolkit holds; it was not fetched",
                               file=pkg.file, field=where, layer=LAYER))
    schema = pkg.descriptor.get("$schema")
    if isinstance(schema, str) and pkg.standard == "unknown":  # never silence: say what was not checked
        out.append(Finding("not-checked", f"profile {schema!r} is not one this toolkit holds; it was not fetched, so "
                           "neither it nor the layers of a profile this toolkit holds (conventions, consistency, "
                           "provenance) checked the package", file=pkg.file, field="$.$schema", layer=LAYER))
    return out


# Where frictionless refuses what the standard allows (a limit of frictionless, not of the package): the
# constraint is checked here instead (tables.py), so the refusal is not passed on.
FRICTIONLESS_LIMITS = (
    re.compile(r'constraint "jsonSchema" is not supported by type'),
    re.compile(r'constraint "(minimum|maximum|exclusiveMinimum|exclusiveMaximum)" is not supported by type "duration"'),
    re.compile(r"names of the fields are not unique"),  # v2 allows duplicate names (v1 did); keys name the first
)


def _frictionless(pkg: Package) -> list[Finding]:
    """frictionless's own metadata rules, as `frictionless validate` applies them (v1 spellings upgraded first);
    its messages name the property (`at property 'resources/0/...'`)."""
    from frictionless import Package as FrictionlessPackage

    desc = inlined(pkg)
    found: list[tuple[str, str]] = []  # (frictionless error type, message)
    try:
        found += [(e.type, e.message) for e in FrictionlessPackage.validate_descriptor(desc).errors]
    except Exception as e:  # a descriptor shape frictionless did not foresee
        found.append(("package-error", f"frictionless could not read the descriptor: {e}"))
    out, seen = [], set()
    for kind, message in found:
        if message in seen or any(p.search(message) for p in FRICTIONLESS_LIMITS):
            continue
        seen.add(message)
        code = kind if kind in CODES else "package-error"
        prop = message.rsplit(" at property '", 1)[1].rstrip("'") if " at property '" in message else None
        where = "$" + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in prop.split("/")) if prop else None
        file, where = _locate(pkg, where)
        out.append(Finding(code, message, file=file, field=where, layer=LAYER))
    return out


def _locate(pkg: Package, where: str | None) -> tuple[str, str | None]:
    """A JSON path into the inlined descriptor -> (file, path): a schema's errors point into its own file."""
    if where:
        m = re.match(r"^\$\.resources\[(\d+)\]\.schema(.*)$", where)
        if m:
            res = next((r for r in pkg.resources if r.index == int(m[1])), None)
            if res is not None and res.schema_file:
                return res.schema_file, "$" + m[2]
    return pkg.file, where


def _profile_erratum(err: Any) -> bool:
    """A violation the official v2 profile reports for what the v2 standard allows (its known bugs, as dplib-py
    ships them): `fieldsMatch` typed as an array, and no `list` field type. The standard's text wins."""
    path = list(err.absolute_path)
    if path[-1:] == ["fieldsMatch"] and isinstance(err.instance, str):
        return err.instance in ("exact", "equal", "subset", "superset", "partial")
    return ("fields" in path and isinstance(err.instance, dict) and err.instance.get("type") == "list") or (
        path[-1:] == ["type"] and err.instance == "list"
    )


def _json_schema(instance: Any, schema: dict, name: str, file: str, base: str = "$") -> list[Finding]:
    """Every violation of one JSON Schema, at its JSON path (`$.resources[2].type`)."""
    try:
        errors = sorted(validator(schema).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        errors = [e for e in errors if not _profile_erratum(e)]
    except RemoteReference as e:
        msg = f"profile {name} refers to {e} (remote): not fetched, so it was not checked"
        return [Finding("not-checked", msg, file=file, field=base, layer=LAYER)]
    except Exception as e:  # a malformed --profile
        return [Finding("profile-error", f"profile {name} cannot be applied: {e}", file=file, layer=LAYER)]
    out = []
    for err in errors:
        message = err.message
        if err.context:  # anyOf/oneOf: the branch that explains it best
            err = _branch_error(err)
            message = err.message
        path = base + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        out.append(Finding("profile-error", f"{message[:300]} ({name})", file=file, field=path, layer=LAYER))
    return out


def _profile(pkg: Package, override: dict | None) -> list[Finding]:
    """The package's profile (or `--profile`) on the descriptor as written, and the official Table Schema
    profile of its version on every schema (in its own file, when it has one)."""
    chosen = ("--profile", override) if override is not None else profile_for(pkg.descriptor)
    if chosen is None:
        return []
    name, schema = chosen
    out = _json_schema(pkg.descriptor, schema, name, pkg.file)
    version = "1.0" if pkg.standard == "v1" else "2.0"
    table_schema = official("tableschema", version)
    for res in pkg.resources:
        if res.schema_raw is None or res.schema_file is None:
            continue  # an inline schema is part of the descriptor the package profile checked
        out += _json_schema(res.schema_raw, table_schema, f"Table Schema {version}", res.schema_file)
    return out


def _branch_error(err: Any) -> Any:
    """The most telling sub-error of an anyOf/oneOf failure (e.g. a field of an unknown type)."""
    from jsonschema.exceptions import best_match

    def on_type(e: Any) -> bool:
        return list(e.relative_path)[-1:] == ["type"]

    branches: dict = {}
    for c in err.context:
        branches.setdefault(c.relative_schema_path[0], []).append(c)
    typed = [c for b in branches.values() if not any(on_type(c) for c in b) for c in b]
    return best_match(typed or [c for c in err.context if on_type(c)] or err.context)


def _references(pkg: Package) -> list[Finding]:
    """Foreign keys to resources that do not exist (frictionless only finds out while reading rows)."""
    out = []
    for res in pkg.tables.values():
        if res.schema is None:
            continue
        for i, fk in enumerate(res.schema.foreign_keys):
            target = pkg.tables.get(fk.resource or res.name)
            where = f"$.foreignKeys[{i}]" if res.schema_file else f"{res.where}.schema.foreignKeys[{i}]"
            file = res.schema_file or pkg.file
            if target is None:
                msg = f"foreign key references table {fk.resource!r}, which the package does not have"
                out.append(Finding("schema-error", msg, file=file, field=where, layer=LAYER))
            elif target.schema is not None and (missing := [f for f in fk.ref_fields if not target.schema.field(f)]):
                msg = f"foreign key references field(s) {missing} that table {target.name!r} does not have"
                out.append(Finding("schema-error", msg, file=file, field=where, layer=LAYER))
    return out


def _declared_hash(value: Any) -> tuple[str, str] | None:
    """(algorithm, hex) of a `hash`: `algo:hex`, or bare hex, which is MD5 (Data Package v1)."""
    if not isinstance(value, str) or not value:
        return None
    algo, _, hexdigest = value.rpartition(":")
    return (algo or "md5").lower(), hexdigest.lower()


def _files(pkg: Package) -> list[Finding]:
    """Each resource's declared `hash` and `bytes` against its local files (all parts together)."""
    out = []
    for res in pkg.resources:
        if not res.paths or res.urls:
            continue
        declared = _declared_hash(res.descriptor.get("hash"))
        size_declared = res.descriptor.get("bytes")
        if declared is None and not isinstance(size_declared, int):
            if not res.tabular:
                out += _exists(pkg, res)
            continue
        algo = declared[0] if declared else "sha256"
        if declared and algo not in safeio.HASHES:
            msg = f"hash algorithm {algo!r} is not one of {', '.join(safeio.HASHES)}: the hash was not checked"
            out.append(Finding("unsupported", msg, file=pkg.file, field=f"{res.where}.hash", layer=LAYER))
            declared = None
        digest, size = hashlib.new(algo), 0
        try:
            for rel in res.paths:
                with safeio.open_inside(pkg.root, rel, what="data file") as fh:
                    for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                        digest.update(chunk)
                        size += len(chunk)
        except FileNotFoundError as e:  # the tables layer reports a missing table file
            if not res.tabular:
                out.append(Finding("scheme-error", f"file {e} of resource {res.name!r} not found", file=str(e),
                                   layer=LAYER))
            continue
        except safeio.UnsafeInput as e:
            if not res.tabular:
                out.append(Finding(e.code, e.message, file=e.file, layer=LAYER))
            continue
        lines = _lines(pkg)
        if isinstance(size_declared, int) and not isinstance(size_declared, bool) and size_declared != size:
            where = _line_note(pkg, lines, f"{res.where}.bytes")
            msg = f"{pkg.file}{where} declares bytes {size_declared}, but the file has {size}"
            out.append(Finding("byte-count", msg, file=res.path, field="bytes", layer=LAYER))
        if declared and digest.hexdigest() != declared[1]:
            where = _line_note(pkg, lines, f"{res.where}.hash")
            msg = f"{pkg.file}{where} declares {algo} {declared[1]}, but the file has {digest.hexdigest()}"
            out.append(Finding("hash-count", msg, file=res.path, field="hash", layer=LAYER))
    return out


def _lines(pkg: Package) -> dict[str, int]:
    if not pkg.file.endswith(".json"):
        return {}
    try:
        return json_lines(safeio.read_inside(pkg.root, pkg.file).decode("utf-8"))
    except (OSError, ValueError, IndexError, safeio.UnsafeInput):
        return {}


def _line_note(pkg: Package, lines: dict[str, int], path: str) -> str:
    return f" (line {lines[path]}, {path})" if path in lines else f" ({path})"


def _exists(pkg: Package, res: Resource) -> list[Finding]:
    out = []
    for rel in res.paths:
        try:
            safeio.inside(pkg.root, rel, what="file")
        except FileNotFoundError:
            out.append(Finding("scheme-error", f"file {rel!r} of resource {res.name!r} not found", file=rel,
                               layer=LAYER))
        except safeio.UnsafeInput as e:
            out.append(Finding(e.code, e.message, file=rel, layer=LAYER))
    return out


def check_descriptor(pkg: Package, profile: dict | None = None) -> list[Finding]:
    """Descriptor-layer findings: frictionless rules, the profile's JSON Schema, key references, file hashes.

    The files are hashed in a second thread meanwhile: reading and hashing let go of the GIL, so hashing a
    large table overlaps importing frictionless and applying its rules. The findings keep their order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        files = pool.submit(_files, pkg)
        found = [*pkg.findings, *_remote_profiles(pkg), *_frictionless(pkg), *_profile(pkg, profile)]
        found += _references(pkg)
        found += files.result()
    return locate_json(found, pkg.root)


# ---------------------------------------------------------------- lines of JSON paths


def json_lines(text: str) -> dict[str, int]:
    """The line on which each value of a JSON text starts, by JSON path (`$.resources[3].hash`)."""
    decoder, lines = json.JSONDecoder(), {}
    seen = [0, 1]  # (offset, line) reached so far: values come in order, so lines are counted once (linear)

    def line_at(i: int) -> int:
        seen[1] += text.count("\n", seen[0], i)
        seen[0] = i
        return seen[1]

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n,:\ufeff":
            i += 1
        return i

    def value(i: int, path: str, depth: int) -> int:
        i = skip(i)
        lines[path] = line_at(i)
        if depth > safeio.MAX_DEPTH:
            raise ValueError("too deep")
        if text[i] == "{":
            i = skip(i + 1)
            while text[i] != "}":
                key, i = json.decoder.scanstring(text, i + 1)
                i = skip(value(i, f"{path}.{key}", depth + 1))
            return i + 1
        if text[i] == "[":
            i, n = skip(i + 1), 0
            while text[i] != "]":
                i, n = skip(value(i, f"{path}[{n}]", depth + 1)), n + 1
            return i + 1
        return decoder.raw_decode(text, i)[1]

    value(0, "$", 0)
    return lines


def locate_json(findings: list[Finding], root: Path) -> list[Finding]:
    """Give findings that point into a JSON file by JSON path the line of that path (or of its nearest parent)."""
    cache: dict[str, dict[str, int]] = {}
    out = []
    for f in findings:
        if f.line is None and f.file and f.file.endswith(".json") and (f.field or "").startswith("$"):
            if f.file not in cache:
                try:
                    cache[f.file] = json_lines(safeio.read_inside(root, f.file).decode("utf-8"))
                except (OSError, ValueError, IndexError, safeio.UnsafeInput):
                    cache[f.file] = {}
            path, lines = f.field, cache[f.file]
            while path and path not in lines:
                path = path[: max(path.rfind("."), path.rfind("["))] if path != "$" else ""
            if path:
                f = replace(f, line=lines[path])
        out.append(f)
    return out
