"""A loopback HTTP proxy in front of a local warehouse engine that drops the client's connection on a
chosen request: the fault "the warehouse connection dropped in the middle of the erase statement".

    client (real snowflake-connector / google-cloud-bigquery) ─► DropProxy ─► fakesnow / bqemulator

Every request is relayed as it is (one upstream connection per request, the body untouched), except the
first `times` requests a matcher picks:

* `after`: the request reaches the engine and the engine's whole answer comes back to the proxy (so the
  DELETE/UPDATE really ran there), then the proxy closes the client's connection without a byte of it:
  done at the engine, unknown to the client.
* `before`: the proxy closes the client's connection without forwarding the request: nothing ran.

A test awaits `dropped` (an Event) instead of sleeping. Matchers see the request with its body decoded
(the Snowflake connector gzips its JSON); the proxy keeps no body after deciding.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Hop-by-hop headers (RFC 9110 §7.6.1) and the framing the proxy sets itself.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
     "content-length", "host"}
)  # fmt: skip


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    path: str
    body: bytes  # decoded from gzip when the client sent it gzipped

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


Matcher = Callable[[ProxiedRequest], bool]


def snowflake_statement(*prefixes: str) -> Matcher:
    """A Snowflake query request whose SQL text starts with one of `prefixes` (e.g. "DELETE", "COMMIT")."""

    def match(request: ProxiedRequest) -> bool:
        if request.method != "POST" or not request.path.startswith("/queries/v1/query-request"):
            return False
        body = request.json()
        sql = str(body.get("sqlText", "")) if isinstance(body, dict) else ""
        return sql.lstrip().upper().startswith(tuple(p.upper() for p in prefixes))

    return match


def bigquery_query_containing(*fragments: str) -> Matcher:
    """A BigQuery jobs.insert (query job) or jobs.query request whose SQL contains any of `fragments`."""

    def match(request: ProxiedRequest) -> bool:
        if request.method != "POST":
            return False
        path = request.path.split("?", 1)[0]
        body = request.json()
        if not isinstance(body, dict):
            return False
        if path.endswith("/jobs"):
            sql = ((body.get("configuration") or {}).get("query") or {}).get("query", "")
        elif path.endswith("/queries"):
            sql = body.get("query", "")
        else:
            return False
        return any(fragment in str(sql) for fragment in fragments)

    return match


@dataclass
class _Fault:
    matcher: Matcher
    when: str
    times: int


class DropProxy:
    """Use as a context manager; `port` is where the client connects instead of the engine's port."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.dropped = threading.Event()
        self.drops = 0
        self.matched = 0  # requests the fault's matcher picked, dropped or not (retries included)
        self._fault: _Fault | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="drop-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self, matcher: Matcher, *, when: str = "after", times: int = 1) -> None:
        """Arm the fault: drop the connection of the next `times` requests `matcher` picks."""
        if when not in ("after", "before"):
            raise ValueError("when must be 'after' (the engine ran it) or 'before' (it never arrived)")
        with self._lock:
            self._fault = _Fault(matcher, when, times)
            self.dropped.clear()
            self.drops = self.matched = 0

    def _decide(self, request: ProxiedRequest) -> str | None:
        with self._lock:
            fault = self._fault
            if fault is None or not fault.matcher(request):
                return None
            self.matched += 1
            if self.drops >= fault.times:
                return None
            self.drops += 1
            return fault.when

    def _dropped_one(self) -> None:
        with self._lock:
            if self._fault is not None and self.drops >= self._fault.times:
                self.dropped.set()

    def __enter__(self) -> DropProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' connection pools expect

    def log_message(self, format: str, *args: Any) -> None:
        pass  # paths can carry names; the test's own assertions say what happened

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _relay(self) -> None:
        proxy: DropProxy = self.server.proxy  # type: ignore[attr-defined]
        raw = self._read_body()
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        fault = proxy._decide(ProxiedRequest(self.command, self.path, body))
        if fault == "before":
            self._hang_up(proxy)
            return
        status, reason, headers, payload = self._forward(proxy, raw)
        if fault == "after":
            self._hang_up(proxy)
            return
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, proxy: DropProxy, body: bytes):
        upstream = http.client.HTTPConnection(*proxy.upstream, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Host"] = f"{proxy.upstream[0]}:{proxy.upstream[1]}"
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _hang_up(self, proxy: DropProxy) -> None:
        # Close without answering: the client reads EOF where its response should be.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        proxy._dropped_one()
