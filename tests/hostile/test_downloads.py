"""Attack 11: a mirror or release host that trickles, stalls, streams forever or redirects off the web.

The promise (README, security model): a download is capped at the size the index records, has a total
deadline, follows redirects to http(s) only, and leaves no partial file behind, Ctrl-C included; the cache is
keyed by sha256, so a release downloaded once is found again through any mirror, or none.

`load(version=...)` runs here against an installed index (a folder standing in for the wheel's `_data/`) whose
URLs, like the mirrors, point at a hostile server on 127.0.0.1. The deadline and the read timeout are shortened
for the test (the defaults are a minute and more); everything else is as shipped.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from cbj_figures import fetch, loader
from cbj_figures.loader import DownloadError, IntegrityError, UnknownVersionError, load
from cbj_figures.record import write_index
from cbj_figures.releases import MIRROR_ENV, Release, read_index

from .conftest import PYTHON, ROOT, Child, Runner
from .hostile_http import HostileServer, serving

FIRST = read_index(ROOT)[0]  # 0.1.0, kept in the repository
ZIP = (ROOT / "releases" / FIRST.version / FIRST.file).read_bytes()
SERVED = f"{FIRST.version}/{FIRST.file}"  # the mirror layout: <mirror>/<version>/<file>
WALL = 20.0  # seconds: generous for what the shortened deadlines allow


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with serving({SERVED: ZIP}) as s:
        yield s


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's cache, and deadlines short enough to test: 1 s plus a second per 64 KiB, at most 2 s; 1 s of
    silence."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(fetch, "MIN_SECONDS", 1.0)
    monkeypatch.setattr(fetch, "MAX_SECONDS", 2.0)
    monkeypatch.setattr(fetch, "READ_TIMEOUT", 1.0)
    return tmp_path / "cache" / "cbj-figures"


def install(root: Path, release: Release) -> Path:
    """A stand-in for the wheel's data: another version (0.0.0) and an index naming `release`."""
    (root / "releases").mkdir(parents=True)
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    (root / "datapackage.json").write_text(json.dumps({**descriptor, "version": "0.0.0"}), encoding="utf-8")
    write_index(root, [release], descriptor["name"])
    return root


