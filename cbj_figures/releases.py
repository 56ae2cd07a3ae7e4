"""The release index: which versions exist, where each zip lives and its sha256, so any version can be pulled by number.

Two indexes, trusted differently. The index installed with the toolkit (`loader.data_root()`: the wheel's
`_data/releases/index.json`) is the toolkit's own: `load(version=...)` may download a release it names, from its URL
or the user's mirror (`fetch.py`). A repository's own `releases/index.json` is part of whatever pull request is being
checked: `diff`, `site` and `cite --version` in a clone read it offline, each release from the zip kept beside it in
`releases/<version>/`; a release it names but does not keep is an error naming it, never a download. Every zip is
checked (size and sha256) before it is opened, its members before anything is extracted, and only `LoadError`
subclasses leave this module. The index is written by `record.py` alone.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cbj_figures import fetch, safeio

FOLDER = "releases"
INDEX = f"{FOLDER}/index.json"
MIRROR_ENV = "CBJ_FIGURES_MIRROR"
MAX_ZIP = 2 * 2**30  # a release zip, and what it may unpack to
_FILE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,150}\.zip$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


class LoadError(ValueError):
    """The data cannot be loaded as asked."""


class IntegrityError(LoadError):
    """A file differs from the hash recorded for it: it was changed or damaged."""

    def __init__(self, file: str, expected: str, actual: str):
        super().__init__(f"{file}: {actual} does not match the recorded hash {expected}; refusing to load it")
        self.file, self.expected, self.actual = file, expected, actual


class VersionMismatchError(LoadError):
    """The package found is not the version asked for."""


class UnknownVersionError(VersionMismatchError, LookupError):
    """The asked version is not in the release index."""

    def __init__(self, version: str, known: list[str]):
        listed = f"recorded releases: {', '.join(known)}, or 'latest'" if known else "no release is recorded"
        super().__init__(f"version {version!r} is not a recorded release of this package ({listed})")
        self.version, self.known = version, known


class DownloadError(LoadError):
    """A release's zip could not be had: host unreachable, an HTTP error, too large or too slow, not in the mirror,
    or not kept beside a repository's own index."""


@dataclass(frozen=True)
class Release:
    """One entry of the index."""

    version: str
    date: str
    file: str
    bytes: int
    sha256: str
    url: str
    descriptor: str  # relative to releases/
    changes: str  # the CHANGELOG.md entry, Markdown

    @property
    def known_hash(self) -> str:
        return f"sha256:{self.sha256}"

    def summary(self, width: int = 120) -> str:
        """The entry's first sentence, on one line."""
        paragraph = " ".join(self.changes.strip().split("\n\n")[0].split())
        sentence = re.split(r"(?<=[.!?。])\s", paragraph, maxsplit=1)[0]
        return sentence if len(sentence) <= width else sentence[: width - 1].rsplit(" ", 1)[0] + " …"


