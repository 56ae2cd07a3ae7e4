"""What changed between two versions of the package, and the smallest version bump it needs.

Bump rules (semver, after the Data Package Version pattern): a removed, renamed, retyped or
reordered field, a changed primary key, a tightened constraint, removed rows or tables = major;
new rows, tables, fields or a loosened constraint = minor; corrected values, edited metadata or
source texts = patch. The last release is recorded in `releases/last/` (a copy of its package
files), because tags do not travel with clones and CI needs something to compare with; every
recorded release can be compared by its number through the release index (`releases.py`).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from cbj_figures import constraints, gitread, safeio
from cbj_figures.findings import Finding
from cbj_figures.package import DESCRIPTOR_NAMES, Package, Resource, copy_package, open_package
from cbj_figures.releases import open_archive, open_release, read_index
from cbj_figures.schema import as_list
from cbj_figures.tables import read_tables

BUMPS = ("none", "patch", "minor", "major")
LAST_RELEASE = Path("releases") / "last"
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_VOLATILE = {"version", "created", "resources", "hash", "bytes"}  # compared elsewhere, or rewritten by build
_DESCRIPTIVE = frozenset({"title", "description", "example", "examples", "rdfType"})  # and their translations


@dataclass
class Change:
    """One difference; `bump` is the smallest version increase that this change alone needs."""

    kind: str
    bump: str
    table: str | None = None
    key: dict[str, Any] | None = None
    field: str | None = None
    old: Any = None
    new: Any = None
    detail: str = ""

    def to_text(self) -> str:
        where = ".".join(p for p in (self.table, self.field) if p)
        key = ", ".join(f"{k}={v}" for k, v in (self.key or {}).items())
        parts = [f"[{self.bump}]", self.kind, where, f"({key})" if key else ""]
        if self.old is not None or self.new is not None:
            parts.append(f"{_shown(self.old)} -> {_shown(self.new)}")
        if self.detail:
            parts.append(f"- {self.detail}")
        return " ".join(p for p in parts if p)


def _shown(value: Any) -> str:
    """A cell as a reader of the CSV knows it: 325, not 325.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


@dataclass
class DiffResult:
    """All changes between `old` and `new`, with the bump they need together."""

    old_version: str | None
    new_version: str | None
    changes: list[Change] = field(default_factory=list)

    @property
    def bump(self) -> str:
        return max((c.bump for c in self.changes), key=BUMPS.index, default="none")

    def table_summary(self) -> dict[str, dict[str, int]]:
        """Per table: how many rows were added, removed and changed (cells), and schema changes."""
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            if c.table is None:
                continue
            counts = out.setdefault(c.table, {"rows_added": 0, "rows_removed": 0, "cells_changed": 0, "schema": 0})
            slot = {"row_added": "rows_added", "row_removed": "rows_removed", "cell_changed": "cells_changed"}
            counts[slot.get(c.kind, "schema")] += 1
        return out

    def to_dict(self) -> dict:
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "bump": self.bump,
            "tables": self.table_summary(),
            "changes": [asdict(c) for c in self.changes],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def to_text(self) -> str:
        need = "no change, no bump needed" if self.bump == "none" else f"needs a {self.bump} bump"
        lines = [f"{self.old_version} -> {self.new_version}: {need}"]
        for table, n in self.table_summary().items():
            lines.append(
                f"  {table}: +{n['rows_added']} -{n['rows_removed']} rows, "
                f"{n['cells_changed']} cell(s) changed, {n['schema']} other change(s)"
            )
        lines += [f"    {c.to_text()}" for c in self.changes]
        return "\n".join(lines)


def diff(old: str | Path, new: str | Path = ".", *, repo: str | Path = ".") -> DiffResult:
    """Compare two versions: each a package folder, a release zip, a version recorded in the release index
    of `repo` ("0.1.0", "latest"), or a git ref of `repo`."""
    with materialize(old, Path(repo)) as old_root, materialize(new, Path(repo)) as new_root:
        return diff_packages(open_package(old_root), open_package(new_root))


