"""Shared fixtures of the hostile-package suite: every package a test reads is an attacker's.

Each test copies the real package into its own temporary folder, breaks one thing, and runs the
toolkit the way CI does: the `cbj-figures` command (or `load()` in a child Python), as a child
process with a time bound, a memory cap, a file-size cap and a neutral working directory, so that
no attack can hang the suite, fill the disk or swap. Children are killed with their whole process
group afterwards, and nothing outside the test's temporary folders is read or written on purpose.

Only the public surface is used (the CLI, `cbj_figures.load`, `cbj_figures.loader.LoadError`):
the internals are being restructured, and an attacker does not call them either.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("datapackage.json", "resources", "schemas", "checks", "validators")
BOUND = 60.0  # seconds: the promised bound for any single run (it must be far faster in practice)
MEMORY_CAP = 2 << 30  # RLIMIT_DATA of every child: a memory bomb fails instead of swapping
FILE_CAP = 256 << 20  # RLIMIT_FSIZE of every child: no attack can fill the disk
TRACEBACK = "Traceback (most recent call last)"
BIN = Path(sys.prefix) / "bin"
CLI = BIN / "cbj-figures"
PYTHON = BIN / "python"
DESCRIPTOR = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
NAME, VERSION = DESCRIPTOR["name"], DESCRIPTOR["version"]
RELEASE = f"{NAME}-{VERSION}"


# ---------------------------------------------------------------- child processes


def _limits() -> None:
    """Runs in the child before exec: cap memory and file size (an attack fails fast, never swaps)."""
    resource.setrlimit(resource.RLIMIT_DATA, (MEMORY_CAP, MEMORY_CAP))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_CAP, FILE_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@dataclass
class Result:
    """What a child did: exit code (negative: killed by that signal), output, time, whether it timed out."""

    args: list[str]
    rc: int
    out: str
    err: str
    elapsed: float
    timed_out: bool

    @property
    def text(self) -> str:
        return self.out + self.err

    def brief(self) -> str:
        """A short account for assertion messages (the tail of each stream)."""
        what = "timed out" if self.timed_out else f"rc={self.rc}"
        head = f"{what} after {self.elapsed:.1f}s: {' '.join(self.args)[:300]}"
        return f"{head}\n--- stdout ---\n{self.out[-1500:]}\n--- stderr ---\n{self.err[-2500:]}"


def kill_group(proc: subprocess.Popen) -> None:
    """Kill the child's whole process group (the pandera child too), ignoring one already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class Child:
    """A running child in its own process group; `finish` waits (bounded), kills the group, collects output."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]):
        self.args = [str(a) for a in args]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_limits,
        )

    def signal(self, sig: int) -> None:
        """Send `sig` to the child's process group, as a terminal's Ctrl-C does."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def finish(self, timeout: float = BOUND) -> Result:
        left = max(0.1, timeout - (time.monotonic() - self.started))
        timed_out = False
        try:
            out, err = self.proc.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(self.proc)
            out, err = self.proc.communicate(timeout=30)
        elapsed = time.monotonic() - self.started
        kill_group(self.proc)  # no grandchild outlives the test
        return Result(
            self.args,
            self.proc.returncode,
            out.decode("utf-8", "replace"),
            err.decode("utf-8", "replace"),
            elapsed,
            timed_out,
        )


