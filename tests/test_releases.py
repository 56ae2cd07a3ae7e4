"""The release index: every version pulled by its number, over real HTTP on the loopback interface.

A server in a thread serves the kept release zips the way GitHub names its release assets, and
counts the requests it answers; the loader's index is a copy whose URLs point at it. Nothing here
leaves 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hostile.hostile_http import serving
from packages import shared

from cbj_figures import fetch, loader, safeio
from cbj_figures.build import EXTRAS, build, rehash
from cbj_figures.cli import main
from cbj_figures.loader import DownloadError, IntegrityError, LoadError, UnknownVersionError, load
from cbj_figures.record import ReleaseError, changelog_entry, check, download_url, record, write_index
from cbj_figures.releases import INDEX, MIRROR_ENV, Release, read_index
from cbj_figures.safeio import file_digest

REPO = Path(__file__).resolve().parents[1]
DESCRIPTOR = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
NAME, CURRENT = DESCRIPTOR["name"], DESCRIPTOR["version"]  # the working package: recorded or not yet
FIRST, MAJOR = "0.1.0", "1.0.0"  # the first release; the release of the data fixes the README's diff shows
VERSION = read_index(REPO)[-1].version  # the last recorded release
KNOWN = [r.version for r in read_index(REPO)]
CORRECTED = "jiliu-net-current-liabilities-2024"  # period 2024-12-31 in 0.1.0, 2024 from 1.0.0 on


def period(frame: object, figure: str = CORRECTED) -> str:
    return frame.set_index("figure_id").loc[figure, "period"]  # type: ignore[attr-defined]


def kept(release: Release) -> Path:
    return REPO / "releases" / release.version / release.file


# ---------------------------------------------------------------- the repository's index


def test_the_index_holds_both_versions_with_their_zips_and_descriptors() -> None:
    releases = read_index(REPO)
    assert KNOWN[:2] == [FIRST, MAJOR] and KNOWN[-1] == VERSION
    for r in releases:
        assert r.file == f"{NAME}-{r.version}.zip"
        assert file_digest(kept(r)) == (r.sha256, r.bytes)
        assert r.url == f"https://github.com/cbj-figures/cbj-figures/releases/download/v{r.version}/{r.file}"
        descriptor = json.loads((REPO / "releases" / r.descriptor).read_text(encoding="utf-8"))
        assert descriptor["version"] == r.version and descriptor["name"] == NAME
        assert changelog_entry(REPO, r.version) == (r.date, r.changes)
        assert r.changes and re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.date)


def test_the_current_version_is_a_fresh_build_byte_for_byte() -> None:
    """What CI checks (`cbj-figures versions --check` in make validate): no drift between index and build."""
    assert check(REPO) == []


def test_the_index_is_in_its_generated_form() -> None:
    """Written exactly as `write_index` writes it (the entries' content is checked against the kept zips, the
    changelog and the descriptor above): a hand edit that reorders or reformats shows."""
    text = (REPO / INDEX).read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["name"] == NAME and "never edit by hand" in doc["note"]
    assert text == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def test_releases_last_is_the_last_recorded_release() -> None:
    last = json.loads((REPO / "releases" / "last" / "datapackage.json").read_text(encoding="utf-8"))
    assert last["version"] == read_index(REPO)[-1].version == VERSION


def test_each_version_loads_with_its_own_values() -> None:
    """In a clone, the kept zips are the mirror: no network."""
    old, new = load("company_financials", version=FIRST), load("company_financials", version=VERSION)
    assert (period(old), period(new)) == ("2024-12-31", "2024")
    assert period(load("company_financials", version="latest")) == "2024"
    with pytest.raises(LoadError, match="company_ranks"):  # a table 1.0.0 added
        load("company_ranks", version=FIRST)
    assert len(load("company_ranks", version=VERSION)) == 1


# ---------------------------------------------------------------- the modules


RELEASE_MODULES = ("safeio", "fetch", "releases", "loader", "diff", "record", "cite")
ALLOWED = {  # who may import whom, among the release modules (docs/DESIGN.md draws it)
    "safeio": set(), "fetch": {"safeio"}, "releases": {"safeio", "fetch"}, "loader": {"safeio", "releases"},
    "diff": {"safeio", "releases"}, "record": {"safeio", "releases", "diff"}, "cite": {"safeio", "releases", "loader"},
}


def _imports(module: str) -> set[str]:
    """The cbj_figures modules `module` imports, at module level or inside a function."""
    import ast

    tree = ast.parse((REPO / "cbj_figures" / f"{module}.py").read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "cbj_figures":
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cbj_figures."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("cbj_figures.")}
    return out & set(RELEASE_MODULES)


def test_the_release_modules_import_in_one_direction() -> None:
    assert {m: _imports(m) for m in RELEASE_MODULES} == ALLOWED


def test_importing_the_loader_imports_no_validator() -> None:
    """`load` of the installed data needs the index and the loader, not the validator's schema model."""
    code = "import sys, cbj_figures.loader; print(sorted(m for m in sys.modules if m.startswith('cbj_figures')))"
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["cbj_figures", "cbj_figures.fetch", "cbj_figures.loader",
                                                  "cbj_figures.releases", "cbj_figures.safeio"]


