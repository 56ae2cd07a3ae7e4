"""Attack 8: `load()` trusts what it reads.

The promise: `known_hash` is checked for every source (also a local zip); archive members are
verified (size, path, hash) before they are used, a zip bomb is refused before extraction; only
`LoadError` subclasses escape, also for malformed descriptors.

A real release is built once with `cbj-figures build`; each test tampers with a copy. `load()`
runs in an isolated child (`python -I`) under the suite's memory and file-size caps, so a bomb
can neither fill the disk nor the memory of the test run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import (
    BOUND,
    RELEASE,
    Runner,
    assert_bounded,
    is_load_error,
    release_sums,
    run_load,
    sha256,
    zip_folder,
)

BOMB_SIZE = 2 << 30  # uncompressed bytes of the bomb's one member (about 2 MB compressed)


@pytest.fixture
def tampered(release: Path, tmp_path: Path) -> Path:
    """A private copy of the release folder."""
    return Path(shutil.copytree(release, tmp_path / RELEASE))


@pytest.fixture(scope="session")
def bomb(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release zip plus one member that inflates to 2 GiB of zeros."""
    target = zip_folder(release, tmp_path_factory.mktemp("bomb") / f"{RELEASE}.zip")
    with (
        zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(f"{RELEASE}/resources/padding.bin", "w", force_zip64=True) as member,
    ):
        chunk = bytes(16 << 20)
        for _ in range(BOMB_SIZE // len(chunk)):
            member.write(chunk)
    return target


def _descriptor(folder: Path) -> dict:
    return json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))


