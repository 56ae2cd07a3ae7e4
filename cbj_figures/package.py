"""The package: its descriptor read once, and each resource with its paths, format and schema.

A package is named by its folder (holding `datapackage.json`, `.yaml` or `.yml`) or by its
descriptor file, in JSON or YAML. Everything is read through `safeio`, so a path that leaves the
package or a file that is not a regular file is a finding, never a read. Input that cannot be
used at all (no descriptor, not JSON or YAML, not an object with a `resources` list) raises
`PackageError` (exit 2); everything else becomes findings, and the rest is still checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cbj_figures import safeio
from cbj_figures.findings import Finding
from cbj_figures.profiles import CONVENTIONS_PROFILES, standard_of
from cbj_figures.schema import Schema, parse_schema

DESCRIPTOR_NAMES = ("datapackage.json", "datapackage.yaml", "datapackage.yml")
TABULAR_FORMATS = ("csv", "tsv", "json", "jsonl", "ndjson", "xlsx", "xls", "ods", "inline")
COMPRESSIONS = ("gz", "zip")
_SURROGATE = re.compile("[\ud800-\udfff]")


class PackageError(Exception):
    """Input the toolkit cannot use at all (exit 2): no descriptor, broken JSON or YAML, ..."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message, self.file, self.line = message, file, line

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line) if p is not None)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class Resource:
    index: int
    name: str
    descriptor: dict  # as written
    paths: tuple[str, ...] = ()  # local data files, relative POSIX paths (checked for safety)
    urls: tuple[str, ...] = ()  # remote data, read only with --allow-network
    data: Any = None  # inline data
    format: str = ""
    compression: str | None = None
    encoding: str | None = None
    dialect: dict = field(default_factory=dict)
    schema: Schema | None = None
    schema_file: str | None = None  # the file the schema was read from, when it is a path
    schema_raw: Any = None  # the schema as written (even when it could not be parsed)
    tabular: bool = False

    @property
    def where(self) -> str:
        return f"$.resources[{self.index}]"

    @property
    def path(self) -> str | None:
        """The first local data file (the one findings about the data point at)."""
        return self.paths[0] if self.paths else None


@dataclass
class Package:
    root: Path
    file: str  # the descriptor file, relative to root
    descriptor: dict
    standard: str  # "v1", "v2" or "unknown" (a profile of someone else's)
    conventions: bool  # opted into this toolkit's conventions (its profile in `$schema`)
    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # met while reading the descriptor

    def declared(self, key: str) -> Any:
        """`conventions.<key>` of the descriptor: what the package declares for the conventions (or None)."""
        block = self.descriptor.get("conventions")
        return block.get(key) if isinstance(block, dict) else None

    @property
    def translations(self) -> tuple[str, ...]:
        """Languages whose translations of a property it holds (`title_zh` for `zh`), as it declares them in
        `conventions.translations`."""
        langs = self.declared("translations")
        return tuple(str(x) for x in langs if isinstance(x, str)) if isinstance(langs, list) else ()

    def translated(self, prop: str) -> tuple[str, ...]:
        """`prop` and its declared translations: ("title", "title_zh")."""
        return (prop, *(f"{prop}_{lang}" for lang in self.translations))

    @property
    def tables(self) -> dict[str, Resource]:
        return {r.name: r for r in self.resources if r.tabular}

    @property
    def texts(self) -> dict[str, Resource]:
        """Non-tabular text resources (the source texts of the evidence conventions)."""
        return {r.name: r for r in self.resources if not r.tabular and r.format == "txt" and r.paths}

    def get(self, key: str, default: Any = None) -> Any:
        return self.descriptor.get(key, default)

    @property
    def name(self) -> str | None:
        return self.descriptor.get("name") if isinstance(self.descriptor.get("name"), str) else None

    @property
    def version(self) -> str | None:
        return self.descriptor.get("version") if isinstance(self.descriptor.get("version"), str) else None


# ---------------------------------------------------------------- reading