# ---------------------------------------------------------------- over HTTP


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    """Files of one folder; every request is counted on the server."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()

    def do_HEAD(self) -> None:
        self.server.requests.append(f"HEAD {self.path}")  # type: ignore[attr-defined]
        super().do_HEAD()


@dataclass
class Server:
    site: Path
    base: str
    requests: list[str]

    def put(self, rel: str, source: Path) -> None:
        (self.site / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, self.site / rel)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    site = tmp_path / "site"
    site.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(CountingHandler, directory=str(site)))
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Server(site, f"http://127.0.0.1:{httpd.server_address[1]}", httpd.requests)  # type: ignore[attr-defined]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's cache (fetch.cache_dir follows XDG_CACHE_HOME); no mirror from the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    return tmp_path / "cache" / "cbj-figures"


@pytest.fixture
def installed(tmp_path: Path, server: Server, cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed toolkit of another version (0.0.0) whose index names the zips on the server, as
    GitHub names release assets; its own data never serves a version asked."""
    root = tmp_path / "installed"
    (root / "releases").mkdir(parents=True)
    (root / "datapackage.json").write_text(json.dumps({**DESCRIPTOR, "version": "0.0.0"}), encoding="utf-8")
    releases = []
    for r in read_index(REPO):
        path = f"releases/download/v{r.version}/{r.file}"
        server.put(path, kept(r))
        releases.append(replace(r, url=f"{server.base}/{path}"))
    write_index(root, releases, NAME)
    monkeypatch.setattr(loader, "data_root", lambda: root)
    return root


def asset(version: str) -> str:
    return f"/releases/download/v{version}/{NAME}-{version}.zip"


def test_first_load_downloads_and_verifies_the_second_hits_the_cache(installed: Path, server: Server,
                                                                      cache: Path) -> None:
    first = load("company_financials", version=FIRST)
    assert server.requests == [asset(FIRST)]
    assert period(first) == "2024-12-31"
    (cached,) = cache.glob("*.zip")
    release = read_index(REPO)[0]
    assert file_digest(cached) == (release.sha256, release.bytes)

    again = load("company_financials", version=FIRST)
    assert server.requests == [asset(FIRST)]  # no second request
    assert again.equals(first)

    assert period(load("company_financials", version="latest")) == "2024"
    assert server.requests == [asset(FIRST), asset(VERSION)]  # latest: the last recorded