@contextmanager
def materialize(version: str | Path, repo: Path) -> Iterator[Path]:
    """A folder holding that version: a folder or zip as it is, a recorded version from the release index
    (its kept zip, hash checked: the repository's own index is read offline), a git ref read from history by
    `gitread` (no process; the work tree is untouched)."""
    path = Path(version)
    if not path.exists() and (repo / path).exists():
        path = repo / path
    if path.is_dir():
        yield _package_folder(path)
        return
    recorded = [r.version for r in read_index(repo)] if not path.is_file() else []
    if str(version) in [*recorded, *(["latest"] if recorded else [])]:
        with open_release(str(version), repo) as (_, root):
            yield root
        return
    if path.is_file():
        with open_archive(path) as root:
            yield root
        return
    with tempfile.TemporaryDirectory(prefix="cbj-figures-diff-") as tmp:
        try:
            exported = gitread.export(repo, str(version), Path(tmp) / "ref")
        except gitread.NotARef as err:
            known = f" (recorded releases: {', '.join(recorded)})" if recorded else ""
            raise ValueError(
                f"{version}: neither a folder, a zip, a recorded release{known} nor a git ref of {repo}: {err}"
            ) from None
        yield exported


def _package_folder(folder: Path) -> Path:
    """A folder named as a version: a package itself, or one folder holding one (an unzipped release); anything
    else is refused after listing that one folder, never walked (`diff / .` reads nothing below /)."""
    if any((folder / name).is_file() for name in DESCRIPTOR_NAMES):
        return folder
    inner = [p for p in sorted(folder.iterdir())
             if p.is_dir() and not p.is_symlink() and (p / "datapackage.json").is_file()]
    if len(inner) != 1:
        raise ValueError(f"{folder} is not a package: it holds no {DESCRIPTOR_NAMES[0]} (nor does exactly one of its "
                         "folders)")
    return inner[0]


def diff_packages(old: Package, new: Package) -> DiffResult:
    """Tables, schemas, rows and cells, text resources and package metadata."""
    result = DiffResult(old.descriptor.get("version"), new.descriptor.get("version"))
    changes = result.changes
    old_frames, _ = read_tables(old)
    new_frames, _ = read_tables(new)
    for name in old.tables:
        if name not in new.tables:
            changes.append(Change("table_removed", "major", name))
    for name, spec in new.tables.items():
        if name not in old.tables:
            changes.append(Change("table_added", "minor", name, detail=f"{_height(new_frames, name)} row(s)"))
            continue
        before = len(changes)
        changes += schema_changes(old.tables[name], spec, _descriptive(old, new))
        key = _key(old.tables[name], spec)
        changes += row_changes(name, _rows(old, old_frames, name), _rows(new, new_frames, name), key)
        if len(changes) == before and _digest(old, old.tables[name].paths) != _digest(new, spec.paths):
            changes.append(Change("file_changed", "patch", name, detail=f"{spec.path} bytes differ, values do not"))
    changes += text_changes(old, new)
    changes += metadata_changes(old.descriptor, new.descriptor)
    return result


def _height(frames: dict, name: str) -> int:
    return frames[name].frame.height if name in frames else 0


def _digest(pkg: Package, paths: tuple[str, ...]) -> tuple | None:
    try:
        return tuple(safeio.file_digest(safeio.inside(pkg.root, rel))[0] for rel in paths)
    except (FileNotFoundError, safeio.UnsafeInput):
        return None


def _rows(pkg: Package, frames: dict, name: str) -> list[dict]:
    if name not in frames:
        raise ValueError(f"{pkg.root}: table {name!r} cannot be read; validate the package first")
    return frames[name].frame.to_dicts()


def _key(old: Resource, new: Resource) -> list[str]:
    """Rows are matched by the new primary key (else the old one, else every common field)."""
    common = [n for n in new.schema.names if n in old.schema.names]
    for spec in (new, old):
        pk = list(spec.schema.primary_key)
        if pk and set(pk) <= set(common):
            return pk
    return common


def row_changes(table: str, old: list[dict], new: list[dict], key: list[str]) -> list[Change]:
    """Rows added and removed by key, and every changed cell of the fields both versions have."""
    def index(rows: list[dict]) -> dict[tuple, dict]:
        return {tuple(_norm(r.get(k)) for k in key): r for r in rows}

    before, after = index(old), index(new)
    common = [f for f in (new[0] if new else {}) if old and f in old[0]]
    out = []
    for k, row in after.items():
        label = dict(zip(key, k, strict=True))
        if k not in before:
            out.append(Change("row_added", "minor", table, label))
            continue
        for f in common:
            if _norm(before[k][f]) != _norm(row[f]):
                out.append(Change("cell_changed", "patch", table, label, f, before[k][f], row[f]))
    out += [Change("row_removed", "major", table, dict(zip(key, k, strict=True))) for k in before if k not in after]
    return out