def locate(path: str | Path) -> tuple[Path, str]:
    """(package root, descriptor file name) for a folder or a descriptor file."""
    path = Path(path)
    if path.is_dir():
        for name in DESCRIPTOR_NAMES:
            if (path / name).exists() or (path / name).is_symlink():
                return path, name
        raise PackageError(f"no descriptor ({', '.join(DESCRIPTOR_NAMES)}) in {path}")
    if path.exists() or path.is_symlink():
        return path.parent, path.name
    raise PackageError(f"{path}: no such file or folder")


def read_document(root: Path, rel: str, *, what: str = "file") -> Any:
    """A JSON or YAML document of the package (by extension); PackageError when unusable."""
    try:
        raw = safeio.read_inside(root, rel, what=what)
    except FileNotFoundError:
        raise PackageError("file not found", file=rel) from None
    except safeio.UnsafeInput as e:
        raise PackageError(e.message, file=rel) from None
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise PackageError(f"not UTF-8: {e.reason}", file=rel) from None
    try:
        if rel.endswith((".yaml", ".yml")):
            return safeio.load_yaml(text, file=rel)
        return safeio.load_json(text, file=rel)
    except safeio.UnsafeInput as e:
        raise PackageError(e.message, file=rel) from None
    except ValueError as e:  # json.JSONDecodeError
        line = getattr(e, "lineno", None)
        raise PackageError(f"invalid JSON: {getattr(e, 'msg', e)}", file=rel, line=line) from None
    except Exception as e:  # yaml.YAMLError
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or e
        raise PackageError(f"invalid YAML: {problem}", file=rel, line=mark.line + 1 if mark else None) from None


def open_package(path: str | Path) -> Package:
    """Read the descriptor and every schema it points to (data files are not opened)."""
    root, name = locate(path)
    descriptor = read_document(root, name, what="descriptor")
    if not isinstance(descriptor, dict):
        raise PackageError("a descriptor must be a JSON object", file=name, line=1)
    if not isinstance(descriptor.get("resources"), list):
        raise PackageError('a descriptor needs a "resources" list', file=name)
    profile = descriptor.get("$schema")
    pkg = Package(
        root=root,
        file=name,
        descriptor=descriptor,
        standard=standard_of(descriptor),
        conventions=isinstance(profile, str) and profile in CONVENTIONS_PROFILES,
    )
    pkg.findings += not_text(descriptor, name)
    resources = descriptor["resources"]
    if len(resources) > safeio.MAX_RESOURCES:
        _bad(pkg, "too-large", f"the package has {len(resources):,} resources; the limit is {safeio.MAX_RESOURCES:,}: "
             "the rest are not read", f"$.resources[{safeio.MAX_RESOURCES}]")
        del resources[safeio.MAX_RESOURCES:]  # bounded from here on: every layer sees the first ones only
    seen: set[str] = set()
    for i, raw in enumerate(resources):
        resource = _resource(pkg, i, raw)
        if resource is None:
            continue
        if resource.name in seen:
            continue  # frictionless reports duplicate names (package-error); the first one is checked
        seen.add(resource.name)
        pkg.resources.append(resource)
    return pkg


