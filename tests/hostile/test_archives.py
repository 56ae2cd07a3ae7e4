"""Attack 13: archive bombs of every format `diff` and `load` open, checked as a whole before extraction.

The promise (README, security model): an archive is listed lazily and refused as soon as its members together
declare more than the budget (2 GiB, and at most 200 times the archive's own size past 16 MiB), before anything is
extracted or a member declaring 64 GiB is decompressed; the bytes actually produced are counted too. Each bomb is
a few kilobytes to 1.5 MB; `cbj-figures diff BOMB PACKAGE` runs in a child under the suite's memory and file-size
caps, and must refuse it quickly, leaving no file behind.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import BOUND, RELEASE, Runner, assert_usable

MiB = 1 << 20
HUGE = 64 << 30  # what a planted member declares
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "tar": lambda data: data, "tar.gz": gzip.compress, "tar.bz2": bz2.compress, "tar.xz": lzma.compress,
}


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


def declared_huge(kind: str) -> Callable[[Path], Path]:
    """A tar whose one member declares 64 GiB; a MiB of its data follows, then the stream ends."""
    def make(folder: Path) -> Path:
        header = _member("pkg/huge.bin", HUGE).tobuf(format=tarfile.GNU_FORMAT)
        path = folder / f"declared-huge.{kind}"
        path.write_bytes(COMPRESS[kind](header + bytes(MiB)))
        return path
    return make


def pax_huge(folder: Path) -> Path:
    """A pax extended header (read whole by tarfile) that declares 64 GiB of records."""
    header = _member("././@PaxHeader", HUGE)
    header.type = tarfile.XHDTYPE
    path = folder / "pax-huge.tar.gz"
    path.write_bytes(gzip.compress(header.tobuf(format=tarfile.GNU_FORMAT) + bytes(4 * MiB)))
    return path


def many_members_tar(folder: Path) -> Path:
    """400 members of 1 MiB of zeros: each one modest, 400 MiB together from a 400 KB archive."""
    path = folder / "many-members.tar.gz"
    zeros = bytes(MiB)
    with tarfile.open(path, "w:gz") as tar:
        for i in range(400):
            tar.addfile(_member(f"pkg/part-{i:03}.bin", MiB), io.BytesIO(zeros))
    return path


def many_members_zip(folder: Path) -> Path:
    """150 members of 10 MiB of zeros in a 1.5 MB zip: 1.5 GiB, each member under any per-member ratio check."""
    path = folder / "many-members.zip"
    chunk = bytes(MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for i in range(150):
            with archive.open(f"pkg/part-{i:03}.bin", "w") as member:
                for _ in range(10):
                    member.write(chunk)
    return path


def lying_directory_zip(folder: Path) -> Path:
    """A small zip whose end record claims a 2 GiB central directory: listing it would read and parse all that."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("pkg/datapackage.json", "{}")
    data = bytearray(out.getvalue())
    at = data.rfind(b"PK\x05\x06")
    data[at + 12 : at + 16] = struct.pack("<I", 2**31)
    path = folder / "lying-directory.zip"
    path.write_bytes(bytes(data))
    return path


def zip_in_zip(folder: Path) -> Path:
    """A zip holding the tar.bz2 bomb: the inner archive is a file of the outer one, never opened."""
    inner = declared_huge("tar.bz2")(folder)
    path = folder / "nested.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(inner, f"pkg/{inner.name}")
    return path


def tar_in_gzip(folder: Path) -> Path:
    """A tar.gz bomb compressed once more: not a tar once decompressed, refused at its first header."""
    path = folder / "double.tar.gz.gz"
    path.write_bytes(gzip.compress(declared_huge("tar.gz")(folder).read_bytes()))
    return path


BOMBS: dict[str, Callable[[Path], Path]] = {
    **{f"declared-huge-{kind}": declared_huge(kind) for kind in COMPRESS},
    "pax-header-huge": pax_huge,
    "many-members-tar": many_members_tar,
    "many-members-zip": many_members_zip,
    "lying-directory-zip": lying_directory_zip,
}
NESTED: dict[str, Callable[[Path], Path]] = {"zip-in-zip": zip_in_zip, "tar-in-gzip": tar_in_gzip}


@pytest.fixture(scope="module")
def package(release: Path) -> Path:
    return release / "datapackage.json"