def _norm(value: Any) -> str | None:
    """Values compare by meaning: 520 equals 520.0, and a field retyped from "2023" to 2023 keeps its value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _descriptive(*packages: Package) -> frozenset[str]:
    """The properties whose change is a patch: descriptions and titles, in every declared language."""
    return _DESCRIPTIVE | {t for p in packages for prop in _DESCRIPTIVE for t in p.translated(prop)}


def schema_changes(old: Resource, new: Resource, descriptive: frozenset[str] = _DESCRIPTIVE) -> list[Change]:
    """Fields added, removed, renamed, retyped, reordered; keys; constraints; field metadata."""
    t = new.name
    before = {f.name: f.descriptor for f in old.schema.fields}
    after = {f.name: f.descriptor for f in new.schema.fields}
    removed = [n for n in before if n not in after]
    added = [n for n in after if n not in before]
    out = []
    for name in list(removed):  # a removed field whose place and type an added field takes: a rename
        pos = list(before).index(name)
        twin = next((a for a in added if list(after).index(a) == pos and _type(after[a]) == _type(before[name])), None)
        if twin:
            out.append(Change("field_renamed", "major", t, field=twin, old=name, new=twin))
            removed.remove(name)
            added.remove(twin)
    out += [Change("field_removed", "major", t, field=n) for n in removed]
    out += [Change("field_added", "minor", t, field=n, new=_type(after[n])) for n in added]
    common_old = [n for n in before if n in after]
    common_new = [n for n in after if n in before]
    if common_old != common_new:
        out.append(Change("fields_reordered", "major", t, old=common_old, new=common_new))
    for name in common_new:
        out += field_changes(t, before[name], after[name], descriptive)
    out += _schema_level(t, old.schema.descriptor, new.schema.descriptor, descriptive)
    out += _resource_level(t, old.descriptor, new.descriptor)
    return out


def _type(f: dict) -> str:
    return f.get("type", "string") + (f":{f['format']}" if f.get("format") not in (None, "default") else "")


def field_changes(table: str, old: dict, new: dict, descriptive: frozenset[str] = _DESCRIPTIVE) -> list[Change]:
    """Type, unit, constraints (tighter = major, looser = minor) and descriptive properties (patch)."""
    name, out = new["name"], []
    if _type(old) != _type(new):
        out.append(Change("field_retyped", "major", table, field=name, old=_type(old), new=_type(new)))
    oc, nc = old.get("constraints") or {}, new.get("constraints") or {}
    for rule in sorted(set(oc) | set(nc)):
        if oc.get(rule) != nc.get(rule):
            bump = constraint_bump(rule, oc.get(rule), nc.get(rule))
            out.append(Change("constraint_changed", bump, table, None, name, oc.get(rule), nc.get(rule), rule))
    for prop in sorted((set(old) | set(new)) - {"name", "type", "format", "constraints"}):
        if old.get(prop) != new.get(prop):
            bump = "patch" if prop in descriptive else "major"  # unit, printed, trueValues, ... change the meaning
            out.append(Change("field_property_changed", bump, table, None, name, old.get(prop), new.get(prop), prop))
    return out


def constraint_bump(rule: str, old: Any, new: Any) -> str:
    """Loosening a constraint breaks no reader (minor); tightening or an unknown change does (major)."""
    return constraints.bump(rule, old, new)


def _schema_level(table: str, old: dict, new: dict, descriptive: frozenset[str]) -> list[Change]:
    out = []
    if as_list(old.get("primaryKey")) != as_list(new.get("primaryKey")):
        out.append(Change("primary_key_changed", "major", table, old=old.get("primaryKey"), new=new.get("primaryKey")))
    old_fks, new_fks = old.get("foreignKeys", []), new.get("foreignKeys", [])
    out += [Change("foreign_key_added", "major", table, new=fk) for fk in new_fks if fk not in old_fks]
    out += [Change("foreign_key_removed", "minor", table, old=fk) for fk in old_fks if fk not in new_fks]
    for prop in sorted((set(old) | set(new)) - {"fields", "primaryKey", "foreignKeys", "$schema"}):
        if old.get(prop) != new.get(prop):
            bump = "patch" if prop in descriptive else "major"  # missingValues, fieldsMatch, ... change reading
            out.append(Change("schema_property_changed", bump, table, None, None, old.get(prop), new.get(prop), prop))
    return out


def _resource_level(table: str, old: dict, new: dict) -> list[Change]:
    out = []
    for prop in sorted((set(old) | set(new)) - {"name", "hash", "bytes", "schema"}):
        if old.get(prop) != new.get(prop):
            bump = "major" if prop in ("path", "format", "encoding", "dialect") else "patch"
            out.append(Change("resource_property_changed", bump, table, None, None, old.get(prop), new.get(prop), prop))
    return out


def text_changes(old: Package, new: Package) -> list[Change]:
    """Source texts: added (minor), removed (major), edited (patch: a corrected transcription)."""
    out = [Change("text_removed", "major", detail=n) for n in old.texts if n not in new.texts]
    for name, spec in new.texts.items():
        if name not in old.texts:
            out.append(Change("text_added", "minor", detail=name))
        else:
            if _digest(old, old.texts[name].paths) != _digest(new, spec.paths):
                out.append(Change("text_changed", "patch", detail=f"{name} ({spec.path})"))
            for c in _resource_level(name, old.texts[name].descriptor, spec.descriptor):
                out.append(replace(c, table=None, detail=f"{name}: {c.detail}"))
    return out


def metadata_changes(old: dict, new: dict) -> list[Change]:
    """Package properties; a new `name` is a new identity (major), the rest is descriptive (patch)."""
    out = []
    for prop in sorted((set(old) | set(new)) - _VOLATILE):
        if old.get(prop) != new.get(prop):
            bump = "major" if prop in ("name", "id") else "patch"
            out.append(Change("package_property_changed", bump, old=old.get(prop), new=new.get(prop), detail=prop))
    return out


def parse_version(version: Any) -> tuple[int, int, int] | None:
    match = _VERSION.match(str(version))
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def bump_between(old: str, new: str) -> str:
    """The bump `new` makes over `old`: none (equal or lower), patch, minor or major."""
    a, b = parse_version(old), parse_version(new)
    if a is None or b is None or b <= a:
        return "none"
    return "major" if b[0] > a[0] else "minor" if b[1] > a[1] else "patch"


def check_version_bump(root: str | Path = ".") -> list[Finding]:
    """Findings (layer "release") when `version` is not bumped enough since the recorded last release,
    or when CHANGELOG.md has no entry for the current version."""
    root = Path(root)
    pkg = open_package(root)
    version = pkg.descriptor.get("version")
    out = []
    if parse_version(version) is None:
        msg = f"version {version!r} is not MAJOR.MINOR.PATCH"
        return [Finding("version-format", msg, file=pkg.file, field="version", layer="release")]
    last = root / LAST_RELEASE
    if (last / "datapackage.json").is_file():
        result = diff_packages(open_package(last), pkg)
        needed, made = result.bump, bump_between(result.old_version or "", version)
        if BUMPS.index(made) < BUMPS.index(needed):
            reasons = "; ".join(c.to_text() for c in result.changes[:5])
            more = f" (and {len(result.changes) - 5} more)" if len(result.changes) > 5 else ""
            msg = (f"version {version} makes a {made} bump over the last release {result.old_version}, "
                   f"but the changes need a {needed} bump: {reasons}{more}")
            out.append(Finding("version-bump", msg, file=pkg.file, field="version", layer="release"))
    if not _changelog_has(pkg.root, version):
        message = f"CHANGELOG.md has no entry for version {version}"
        out.append(Finding("changelog", message, file="CHANGELOG.md", layer="release"))
    return out


def _changelog_has(root: Path, version: str) -> bool:
    try:
        text = safeio.read_inside(root, "CHANGELOG.md").decode("utf-8", errors="replace")
    except (FileNotFoundError, safeio.UnsafeInput):
        return False
    heading = re.compile(rf"^##\s+\[?v?{re.escape(version)}\]?(\s|$)", re.MULTILINE)
    return bool(heading.search(text))


def record_release(root: str | Path = ".") -> Path:
    """Copy the package files into releases/last/ (replacing the previous record): the new baseline."""
    root = Path(root)
    target = root / LAST_RELEASE
    safeio.output_folder(safeio.under(root, LAST_RELEASE.parent))  # no symlink from root down to releases/
    if target.is_symlink():
        raise ValueError(f"{target} leads outside the package; refusing to write there")
    stage = Path(tempfile.mkdtemp(prefix=".last.", dir=target.parent))
    stage.chmod(0o755)  # mkdtemp makes it private; the record is an ordinary folder
    try:
        copy_package(root, stage)
        if target.exists():
            shutil.rmtree(target)
        stage.rename(target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target

