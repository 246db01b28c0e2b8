"""Reading CDN log files: plain or gzip (by content, not by name), from a path, stdin or any binary stream.

Data is streamed in blocks of whole lines, so memory stays flat however big the file. A stream that cannot
be read to its end (missing file, corrupt or truncated gzip) raises :class:`LogFileError` naming it, but
only after every line read before the damage has been given out: the gzip stream is inflated in small
steps, so at most a few kilobytes before the damage are lost to it (the source file itself is never
changed; callers keep or quarantine it).
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import BinaryIO

_inflate: ModuleType
try:  # Intel's ISA-L inflates gzip about twice as fast as zlib, with the same API and results
    from isal import isal_zlib as _inflate
except ImportError:  # pragma: no cover - isal has wheels for the usual platforms
    _inflate = zlib

__all__ = ["BLOCK_SIZE", "STDIN", "LogFileError", "gunzip", "line_blocks", "read_blocks", "stream_blocks"]

BLOCK_SIZE = 1 << 20
STDIN = "-"
"""The name of standard input among paths."""
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around deflate data
_STEP = 64 * 1024  # compressed bytes inflated per step


class LogFileError(Exception):
    """A log that cannot be opened or read to its end: ``name`` and ``reason`` say which and why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name, self.reason = name, reason

    def __reduce__(self) -> tuple[object, ...]:
        return (LogFileError, (self.name, self.reason))  # workers send it to the caller


class _DamageError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def gunzip(stream: BinaryIO, first: bytes = b"") -> Iterator[bytes]:
    """The inflated bytes of a gzip stream (all members), in pieces of at most :data:`BLOCK_SIZE`.

    ``first`` holds bytes already read from the start of ``stream``. Raises ``_DamageError`` at the damage.
    """
    inflater = _inflate.decompressobj(_GZIP_WBITS)
    started = bool(first)
    data = first
    while True:
        if not data:
            data = stream.read(_STEP)
            if not data:
                if started and not inflater.eof:
                    raise _DamageError("the gzip data is cut short (truncated file)")
                return
        started = True
        try:
            piece = inflater.decompress(data, BLOCK_SIZE)
        except _inflate.error as error:
            raise _DamageError(f"corrupt gzip data ({error})") from None
        if piece:
            yield piece
        if inflater.eof:  # a member ended: another may follow (concatenated gzip files)
            data = inflater.unused_data
            inflater = _inflate.decompressobj(_GZIP_WBITS)
            started = bool(data)
        else:
            data = inflater.unconsumed_tail


def _plain(stream: BinaryIO, first: bytes) -> Iterator[bytes]:
    if first:
        yield first
    while chunk := stream.read(BLOCK_SIZE):
        yield chunk


def line_blocks(chunks: Iterable[bytes], size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Regroup byte chunks into blocks of whole lines of about ``size`` bytes (or one longer line).

    The last block may lack its final newline. If reading ``chunks`` fails, the part of a line read before
    the failure is given out as a last block before the error is raised again: nothing read is dropped.
    """
    pending: list[bytes] = []
    pending_size = 0
    try:
        for chunk in chunks:
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size < size:
                continue
            data = b"".join(pending)
            cut = data.rfind(b"\n") + 1
            if cut:  # else a very long line: keep reading
                yield data[:cut]
                pending = [data[cut:]]
                pending_size = len(pending[0])
    except Exception:
        if pending_size:
            yield b"".join(pending)
        raise
    if pending_size:
        data = b"".join(pending)
        cut = data.rfind(b"\n") + 1
        if 0 < cut < len(data):  # keep the rule: blocks end with a newline, but the last
            yield data[:cut]
            data = data[cut:]
        yield data


def stream_blocks(stream: BinaryIO, name: str, size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Blocks of whole lines (about ``size`` bytes each) of a plain or gzip log read from ``stream``;
    ``name`` is for errors."""

    def chunks() -> Iterator[bytes]:
        first = stream.read(2)
        source = gunzip(stream, first) if first == _GZIP_MAGIC else _plain(stream, first)
        yield from source

    try:
        yield from line_blocks(chunks(), size)
    except _DamageError as damage:
        raise LogFileError(name, damage.reason) from None
    except OSError as error:
        raise LogFileError(name, error.strerror or str(error)) from None


def read_blocks(path: str, size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Blocks of whole lines (about ``size`` bytes each) of the log at ``path`` (``-`` for stdin);
    :class:`LogFileError` on failure."""
    if path == STDIN:
        yield from stream_blocks(sys.stdin.buffer, "<stdin>", size)
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is done with it
    except OSError as error:
        raise LogFileError(path, error.strerror or str(error)) from None
    with stream:
        yield from stream_blocks(stream, path, size)