def _write_descriptor(folder: Path, descriptor: object) -> None:
    (folder / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n")
    release_sums(folder)  # only the planted change differs: SHA256SUMS agrees with it


def _refused(outcome: dict | None, result) -> None:
    assert_bounded(result)
    assert outcome is not None, f"the child printed no outcome:\n{result.brief()}"
    if outcome["ok"]:
        pytest.fail(f"load() accepted it ({outcome['rows']} rows) instead of raising LoadError")
    assert is_load_error(outcome), f"load() raised {outcome['type']}, not a LoadError: {outcome['message'][:500]}"


# ---------------------------------------------------------------- controls


@pytest.mark.slow
def test_a_genuine_release_loads_from_folder_and_zip(release: Path, cli: Runner) -> None:
    for source in (release, release.parent / f"{RELEASE}.zip"):
        outcome, result = run_load(cli, table="market_size", source=source)
        assert outcome and outcome["ok"] and outcome["rows"] > 0, result.brief()


def test_a_local_zip_with_its_right_known_hash_loads(release: Path, cli: Runner) -> None:
    archive = release.parent / f"{RELEASE}.zip"
    outcome, result = run_load(cli, table="market_size", source=archive, known_hash=f"sha256:{sha256(archive)}")
    assert outcome and outcome["ok"], result.brief()


# ---------------------------------------------------------------- known_hash, bombs, members


def test_a_local_zip_with_a_wrong_known_hash_is_refused(release: Path, cli: Runner) -> None:
    archive = release.parent / f"{RELEASE}.zip"
    outcome, result = run_load(cli, table="market_size", source=archive, known_hash="sha256:" + "0" * 64)
    _refused(outcome, result)


@pytest.mark.slow  # deflating 2 GiB of zeros to make the bomb
def test_a_zip_bomb_is_refused_before_extraction(bomb: Path, cli: Runner) -> None:
    outcome, result = run_load(cli, table="market_size", source=bomb)
    _refused(outcome, result)
    assert result.elapsed < BOUND / 4, f"took {result.elapsed:.1f}s: the member was inflated, not refused up front"
    big = [p for p in cli.tmpdir.rglob("*") if p.is_file() and p.stat().st_size > 16 << 20]
    assert big == [], f"inflated members were left behind: {big}"


@pytest.mark.parametrize(
    "member",
    ["../../ESCAPED-DOTDOT", "/{victim}/ESCAPED-ABSOLUTE", f"{RELEASE}/../../ESCAPED-INNER"],
    ids=["dotdot", "absolute", "inner-dotdot"],
)
def test_a_zip_member_that_climbs_out_is_refused(
    member: str, release: Path, cli: Runner, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    name = member.format(victim=str(victim).lstrip("/"))
    archive = zip_folder(release, tmp_path / f"{RELEASE}.zip", extra={name: b"escaped\n"})
    outcome, result = run_load(cli, table="market_size", source=archive)
    escaped = [p for p in tmp_path.rglob("ESCAPED-*")]
    assert escaped == [], f"a member was written outside the extraction folder: {escaped}"
    _refused(outcome, result)


def _declare_size(archive: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size that the central directory records for `member`."""
    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == member.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
            archive.write_bytes(bytes(data))
            return
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{member} is not in the central directory of {archive}")


@pytest.mark.parametrize("delta", [1000, -10], ids=["declared-larger", "declared-smaller"])
def test_a_zip_member_that_differs_from_its_declared_size_is_refused(
    delta: int, release: Path, cli: Runner, tmp_path: Path
) -> None:
    """The central directory says one size, the data inflates to another: verify before use."""
    archive = zip_folder(release, tmp_path / f"{RELEASE}.zip")
    member = f"{RELEASE}/resources/market_size.csv"
    _declare_size(archive, member, (release / "resources" / "market_size.csv").stat().st_size + delta)
    outcome, result = run_load(cli, table="market_size", source=archive)
    _refused(outcome, result)


# ---------------------------------------------------------------- paths inside the descriptor and SHA256SUMS


def _outside_file(cli: Runner, name: str, data: bytes) -> str:
    """A file two levels above the extracted release: <TMPDIR>/outside/<name>; its sha256."""
    path = cli.tmpdir / "outside" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_an_untyped_resource_outside_the_release_is_refused(tampered: Path, cli: Runner, tmp_path: Path) -> None:
    sha = _outside_file(cli, "secret.txt", b"a file outside the release\n")
    descriptor = _descriptor(tampered)
    descriptor["resources"].append({"name": "outside", "path": "../../outside/secret.txt", "hash": f"sha256:{sha}"})
    _write_descriptor(tampered, descriptor)
    archive = zip_folder(tampered, tmp_path / f"{RELEASE}.zip")
    outcome, result = run_load(cli, table="market_size", source=archive)
    _refused(outcome, result)


def test_a_table_resource_outside_the_release_is_refused(tampered: Path, cli: Runner, tmp_path: Path) -> None:
    data = (tampered / "resources" / "market_size.csv").read_bytes()
    sha = _outside_file(cli, "market_size.csv", data)
    descriptor = _descriptor(tampered)
    resource = next(r for r in descriptor["resources"] if r["name"] == "market_size")
    resource["path"], resource["hash"] = "../../outside/market_size.csv", f"sha256:{sha}"
    _write_descriptor(tampered, descriptor)
    archive = zip_folder(tampered, tmp_path / f"{RELEASE}.zip")
    outcome, result = run_load(cli, table="market_size", source=archive)
    _refused(outcome, result)


def test_a_checksum_entry_outside_the_release_is_refused(tampered: Path, cli: Runner, tmp_path: Path) -> None:
    sha = _outside_file(cli, "secret.txt", b"a file outside the release\n")
    sums = tampered / "SHA256SUMS"
    sums.write_text(sums.read_text(encoding="utf-8") + f"{sha}  ../../outside/secret.txt\n", encoding="utf-8")
    archive = zip_folder(tampered, tmp_path / f"{RELEASE}.zip")
    outcome, result = run_load(cli, table="market_size", source=archive)
    _refused(outcome, result)


# ---------------------------------------------------------------- malformed descriptors


def _set(key: str, value: object) -> Callable[[dict], object]:
    def change(d: dict) -> object:
        d[key] = value
        return d

    return change


def _market(change: Callable[[dict], None]) -> Callable[[dict], object]:
    def apply(d: dict) -> object:
        change(next(r for r in d["resources"] if r.get("name") == "market_size"))
        return d

    return apply


MALFORMED: dict[str, Callable[[dict], object] | str] = {
    "not-json": "{ this is not JSON",
    "json-list": lambda d: [d],
    "json-string": lambda d: "datapackage",
    "resources-not-a-list": _set("resources", 5),
    "resources-a-mapping": _set("resources", {"market_size": {}}),
    "resource-not-an-object": lambda d: {**d, "resources": ["market_size", *d["resources"][1:]]},
    "resource-without-name": _market(lambda r: r.pop("name")),
    "table-without-path": _market(lambda r: r.pop("path")),
    "path-not-a-string": _market(lambda r: r.update(path=5)),
    "hash-not-a-string": _market(lambda r: r.update(hash=5)),
    "hash-unknown-algorithm": _market(lambda r: r.update(hash="shake_128:" + "0" * 32)),
    "schema-file-missing": _market(lambda r: r.update(schema="schemas/nowhere.json")),
    "schema-not-an-object": _market(lambda r: r.update(schema=5)),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_descriptor_raises_only_load_error(kind: str, tampered: Path, cli: Runner) -> None:
    change = MALFORMED[kind]
    if isinstance(change, str):
        (tampered / "datapackage.json").write_text(change, encoding="utf-8")
        release_sums(tampered)
    else:
        _write_descriptor(tampered, change(_descriptor(tampered)))
    outcome, result = run_load(cli, table="market_size", source=tampered)
    _refused(outcome, result)


def test_a_release_of_another_version_is_refused(release: Path, cli: Runner) -> None:
    """Control: the documented VersionMismatchError is a LoadError."""
    outcome, result = run_load(cli, table="market_size", source=release, version="99.0.0")
    _refused(outcome, result)