def version_key(version: str) -> tuple[int, int, int]:
    match = _VERSION.match(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (-1, -1, -1)


# ---------------------------------------------------------------- reading the index


def read_index(root: str | Path) -> list[Release]:
    """The releases recorded under `root` (a repository, or the installed data), oldest first; [] without an index."""
    try:
        raw = safeio.read_inside(Path(root), INDEX, what="release index")
    except FileNotFoundError:
        return []
    except safeio.UnsafeInput as e:
        raise LoadError(f"{INDEX}: {e.message}") from None
    try:
        doc = safeio.load_json(raw, file=INDEX)
    except (ValueError, safeio.UnsafeInput) as e:
        raise LoadError(f"{INDEX}: not a readable index ({getattr(e, 'message', e)})") from None
    items = doc.get("releases") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise LoadError(f'{INDEX}: needs a "releases" list')
    releases = [_entry(i, item) for i, item in enumerate(items)]
    return sorted(releases, key=lambda r: version_key(r.version))


def _entry(i: int, item: Any) -> Release:
    """An index entry, every field checked: the index decides file names and URLs, so nothing else may pass."""
    where = f"{INDEX}: release {i + 1}"
    if not isinstance(item, dict):
        raise LoadError(f"{where} is not an object")
    try:
        release = Release(**{k: item[k] for k in Release.__dataclass_fields__})
    except (KeyError, TypeError) as e:
        raise LoadError(f"{where}: missing or unexpected field ({e})") from None
    checks = {
        "version": isinstance(release.version, str) and _VERSION.match(release.version),
        "date": isinstance(release.date, str),
        "file": isinstance(release.file, str) and _FILE.match(release.file),
        "bytes": isinstance(release.bytes, int) and not isinstance(release.bytes, bool) and release.bytes >= 0,
        "sha256": isinstance(release.sha256, str) and _SHA256.match(release.sha256),
        "url": isinstance(release.url, str) and release.url.startswith(("https://", "http://", "doi:")),
        "descriptor": isinstance(release.descriptor, str),
        "changes": isinstance(release.changes, str),
    }
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise LoadError(f"{where}: invalid {', '.join(bad)}")
    return release


def find(version: str, root: str | Path) -> Release:
    """The release `version` of the index under `root` ("latest": the newest); UnknownVersionError otherwise."""
    releases = read_index(root)
    if releases and version == "latest":
        return releases[-1]
    for release in releases:
        if release.version == version:
            return release
    raise UnknownVersionError(version, [r.version for r in releases])


# ---------------------------------------------------------------- getting a release's zip


def zip_of(release: Release, root: str | Path, mirror: str | Path | None = None, *, download: bool = False) -> Path:
    """The zip of `release`, its size and sha256 checked: kept beside the index (`releases/<version>/`), else, only
    when `download` (the index installed with the toolkit, never a repository's own), from the user's cache, the
    mirror (argument, else $CBJ_FIGURES_MIRROR: a folder, or a base URL), or the index's URL."""
    found = kept(release, root)
    if found is not None:
        return verified(release, found)
    if not download:
        raise DownloadError(
            f"release {release.version}: {INDEX} names it, but its zip is not kept in {Path(root) / FOLDER}/"
            f"{release.version}/; a repository's own index is read offline, never downloaded from"
        )
    found = fetch.cached("sha256", release.sha256)
    if found is not None:
        return verified(release, found)
    if mirror is None:
        mirror = os.environ.get(MIRROR_ENV) or None
    if mirror is not None and not str(mirror).startswith(("http://", "https://")):
        return verified(release, _in_mirror(Path(mirror), release))
    url = f"{str(mirror).rstrip('/')}/{release.version}/{release.file}" if mirror is not None else release.url
    what = f"release {release.version}"
    return verified(release, download_zip(url, release.known_hash, limit=release.bytes, what=what))


def kept(release: Release, root: str | Path) -> Path | None:
    """The zip kept beside the index: `releases/<version>/<file>` of `root`; None when it is not there."""
    return _in_folder(Path(root) / FOLDER, release)


def _in_mirror(folder: Path, release: Release) -> Path:
    if not folder.is_dir():
        raise DownloadError(f"release {release.version}: the mirror {folder} is not a folder or an http(s) URL")
    found = _in_folder(folder, release)
    if found is None:
        raise DownloadError(f"release {release.version}: {release.file} is not in the mirror {folder} "
                            f"(looked for {release.version}/{release.file} and {release.file})")
    return found


def _in_folder(folder: Path, release: Release) -> Path | None:
    """<folder>/<version>/<file> (the layout of releases/) or <folder>/<file> (a dist/ folder)."""
    if not folder.is_dir():
        return None
    for rel in (f"{release.version}/{release.file}", release.file):
        try:
            return safeio.inside(folder, rel, what="release zip")
        except FileNotFoundError:
            continue
        except safeio.UnsafeInput as e:
            raise LoadError(f"release {release.version}: {folder}: {e.message}") from None
    return None


def verified(release: Release, path: Path) -> Path:
    """`path`, when it is the release's zip: its size and sha256 those of the index; IntegrityError otherwise."""
    digest, size = safeio.file_digest(path)
    if (digest, size) != (release.sha256, release.bytes):
        actual = f"sha256:{digest} ({size:,} bytes)"
        raise IntegrityError(f"release {release.version} ({path})", release.known_hash, actual)
    return path


def download_zip(url: str, known_hash: str, *, limit: int = MAX_ZIP, what: str | None = None) -> Path:
    """The zip of `known_hash` (`sha256:<hex>`), from the user's cache or downloaded from `url` (`fetch.py`: at most
    `limit` bytes, a deadline, checked before it is kept); the errors name `what` (default: the URL)."""
    algorithm, expected = parse_hash(known_hash)
    try:
        return fetch.download(url, algorithm, expected, limit=limit)
    except fetch.HashMismatch as e:
        raise IntegrityError(f"{what} ({url})" if what else url, f"{algorithm}:{expected}", e.actual) from None
    except fetch.FetchError as e:
        raise DownloadError(f"{what}: {e}" if what else str(e)) from None


def parse_hash(value: str) -> tuple[str, str]:
    """(algorithm, hex digest) of `[algorithm:]hex` (sha256 when unnamed)."""
    algorithm, _, expected = value.rpartition(":")
    algorithm = (algorithm or "sha256").lower()
    if algorithm not in safeio.HASHES:
        raise LoadError(f"hash algorithm {algorithm!r} is not one of {', '.join(safeio.HASHES)}")
    return algorithm, expected.lower()


# ---------------------------------------------------------------- opening a release


@contextmanager
def open_release(
    version: str, root: str | Path, mirror: str | Path | None = None, *, download: bool = False
) -> Iterator[tuple[Release, Path]]:
    """(the release, its package folder) for a version of the index under `root`: its zip had as `zip_of` has it
    (`download` only for the index installed with the toolkit), checked, extracted for as long as the context lasts."""
    release = find(version, root)
    with open_archive(zip_of(release, root, mirror, download=download), version=release.version) as folder:
        yield release, folder


@contextmanager
def open_archive(path: Path, known_hash: str | None = None, version: str | None = None) -> Iterator[Path]:
    """The package inside a release zip or tar (of `version`), checked against `known_hash` first, its members
    before anything is extracted (`safeio.safe_extract`) into a temporary folder that lasts as long as the context;
    every error names the archive."""
    if known_hash:
        algorithm, expected = parse_hash(known_hash)
        actual = safeio.file_digest(path, algorithm)[0]
        if actual != expected:
            raise IntegrityError(str(path), f"{algorithm}:{expected}", f"{algorithm}:{actual}")
    with tempfile.TemporaryDirectory(prefix="cbj-figures-") as tmp:
        try:
            folder = safeio.safe_extract(path, Path(tmp) / "release", max_bytes=MAX_ZIP)
        except safeio.UnsafeInput as e:
            raise LoadError(f"{path}: {e.message}") from None
        try:
            root = find_package_root(folder, version)
        except LoadError as err:  # name the archive the user gave, not our temporary folder
            raise type(err)(str(err).replace(str(folder), str(path))) from None
        yield root


def find_package_root(folder: Path, version: str | None = None) -> Path:
    """The package in `folder`: itself, or the one shallowest datapackage.json below it (of `version`)."""
    if (folder / "datapackage.json").is_file():
        return folder
    found = sorted(folder.rglob("datapackage.json"), key=lambda p: (len(p.parts), str(p)))
    found = [p for p in found if len(p.parts) == len(found[0].parts)] if found else []
    if version is not None:
        versions = {p: _version_of(p) for p in found}
        if len(found) == 1 and versions[found[0]] != version:  # one release, of another version
            raise VersionMismatchError(f"{folder}: package version is {versions[found[0]]}, not the asked {version}")
        found = [p for p in found if versions[p] == version]
    if len(found) != 1:
        what = "no" if not found else "more than one"
        listed = f": {', '.join(str(p.parent) for p in found)}" if found else ""
        raise LoadError(f"{folder}: {what} package{f' of version {version}' if version else ''} inside{listed}")
    return found[0].parent


def _version_of(descriptor: Path) -> Any:
    try:
        doc = safeio.load_json(safeio.read_inside(descriptor.parent, descriptor.name))
    except (OSError, ValueError, safeio.UnsafeInput) as e:
        raise LoadError(f"{descriptor}: {getattr(e, 'message', e)}") from None
    return doc.get("version") if isinstance(doc, dict) else None


# ---------------------------------------------------------------- listing


def render(releases: list[Release]) -> str:
    """Newest first: version, date, size and sha256 on one line, the first sentence of its changes below."""
    if not releases:
        return f"no releases recorded ({INDEX})"
    lines = []
    for r in reversed(releases):
        lines.append(f"{r.version:<8} {r.date:<10}  {r.bytes:>9,} bytes  sha256:{r.sha256}")
        lines.append(f"         {r.summary()}")
    return "\n".join(lines)
