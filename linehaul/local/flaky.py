"""A flaky HTTP proxy for the local cloud: a seeded fraction of requests fail, before or after the backend
acted.

    with FlakyProxy(stack.gcs_url, fail_before=0.05, fail_after=0.05, seed=1) as gcs:
        env = {**stack.env, "STORAGE_EMULATOR_HOST": gcs.url}   # the functions now talk through it
        ...
        print(gcs.counts().line())

With ``classify`` (a function of a request's method and path, such as
:func:`linehaul.local.gcs_requests.storage_request_kind`), the counts also tell how many requests of each
kind it received (``counts().kinds``): a proxy that fails nothing counts a client's requests by kind.

It listens on 127.0.0.1 and forwards every request to ``target`` (fake-gcs-server's or the BigQuery
emulator's URL). Each request draws from one ``random.Random(seed)``: with probability ``fail_before`` it is
answered ``503`` without being forwarded; with probability ``fail_after`` it is forwarded, the backend's real
answer is read and dropped, and the client gets ``503`` all the same: the write landed, but the client cannot
know. That is what Cloud Storage and BigQuery do now and then, and what their client libraries retry. The
``503`` carries Google's JSON error body (reason ``backendError``), so both libraries see it as retryable.

Everything else passes through intact, streamed both ways: uploads, ranged downloads (``blob.open("rb")``),
resumable upload sessions (a ``Location`` naming the target is rewritten to name the proxy). Requests are
handled on threads, so with concurrent clients the seed fixes the fraction of failures, not which request
gets which fate.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from linehaul.local._processes import LocalStackError, Startable

__all__ = ["FlakyCounts", "FlakyProxy"]

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "content-length", "host"}
)  # fmt: skip
_COPY_SIZE = 256 * 1024  # bytes relayed per read when streaming a body
_UPSTREAM_TIMEOUT = 300.0  # seconds the backend may take to answer one request
_IDLE_TIMEOUT = 60.0  # seconds a client connection may stay idle between requests


class _Fate(Enum):
    FORWARD = "forward"
    FAIL_BEFORE = "fail before"
    FAIL_AFTER = "fail after"


@dataclass(frozen=True, slots=True)
class FlakyCounts:
    """Requests received, how many of them were failed before and after reaching the backend, and how many
    of each kind (when the proxy classifies them)."""

    requests: int = 0
    failed_before: int = 0
    failed_after: int = 0
    kinds: Mapping[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return self.failed_before + self.failed_after

    def line(self) -> str:
        return (
            f"{self.requests} requests, {self.failed} failed ({self.failed_before} before reaching the "
            f"backend, {self.failed_after} after it acted)"
        )


class FlakyProxy(Startable):
    """An HTTP proxy on 127.0.0.1 in front of ``target`` that fails a seeded fraction of requests."""

    def __init__(
        self,
        target: str,
        *,
        fail_before: float = 0.0,
        fail_after: float = 0.0,
        seed: int = 0,
        classify: Callable[[str, str], str] | None = None,
    ) -> None:
        address = urlsplit(target if "://" in target else f"http://{target}")
        if address.scheme != "http" or not address.hostname or address.port is None:
            raise ValueError(f"the target must be http://HOST:PORT, not {target!r}")
        self.target = f"http://{address.hostname}:{address.port}"
        self._upstream = (address.hostname, address.port)
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._scripted: list[tuple[_Fate, str | None]] = []
        self.set_rates(fail_before, fail_after)
        self._counts = FlakyCounts()
        self._classify = classify
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def set_rates(self, fail_before: float, fail_after: float) -> None:
        """Change the fractions of requests failed before and after the backend acts (0 and 0: a plain
        proxy)."""
        if fail_before < 0 or fail_after < 0 or fail_before + fail_after > 1:
            raise ValueError(f"fail_before={fail_before} and fail_after={fail_after} are not fractions")
        with self._lock:
            self._fail_before, self._fail_after = fail_before, fail_after

    def fail_next(self, count: int = 1, *, after: bool, method: str | None = None) -> None:
        """Fail the next ``count`` requests (of that HTTP ``method``, if given), whatever the draws say:
        before they reach the backend, or ``after`` it acted. For tests that need one particular request
        to fail."""
        with self._lock:
            self._scripted += [(_Fate.FAIL_AFTER if after else _Fate.FAIL_BEFORE, method)] * count

    @property
    def url(self) -> str:
        if self._server is None:
            raise LocalStackError("the flaky proxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def counts(self) -> FlakyCounts:
        with self._lock:
            return self._counts

    def start(self) -> None:
        """Listen (on a port the kernel picks) and serve on a daemon thread."""
        if self._server is not None:
            raise LocalStackError("the flaky proxy is already running")
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="flaky-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close every client connection (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()

    def _draw(self, method: str, path: str) -> _Fate:
        kind = None if self._classify is None else str(self._classify(method, path))
        with self._lock:
            roll = self._random.random()
            scripted = next((n for n, (_, only) in enumerate(self._scripted) if only in (None, method)), None)
            if scripted is not None:
                fate = self._scripted.pop(scripted)[0]
            elif roll < self._fail_before:
                fate = _Fate.FAIL_BEFORE
            elif roll < self._fail_before + self._fail_after:
                fate = _Fate.FAIL_AFTER
            else:
                fate = _Fate.FORWARD
            counts = self._counts
            kinds = counts.kinds if kind is None else {**counts.kinds, kind: counts.kinds.get(kind, 0) + 1}
            self._counts = FlakyCounts(
                counts.requests + 1,
                counts.failed_before + (fate is _Fate.FAIL_BEFORE),
                counts.failed_after + (fate is _Fate.FAIL_AFTER),
                kinds,
            )
            return fate

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self._upstream
        return http.client.HTTPConnection(host, port, timeout=_UPSTREAM_TIMEOUT)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FlakyProxy) -> None:
        self.proxy = proxy
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that drops a kept-alive connection is no error (socketserver prints one)."""

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Relays one client connection's requests (keep-alive), each with the fate the proxy draws for it."""

    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client went away
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the counts say what happened

    def do_GET(self) -> None:
        self._relay()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET  # noqa: N815  # http.server's names

    def _relay(self) -> None:
        body = self._request_body()
        proxy = self.server.proxy
        fate = proxy._draw(self.command, self.path)
        if fate is _Fate.FAIL_BEFORE:
            self._unavailable("the request did not reach the backend")
            return
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        headers["Host"] = "{}:{}".format(*proxy._upstream)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        upstream = proxy._connect()
        try:
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
            except OSError as error:
                self._answer(HTTPStatus.BAD_GATEWAY, f"the backend did not answer: {error}")
                return
            if fate is _Fate.FAIL_AFTER:
                response.read()  # the backend acted; its answer is lost on the way back
                self._unavailable("the backend's answer was lost")
                return
            self._pass_back(response)
        finally:
            upstream.close()

    def _request_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length is not None else None

    def _pass_back(self, response: http.client.HTTPResponse) -> None:
        """Send the backend's answer on, streaming its body (with its length, or chunked)."""
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() in _HOP_BY_HOP:
                continue
            if name.lower() == "location" and value.startswith(self.server.proxy.target):
                value = self.server.proxy.url + value[len(self.server.proxy.target) :]
            self.send_header(name, value)
        length = response.getheader("Content-Length")
        bodiless = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        if length is not None:
            self.send_header("Content-Length", length)
        elif not bodiless:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if bodiless:
            return
        while chunk := response.read(_COPY_SIZE):
            if length is None:
                self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
        if length is None:
            self.wfile.write(b"0\r\n\r\n")

    def _unavailable(self, why: str) -> None:
        self._answer(HTTPStatus.SERVICE_UNAVAILABLE, f"flaky proxy: {why}")

    def _answer(self, status: HTTPStatus, message: str) -> None:
        """An error the way Google's JSON APIs answer one."""
        error: dict[str, object] = {"code": status.value, "message": message, "status": status.name}
        error["errors"] = [{"message": message, "domain": "global", "reason": "backendError"}]
        body = json.dumps({"error": error}).encode()
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
