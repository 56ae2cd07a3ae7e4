"""Downstream loading: a table with its schema's types, after every file is checked against its hash.

Readers get the data they can trust: a release is refused when any file differs from the
descriptor's sha256 (or from `SHA256SUMS`), so a tampered or truncated download never loads. A
release from elsewhere is input like any package: a zip is checked against `known_hash` before
it is opened, its members before anything is extracted, and every path stays inside it. Only
`LoadError` (and its subclasses) leaves `load()`. A version asked by number is resolved through the
release index (`releases.py`) to its zip and sha256.
"""

from __future__ import annotations

import importlib.resources
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from cbj_figures import safeio
from cbj_figures.descriptor import HASHES, file_digest

SUMS = "SHA256SUMS"
MAX_RELEASE = 2 * 2**30  # what a release zip may unpack to


class LoadError(ValueError):
    """The data cannot be loaded as asked."""


class IntegrityError(LoadError):
    """A file differs from the hash the descriptor records for it: it was changed or damaged."""

    def __init__(self, file: str, expected: str, actual: str):
        super().__init__(f"{file}: {actual} does not match the recorded {expected}; refusing to load it")
        self.file, self.expected, self.actual = file, expected, actual


class UnknownTableError(LoadError, LookupError):
    """The asked table is not in the package."""

    def __init__(self, table: str, known: list[str]):
        super().__init__(f"unknown table {table!r}; known tables: {', '.join(known)}")
        self.table, self.known = table, known


class VersionMismatchError(LoadError):
    """The package found is not the version asked for."""


class UnknownVersionError(VersionMismatchError, LookupError):
    """The asked version is not in the release index."""

    def __init__(self, version: str, known: list[str]):
        listed = f"recorded releases: {', '.join(known)}, or 'latest'" if known else "no release is recorded"
        super().__init__(f"version {version!r} is not a recorded release of this package ({listed})")
        self.version, self.known = version, known


class DownloadError(LoadError):
    """A release's zip could not be fetched: host unreachable, an HTTP error, not in the mirror."""


def data_root() -> Path:
    """The bundled package: `cbj_figures/_data` in an installed wheel, else the source checkout's root."""
    bundled = importlib.resources.files("cbj_figures") / "_data"
    if (bundled / "datapackage.json").is_file():
        return Path(str(bundled))
    return Path(__file__).resolve().parents[1]


def _hash(value: str) -> tuple[str, str]:
    algorithm, _, expected = value.rpartition(":")
    algorithm = (algorithm or "sha256").lower()
    if algorithm not in HASHES:
        raise LoadError(f"hash algorithm {algorithm!r} is not one of {', '.join(HASHES)}")
    return algorithm, expected.lower()


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
            _check(root, rel, *_hash(recorded))
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
    actual = file_digest(path, algorithm)[0]
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
        source = _fetch(text, known_hash)
    path = Path(source)
    if path.is_dir():
        if known_hash:
            raise LoadError(f"{path}: known_hash is the hash of a release zip, not of a folder")
        yield find_package_root(path, version), True
        return
    if not path.is_file():
        raise LoadError(f"{source}: not a release folder, a zip or a URL")
    if known_hash:
        algorithm, expected = _hash(known_hash)
        actual = file_digest(path, algorithm)[0]
        if actual != expected:
            raise IntegrityError(str(path), f"{algorithm}:{expected}", f"{algorithm}:{actual}")
    with tempfile.TemporaryDirectory(prefix="cbj-figures-") as tmp:
        try:
            folder = safeio.safe_extract(path, Path(tmp) / "release", max_bytes=MAX_RELEASE)
        except safeio.UnsafeInput as e:
            raise LoadError(f"{path}: {e.message}") from None
        except (OSError, EOFError, ValueError) as e:
            raise LoadError(f"{path}: not a readable release archive ({e})") from None
        try:
            root = find_package_root(folder, version)
        except LoadError as err:  # name the archive the user gave, not our temporary folder
            raise type(err)(str(err).replace(str(folder), str(path))) from None
        yield root, True


def _fetch(url: str, known_hash: str) -> Path:
    import pooch

    algorithm, expected = _hash(known_hash)
    try:
        fetched = pooch.retrieve(url, known_hash=f"{algorithm}:{expected}", path=pooch.os_cache("cbj-figures"),
                                 progressbar=False)
    except ValueError as e:  # pooch: hash mismatch
        raise IntegrityError(url, f"{algorithm}:{expected}", f"another file ({e})") from None
    except Exception as e:  # the network, the server
        raise LoadError(f"{url}: cannot download it ({type(e).__name__}: {e})") from None
    return Path(fetched)


def find_package_root(folder: Path, version: str | None = None) -> Path:
    """The package in `folder`: itself, or the one shallowest datapackage.json below it (of `version`)."""
    from cbj_figures.package import PackageError, read_document

    if (folder / "datapackage.json").is_file():
        return folder
    found = sorted(folder.rglob("datapackage.json"), key=lambda p: (len(p.parts), str(p)))
    found = [p for p in found if len(p.parts) == len(found[0].parts)] if found else []
    if version is not None:
        versions = {}
        for p in found:
            try:
                doc = read_document(p.parent, p.name)
            except PackageError as e:
                raise LoadError(f"{p}: {e}") from None
            versions[p] = doc.get("version") if isinstance(doc, dict) else None
        if len(found) == 1 and versions[found[0]] != version:  # one release, of another version
            raise VersionMismatchError(f"{folder}: package version is {versions[found[0]]}, not the asked {version}")
        found = [p for p in found if versions[p] == version]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        listed = f": {', '.join(str(p.parent) for p in found)}" if found else ""
        raise LoadError(f"{folder}: {what} package{f' of version {version}' if version else ''} inside{listed}")
    return found[0].parent


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

    `source` is None (the data installed with this package), a release folder, a release zip,
    or a URL of a release zip (fetched by pooch); `known_hash` (sha256 of the zip) is checked for a
    zip and a URL. `version`, when given, must equal the package's version: a pin, so analyses
    fail loudly on other data. Without a `source`, `version` ("0.1.0", or "latest": the newest) is
    looked up in the release index: the installed data when it is that version, else the release's
    zip, downloaded once into the user's cache and checked against the index's sha256. `mirror` (or
    $CBJ_FIGURES_MIRROR), a folder or base URL, replaces the download host.
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
    version (nothing to download), else the release the index names."""
    from cbj_figures import releases

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
    return releases.fetch(release, root, mirror), release.known_hash, release.version


def _load(table: str, engine: str, version: str | None, source: Any, known_hash: str | None) -> Any:
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
