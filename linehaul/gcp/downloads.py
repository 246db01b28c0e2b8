"""An object's bytes as a readable stream fetched by one request: a single streamed GET, on a thread.

Cloud Storage bills a download per request, and a log read in ranges of a few MiB costs a request per range
(and one more to learn the object's generation first). Here the client library downloads the whole object
(its stored bytes: no decompressive transcoding) in one response, written as it arrives into a short queue
of blocks that :meth:`StreamedDownload.read` takes from; memory holds a few blocks whatever the object's
size. If the connection breaks off, the library resumes from the byte it reached, pinned to the
generation of the first response (an object replaced meanwhile then fails the read: never the bytes of two
generations), and checks the whole object's checksum against the one Cloud Storage sent.
"""

from __future__ import annotations

import io
import queue
import threading
from contextlib import suppress
from typing import Any

__all__ = ["StreamedDownload"]

_BLOCK = 1 << 20
"""Bytes handed over at a time: the library writes 8 KiB pieces, gathered into blocks this large."""
_DEPTH = 4  # blocks queued ahead of the reader
_STOP_WAIT = 5.0  # seconds close() waits for the download's thread to notice it was cancelled


class _CancelledError(Exception):
    """The reader was closed: the download stops at its next write."""


class _End:
    """Queued after the last block."""


class StreamedDownload(io.RawIOBase):
    """A readable stream of ``blob``'s bytes (of ``blob.generation``, if set), downloaded with ``retry``.

    :meth:`start` begins the download and returns once the first answer is in: a missing object raises
    there (the library's ``NotFound``). Errors later on come out of :meth:`read`, as the library raised
    them. :meth:`close` stops the download if it is still going.
    """

    def __init__(self, blob: Any, *, retry: Any) -> None:
        super().__init__()
        self._blob, self._retry = blob, retry
        self._queue: queue.Queue[bytes | _End | BaseException] = queue.Queue(maxsize=_DEPTH)
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._download, name="linehaul-download", daemon=True)
        self._pieces: list[bytes] = []
        self._gathered = 0
        self._block = memoryview(b"")
        self._ended = False

    def start(self) -> None:
        self._thread.start()
        first = self._queue.get()
        if isinstance(first, BaseException):
            self._ended = True
            raise first
        self._take(first)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._block and not self._ended:
            self._take(self._queue.get())
        count = min(len(view), len(self._block))
        view[:count] = self._block[:count]
        self._block = self._block[count:]
        return count

    def close(self) -> None:
        if not self.closed and self._thread.is_alive():
            self._cancelled.set()
            while self._thread.is_alive():  # unblock a download waiting for room in the queue
                try:
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    self._thread.join(_STOP_WAIT)
                    break
        super().close()

    def _take(self, item: bytes | _End | BaseException) -> None:
        if isinstance(item, BaseException):
            self._ended = True
            raise item
        if isinstance(item, _End):
            self._ended = True
        else:
            self._block = memoryview(item)

    # -- the download's thread ---------------------------------------------------------------------------

    def _download(self) -> None:
        try:
            self._blob.download_to_file(_Sink(self), raw_download=True, retry=self._retry)
            self._hand_over()
            self._put(_End())
        except _CancelledError:
            pass
        except BaseException as error:  # handed to the reader
            with suppress(_CancelledError):
                self._put(error)

    def _gather(self, data: bytes) -> None:
        if self._cancelled.is_set():
            raise _CancelledError
        self._pieces.append(data)
        self._gathered += len(data)
        if self._gathered >= _BLOCK:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._pieces:
            block = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
            self._pieces, self._gathered = [], 0
            self._put(block)

    def _put(self, item: bytes | _End | BaseException) -> None:
        while not self._cancelled.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _CancelledError


class _Sink(io.RawIOBase):
    """Where the library writes the download (not seekable: it never rewinds a raw download)."""

    def __init__(self, download: StreamedDownload) -> None:
        super().__init__()
        self._download = download

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self._download._gather(piece)
        return len(piece)
