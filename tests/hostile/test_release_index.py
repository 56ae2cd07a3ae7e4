"""Attack 12: a pull request's own release index names a release whose zip it does not keep.

The promise (README, security model): no network unless asked. A repository's `releases/index.json` is part of
the pull request, so `diff`, `site` and `cite --version` read it offline: a release it names but does not keep
is an error naming it, never a download, whatever mirror the environment names. Only `load(version=...)` (and
`cite --version` outside a clone, which cites as `load` loads) downloads, and only what the index installed with
the toolkit names. Every URL here points at a server on 127.0.0.1 that records the requests it gets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from packages import copy_package

from cbj_figures import loader
from cbj_figures.cite import cite
from cbj_figures.loader import DownloadError
from cbj_figures.record import write_index
from cbj_figures.releases import MIRROR_ENV, read_index
from cbj_figures.site.releases import releases as site_releases

from .conftest import ROOT, Runner, assert_usable
from .hostile_http import HostileServer, serving

FIRST = read_index(ROOT)[0]
PLANTED = "9.9.9"  # named by the pull request's index, kept nowhere
ZIP = (ROOT / "releases" / FIRST.version / FIRST.file).read_bytes()


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with serving({f"{v}/{FIRST.file}": ZIP for v in (FIRST.version, PLANTED)}) as s:
        yield s


@pytest.fixture
def repo(tmp_path: Path, server: HostileServer) -> Path:
    """A clone whose index, as a pull request left it, names 9.9.9 at a URL on the server, its zip not kept."""
    root = copy_package(tmp_path / "repo")
    planted = replace(FIRST, version=PLANTED, url=server.url("ok", f"{PLANTED}/{FIRST.file}"))
    write_index(root, [*read_index(root), planted], json.loads((root / "datapackage.json").read_text())["name"])
    return root


def named(text: str) -> None:
    assert f"release {PLANTED}" in text and "not kept" in text and "never downloaded" in text, text


@pytest.mark.parametrize("old", ["latest", PLANTED])
def test_diff_never_downloads_a_release_the_repository_does_not_keep(
    old: str, repo: Path, server: HostileServer, cli: Runner
) -> None:
    result = cli("diff", old, repo, "--package", repo, env={MIRROR_ENV: server.url("ok")})
    assert_usable(result, allowed=(2,))
    named(result.err)
    assert server.requests == []


@pytest.mark.parametrize("version", ["latest", PLANTED])
def test_cite_version_in_a_clone_never_downloads(version: str, repo: Path, server: HostileServer,
                                                 cli: Runner) -> None:
    """Neither the environment's mirror nor one on the command line: the clone's own index is read offline."""
    in_clone = cli("cite", "--version", version, cwd=repo, env={MIRROR_ENV: server.url("ok")})
    named_package = cli("cite", "--version", version, "--package", repo, "--mirror", server.url("ok"))
    for result in (in_clone, named_package):
        assert_usable(result, allowed=(2,))
        named(result.err)
    assert server.requests == []


def test_the_site_never_downloads(repo: Path, server: HostileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The releases page's history (what `site` renders) reads the kept zips only."""
    monkeypatch.setenv(MIRROR_ENV, server.url("ok"))
    with pytest.raises(DownloadError) as err:
        site_releases(repo)
    named(str(err.value))
    assert server.requests == []


def test_versions_check_names_it(repo: Path, server: HostileServer, cli: Runner) -> None:
    result = cli("versions", repo, "--check")
    assert result.rc == 1 and f"releases/{PLANTED}/{FIRST.file} is missing" in result.out, result.brief()
    assert server.requests == []


def test_kept_releases_still_compare_offline(repo: Path, server: HostileServer, cli: Runner) -> None:
    """Control: the releases the clone keeps are read, and the planted one is only refused when it is asked for."""
    result = cli("diff", FIRST.version, repo, "--package", repo, env={MIRROR_ENV: server.url("ok")})
    assert_usable(result, allowed=(0,))
    assert result.out.startswith(f"{FIRST.version} -> ")
    assert server.requests == []


def test_the_installed_index_does_download(tmp_path: Path, server: HostileServer,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: outside a clone, `cite --version` cites as `load(version=...)` loads, from the installed index."""
    root = tmp_path / "installed"
    (root / "releases").mkdir(parents=True)
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    (root / "datapackage.json").write_text(json.dumps({**descriptor, "version": "0.0.0"}), encoding="utf-8")
    write_index(root, [replace(FIRST, url=server.url("ok", f"{FIRST.version}/{FIRST.file}"))], descriptor["name"])
    monkeypatch.setattr(loader, "data_root", lambda: root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    assert f"version = {{{FIRST.version}}}" in cite(version=FIRST.version)
    assert server.requests == [f"/ok/{FIRST.version}/{FIRST.file}"]