@pytest.fixture
def installed(tmp_path: Path, server: HostileServer, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = install(tmp_path / "installed", replace(FIRST, url=server.url("ok", SERVED)))
    monkeypatch.setattr(loader, "data_root", lambda: root)
    return root


def files(folder: Path) -> dict[str, int]:
    """Every file below `folder` (hidden partial files too), with its size."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def refused(mirror: str, error: type[Exception] = DownloadError) -> str:
    started = time.monotonic()
    with pytest.raises(error) as err:
        load("company_financials", version=FIRST.version, mirror=mirror)
    assert time.monotonic() - started < WALL, f"took {time.monotonic() - started:.1f}s: {err.value}"
    return str(err.value)


# ---------------------------------------------------------------- bounded


def test_the_bounds_are_the_ones_the_readme_states() -> None:
    """60 s plus a second per 64 KiB, at most 15 minutes; 30 s of silence; 2 GiB for a URL without an index."""
    from cbj_figures.releases import MAX_ZIP

    assert (fetch.MIN_SECONDS, fetch.MIN_RATE, fetch.MAX_SECONDS, fetch.READ_TIMEOUT) == (60, 64 << 10, 900, 30)
    assert MAX_ZIP == 2 << 30
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "60 s plus a second per 64 KiB" in readme and "15 minutes" in readme and "30 s without a byte" in readme


def test_a_trickle_is_stopped_at_the_total_deadline(installed: Path, server: HostileServer, cache: Path) -> None:
    """One byte every 0.5 s never trips the 1.5 s read timeout: only a deadline for the whole download ends it."""
    message = refused(server.url("trickle"))
    assert f"release {FIRST.version}" in message and "was not done within 2 s" in message
    assert server.requests == [f"/trickle/{SERVED}"]
    assert 0 < server.sent < 20  # it was really trickling
    assert files(cache) == {}  # the partial file is gone


def test_a_silent_server_is_stopped_by_the_read_timeout(installed: Path, server: HostileServer, cache: Path) -> None:
    message = refused(server.url("silent"))
    assert "sent nothing for 1 s" in message and server.url("silent", SERVED) in message
    assert files(cache) == {}


def test_an_endless_stream_stops_at_the_size_the_index_records(installed: Path, server: HostileServer,
                                                                cache: Path) -> None:
    message = refused(server.url("forever"))
    assert f"sent more than the {FIRST.bytes:,} bytes expected" in message
    assert files(cache) == {}  # nothing kept, nothing partial
    assert server.sent < 64 << 20, f"the client kept reading: {server.sent:,} bytes sent"


def test_an_announced_size_beyond_the_index_is_refused_unread(installed: Path, server: HostileServer,
                                                              cache: Path) -> None:
    message = refused(server.url("announce"))
    assert f"announces 1,000,000,000,000 bytes; at most {FIRST.bytes:,}" in message
    assert files(cache) == {}


@pytest.mark.parametrize("how", ["to-file", "to-ftp"])
def test_a_redirect_off_http_is_refused(how: str, installed: Path, server: HostileServer, cache: Path) -> None:
    message = refused(server.url(how))
    assert "only http and https are followed" in message
    assert server.requests == [f"/{how}/{SERVED}"] and files(cache) == {}


def test_a_redirect_to_another_host_is_followed_and_checked(installed: Path, server: HostileServer,
                                                            cache: Path) -> None:
    """GitHub serves release assets from another host: followed, and the bytes still checked against the index."""
    with serving({SERVED: ZIP[:99] + bytes([ZIP[99] ^ 1]) + ZIP[100:]}) as forged, serving({SERVED: ZIP}) as genuine:
        server.elsewhere = forged.base
        refused(server.url("to"), IntegrityError)
        assert forged.requests == [f"/ok/{SERVED}"] and files(cache) == {}
        server.elsewhere = genuine.base
        assert len(load("company_financials", version=FIRST.version, mirror=server.url("to"))) > 0
        assert genuine.requests == [f"/ok/{SERVED}"]
    assert list(files(cache)) == [f"sha256-{FIRST.sha256}.zip"]


def test_a_url_source_has_a_deadline_too(server: HostileServer, cache: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadError, match="was not done within"):
        load("company_financials", source=server.url("trickle", SERVED), known_hash=FIRST.known_hash)
    assert time.monotonic() - started < WALL and files(cache) == {}


def test_an_index_on_the_mirror_is_never_read(installed: Path, server: HostileServer, cache: Path) -> None:
    """A mirror holds zips, nothing else: an index it serves, naming releases elsewhere, is never asked for."""
    with serving() as elsewhere:
        planted = replace(FIRST, version="9.9.9", url=elsewhere.url("ok", SERVED))
        server.files["releases/index.json"] = json.dumps({"releases": [planted.__dict__]}).encode()
        with pytest.raises(UnknownVersionError, match=r"'9\.9\.9' is not a recorded release"):
            load("company_financials", version="9.9.9", mirror=server.url("ok"))
        assert server.requests == [] and elsewhere.requests == []


# ---------------------------------------------------------------- the cache, by sha256


def test_the_cache_is_found_again_through_another_mirror_and_without_one(installed: Path, server: HostileServer,
                                                                         cache: Path) -> None:
    with serving({SERVED: ZIP}) as other:
        first = load("company_financials", version=FIRST.version, mirror=other.url("ok"))
        assert other.requests == [f"/ok/{SERVED}"]
        assert files(cache) == {f"sha256-{FIRST.sha256}.zip": FIRST.bytes}
        again = load("company_financials", version=FIRST.version, mirror=server.url("ok"))  # another mirror
        assert load("company_financials", version=FIRST.version).equals(first)  # the index's own URL
        assert again.equals(first)
        assert other.requests == [f"/ok/{SERVED}"] and server.requests == []


def test_a_damaged_cache_file_is_replaced(installed: Path, server: HostileServer, cache: Path) -> None:
    load("company_financials", version=FIRST.version)
    cached = cache / f"sha256-{FIRST.sha256}.zip"
    cached.write_bytes(b"damaged")
    assert len(load("company_financials", version=FIRST.version)) > 0
    assert server.requests == [f"/ok/{SERVED}"] * 2
    assert cached.read_bytes() == ZIP


# ---------------------------------------------------------------- Ctrl-C


INTERRUPTED = """
import sys
from pathlib import Path
from cbj_figures import loader
loader.data_root = lambda: Path(sys.argv[1])
try:
    loader.load("company_financials", version=sys.argv[2], mirror=sys.argv[3])
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_leaves_no_partial_file(tmp_path: Path, server: HostileServer, cli: Runner) -> None:
    root = install(tmp_path / "installed", FIRST)
    cache = cli.home / ".cache" / "cbj-figures"
    args = [PYTHON, "-I", "-c", INTERRUPTED, root, FIRST.version, server.url("trickle")]
    child = Child(list(map(str, args)), cli.cwd, cli.env())
    cli.children.append(child)
    deadline = time.monotonic() + WALL
    while not [p for p in cache.glob(".*.part")] and time.monotonic() < deadline:
        time.sleep(0.05)
    partials = list(cache.glob(".*.part"))
    assert partials, "the download never started"
    while server.sent < 2 and time.monotonic() < deadline:  # bytes are arriving into the partial file
        time.sleep(0.05)
    child.signal(signal.SIGINT)
    result = child.finish(WALL)
    assert "interrupted" in result.out, result.brief()
    assert files(cache) == {}, f"left behind: {os.listdir(cache)}"