@dataclass
class Runner:
    """Runs `cbj-figures` (or a Python child) with a bound, a neutral cwd and a private HOME and TMPDIR."""

    base: Path
    children: list[Child] = field(default_factory=list)

    def __post_init__(self) -> None:
        for path in (self.cwd, self.tmpdir, self.home):
            path.mkdir(parents=True, exist_ok=True)

    @property
    def cwd(self) -> Path:
        """The default working directory: an empty folder of the test's own."""
        return self.base / "cwd"

    @property
    def tmpdir(self) -> Path:
        """The children's TMPDIR: their temporary folders land inside the test's folder."""
        return self.base / "sys-tmp"

    @property
    def home(self) -> Path:
        return self.base / "home"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        home = self.home
        env = {
            "PATH": f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "TMPDIR": str(self.tmpdir),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8",
            "GX_ANALYTICS_ENABLED": "false",
            "NO_PROXY": "*",
            "no_proxy": "*",
        }
        return {**env, **(extra or {})}

    def start(self, *args: object, cwd: Path | None = None, env: dict[str, str] | None = None) -> Child:
        child = Child([str(CLI), *map(str, args)], cwd or self.cwd, self.env(env))
        self.children.append(child)
        return child

    def __call__(
        self, *args: object, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = BOUND
    ) -> Result:
        return self.start(*args, cwd=cwd, env=env).finish(timeout)

    def python(
        self,
        code: str,
        *,
        args: list[str] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timeout: float = BOUND,
    ) -> Result:
        """`python -I -c code args...`: isolated, so neither the cwd nor PYTHON* variables inject modules."""
        child = Child([str(PYTHON), "-I", "-c", code, *(args or [])], cwd or self.cwd, self.env(env))
        self.children.append(child)
        return child.finish(timeout)

    def cleanup(self) -> None:
        for child in self.children:
            if child.proc.poll() is None:
                kill_group(child.proc)
                child.proc.communicate(timeout=30)
            kill_group(child.proc)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Runner]:
    runner = Runner(tmp_path / "run")
    yield runner
    runner.cleanup()


# ---------------------------------------------------------------- packages


def copy_package(dest: Path, parts: tuple[str, ...] = PARTS) -> Path:
    """A private copy of the real package (only its own files)."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in parts:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        else:
            shutil.copy(src, dest / part)
    return dest


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    """A fresh copy of the real package, valid in every layer, for one test to break."""
    return copy_package(tmp_path / "pkg")


@pytest.fixture
def canary() -> str:
    """A secret no output may ever contain."""
    return f"CBJCANARY{secrets.token_hex(12)}"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_descriptor(pkg: Path) -> dict:
    return json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))


def write_descriptor(pkg: Path, descriptor: object) -> None:
    text = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
    (pkg / "datapackage.json").write_text(text, encoding="utf-8")


def edit_descriptor(pkg: Path, change: Callable[[dict], object]) -> None:
    """Apply `change` to the descriptor in place (it may also return a replacement)."""
    descriptor = read_descriptor(pkg)
    replaced = change(descriptor)
    write_descriptor(pkg, descriptor if replaced is None else replaced)


def resource_of(descriptor: dict, name: str) -> dict:
    return next(r for r in descriptor["resources"] if r.get("name") == name)


def rehash(pkg: Path, skip: tuple[str, ...] = ()) -> None:
    """Pin every regular resource file again (sha256 and bytes), so a test breaks exactly one thing."""
    descriptor = read_descriptor(pkg)
    for res in descriptor["resources"]:
        path = pkg / str(res.get("path"))
        if res.get("name") in skip or path.is_symlink() or not path.is_file():
            continue
        res["hash"], res["bytes"] = f"sha256:{sha256(path)}", path.stat().st_size
    write_descriptor(pkg, descriptor)


def edit_schema(pkg: Path, table: str, change: Callable[[dict], None]) -> None:
    path = pkg / "schemas" / f"{table}.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def field_of(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def read_rows(pkg: Path, table: str) -> list[list[str]]:
    import csv

    with open(pkg / "resources" / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(pkg: Path, table: str, rows: list[list[str]]) -> None:
    import csv

    with open(pkg / "resources" / f"{table}.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def edit_row(pkg: Path, table: str, key: str, **cells: str) -> int:
    """Set cells of the row whose first cell is `key`; returns that row's physical line (header = 1)."""
    rows = read_rows(pkg, table)
    header = rows[0]
    index = next(i for i, r in enumerate(rows) if r[0] == key)
    for name, value in cells.items():
        rows[index][header.index(name)] = value
    write_rows(pkg, table, rows)
    return index + 1


# ---------------------------------------------------------------- assertions


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every entry below `folder` without following symlinks: regular files by content, the rest by kind."""
    out: dict[str, tuple[str, bytes | str]] = {}
    if not folder.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                out[rel] = ("symlink", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", "")
            elif path.is_file():
                out[rel] = ("file", path.read_bytes())
            else:
                out[rel] = ("special", "")
    return out


def changed(before: dict, after: dict) -> list[str]:
    """Entries created, removed or modified between two snapshots."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def assert_no_traceback(result: Result) -> None:
    assert TRACEBACK not in result.text, f"a Python traceback reached the user:\n{result.brief()}"


