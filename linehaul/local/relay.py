"""An HTTP relay on 127.0.0.1 in front of a local server: what the flaky proxy
(:mod:`linehaul.testing.proxy`) and fake GCS's resumable uploads (:mod:`linehaul.local.resumable`) are
built on.

A :class:`Relay` serves on a port the kernel picks, on a daemon thread, one thread per client connection
(kept alive between requests). Its :class:`RelayHandler` forwards each request to the target and streams
the answer back (with its length, or chunked); subclasses decide, request by request, to do something else.
A ``Location`` header naming the target is rewritten to name the relay, so that a resumable upload session
the target opens goes on through the relay.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

from linehaul.local._processes import LocalStackError, Startable

__all__ = ["Relay", "RelayHandler"]

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "content-length", "host"}
)  # fmt: skip
_COPY_SIZE = 256 * 1024  # bytes relayed per read when streaming a body
_UPSTREAM_TIMEOUT = 300.0  # seconds the backend may take to answer one request
_IDLE_TIMEOUT = 60.0  # seconds a client connection may stay idle between requests


class RelayHandler(BaseHTTPRequestHandler):
    """Relays one client connection's requests (keep-alive): :meth:`relay_request` handles each one."""

    protocol_version = "HTTP/1.1"
    timeout = _IDLE_TIMEOUT
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)
    server: _Server

    @property
    def relay(self) -> Relay:
        return self.server.relay

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
        pass  # quiet

    def do_GET(self) -> None:
        self.relay_request()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET  # noqa: N815  # http.server's names

    def relay_request(self) -> None:
        """Forward the request and pass the answer back; subclasses do more."""
        body = self.request_body()
        with self.forwarded(body) as response:
            if response is not None:
                self.pass_back(response)

    def request_body(self) -> bytes | None:
        """The request's body, read whole (sent with its length or chunked), None if it has none."""
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

    @contextlib.contextmanager
    def forwarded(
        self, body: Any, *, method: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Iterator[http.client.HTTPResponse | None]:
        """The target's answer to this request (or to ``method`` with ``headers`` added, and ``body``: bytes,
        a file or None), read within the block; None if the target did not answer (502 sent then)."""
        replaced = {name.lower() for name in headers or {}}
        sent = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() not in replaced
        }
        sent.update(headers or {})
        sent["Host"] = "{}:{}".format(*self.relay.upstream)
        length = _length(body)
        if length is not None:
            sent["Content-Length"] = str(length)
        host, port = self.relay.upstream
        upstream = http.client.HTTPConnection(host, port, timeout=_UPSTREAM_TIMEOUT, blocksize=_COPY_SIZE)
        try:
            try:
                upstream.request(method or self.command, self.path, body=body, headers=sent)
                response = upstream.getresponse()
            except OSError as error:
                self.answer_error(HTTPStatus.BAD_GATEWAY, f"the backend did not answer: {error}")
                yield None
                return
            yield response
        finally:
            upstream.close()

    def pass_back(self, response: http.client.HTTPResponse, *, cut_after: int | None = None) -> None:
        """Send the target's answer on, streaming its body (with its length, or chunked); with
        ``cut_after``, only that many bytes of its body, and then the connection is closed."""
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() in _HOP_BY_HOP:
                continue
            if name.lower() == "location" and value.startswith(self.relay.target):
                value = self.relay.url + value[len(self.relay.target) :]
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
        left = cut_after
        while chunk := response.read(_COPY_SIZE if left is None else min(_COPY_SIZE, left)):
            if left is not None:
                left -= len(chunk)
            self.wfile.write(chunk if length is not None else b"%x\r\n%b\r\n" % (len(chunk), chunk))
            if left == 0:
                self.wfile.flush()
                self.close_connection = True  # the answer broke off
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
        if length is None:
            self.wfile.write(b"0\r\n\r\n")

    def answer(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Answer with ``status``, ``headers`` and ``body``."""
        self.send_response_only(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer_error(self, status: HTTPStatus, message: str, reason: str = "backendError") -> None:
        """An error the way Google's JSON APIs answer one."""
        error: dict[str, object] = {"code": status.value, "message": message, "status": status.name}
        error["errors"] = [{"message": message, "domain": "global", "reason": reason}]
        body = json.dumps({"error": error}).encode()
        self.answer(status, body, {"Content-Type": "application/json; charset=UTF-8"})


class Relay(Startable):
    """Serves :attr:`handler` (a :class:`RelayHandler`) on 127.0.0.1, in front of ``target``."""

    handler: ClassVar[type[RelayHandler]] = RelayHandler
    name: ClassVar[str] = "relay"

    def __init__(self, target: str) -> None:
        address = urlsplit(target if "://" in target else f"http://{target}")
        if address.scheme != "http" or not address.hostname or address.port is None:
            raise ValueError(f"the target must be http://HOST:PORT, not {target!r}")
        self.target = f"http://{address.hostname}:{address.port}"
        self.upstream = (address.hostname, address.port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise LocalStackError(f"the {self.name} is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self, port: int = 0) -> None:
        """Listen (on ``port``, or one the kernel picks) and serve on a daemon thread."""
        if self._server is not None:
            raise LocalStackError(f"the {self.name} is already running")
        self._server = _Server(self, port)
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.name, daemon=True)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, relay: Relay, port: int) -> None:
        self.relay = relay
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), relay.handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a client that drops a kept-alive connection is no error (socketserver prints one)."""

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):  # already closed by the client
                    connection.shutdown(socket.SHUT_RDWR)


def _length(body: Any) -> int | None:
    """The length of a body to send: bytes, or a file (from where it stands), None for no body."""
    if body is None:
        return None
    if isinstance(body, bytes | bytearray | memoryview):
        return len(body)
    position = body.tell()
    end = body.seek(0, 2)
    body.seek(position)
    return int(end - position)
