"""Attack 3: writes (and reads) outside the package or the output folder.

Every path is resolved and must lie inside the package (reads) or the output folder (writes);
`name` and `version` match safe patterns; archives are extracted with a safe filter into a fresh
folder; a write never follows a symlink (a new temporary file, then a rename).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from .conftest import (
    NAME,
    VERSION,
    Runner,
    assert_no_traceback,
    changed,
    copy_package,
    edit_descriptor,
    edit_row,
    resource_of,
    snapshot,
)

ORIGINAL = "the victim's own content\n"


def _victim(tmp_path: Path, name: str = "victim.txt") -> Path:
    """A file outside the package that no command may write."""
    path = tmp_path / "victim" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(ORIGINAL, encoding="utf-8")
    return path


def _ups(n: int = 40) -> str:
    return "../" * n


def test_build_refuses_a_package_name_that_climbs_out(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`name: /../../<tmp>/victim/ESCAPED` must not place the release (or its staging folder) there."""
    victim = tmp_path / "victim"
    victim.mkdir()
    evil = "/" + _ups() + str(victim).lstrip("/") + "/ESCAPED"
    edit_descriptor(pkg, lambda d: d.update(name=evil))
    result = cli("build", pkg, "--out", tmp_path / "out")
    assert sorted(p.name for p in victim.iterdir()) == [], f"build wrote into {victim}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, f"an unsafe package name must be refused:\n{result.brief()}"


