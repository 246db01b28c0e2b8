"""Write to several streams from a worker thread, in order, so that uploads overlap with parsing.

Uploads spend most of their time waiting on the network, with the GIL released; handing the writes to one
worker lets the next block of lines be parsed meanwhile. The queue is short, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType
from typing import Protocol

__all__ = ["BackgroundWriter", "Writable"]


class Writable(Protocol):
    """Anything bytes are written to: a file, an upload, a pending object."""

    def write(self, data: bytes, /) -> int: ...


class BackgroundWriter:
    """``write(stream, data)`` returns at once; the worker writes, in call order. ``close()`` waits for it.

    An error of the worker comes out of the next ``write`` or of ``close``; the writes after it are dropped.
    """

    def __init__(self, depth: int = 2) -> None:
        self._queue: queue.Queue[tuple[Writable, bytes] | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="linehaul-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                stream, data = item
                try:
                    stream.write(data)
                except BaseException as error:  # handed to the caller's next write or close
                    self._error = error

    def write(self, stream: Writable, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((stream, data))

    def close(self) -> None:
        """Wait until everything queued is written; raise the worker's error if it had one."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
