"""Local servers as child processes: free ports, readiness over HTTP, a clean stop of the process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["LOG_TAIL", "LocalStackError", "ServerProcess", "Startable", "free_port", "wait_for_http"]

_POLL = 0.02  # seconds between readiness probes
LOG_TAIL = 4000
"""Characters of a server's output quoted in errors (the end of it)."""


class LocalStackError(RuntimeError):
    """A local server could not be started (it exited, never answered, or the wrong version is installed)."""


class Startable(ABC):
    """A local server used with ``with``: :meth:`start` on entry, :meth:`stop` on exit."""

    @abstractmethod
    def start(self) -> None:
        """Start serving; :class:`LocalStackError` if it cannot."""

    @abstractmethod
    def stop(self) -> None:
        """Stop serving and release what was taken (safe to call more than once)."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now.

    The kernel picks it; a small race remains until the server binds it, which is the best available for
    servers (fake-gcs-server, functions-framework) that cannot report a port they chose themselves.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_http(url: str, *, timeout: float, any_status: bool = False) -> bool:
    """Poll ``url`` until it answers 200 (or any HTTP status, with ``any_status``); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(url, any_status=any_status):
            return True
        time.sleep(_POLL)
    return False


def _answers(url: str, *, any_status: bool) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200 or any_status
    except urllib.error.HTTPError as error:
        return any_status and error.code > 0
    except (urllib.error.URLError, OSError):
        return False


class ServerProcess:
    """One server in a child process of its own process group, ready once ``ready_url`` answers.

    Its output goes to a temporary file (a pipe that nobody reads could block it) and is quoted in the
    error when it fails to start. ``stop()`` sends SIGTERM to the whole group, waits, then SIGKILLs
    whatever is left (functions-framework, for one, is a gunicorn master and a worker).
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        ready_url: str,
        env: Mapping[str, str] | None = None,
        any_status: bool = False,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = tuple(command)
        self.ready_url = ready_url
        self._env = dict(env) if env is not None else None
        self._any_status = any_status
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id of the server (also its process group id), or None when it is not running."""
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and return once it answers; LocalStackError (and nothing left running) if not."""
        if self._process is not None:
            raise LocalStackError(f"{self.name} is already running")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the server runs; stop() closes it
        try:
            self._process = subprocess.Popen(
                self.command,
                env=self._env,
                cwd=self._cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole, spared the terminal's ^C
            )
        except OSError as error:
            self.stop()
            raise LocalStackError(f"cannot run {self.name} ({self.command[0]}): {error}") from error
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                message = f"{self.name} exited with status {self._process.returncode}:\n{self.output()}"
                self.stop()
                raise LocalStackError(message)
            if _answers(self.ready_url, any_status=self._any_status):
                return
            time.sleep(_POLL)
        message = f"{self.name} did not answer {self.ready_url} within {timeout:g} s:\n{self.output()}"
        self.stop()
        raise LocalStackError(message)

    def output(self, tail: int | None = LOG_TAIL) -> str:
        """The last ``tail`` characters of what the server printed so far (None: all of it)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")
        return text if tail is None else text[-tail:]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server's process group: SIGTERM, then SIGKILL after ``timeout`` seconds. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
            _reap_group(process.pid, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_group(group: int, signal_number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal_number)


def _reap_group(group: int, timeout: float) -> None:
    """Wait for the rest of the group (children of the server) to exit after it; kill what lingers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)  # is any process of the group left?
        except ProcessLookupError:
            return
        time.sleep(_POLL)
    _signal_group(group, signal.SIGKILL)