def not_text(document: Any, file: str, where: str = "$") -> list[Finding]:
    """A lone surrogate in a JSON or YAML document (legal as a `\\ud800` escape) is not Unicode text: it cannot be
    written as UTF-8 (a build, a report), so it is a located finding, the first few of a document."""
    out: list[Finding] = []
    stack = [(where, document)]
    while stack and len(out) < 10:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if _SURROGATE.search(str(key)):
                    out.append(Finding("metadata-error", "a property name holds a lone surrogate (not text)",
                                       file=file, field=path, layer="descriptor"))
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack += [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        elif isinstance(value, str) and _SURROGATE.search(value):
            out.append(Finding("metadata-error", "a lone surrogate (a \\ud800-\\udfff escape) is not text",
                               file=file, field=path, layer="descriptor"))
    return out


def _bad(pkg: Package, code: str, message: str, where: str, file: str | None = None) -> None:
    pkg.findings.append(Finding(code, message, file=file or pkg.file, field=where, layer="descriptor"))


def _resource(pkg: Package, i: int, raw: Any) -> Resource | None:
    where = f"$.resources[{i}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        _bad(pkg, "resource-error", 'a resource must be an object with a string "name"', where)
        return None
    res = Resource(index=i, name=raw["name"], descriptor=raw)
    path = raw.get("path")
    if path is not None:
        parts = path if isinstance(path, list) else [path]
        locals_, urls = [], []
        for p in parts:
            if isinstance(p, str) and "://" in p:
                urls.append(p)
                continue
            try:
                locals_.append(safeio.relpath(p, "resource path"))
            except safeio.UnsafeInput as e:
                _bad(pkg, "unsafe-path", e.message, f"{where}.path")
                return None
        res.paths, res.urls = tuple(locals_), tuple(urls)
    elif "data" in raw:
        res.data = raw["data"]
    else:
        _bad(pkg, "resource-error", 'a resource needs a "path" or inline "data"', where)
        return None
    first = (res.paths or res.urls or ("",))[0]
    suffixes = [s.lstrip(".").lower() for s in PurePosixPath(first.split("?")[0]).suffixes]
    compression = raw.get("compression") or (suffixes[-1] if suffixes and suffixes[-1] in COMPRESSIONS else None)
    res.compression = compression if isinstance(compression, str) else None
    if res.compression and suffixes and suffixes[-1] == res.compression:
        suffixes = suffixes[:-1]
    fmt = raw.get("format") or (suffixes[-1] if suffixes else ("inline" if res.data is not None else ""))
    res.format = fmt.lower() if isinstance(fmt, str) else ""
    res.encoding = raw.get("encoding") if isinstance(raw.get("encoding"), str) else None
    dialect = raw.get("dialect", {})
    if isinstance(dialect, str):
        dialect = _referenced(pkg, dialect, f"{where}.dialect", "dialect")
    res.dialect = dialect if isinstance(dialect, dict) else {}
    schema_ref = raw.get("schema")
    declared_tabular = raw.get("type") == "table" or raw.get("profile") == "tabular-data-resource"
    if schema_ref is not None:
        if isinstance(schema_ref, str):
            res.schema_file = schema_ref
            schema_ref = _referenced(pkg, schema_ref, f"{where}.schema", "schema")
            if schema_ref is None:
                res.tabular = True
                return res
        file = res.schema_file or pkg.file
        res.schema_raw = schema_ref
        schema, found = parse_schema(schema_ref, file, where="$" if res.schema_file else f"{where}.schema")
        pkg.findings += found
        res.schema = schema
    res.tabular = declared_tabular or schema_ref is not None or res.format in TABULAR_FORMATS
    if res.format == "json" and not declared_tabular:
        res.tabular = False  # a JSON file is a table only when declared one (as frictionless reads it)
    return res


def _referenced(pkg: Package, ref: str, where: str, what: str) -> Any:
    """A schema or dialect given as a path (remote references are not fetched)."""
    if "://" in ref:
        _bad(pkg, "not-checked", f"{what} {ref!r} is remote and was not fetched", where)
        return None
    try:
        rel = safeio.relpath(ref, what)
        document = read_document(pkg.root, rel, what=what)
        pkg.findings += not_text(document, rel)
        return document
    except safeio.UnsafeInput as e:
        _bad(pkg, "unsafe-path", e.message, where)
    except PackageError as e:
        code = "unsafe-path" if "outside" in e.message or "not a regular" in e.message else "schema-error"
        pkg.findings.append(Finding(code, e.message, file=e.file, line=e.line, layer="descriptor"))
    return None


def package_files(pkg: Package) -> list[str]:
    """Every local file that makes up the package, relative and sorted: descriptor, schemas, dialects, data."""
    files = {pkg.file}
    for res in pkg.resources:
        files.update(res.paths)
        if res.schema_file:
            files.add(res.schema_file)
        if isinstance(res.descriptor.get("dialect"), str) and "://" not in res.descriptor["dialect"]:
            files.add(res.descriptor["dialect"])
    return sorted(files)


def copy_package(root: Path, dest: Path) -> Path:
    """Copy the package's own files into `dest` (each read through the safety checks of safeio)."""
    pkg = open_package(root)
    for rel in package_files(pkg):
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(safeio.read_inside(pkg.root, rel, limit=safeio.MAX_DATA))
    return Path(dest)
