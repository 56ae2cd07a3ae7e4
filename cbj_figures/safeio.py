"""Reading and writing untrusted packages safely: the one place paths, sizes and parsers are bounded.

A package is input, and input can be hostile (a pull request from a stranger). Every path the
toolkit reads is resolved and must stay inside the package (symlinks included) and name a
regular file; every read is bounded; YAML aliases and deep nesting are refused; every write goes
to a new temporary file that is then renamed into place, inside the folder the user asked for,
so a planted symlink is replaced, never followed.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import hashlib
import json
import lzma
import os
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from itertools import dropwhile
from pathlib import Path, PurePosixPath
from typing import IO, Any

import yaml

MiB = 2**20
MAX_DESCRIPTOR = 64 * MiB  # a descriptor, schema, rule file or registry
MAX_DATA = 8 * 2**30  # one data file
MAX_TEXT = 256 * MiB  # a source text read whole
MAX_DEPTH = 100  # nesting of JSON and YAML documents
HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")  # the algorithms a `hash` may name
# Counts: what lies past a cap is left out with one located `too-large` finding, so the work stays bounded
# (and linear below the caps: tests/hostile/test_counts.py; docs/benchmark.md has the times at the caps).
MAX_RESOURCES = 1_000  # resources of a package
MAX_FIELDS = 2_000  # fields of a Table Schema
MAX_COLUMNS = 2_000  # labels of a table's header
MAX_HEADER_BYTES = 16 * MiB  # the header line read to count them
MAX_RULES = 10_000  # consistency rules of a package
MAX_RULE_FILE = 4 * MiB  # one rule file
MAX_FINDINGS = 100_000  # findings of one run (a report lists at most this many)


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
#
# Every write is confined to a root and walks down from it one component at a time, openat style: each
# folder is opened relative to the one above with O_NOFOLLOW | O_DIRECTORY (and created with mkdir relative
# to it), so a symlink anywhere between the root and the file (`dist`, `docs`, `reports` committed as a link)
# is refused, never followed. The file itself is written to a fresh temporary file in its folder and renamed
# over the name: a symlink planted at the name is replaced, not written through.
#
# The root is what the user vouched for, followed as typed: the package folder for files written into the
# package (schemas, docs, validators, CITATION.cff, releases/), the working directory for a relative output
# path (`--out dist`, `--junit reports/x.xml`), and for an absolute one its deepest existing folder, unless
# it lies inside the working directory or the package: a pull request decides what those hold, so the walk
# starts at them (`$GITHUB_STEP_SUMMARY` lies outside both and is the runner's own file).

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Target:
    """A path to write: the root it is confined to, and the components below it (none `.`, `..` or empty)."""

    root: Path
    parts: tuple[str, ...]

    @property
    def path(self) -> Path:
        return self.root.joinpath(*self.parts)

    def __str__(self) -> str:
        return str(self.path)


def under(root: str | Path, path: str | Path) -> Target:
    """`path` (relative to `root`, or `root` joined with it) confined to `root`: a file written into the package."""
    path = Path(path)
    if path.is_relative_to(root):
        rel = path.relative_to(root).as_posix()
    else:
        rel = os.path.relpath(path, root) if path.is_absolute() else path.as_posix()
    return Target(Path(root), PurePosixPath(relpath(rel, "output path")).parts)


def confine(path: str | Path, *, package: str | Path | None = None) -> Target:
    """Where a path the user named is confined (see the section's comment): relative to the working
    directory, or absolute inside it or the package, the walk starts there; else at its deepest existing
    folder. A `..` after a named component is refused (it would climb back through a folder unchecked)."""
    text = os.fspath(path)
    if not text.strip() or "\0" in text:
        raise UnsafeInput("unsafe-path", f"output path {text!r} must be a non-empty path")
    parts = [p for p in Path(text).parts if p != "."]
    leading = 0 if Path(text).is_absolute() else len(parts) - len(list(dropwhile(lambda p: p == "..", parts)))
    if ".." in parts[leading:]:
        raise UnsafeInput("unsafe-path", f"output path {text!r} climbs back with '..'; name the folder directly")
    cwd = Path(os.getcwd())
    full = Path(os.path.normpath(cwd / text))  # only leading `..` remain to normalise: against the real cwd
    for root in _confining_roots(cwd, package):
        if full != root and full.is_relative_to(root):
            return Target(root, full.relative_to(root).parts)
    base = full.parent
    while not base.is_dir() and base != base.parent:
        base = base.parent
    return Target(base, full.relative_to(base).parts)


def _confining_roots(cwd: Path, package: str | Path | None) -> list[Path]:
    """The working directory and the package folder, each as typed and as resolved; the outermost first."""
    roots = [cwd]
    pwd = os.environ.get("PWD")
    if pwd and Path(pwd).is_absolute():
        try:
            if os.path.samefile(pwd, cwd):
                roots.append(Path(pwd))
        except OSError:
            pass
    if package is not None:
        pkg = Path(package)
        pkg = pkg if pkg.is_dir() else pkg.parent
        roots += [Path(os.path.abspath(pkg)), pkg.resolve()]
    return sorted(set(roots), key=lambda r: len(r.parts))


def _refuse(target: Target, upto: int, why: str) -> UnsafeInput:
    where = target.root.joinpath(*target.parts[:upto])
    return UnsafeInput("unsafe-path", f"refusing to write in {target.path}: {where} {why}", str(where))


@contextmanager
def open_folder(target: Target, *, create: bool = True) -> Iterator[int]:
    """A file descriptor of the folder `target` names, reached from its root one component at a time
    without following a symlink (created, when missing and `create`); UnsafeInput at a symlink or a file."""
    fd = os.open(target.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        for i, name in enumerate(target.parts, start=1):
            parent, fd = fd, -1
            fd = _step(parent, name, target, i, create)
        yield fd
    finally:
        if fd >= 0:
            os.close(fd)


def _step(fd: int, name: str, target: Target, i: int, create: bool) -> int:
    """The folder `name` inside the folder `fd` (which is closed): opened with O_NOFOLLOW | O_DIRECTORY."""
    try:
        if create:
            with suppress(FileExistsError):
                os.mkdir(name, 0o755, dir_fd=fd)
        try:
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            raise _refuse(target, i, "does not exist") from None
        if stat.S_ISLNK(mode):
            raise _refuse(target, i, "is a symlink; the toolkit never writes through one")
        if not stat.S_ISDIR(mode):
            raise _refuse(target, i, "is not a folder")
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError as e:  # ELOOP or ENOTDIR: swapped for a link or a file after the check
            raise _refuse(target, i, f"cannot be opened as a folder ({e.strerror})") from None
    finally:
        os.close(fd)


def output_folder(path: str | Path, *, package: str | Path | None = None, create: bool = True) -> Path:
    """The output folder the user named (`--out`), checked (and created) component by component; its path."""
    target = path if isinstance(path, Target) else confine(path, package=package)
    with open_folder(target, create=create):
        pass
    return target.path


def write(target: Target, data: str | bytes) -> Path:
    """Write `data` to the file `target` names: its folder reached without a symlink (see `open_folder`),
    a fresh temporary file beside the name, renamed over it (a symlink at the name is replaced, not followed)."""
    if not target.parts:
        raise UnsafeInput("unsafe-path", f"refusing to write {target.path}: it is a folder", str(target.path))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder, name = Target(target.root, target.parts[:-1]), target.parts[-1]
    with open_folder(folder) as dfd:
        try:
            if stat.S_ISDIR(os.stat(name, dir_fd=dfd, follow_symlinks=False).st_mode):
                raise UnsafeInput("unsafe-path", f"refusing to write {target.path}: it is a folder", str(target.path))
        except FileNotFoundError:
            pass
        tmp = f".{name[:100]}.{os.urandom(6).hex()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(tmp, flags, 0o644, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                os.fchmod(fh.fileno(), 0o644)
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise
    return target.path


def append(target: Target, text: str) -> Path:
    """Append to a regular file (`--summary`, GitHub's $GITHUB_STEP_SUMMARY): its folder reached as `write`
    does, the file opened without following a symlink and without blocking; a FIFO or device is refused."""
    if not target.parts:
        raise UnsafeInput("unsafe-path", f"refusing to append to {target.path}: it is a folder", str(target.path))
    folder, name = Target(target.root, target.parts[:-1]), target.parts[-1]
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    with open_folder(folder) as dfd:
        try:
            fd = os.open(name, flags | getattr(os, "O_CLOEXEC", 0), 0o644, dir_fd=dfd)
        except OSError as e:  # ELOOP: a symlink; ENXIO: a FIFO nobody reads
            why = "it is a symlink" if e.errno == errno.ELOOP else f"not a regular file ({e.strerror})"
            raise UnsafeInput("unsafe-path", f"refusing to append to {target.path}: {why}", str(target.path)) from None
    with os.fdopen(fd, "a", encoding="utf-8", errors="surrogateescape") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeInput("unsafe-path", f"refusing to append to {target.path}: not a regular file",
                              str(target.path))
        os.set_blocking(fd, True)
        fh.write(text)
    return target.path


def atomic_write(path: Path, data: str | bytes, *, within: Path | None = None) -> Path:
    """`write` of `path`, confined to `within` (the package root, for a file written into the package), else
    to where `confine` puts a path the user named."""
    return write(under(within, path) if within is not None else confine(path), data)


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


# ---------------------------------------------------------------- hashes


def file_digest(path: Path, algo: str = "sha256") -> tuple[str, int]:
    """(hex digest, size in bytes) of a file, read in chunks; the one hashing routine of the toolkit."""
    digest, size = hashlib.new(algo), 0
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(MiB), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# ---------------------------------------------------------------- archives

MAX_ARCHIVE = 2 * 2**30  # what an archive may unpack to, all members together
MAX_MEMBERS = 100_000
MAX_RATIO = 200  # all members together unpack to at most this many times the archive's own size (a bomb ...
RATIO_FLOOR = 16 * MiB  # ... inflates thousands of times, data a few dozen), or to this much, whatever its size
MAX_DIRECTORY = 32 * MiB  # a zip's central directory, listed whole by zipfile
MAX_HEADER = MiB  # a tar member's headers (long names, pax records) and the reader's look-ahead
_TAR_COMPRESSIONS: dict[bytes, Callable[[IO[bytes]], IO[bytes]]] = {
    b"\x1f\x8b": lambda raw: gzip.GzipFile(fileobj=raw),
    b"BZh": bz2.BZ2File,
    b"\xfd7zXZ\x00": lzma.LZMAFile,
}
_UNREADABLE = (  # what zipfile, tarfile and the decompressors raise on damaged or unsupported input
    tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError, zlib.error, struct.error, ValueError,
    RuntimeError,  # an encrypted zip member, an unsupported compression method
)


def _member_path(name: str) -> str:
    """An archive member's path, refused when absolute or escaping (`./`, the archive's own folder, is itself)."""
    stripped = name.rstrip("/")
    return stripped if stripped == "." else relpath(stripped, "archive member")


def safe_extract(archive: Path, dest: Path, *, max_bytes: int = MAX_ARCHIVE) -> Path:
    """Extract a zip or a tar (plain, gz, bz2 or xz) into the fresh folder `dest`, after checking it as a whole.

    Refused before anything is written: a member with an absolute or `..` path, a link or special file, more than
    MAX_MEMBERS members, or more than the budget unpacked, all members together (`max_bytes`, and MAX_RATIO times
    the archive's own size). Listing stops as soon as the budget is spent, so a member that declares 64 GiB is never
    decompressed; the bytes actually produced are counted too. A refusal names the archive.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    try:
        extract = _extract_zip if zipfile.is_zipfile(archive) else _extract_tar
        extract(archive, dest, _Budget.of(archive, max_bytes))
    except BaseException as e:
        shutil.rmtree(dest, ignore_errors=True)  # ours, and fresh: nothing half-extracted stays
        if isinstance(e, UnsafeInput):
            raise UnsafeInput(e.code, e.message, file=e.file or str(archive)) from None
        if isinstance(e, _UNREADABLE):
            raise UnsafeInput("unsupported", f"not a readable zip or tar archive ({e})", str(archive)) from None
        raise
    return dest


class _Budget:
    """What an archive may still unpack to: members and bytes, declared and produced, all members together."""

    def __init__(self, limit: int, why: str):
        self.limit, self.why, self.declared, self.produced, self.members = limit, why, 0, 0, 0

    @classmethod
    def of(cls, archive: Path, max_bytes: int) -> _Budget:
        size = archive.stat().st_size
        by_ratio = max(RATIO_FLOOR, MAX_RATIO * size)
        if by_ratio < max_bytes:
            return cls(by_ratio, f"too many for its own {size:,}: refused as a bomb")
        return cls(max_bytes, "the limit: refused")

    def member(self, name: str, size: int, regular: bool) -> str:
        """Count a member as listed: its path (returned), kind and declared size; refused past the budget."""
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise UnsafeInput("too-large", f"the archive has more than {MAX_MEMBERS:,} members")
        rel = _member_path(name)
        if not regular:
            raise UnsafeInput("unsafe-path", f"archive member {name!r} is a link or special file")
        self.declared += size
        self._within(self.declared, "declares")
        return rel

    def produced_bytes(self, count: int) -> None:
        self.produced += count
        self._within(self.produced, "unpacks to")

    def _within(self, total: int, verb: str) -> None:
        if total > self.limit:
            raise UnsafeInput("too-large", f"the archive {verb} more than {self.limit:,} bytes, {self.why}")


def _extract_zip(archive: Path, dest: Path, budget: _Budget) -> None:
    """The central directory's declared sizes are checked first, then each member is held to its own."""
    entries, directory = _zip_directory(archive)
    if entries > MAX_MEMBERS or directory > MAX_DIRECTORY:
        raise UnsafeInput("too-large", f"the archive lists {entries:,} members in {directory:,} bytes; the limits "
                          f"are {MAX_MEMBERS:,} members and {MAX_DIRECTORY:,} bytes")
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        rels = [budget.member(i.filename, i.file_size, i.is_dir() or not _zip_is_link(i)) for i in infos]
        for info, rel in zip(infos, rels, strict=True):
            if info.is_dir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as src:
                copied = _write_member(src, dest / rel, info.file_size, budget, info.filename)
            if copied != info.file_size:
                raise UnsafeInput("unsafe-path", f"archive member {info.filename!r} is not the size it declares")


def _zip_directory(archive: Path) -> tuple[int, int]:
    """(members, bytes) of a zip's central directory, from its end records: what listing it costs."""
    with open(archive, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - (22 + 65535 + 20)))
        tail = fh.read()
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or len(tail) < at + 22:
            raise zipfile.BadZipFile("no end of central directory")
        entries, directory = struct.unpack("<HI", tail[at + 10: at + 16])
        if at >= 20 and tail[at - 20: at - 16] == b"PK\x06\x07":  # zip64: the counts are in its own end record
            fh.seek(struct.unpack("<Q", tail[at - 12: at - 4])[0])
            record = fh.read(56)
            if record[:4] == b"PK\x06\x06":
                entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


def _zip_is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _extract_tar(archive: Path, dest: Path, budget: _Budget) -> None:
    """Listed once, lazily, with every member checked as it comes; then read again and written."""
    listed = []
    with _tar_members(archive) as (_, members):
        for member in members:
            rel = budget.member(member.name, member.size, member.isfile() or member.isdir())
            listed.append((member.name, member.size, rel))
    with _tar_members(archive) as (tar, members):
        for i, member in enumerate(members):
            if i >= len(listed) or listed[i][:2] != (member.name, member.size):
                raise UnsafeInput("unsafe-path", "the archive changed while it was read")
            target = dest / listed[i][2]
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                _write_member(tar.extractfile(member), target, member.size, budget, member.name)


@contextmanager
def _tar_members(archive: Path) -> Iterator[tuple[tarfile.TarFile, Iterator[tarfile.TarInfo]]]:
    """The tar and its members, read as a stream (decompressed on the way) through an `_Allowance`."""
    with open(archive, "rb") as raw:
        head = raw.read(6)
        raw.seek(0)
        opener = next((o for magic, o in _TAR_COMPRESSIONS.items() if head.startswith(magic)), None)
        with opener(raw) if opener else nullcontext(raw) as stream:
            allowance = _Allowance(stream)
            with tarfile.open(fileobj=allowance, mode="r|") as tar:  # reads the first header
                yield tar, _lazily(tar, allowance)


def _lazily(tar: tarfile.TarFile, allowance: _Allowance) -> Iterator[tarfile.TarInfo]:
    """Each header read only once the members before it are accepted, each member's data only once it is."""
    while (member := tar.next()) is not None:
        allowance.allow(member.size + tarfile.BLOCKSIZE + MAX_HEADER)  # its data, its padding, the next header
        yield member


class _Allowance:
    """A (decompressed) stream that is never read past what the members accepted so far allow."""

    def __init__(self, stream: IO[bytes]):
        self.stream, self.consumed, self.allowed = stream, 0, MAX_HEADER

    def allow(self, more: int) -> None:
        self.allowed = self.consumed + more

    def read(self, size: int = -1) -> bytes:
        room = self.allowed - self.consumed
        data = self.stream.read(room + 1 if size < 0 else min(size, room + 1))
        self.consumed += len(data)
        if self.consumed > self.allowed:
            raise UnsafeInput("too-large", "the archive holds more than its members declare; refused as a bomb")
        return data


def _write_member(src: IO[bytes], target: Path, declared: int, budget: _Budget, name: str) -> int:
    """Copy one member into a new file, refused as soon as it is larger than declared or the budget is spent."""
    target.parent.mkdir(parents=True, exist_ok=True)
    copied = 0
    try:
        out = open(target, "xb")  # noqa: SIM115 (closed below; a member named twice is refused, never overwritten)
    except FileExistsError:
        raise UnsafeInput("unsafe-path", f"archive member {name!r} appears twice") from None
    with out:
        for chunk in iter(lambda: src.read(MiB), b""):
            copied += len(chunk)
            if copied > declared:  # the header lied about the size
                raise UnsafeInput("too-large", f"archive member {name!r} is larger than declared")
            budget.produced_bytes(len(chunk))
            out.write(chunk)
    return copied