def forged(tmp_path: Path) -> Path:
    """0.1.0 as an attacker would serve it: one value changed and every hash inside recomputed."""
    release = read_index(REPO)[0]
    folder = safeio.safe_extract(kept(release), tmp_path / "forged") / f"{NAME}-{FIRST}"
    csv = folder / "resources" / "company_financials.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",2024-12-31,49.3,", ",2024-12-31,94.3,"), encoding="utf-8")
    rehash(folder)
    built = build(folder, tmp_path / "forged-dist")
    return built.parent / f"{built.name}.zip"


def test_a_tampered_release_on_the_server_is_refused(installed: Path, server: Server, cache: Path,
                                                     tmp_path: Path) -> None:
    zipped = forged(tmp_path)
    frame = load("company_financials", source=zipped)  # consistent inside: only the index's sha256 can tell
    assert frame.set_index("figure_id").loc[CORRECTED, "value"] == 94.3
    server.put(asset(FIRST).lstrip("/"), zipped)
    with pytest.raises(IntegrityError) as err:
        load("company_financials", version=FIRST)
    assert f"release {FIRST}" in str(err.value) and asset(FIRST) in str(err.value)
    assert server.requests == [asset(FIRST)]
    assert not list(cache.glob("*.zip"))  # nothing kept


def test_an_unknown_version_names_the_known_ones(installed: Path, server: Server) -> None:
    with pytest.raises(UnknownVersionError) as err:
        load("company_financials", version="0.2.0")
    assert "'0.2.0'" in str(err.value) and ", ".join(KNOWN) in str(err.value)
    assert server.requests == []


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_mirror_url_replaces_the_download_host(installed: Path, server: Server, how: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    release = read_index(REPO)[0]
    server.put(f"mirror/{FIRST}/{release.file}", kept(release))
    mirror = f"{server.base}/mirror/"
    if how == "environment":
        monkeypatch.setenv(MIRROR_ENV, mirror)
    frame = load("company_financials", version=FIRST, mirror=mirror if how == "argument" else None)
    assert period(frame) == "2024-12-31"
    assert server.requests == [f"/mirror/{FIRST}/{release.file}"]


@pytest.mark.parametrize("layout", ["releases", "flat"])
def test_a_folder_mirror_means_no_network(installed: Path, server: Server, cache: Path, tmp_path: Path,
                                          layout: str) -> None:
    release = read_index(REPO)[0]
    mirror = tmp_path / "mirror"
    target = mirror / (f"{FIRST}/{release.file}" if layout == "releases" else release.file)
    target.parent.mkdir(parents=True)
    shutil.copyfile(kept(release), target)
    assert period(load("company_financials", version=FIRST, mirror=mirror)) == "2024-12-31"
    assert server.requests == [] and not cache.exists()
    target.write_bytes(forged(tmp_path).read_bytes())
    with pytest.raises(IntegrityError, match=f"release {FIRST}"):
        load("company_financials", version=FIRST, mirror=mirror)
    with pytest.raises(DownloadError, match=rf"release {VERSION}: .* is not in the mirror"):
        load("company_financials", version=VERSION, mirror=mirror)


def test_the_repository_releases_folder_is_a_mirror(installed: Path, server: Server) -> None:
    assert period(load("company_financials", version=FIRST, mirror=REPO / "releases")) == "2024-12-31"
    assert server.requests == []


def test_an_unreachable_host_and_a_missing_file_are_named(installed: Path, server: Server) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"release {FIRST}: cannot reach 127\.0\.0\.1:{closed}"):
        load("company_financials", version=FIRST, mirror=f"http://127.0.0.1:{closed}")
    with pytest.raises(DownloadError, match=rf"release {FIRST}: .*/nowhere/{FIRST}/.* answered HTTP 404"):
        load("company_financials", version=FIRST, mirror=f"{server.base}/nowhere")


