"""A hostile HTTP server on 127.0.0.1, in a thread: it serves, trickles, stalls, streams forever or redirects.

The first segment of a request's path says how to answer, the rest names the file served (from `files`):

    /ok/<file>          the file, with its Content-Length
    /trickle/<file>     the right Content-Length, then one byte every TRICKLE seconds
    /silent/<file>      the headers, then nothing
    /forever/<file>     no Content-Length, zeros without end
    /announce/<file>    a Content-Length of a terabyte, then the file
    /to-file/<file>     a redirect to file:///etc/passwd
    /to-ftp/<file>      a redirect to ftp://127.0.0.1/<file>
    /to/<file>          a redirect to `elsewhere` + /ok/<file> (another server)
    /doi/<doi>          as doi.org does for Zenodo: a redirect to `elsewhere` + /records/<the DOI's last number>

Every request is recorded (`requests`), and so is every body byte written (`sent`). Each answer stops after
STREAM_CAP bytes or LINGER seconds, or when the server stops, so no test can hang on the server's side.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

TRICKLE = 0.5  # seconds between two bytes of a trickle
LINGER = 60.0  # the longest any answer lasts
STREAM_CAP = 1 << 30  # the most a forever stream sends


class _Handler(http.server.BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.record(self.path)
        _, how, rest = self.path.split("/", 2) if self.path.count("/") >= 2 else ("", "", "")
        body = self.server.files.get(rest)
        redirect = {"to-file": "file:///etc/passwd", "to-ftp": f"ftp://127.0.0.1/{rest}",
                    "to": f"{self.server.elsewhere}/ok/{rest}",
                    "doi": f"{self.server.elsewhere}/records/{rest.rsplit('.', 1)[-1]}"}.get(how)
        if redirect is not None:
            self.send_response(302)
            self.send_header("Location", redirect)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if body is None and how != "forever":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        length = {"forever": None, "announce": str(10**12)}.get(how, str(len(body or b"")))
        if length is not None:
            self.send_header("Content-Length", length)
        self.send_header("Connection", "close")
        self.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):  # the client hung up: what it is meant to do
            self._body(how, body or b"")

    def _body(self, how: str, body: bytes) -> None:
        until = time.monotonic() + LINGER
        if how == "trickle":
            for i in range(len(body)):
                if self.server.stopping.wait(TRICKLE) or time.monotonic() > until:
                    return
                self._send(body[i : i + 1])
        elif how == "silent":
            self.wfile.flush()
            self.server.stopping.wait(LINGER)
        elif how == "forever":
            chunk = bytes(64 << 10)
            while self.server.sent < STREAM_CAP and time.monotonic() < until and not self.server.stopping.is_set():
                self._send(chunk)
        else:
            self._send(body)

    def _send(self, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        with self.server.lock:
            self.server.sent += len(data)


class HostileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, bytes] | None = None, elsewhere: str = ""):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files = dict(files or {})
        self.elsewhere = elsewhere
        self.requests: list[str] = []
        self.sent = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, how: str, file: str = "") -> str:
        return f"{self.base}/{how}/{file}" if file else f"{self.base}/{how}"

    def record(self, path: str) -> None:
        with self.lock:
            self.requests.append(path)


@contextmanager
def serving(files: dict[str, bytes] | None = None, elsewhere: str = "") -> Iterator[HostileServer]:
    server = HostileServer(files, elsewhere)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
