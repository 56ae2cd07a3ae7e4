"""Downloads, bounded: a size cap, a total deadline, http(s) only, kept in the user's cache by their hash.

A download is input like any other. It is refused as soon as it passes the size it may have (the index's
`bytes`), when it is not done by its deadline, when its server sends nothing for READ_TIMEOUT seconds, and when a
redirect leads anywhere but http(s). It is written to a partial file in the cache folder and renamed into place only
once its hash matches, so the cache holds verified files only, named by their hash and found again whatever mirror
served them; the partial file is removed on any failure, Ctrl-C included. Who may download what is decided above
this module (`releases.py`): nothing here knows an index.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urljoin, urlsplit

from cbj_figures.safeio import HASHES, file_digest

READ_TIMEOUT = 30.0  # seconds a server may send nothing
MIN_SECONDS = 60.0  # a download's deadline: this many seconds ...
MIN_RATE = 64 * 1024  # ... plus one for each this many bytes it may have ...
MAX_SECONDS = 900.0  # ... and never more than this
CHUNK = 64 * 1024
SCHEMES = ("http", "https")
DOI_RESOLVER = "https://doi.org/"
ZENODO = "https://zenodo.org"  # the archive `.zenodo.json` describes: the one whose DOIs are resolved
_ZENODO_RECORD = re.compile(r"^/records?/(\d+)/?$")
_DIGEST = re.compile(r"^[0-9a-f]{32,128}$")


class FetchError(Exception):
    """A download that failed or was refused; the message names the URL and why."""


class HashMismatch(FetchError):
    """The server sent a file, but not the one asked for."""

    def __init__(self, url: str, actual: str):
        super().__init__(f"{url} sent another file ({actual})")
        self.url, self.actual = url, actual


def cache_dir() -> Path:
    """The user's cache, where pooch kept it: $XDG_CACHE_HOME/cbj-figures (~/.cache/cbj-figures) on Linux,
    ~/Library/Caches/cbj-figures on macOS, %LOCALAPPDATA%\\cbj-figures\\Cache on Windows."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "cbj-figures"
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "cbj-figures" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache") / "cbj-figures"


def _cached_path(algorithm: str, digest: str) -> Path:
    if algorithm not in HASHES or not _DIGEST.match(digest):
        raise FetchError(f"{algorithm}:{digest} is not a hash a download can be checked against")
    return cache_dir() / f"{algorithm}-{digest}.zip"


def cached(algorithm: str, digest: str) -> Path | None:
    """The cached file of that hash, checked again (a damaged copy is removed); None when there is none."""
    path = _cached_path(algorithm, digest)
    if not path.is_file():
        return None
    if file_digest(path, algorithm)[0] == digest:
        return path
    path.unlink(missing_ok=True)
    return None


def download(url: str, algorithm: str, digest: str, *, limit: int) -> Path:
    """The file of that hash: from the cache, else downloaded from `url` (http, https, or `doi:<DOI>/<file>` of a
    Zenodo record) into it. At most `limit` bytes, within MIN_SECONDS plus a second per MIN_RATE bytes of `limit`
    (at most MAX_SECONDS); FetchError otherwise, and HashMismatch when the bytes are not the ones asked for."""
    if not url.startswith(("http://", "https://", "doi:")):
        raise FetchError(f"{url}: only http, https and doi: URLs are downloaded")
    found = cached(algorithm, digest)
    if found is not None:
        return found
    deadline = _Deadline(min(MAX_SECONDS, MIN_SECONDS + limit / MIN_RATE))
    target = _cached_path(algorithm, digest)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep(target.parent)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as e:
        raise FetchError(f"cannot write the cache {target.parent} ({e.strerror or e})") from None
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            source = _zenodo_file(url, deadline) if url.startswith("doi:") else url
            actual, size = _stream(source, out, limit, deadline, hashlib.new(algorithm))
        if actual != digest:
            raise HashMismatch(url, f"{algorithm}:{actual} ({size:,} bytes)")
        os.replace(partial, target)
    except BaseException:  # a refusal, a failure, Ctrl-C: no partial file stays
        partial.unlink(missing_ok=True)
        raise
    return target