def test_build_refuses_a_version_that_climbs_out(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`version` is part of the release folder's name, too."""
    victim = tmp_path / "victim"
    victim.mkdir()
    edit_descriptor(pkg, lambda d: d.update(version="0.1.0/" + _ups() + str(victim).lstrip("/") + "/ESCAPED"))
    result = cli("build", pkg, "--out", tmp_path / "out")
    assert sorted(p.name for p in victim.iterdir()) == [], f"build wrote into {victim}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, f"an unsafe version must be refused:\n{result.brief()}"


def test_build_refuses_an_untyped_resource_path_that_climbs_out(cli: Runner, tmp_path: Path, canary: str) -> None:
    """A resource that is neither table nor text, `path: ../../../loot.txt`: read outside, written outside."""
    pkg = copy_package(tmp_path / "a" / "b" / "pkg")
    loot = tmp_path / "loot.txt"  # pkg/../../../loot.txt
    loot.write_text(canary, encoding="utf-8")
    out = tmp_path / "o" / "out"  # out/.<stage>/<release>/../../../loot.txt is tmp_path/o/loot.txt
    edit_descriptor(pkg, lambda d: d["resources"].append({"name": "loot", "path": "../../../loot.txt"}))
    result = cli("build", pkg, "--out", out)
    escaped = tmp_path / "o" / "loot.txt"
    assert not escaped.exists(), f"build copied a file from outside the package to outside --out\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, f"a resource path outside the package must be refused:\n{result.brief()}"


def test_build_refuses_a_resource_name_that_climbs_out(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """The resource name becomes `parquet/<name>.parquet`: `../../../../victim/pwned` must not."""
    victim = tmp_path / "victim"
    victim.mkdir()
    edit_descriptor(pkg, lambda d: resource_of(d, "market_size").update(name="../../../../victim/pwned"))
    result = cli("build", pkg, "--out", tmp_path / "out")
    assert sorted(p.name for p in victim.iterdir()) == [], f"build wrote into {victim}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, result.brief()


def test_build_with_an_empty_out_writes_nothing(pkg: Path, cli: Runner) -> None:
    """`--out ''` is a usage error, not "the current folder"."""
    before = snapshot(cli.cwd)
    result = cli("build", pkg, "--out", "")
    assert changed(before, snapshot(cli.cwd)) == [], f"build --out '' wrote into the cwd\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, result.brief()


def _package_tar(pkg: Path, target: Path, victim: Path) -> Path:
    """A tar of the package under pkg/, plus members that climb out: ../, absolute, through a symlink."""
    with tarfile.open(target, "w") as tar:
        tar.add(pkg, arcname="pkg")

        def member(name: str, data: bytes = b"escaped\n") -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        member("../../ESCAPED-DOTDOT")
        member(str(victim / "ESCAPED-ABSOLUTE"))
        link = tarfile.TarInfo("pkg/link")
        link.type, link.linkname = tarfile.SYMTYPE, str(victim)
        tar.addfile(link)
        member("pkg/link/ESCAPED-THROUGH-LINK")
    return target


def _package_zip(pkg: Path, target: Path, victim: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(pkg.rglob("*")):
            if path.is_file():
                archive.write(path, f"pkg/{path.relative_to(pkg).as_posix()}")
        archive.writestr("../../ESCAPED-DOTDOT", b"escaped\n")
        archive.writestr(str(victim / "ESCAPED-ABSOLUTE"), b"escaped\n")
    return target


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_diff_extracts_archives_inside_a_fresh_folder(kind: str, pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`diff OLD NEW` with NEW an archive whose members climb out: nothing lands outside the extraction folder."""
    victim = tmp_path / "victim"
    victim.mkdir()
    make = _package_tar if kind == "tar" else _package_zip
    archive = make(pkg, tmp_path / f"new.{kind}", victim)
    old = copy_package(tmp_path / "old")
    before = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("run/sys-tmp")}
    result = cli("diff", old, archive)
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("run/sys-tmp")}
    assert changed(before, after) == [], f"diff extracted members outside its folder\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()


def test_rehash_does_not_write_through_a_planted_symlink(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """rehash writes `datapackage.json.tmp` then renames it: a planted symlink there points at a victim."""
    victim = _victim(tmp_path)
    edit_row(pkg, "market_size", "ai-compute-cluster-market-2021", note="a deliberate correction")
    (pkg / "datapackage.json.tmp").symlink_to(victim)
    result = cli("rehash", pkg)
    assert victim.read_text(encoding="utf-8") == ORIGINAL, f"rehash wrote through a symlink\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()
    assert not (pkg / "datapackage.json").is_symlink(), "the descriptor was replaced by the planted symlink"


@pytest.mark.parametrize("planted", ["CITATION.cff", ".zenodo.json"])
def test_citation_does_not_write_through_a_planted_symlink(
    planted: str, pkg: Path, cli: Runner, tmp_path: Path
) -> None:
    victim = _victim(tmp_path)
    (pkg / planted).symlink_to(victim)
    result = cli("citation", pkg)
    assert victim.read_text(encoding="utf-8") == ORIGINAL, f"citation wrote through {planted}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()


@pytest.mark.parametrize("planted", ["file", "folder"])
def test_export_does_not_write_through_a_planted_symlink(
    planted: str, pkg: Path, cli: Runner, tmp_path: Path
) -> None:
    """validators/pandera/market_size.py (or the whole validators/great_expectations folder) links outside."""
    victim = _victim(tmp_path, "market_size.json" if planted == "folder" else "victim.txt")
    if planted == "file":
        (pkg / "validators" / "pandera" / "market_size.py").unlink()
        (pkg / "validators" / "pandera" / "market_size.py").symlink_to(victim)
    else:
        shutil.rmtree(pkg / "validators" / "great_expectations")
        (pkg / "validators" / "great_expectations").symlink_to(victim.parent, target_is_directory=True)
    before = snapshot(victim.parent)
    result = cli("export", pkg)
    assert changed(before, snapshot(victim.parent)) == [], f"export wrote through a symlink\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()


def test_export_refuses_a_resource_name_that_climbs_out(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`validators/pandera/<name>.py` with name `../../../victim/pwned` is tmp/victim/pwned.py."""
    victim = tmp_path / "victim"
    victim.mkdir()
    edit_descriptor(pkg, lambda d: resource_of(d, "market_size").update(name="../../../victim/pwned"))
    result = cli("export", pkg)
    assert sorted(p.name for p in victim.iterdir()) == [], f"export wrote into {victim}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, result.brief()


def test_schemas_refuses_a_registry_table_name_that_climbs_out(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """`schemas/<table>.json` with a registry table `../../victim/pwned` is tmp/victim/pwned.json."""
    victim = tmp_path / "victim"
    victim.mkdir()
    registry = pkg / "schemas" / "fields.yaml"
    text = registry.read_text(encoding="utf-8")
    assert "\n  market_size:\n" in text
    registry.write_text(text.replace("\n  market_size:\n", "\n  ../../victim/pwned:\n", 1), encoding="utf-8")
    result = cli("schemas", pkg)
    assert sorted(p.name for p in victim.iterdir()) == [], f"schemas wrote into {victim}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc == 2, result.brief()


def test_schemas_does_not_write_through_a_planted_symlink(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    (pkg / "schemas" / "market_size.json").unlink()
    (pkg / "schemas" / "market_size.json").symlink_to(victim)
    result = cli("schemas", pkg)
    assert victim.read_text(encoding="utf-8") == ORIGINAL, f"schemas wrote through a symlink\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()


def test_dictionary_does_not_write_through_a_planted_symlink(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    (pkg / "docs").mkdir()
    (pkg / "docs" / "data-dictionary.md").symlink_to(victim)
    result = cli("dictionary", pkg)
    assert victim.read_text(encoding="utf-8") == ORIGINAL, f"dictionary wrote through a symlink\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()


def test_record_release_does_not_write_through_a_symlinked_folder(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """releases/ planted as a symlink to a folder outside: releases/last/ must not land there."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (pkg / "releases").symlink_to(victim, target_is_directory=True)
    result = cli("record-release", pkg)
    assert sorted(p.name for p in victim.iterdir()) == [], f"record-release wrote into {victim}\n{result.brief()}"
    assert_no_traceback(result)
    assert result.rc in (0, 2), result.brief()


def test_validate_refuses_a_descriptor_symlinked_outside(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """datapackage.json itself links to a file outside the package: read nothing from there."""
    outside = tmp_path / "outside" / "datapackage.json"
    outside.parent.mkdir()
    shutil.move(pkg / "datapackage.json", outside)
    (pkg / "datapackage.json").symlink_to(outside)
    result = cli("validate", pkg)
    assert_no_traceback(result)
    assert result.rc == 2, f"a descriptor outside the package must be refused:\n{result.brief()}"
    assert "datapackage.json" in result.err


def test_build_release_holds_only_package_files(pkg: Path, cli: Runner, tmp_path: Path) -> None:
    """Control: a plain build of a clean package succeeds and writes only below --out."""
    before = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(("out", "run"))}
    result = cli("build", pkg, "--out", tmp_path / "out")
    assert result.rc == 0, result.brief()
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(("out", "run"))}
    assert changed(before, after) == []
    assert json.loads((tmp_path / "out" / f"{NAME}-{VERSION}" / "datapackage.json").read_text())["name"] == NAME