def test_a_zenodo_doi_is_resolved_and_its_file_downloaded(installed: Path, cache: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`doi:<DOI>/<file>` (the URL once the descriptor's id is a DOI): doi.org leads to the Zenodo record, whose
    file is downloaded like any release, bounded and checked."""
    release = read_index(REPO)[0]
    record_file = f"4242/files/{release.file}?download=1"
    files = {"4242": b"<html>the record's page</html>", record_file: kept(release).read_bytes()}
    with serving(files) as zenodo, serving(elsewhere=zenodo.base) as resolver:
        monkeypatch.setattr(fetch, "DOI_RESOLVER", resolver.url("doi") + "/")
        monkeypatch.setattr(fetch, "ZENODO", zenodo.base)
        write_index(installed, [replace(release, url=f"doi:10.5281/zenodo.4242/{release.file}")], NAME)
        assert period(load("company_financials", version=FIRST)) == "2024-12-31"
        assert resolver.requests == ["/doi/10.5281/zenodo.4242"]
        assert zenodo.requests == ["/records/4242", f"/records/{record_file}"]
        write_index(installed, [replace(release, version="0.0.9", url=f"doi:10.1234/other.4242/{release.file}")],
                    NAME)
        monkeypatch.setattr(fetch, "ZENODO", "https://zenodo.org")  # the DOI now leads elsewhere
        shutil.rmtree(cache)
        with pytest.raises(DownloadError, match="not a Zenodo record; only Zenodo DOIs are resolved"):
            load("company_financials", version="0.0.9")


# ---------------------------------------------------------------- recording


def test_download_urls() -> None:
    file = f"{NAME}-1.2.3.zip"
    assert download_url(DESCRIPTOR, "1.2.3", file) == (
        f"https://github.com/cbj-figures/cbj-figures/releases/download/v1.2.3/{file}"
    )
    doi = {**DESCRIPTOR, "id": "https://doi.org/10.5281/zenodo.1234567"}
    assert download_url(doi, "1.2.3", file) == f"doi:10.5281/zenodo.1234567/{file}"
    with pytest.raises(ReleaseError, match="homepage"):
        download_url({**DESCRIPTOR, "homepage": "https://example.org/"}, "1.2.3", file)


@pytest.fixture
def repo(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's package, releases and the files a release zip ships, in a folder of its own."""

    def make(root: Path) -> None:
        root.mkdir()
        for part in ("datapackage.json", "resources", "schemas", "releases", *EXTRAS):
            if (REPO / part).is_dir():
                shutil.copytree(REPO / part, root / part)
            elif (REPO / part).is_file():
                (root / part).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(REPO / part, root / part)
        if CURRENT not in KNOWN:  # the working version is not recorded yet: record it (once a run)
            record(root)

    return Path(shutil.copytree(shared(tmp_path_factory, "releases-repo", make), tmp_path / "repo"))


def bump(root: Path, version: str) -> None:
    descriptor = root / "datapackage.json"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace(
        f'"version": "{CURRENT}"', f'"version": "{version}"'), encoding="utf-8")
    log = root / "CHANGELOG.md"
    text = log.read_text(encoding="utf-8").replace("\n## [", f"\n## [{version}] - 2027-01-02\n\nA fix.\n\n## [", 1)
    log.write_text(text, encoding="utf-8")


@pytest.mark.slow  # two releases recorded
def test_record_appends_and_never_changes_a_published_release(repo: Path) -> None:
    before = read_index(repo)[-1]
    assert record(repo).sha256 == before.sha256  # the same bytes again: nothing changes
    csv = repo / "resources" / "market_size.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("13800", "13900"), encoding="utf-8")
    rehash(repo)
    with pytest.raises(ReleaseError, match=rf"{CURRENT} is already recorded .* bump the version"):
        record(repo)
    bump(repo, "9.0.0")
    release = record(repo)
    assert [r.version for r in read_index(repo)] == [*dict.fromkeys([*KNOWN, CURRENT]), "9.0.0"]
    assert (release.date, release.changes) == ("2027-01-02", "A fix.")
    assert file_digest(repo / "releases" / "9.0.0" / release.file) == (release.sha256, release.bytes)
    assert json.loads((repo / "releases" / "last" / "datapackage.json").read_text(encoding="utf-8"))["version"] == (
        "9.0.0"
    )
    assert check(repo) == []


def test_a_changed_current_release_fails_the_check(repo: Path) -> None:
    csv = repo / "resources" / "market_size.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("13800", "13900"), encoding="utf-8")
    rehash(repo)
    (problem,) = check(repo)
    assert f"records {CURRENT} as sha256:" in problem and "record-release --replace" in problem
    recorded = read_index(repo)[-1].sha256
    assert record(repo, replace=True).sha256 != recorded
    assert check(repo) == []


def test_record_needs_a_changelog_entry(repo: Path) -> None:
    descriptor = repo / "datapackage.json"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace(
        f'"version": "{CURRENT}"', '"version": "9.0.0"'), encoding="utf-8")
    before = read_index(repo)
    with pytest.raises(ReleaseError, match=r"CHANGELOG\.md has no entry for 9\.0\.0"):
        record(repo)
    assert read_index(repo) == before


