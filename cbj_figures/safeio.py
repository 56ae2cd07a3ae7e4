"""Reading and writing untrusted packages safely: the one place paths, sizes and parsers are bounded.

A package is input, and input can be hostile (a pull request from a stranger). Every path the
toolkit reads is resolved and must stay inside the package (symlinks included) and name a
regular file; every read is bounded; YAML aliases and deep nesting are refused; every write goes
to a new temporary file that is then renamed into place, inside the folder the user asked for,
so a planted symlink is replaced, never followed.
"""

from __future__ import annotations

import json
import os
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any

import yaml

MiB = 2**20
MAX_DESCRIPTOR = 64 * MiB  # a descriptor, schema, rule file or registry
MAX_DATA = 8 * 2**30  # one data file
MAX_TEXT = 256 * MiB  # a source text read whole
MAX_DEPTH = 100  # nesting of JSON and YAML documents
MAX_ARCHIVE = 2 * 2**30  # the uncompressed size of an archive's members, together
MAX_MEMBERS = 100_000
MAX_RATIO = 200  # a member that inflates more than this (and past 10 MiB) is a bomb, not data


class UnsafeInput(Exception):
    """Input the toolkit refuses to read or write; `code` is a finding code (unsafe-path, too-large, ...)."""

    def __init__(self, code: str, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.code, self.message, self.file, self.line = code, message, file, line


# ---------------------------------------------------------------- paths


def relpath(value: object, what: str = "path") -> str:
    """A relative POSIX path that cannot leave its base: no absolute path, drive, backslash or `..`."""
    if not isinstance(value, str) or not value.strip():
        raise UnsafeInput("unsafe-path", f"{what} must be a non-empty string, got {value!r}")
    p = PurePosixPath(value)
    if p.is_absolute() or "\\" in value or ":" in p.parts[0] or ".." in p.parts or "\0" in value:
        raise UnsafeInput("unsafe-path", f"{what} {value!r} is not a relative path inside the package")
    return p.as_posix()


def inside(root: Path, rel: str, *, what: str = "file") -> Path:
    """The regular file `rel` names under `root`, after symlinks; UnsafeInput when it leaves `root`.

    FileNotFoundError when it does not exist (the caller reports a missing file its own way).
    """
    rel = relpath(rel, what)
    base = Path(root).resolve()
    path = base / rel
    real = path.resolve()
    if not real.is_relative_to(base):
        raise UnsafeInput("unsafe-path", f"{what} {rel!r} is a symlink that leads outside the package", rel)
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(rel) from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a special file (FIFO, device or socket)"
        raise UnsafeInput("unsafe-path", f"{what} {rel!r} is {kind}, not a regular file", rel)
    return real


@contextmanager
def open_inside(root: Path, rel: str, *, limit: int = MAX_DATA, what: str = "file") -> Iterator[IO[bytes]]:
    """A binary file handle of `rel` (see `inside`), refused when larger than `limit`."""
    path = inside(root, rel, what=what)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise UnsafeInput("too-large", f"{what} {rel!r} has {size:,} bytes; the limit is {limit:,}", rel)
        yield fh


def read_inside(root: Path, rel: str, *, limit: int = MAX_DESCRIPTOR, what: str = "file") -> bytes:
    """The whole file, read only after its size is known to be within `limit` (a regular file's size is)."""
    with open_inside(root, rel, limit=limit, what=what) as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(size + 1)
    if len(data) > size:  # it grew while being read: refuse rather than read without bound
        raise UnsafeInput("too-large", f"{what} {rel!r} changed size while it was read", rel)
    return data


def read_file(path: Path, *, limit: int = MAX_DESCRIPTOR) -> bytes:
    """A file the user named (not a package member): regular, bounded."""
    path = Path(path)
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise UnsafeInput("unsafe-path", f"{path} is not a regular file", str(path))
    size = path.stat().st_size
    if size > limit:
        raise UnsafeInput("too-large", f"{path} has more than {limit:,} bytes", str(path))
    with open(path, "rb") as fh:
        return fh.read(size)


# ---------------------------------------------------------------- writing


def atomic_write(path: Path, data: str | bytes, *, within: Path | None = None) -> Path:
    """Write `data` to a new temporary file beside `path`, then rename it over `path`.

    A symlink planted at `path` is replaced, not followed; `within` (when given) is the folder the
    write must stay in, its own symlinks resolved.
    """
    path = Path(path)
    parent = path.parent.resolve()
    if within is not None and not parent.is_relative_to(Path(within).resolve()):
        raise UnsafeInput("unsafe-path", f"refusing to write {path}: it is outside {within}", str(path))
    if path.is_dir() and not path.is_symlink():
        raise UnsafeInput("unsafe-path", f"refusing to write {path}: it is a folder", str(path))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, parent / path.name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return parent / path.name


# ---------------------------------------------------------------- parsing


def _depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Nesting depth at most `limit`, counted without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return True


def load_json(text: str | bytes, *, file: str | None = None) -> Any:
    """JSON with its nesting bounded; ValueError (json.JSONDecodeError) for broken JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnsafeInput("too-complex", f"nested more than {MAX_DEPTH} levels deep", file) from None
    if not _depth_ok(value):
        raise UnsafeInput("too-complex", f"nested more than {MAX_DEPTH} levels deep", file)
    return value


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing anchors and aliases: they let a few bytes expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, "YAML aliases (*name) are not accepted: they can expand without bound", event.start_mark
            )
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                None, None, "YAML anchors (&name) are not accepted: aliases to them can expand without bound",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def yaml_loader(text: str) -> yaml.SafeLoader:
    """A safe YAML loader without aliases (callers that keep node lines compose with it)."""
    return _NoAliasLoader(text)


def load_yaml(text: str, *, file: str | None = None) -> Any:
    """YAML through the safe loader, without aliases, nesting bounded."""
    loader = _NoAliasLoader(text)
    try:
        value = loader.get_single_data()
    except RecursionError:
        raise UnsafeInput("too-complex", f"nested more than {MAX_DEPTH} levels deep", file) from None
    finally:
        loader.dispose()
    if not _depth_ok(value):
        raise UnsafeInput("too-complex", f"nested more than {MAX_DEPTH} levels deep", file)
    return value


# ---------------------------------------------------------------- archives


def _member_path(name: str) -> str:
    """An archive member's path, refused when absolute or escaping."""
    return relpath(name.rstrip("/"), "archive member")


def safe_extract(archive: Path, dest: Path, *, max_bytes: int = MAX_ARCHIVE) -> Path:
    """Extract `archive` (see `_extract`); a refusal names the archive."""
    try:
        return _extract(Path(archive), Path(dest), max_bytes)
    except UnsafeInput as e:
        raise UnsafeInput(e.code, e.message, file=e.file or str(archive)) from None


def _extract(archive: Path, dest: Path, max_bytes: int) -> Path:
    """Extract a zip or tar into the fresh folder `dest`, after checking every member.

    Refused before anything is written: a member with an absolute or `..` path, a link or special
    file, more than MAX_MEMBERS members, or more than `max_bytes` uncompressed in total.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            _check_members([(i.filename, i.file_size, i.is_dir() or not _zip_is_link(i)) for i in infos], max_bytes)
            for i in infos:
                if i.file_size > 10 * MiB and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                    raise UnsafeInput("too-large", f"archive member {i.filename!r} inflates {i.compress_size:,} bytes "
                                      f"to {i.file_size:,}: refused as a zip bomb")
            for info in infos:
                target = dest / _member_path(info.filename)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    copied = 0
                    for chunk in iter(lambda: src.read(MiB), b""):
                        copied += len(chunk)
                        if copied > info.file_size:  # the header lied about the size
                            raise UnsafeInput("too-large", f"archive member {info.filename!r} is larger than declared")
                        out.write(chunk)
                if copied != info.file_size:
                    raise UnsafeInput("unsafe-path", f"archive member {info.filename!r} is not the size it declares")
        return dest
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            _check_members([(m.name, m.size, m.isfile() or m.isdir()) for m in members], max_bytes)
            tf.extractall(dest, filter="data")
        return dest
    raise UnsafeInput("unsupported", f"{archive.name} is neither a zip nor a tar archive")


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_members(members: list[tuple[str, int, bool]], max_bytes: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise UnsafeInput("too-large", f"the archive has {len(members):,} members; the limit is {MAX_MEMBERS:,}")
    total = 0
    for name, size, regular in members:
        _member_path(name)
        if not regular:
            raise UnsafeInput("unsafe-path", f"archive member {name!r} is a link or special file")
        total += size
    if total > max_bytes:
        raise UnsafeInput("too-large", f"the archive unpacks to {total:,} bytes; the limit is {max_bytes:,}")
