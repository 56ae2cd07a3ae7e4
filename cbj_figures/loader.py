"""Downstream loading: a table with its schema's types, after every file is checked against its hash.

Readers get the data they can trust: a release is refused when any file differs from the
descriptor's sha256 (or from `SHA256SUMS`), so a tampered or truncated download never loads. A
release from elsewhere is input like any package: a zip is checked against `known_hash` before
it is opened, its members before anything is extracted, and every path stays inside it. Only
`LoadError` (and its subclasses) leaves `load()`. A version asked by number is resolved through the
release index installed with the toolkit (`releases.py`), the one index a download may follow.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from cbj_figures import releases, safeio
from cbj_figures.releases import (
    DownloadError,
    IntegrityError,
    LoadError,
    UnknownVersionError,
    VersionMismatchError,
    find_package_root,
)

__all__ = [
    "DownloadError", "IntegrityError", "LoadError", "UnknownTableError", "UnknownVersionError", "VersionMismatchError",
    "data_root", "load", "open_source", "verify",
]
SUMS = "SHA256SUMS"


class UnknownTableError(LoadError, LookupError):
    """The asked table is not in the package."""

    def __init__(self, table: str, known: list[str]):
        super().__init__(f"unknown table {table!r}; known tables: {', '.join(known)}")
        self.table, self.known = table, known


def data_root() -> Path:
    """The bundled package: `cbj_figures/_data` in an installed wheel, else the source checkout's root."""
    bundled = importlib.resources.files("cbj_figures") / "_data"
    if (bundled / "datapackage.json").is_file():
        return Path(str(bundled))
    return Path(__file__).resolve().parents[1]


def verify(root: Path, descriptor: dict, *, require_hashes: bool) -> None:
    """Check every data file against the descriptor's `hash`, and every file listed in SHA256SUMS.

    Raises IntegrityError naming the first file that differs; a release (require_hashes) must
    record a hash for every data file and carry SHA256SUMS, which also covers schemas and the descriptor.
    """
    for resource in descriptor.get("resources", []):
        if not isinstance(resource, dict):
            raise LoadError("a resource of the descriptor is not an object")
        recorded = resource.get("hash")
        paths = resource.get("path")
        for rel in paths if isinstance(paths, list) else [paths] if paths else []:
            if not isinstance(rel, str) or "://" in rel:
                continue
            if not isinstance(recorded, str) or not recorded:
                if require_hashes:
                    raise LoadError(f"{rel}: the descriptor records no hash for resource {resource.get('name')!r}")
                continue
            _check(root, rel, *releases.parse_hash(recorded))
    try:
        sums = safeio.read_inside(root, SUMS).decode("utf-8")
    except FileNotFoundError:
        if require_hashes:
            raise LoadError(f"{root}: a release must hold {SUMS}") from None
        return
    except (safeio.UnsafeInput, UnicodeDecodeError) as e:
        raise LoadError(f"{SUMS}: {e}") from None
    for line in sums.splitlines():
        expected, _, rel = line.partition("  ")
        if rel:
            _check(root, rel, "sha256", expected)


def _check(root: Path, rel: str, algorithm: str, expected: str) -> None:
    try:
        path = safeio.inside(root, rel)
    except FileNotFoundError:
        raise IntegrityError(rel, expected, "<missing file>") from None
    except safeio.UnsafeInput as e:
        raise LoadError(f"{rel}: {e.message}") from None
    actual = safeio.file_digest(path, algorithm)[0]
    if actual != expected:
        raise IntegrityError(rel, f"{algorithm}:{expected}", f"{algorithm}:{actual}")


@contextmanager
def open_source(
    source: str | Path | None, known_hash: str | None = None, version: str | None = None
) -> Iterator[tuple[Path, bool]]:
    """Yield (package root, is a release) for the bundled data, a folder, a zip or a URL of a zip.

    A folder may also hold several releases (`dist/`): `version` then picks one.
    """
    if source is None:
        yield data_root(), False
        return
    text = str(source)
    if text.startswith(("http://", "https://")):
        if not known_hash:
            raise LoadError("loading from a URL needs its known_hash (sha256 of the zip)")
        source = releases.download_zip(text, known_hash)
    path = Path(source)
    if path.is_dir():
        if known_hash:
            raise LoadError(f"{path}: known_hash is the hash of a release zip, not of a folder")
        yield find_package_root(path, version), True
        return
    if not path.is_file():
        raise LoadError(f"{source}: not a release folder, a zip or a URL")
    with releases.open_archive(path, known_hash, version) as root:
        yield root, True