def _diff(folder: Path, make: Callable[[Path], Path], package: Path) -> tuple[Path, object]:
    folder.mkdir()
    archive = make(folder)
    runner = Runner(folder / "run")
    try:
        return archive, runner("diff", archive, package.parent)
    finally:
        runner.cleanup()


def _nothing_left(folder: Path) -> None:
    run = folder / "run"
    leftovers = [p for p in (run / "sys-tmp").rglob("*")]
    assert leftovers == [], f"extraction left files behind: {leftovers[:5]}"
    big = [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 16 * MiB]
    assert big == [], f"a bomb was inflated: {big}"


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_is_refused_before_extraction(name: str, package: Path, tmp_path: Path) -> None:
    archive, result = _diff(tmp_path / name, BOMBS[name], package)
    assert_usable(result, allowed=(2,))
    assert result.elapsed < BOUND / 4, f"took {result.elapsed:.1f}s: the archive was inflated, not refused up front"
    assert archive.name in result.err and ("refused" in result.err or "limits are" in result.err), result.brief()
    _nothing_left(tmp_path / name)


@pytest.mark.parametrize("name", list(NESTED))
def test_a_nested_bomb_is_never_opened(name: str, package: Path, tmp_path: Path) -> None:
    archive, result = _diff(tmp_path / name, NESTED[name], package)
    assert archive.name in result.err, result.brief()
    assert_usable(result, allowed=(2,))
    assert result.elapsed < BOUND / 4
    assert "no package" in result.err or "not a readable" in result.err, result.brief()
    _nothing_left(tmp_path / name)


def _tar_of(folder: Path, members: list[tarfile.TarInfo]) -> Path:
    path = folder / "members.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            tar.addfile(info, io.BytesIO(bytes(info.size)) if info.isfile() else None)
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


@pytest.mark.parametrize("planted", [
    [_link("pkg/link", "/etc/passwd")],
    [_link("pkg/hard", "/etc/passwd", tarfile.LNKTYPE)],
    [_member("../escaped", 1)],
    [_member("/absolute", 1)],
], ids=["symlink", "hardlink", "dotdot", "absolute"])
def test_a_tar_member_that_leaves_the_archive_is_refused(planted: list[tarfile.TarInfo], tmp_path: Path) -> None:
    from cbj_figures import safeio

    archive = _tar_of(tmp_path, [_member("pkg/datapackage.json", 2), *planted])
    with pytest.raises(safeio.UnsafeInput) as err:
        safeio.safe_extract(archive, tmp_path / "out")
    assert err.value.code == "unsafe-path" and err.value.file == str(archive)
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "escaped").exists()


def test_the_member_count_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most MAX_MEMBERS members (100,000; 50 here), in a tar and in a zip alike."""
    from cbj_figures import safeio

    monkeypatch.setattr(safeio, "MAX_MEMBERS", 50)
    tar = _tar_of(tmp_path, [_member(f"pkg/{i}", 0) for i in range(51)])
    zipped = tmp_path / "members.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for i in range(51):
            archive.writestr(f"pkg/{i}", b"")
    for archive in (tar, zipped):
        with pytest.raises(safeio.UnsafeInput, match=r"more than 50 members|lists 51 members"):
            safeio.safe_extract(archive, tmp_path / f"out-{archive.name}")
    (tmp_path / "fifty").mkdir()
    safeio.safe_extract(_tar_of(tmp_path / "fifty", [_member(f"pkg/{i}", 0) for i in range(50)]), tmp_path / "ok")


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.xz"])
def test_a_genuine_release_archive_is_compared(kind: str, release: Path, package: Path, tmp_path: Path) -> None:
    """Control: the release itself, as a zip (as built) and as compressed tars, passes the same checks."""
    def make(folder: Path) -> Path:
        if kind == "zip":
            return release.parent / f"{RELEASE}.zip"
        path = folder / f"{RELEASE}.{kind}"
        with tarfile.open(path, f"w:{kind.split('.')[1]}") as tar:
            tar.add(release, arcname=RELEASE)
        return path

    _, result = _diff(tmp_path / kind, make, package)
    assert_usable(result, allowed=(0,))
    assert "no change, no bump needed" in result.out, result.brief()