def assert_bounded(result: Result, bound: float = BOUND) -> None:
    assert not result.timed_out and result.elapsed < bound, f"not done within {bound:.0f}s:\n{result.brief()}"


def assert_usable(result: Result, allowed: tuple[int, ...] = (1, 2)) -> None:
    """Finished within the bound, with an allowed exit code, and no traceback."""
    assert_bounded(result)
    assert result.rc in allowed, f"exit code {result.rc}, expected one of {allowed}:\n{result.brief()}"
    assert_no_traceback(result)


def json_report(path: Path) -> dict:
    assert path.is_file(), f"no JSON report was written at {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def files_below(folder: Path) -> dict[str, bytes]:
    """Every regular file below `folder` (symlinks not followed), with zip members unpacked in memory."""
    out: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        out[path.relative_to(folder).as_posix()] = data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.file_size < 64 << 20:
                        out[f"{path.relative_to(folder).as_posix()}!{info.filename}"] = archive.read(info)
    return out


# ---------------------------------------------------------------- the local listener


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with an empty JSON Schema, so a client that connects never hangs."""

    def do_GET(self) -> None:
        body = b'{"type": "object"}' if self.path.endswith(".json") else b"a,b\n1,2\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class CountingServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that counts the connections it accepts."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.lock = threading.Lock()

    def get_request(self):  # type: ignore[no-untyped-def]
        request = super().get_request()
        with self.lock:
            self.connections += 1
        return request

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{path.lstrip('/')}"


@pytest.fixture
def listener() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# ---------------------------------------------------------------- a real release


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release built by `cbj-figures build` from a copy of the package: dist/<name>-<version>(.zip)."""
    base = tmp_path_factory.mktemp("release")
    package = copy_package(base / "pkg")
    runner = Runner(base / "run")
    result = runner("build", package, "--out", base / "dist")
    runner.cleanup()
    folder = base / "dist" / RELEASE
    assert result.rc == 0 and folder.is_dir(), f"cannot build the release to tamper with:\n{result.brief()}"
    return folder


def release_sums(folder: Path) -> None:
    """Rewrite SHA256SUMS for every file it lists (and the descriptor), so only the planted change differs."""
    sums = folder / "SHA256SUMS"
    lines = []
    for line in sums.read_text(encoding="utf-8").splitlines():
        _, _, rel = line.partition("  ")
        path = folder / rel
        lines.append(f"{sha256(path) if path.is_file() else '0' * 64}  {rel}")
    sums.write_text("\n".join(lines) + "\n", encoding="utf-8")


def zip_folder(folder: Path, target: Path, extra: dict[str, bytes] | None = None) -> Path:
    """Zip `folder` under its own name (as releases are), with `extra` members added verbatim."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return target


LOAD_PROBE = """
import json, sys
try:
    from cbj_figures import load
    frame = load(**json.loads(sys.argv[1]))
    print(json.dumps({"ok": True, "rows": len(frame)}))
except BaseException as err:
    from cbj_figures.loader import LoadError
    mro = [c.__module__ + "." + c.__qualname__ for c in type(err).__mro__]
    print(json.dumps({"ok": False, "type": type(err).__name__, "mro": mro, "message": str(err)[:2000],
                      "load_error": isinstance(err, LoadError)}))
"""


def run_load(runner: Runner, timeout: float = BOUND, **kwargs: object) -> tuple[dict | None, Result]:
    """Call `load(**kwargs)` in an isolated child; returns what it raised or returned, and the run."""
    args = json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()})
    result = runner.python(LOAD_PROBE, args=[args], timeout=timeout)
    lines = [line for line in result.out.splitlines() if line.startswith("{")]
    return (json.loads(lines[-1]) if lines else None), result


def is_load_error(outcome: dict | None) -> bool:
    """A `cbj_figures.loader.LoadError` (the class may be defined below the loader, which exports it)."""
    return bool(outcome) and not outcome["ok"] and outcome["load_error"]