def test_record_does_not_write_through_a_symlinked_releases_folder(repo: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    shutil.move(repo / "releases", victim)
    (repo / "releases").symlink_to(victim, target_is_directory=True)
    before = sorted(p.relative_to(victim) for p in victim.rglob("*"))
    with pytest.raises(ReleaseError, match="symlink"):
        record(repo)
    assert sorted(p.relative_to(victim) for p in victim.rglob("*")) == before


def test_a_broken_index_is_a_load_error(repo: Path) -> None:
    index = json.loads((repo / INDEX).read_text(encoding="utf-8"))
    index["releases"][0]["file"] = "../../outside.zip"
    (repo / INDEX).write_text(json.dumps(index), encoding="utf-8")
    with pytest.raises(LoadError, match="release 1: invalid file"):
        read_index(repo)


# ---------------------------------------------------------------- the commands, as the README shows them


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 0
    return capsys.readouterr().out


def readme_block(command: str) -> list[str]:
    """The output the README prints under `$ <command>` (in a ```console block)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"```console\n\$ {re.escape(command)}\n(.*?)```", readme, re.S)
    assert match, f"README shows no output of {command}"
    return match[1].splitlines()


def test_versions_prints_what_the_readme_shows(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out = run(capsys, "versions").splitlines()
    # the README travels in the current version's zip, so it cannot print that zip's own size and hash
    masked = [re.sub(r"\s+[\d,]+ bytes  sha256:[0-9a-f]{64}$", "  … bytes  sha256:…", line)
              if line.startswith(f"{VERSION} ") else line for line in out]
    assert masked == readme_block("cbj-figures versions")
    assert json.loads(run(capsys, "versions", "--json"))[0]["version"] == FIRST


def test_diff_between_version_numbers_prints_what_the_readme_shows(capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out = run(capsys, "diff", FIRST, MAJOR).splitlines()
    shown = [line for line in readme_block(f"cbj-figures diff {FIRST} {MAJOR}") if line.strip() != "..."]
    positions = [out.index(line) for line in shown]  # every line shown is printed, in that order
    assert positions == sorted(positions) and out[0] == f"{FIRST} -> {MAJOR}: needs a major bump"
    assert any(CORRECTED in line and "'2024-12-31' -> '2024'" in line for line in out)


def test_cite_version_cites_that_release(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    old = run(capsys, "cite", f"company_financials/{CORRECTED}", "--version", FIRST)
    assert f"version = {{{FIRST}}}" in old and read_index(REPO)[0].url in old  # 0.1.0 named no homepage
    new = run(capsys, "cite", "--version", "latest")
    assert f"version = {{{VERSION}}}" in new and DESCRIPTOR["homepage"] in new
    assert main(["cite", "--version", "0.2.0"]) == 2
    assert "'0.2.0' is not a recorded release" in capsys.readouterr().err