def load(
    table: str,
    *,
    engine: Literal["pandas", "polars"] = "pandas",
    version: str | None = None,
    source: str | Path | None = None,
    known_hash: str | None = None,
    mirror: str | Path | None = None,
) -> Any:
    """One table of the package, typed per its Table Schema.

    Without a `source`, the data installed with this package; with `version` ("0.1.0", or "latest": the newest),
    the release of that number in the index installed with this package: the installed data when it is that
    version, else the release's zip (kept beside the index in a clone, in the user's cache, in `mirror` or
    $CBJ_FIGURES_MIRROR, a folder or base URL that replaces the download host, else downloaded once from the
    index's URL), checked against the index's size and sha256.

    `source` is a release folder, a release zip, or the URL of one (downloaded into the cache like a release);
    `known_hash` (`sha256:<hex>` of the zip) is checked for a zip and needed for a URL. With a `source`,
    `version` is a pin: the package found must be that version (in a folder of several releases, it picks one),
    so an analysis fails loudly on other data.
    """
    if engine not in ("pandas", "polars"):
        raise LoadError(f"engine must be 'pandas' or 'polars', not {engine!r}")
    try:
        if source is None and version is not None:
            source, known_hash, version = _resolve(version, mirror)
        return _load(table, engine, version, source, known_hash)
    except LoadError:
        raise
    except Exception as e:  # anything else is still the data failing to load: say so, as a LoadError
        raise LoadError(f"cannot load {table!r}: {type(e).__name__}: {e}") from None


def _resolve(version: str, mirror: str | Path | None) -> tuple[Path | None, str | None, str]:
    """(source, known_hash, version) of a version asked without a source: the installed data when it is that
    version (nothing to download), else the release the index names: the one index a download may follow."""
    root = data_root()
    try:
        installed = safeio.load_json(safeio.read_inside(root, "datapackage.json")).get("version")
    except (OSError, ValueError, AttributeError, safeio.UnsafeInput):
        installed = None
    if version == installed:
        return None, None, version
    release = releases.find(version, root)
    if release.version == installed:
        return None, None, installed
    return releases.zip_of(release, root, mirror, download=True), release.known_hash, release.version


def _load(table: str, engine: str, version: str | None, source: Any, known_hash: str | None) -> Any:
    # the reading and typing machinery (polars, the Table Schema model) is imported when a table is read
    from cbj_figures.frames import to_pandas, typed_frame
    from cbj_figures.package import PackageError, open_package
    from cbj_figures.tables import read_tables

    with open_source(source, known_hash, version) as (root, is_release):
        try:
            pkg = open_package(root)
        except PackageError as e:
            raise LoadError(f"{root}: {e}") from None
        if version is not None and pkg.version != version:
            raise VersionMismatchError(f"{root}: package version is {pkg.version}, not the asked {version}")
        known = sorted(pkg.tables)
        if table not in known:
            raise UnknownTableError(table, known)
        res = pkg.tables[table]
        if res.schema is None and "schema" in res.descriptor:  # declared, but missing or malformed
            why = "; ".join(f.message for f in pkg.findings) or "it cannot be read"
            raise LoadError(f"table {table!r}: its schema is unusable ({why})")
        verify(root, pkg.descriptor, require_hashes=is_release)
        loaded, findings = read_tables(pkg)
        if table not in loaded:
            path = pkg.tables[table].path
            why = "; ".join(f"{f.location()}: {f.message}" for f in findings if f.file == path)
            raise LoadError(f"table {table!r} cannot be read: {why}")
        schema = loaded[table].schema
        frame = typed_frame(schema, loaded[table].frame)
    return frame if engine == "polars" else to_pandas(schema, frame)