def _sweep(folder: Path) -> None:
    """Remove partial files older than any download may last: left by a process killed outright."""
    stale = time.time() - MAX_SECONDS - READ_TIMEOUT
    for partial in folder.glob(".*.part"):
        with suppress(OSError):
            if partial.stat().st_mtime < stale:
                partial.unlink()


class _Deadline:
    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def timeout(self, url: str) -> float:
        """What the next wait may take: READ_TIMEOUT, or less near the deadline; FetchError once it has passed."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise FetchError(f"{url} was not done within {self.seconds:.0f} s; stopped")
        return min(READ_TIMEOUT, left)


def _stream(url: str, out: IO[bytes], limit: int, deadline: _Deadline, digest: Any) -> tuple[str, int]:
    """Copy the body of `url` into `out`, hashing it; refused past `limit` bytes or the deadline (checked as bytes
    arrive: a server that falls silent is cut by the read timeout, set when the connection opens)."""
    size = 0
    with _reported(url), _opener().open(url, timeout=deadline.timeout(url)) as response:
        announced = response.headers.get("Content-Length", "")
        if announced.isdigit() and int(announced) > limit:
            raise FetchError(f"{url} announces {int(announced):,} bytes; at most {limit:,} are expected")
        while chunk := response.read1(min(CHUNK, limit + 1 - size)):  # read1: whatever arrived, never waits for more
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{url} sent more than the {limit:,} bytes expected; stopped there")
            digest.update(chunk)
            out.write(chunk)
            deadline.timeout(url)
    return digest.hexdigest(), size


def _zenodo_file(url: str, deadline: _Deadline) -> str:
    """`doi:<DOI>/<file>` as the file's URL in its Zenodo record (where doi.org redirects)."""
    doi, _, file = url.removeprefix("doi:").rpartition("/")
    with _reported(url), _opener().open(DOI_RESOLVER + doi, timeout=deadline.timeout(url)) as response:
        landing = response.geturl()  # the body (the record's web page) is not read
    parts = urlsplit(landing)
    record = _ZENODO_RECORD.match(parts.path)
    if f"{parts.scheme}://{parts.netloc}" != ZENODO or not record:
        raise FetchError(f"{url}: the DOI leads to {landing}, not a Zenodo record; only Zenodo DOIs are resolved")
    return f"{ZENODO}/records/{record[1]}/files/{quote(file)}?download=1"


@contextmanager
def _reported(url: str) -> Iterator[None]:
    """Every network failure as one FetchError naming the URL and what happened."""
    try:
        yield
    except urllib.error.HTTPError as e:
        raise FetchError(f"{url} answered HTTP {e.code}") from None
    except urllib.error.URLError as e:
        raise FetchError(f"cannot reach {urlsplit(url).netloc} for {url} ({e.reason})") from None
    except TimeoutError:
        raise FetchError(f"{url} sent nothing for {READ_TIMEOUT:.0f} s; stopped") from None
    except (OSError, http.client.HTTPException) as e:
        raise FetchError(f"{url}: the download failed ({type(e).__name__}: {e})") from None


class _HttpOnly(urllib.request.HTTPRedirectHandler):
    """Redirects are followed (GitHub's release assets live on another host) to http and https only."""

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        target = urljoin(req.full_url, headers.get("Location") or headers.get("URI") or "")
        if urlsplit(target).scheme not in SCHEMES:
            fp.close()
            raise FetchError(f"{req.full_url} redirects to {target!r}; only http and https are followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener() -> urllib.request.OpenerDirector:
    """http and https only (no file:, ftp: or data: handler), the environment's proxies, certificates verified."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), _HttpOnly(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener
