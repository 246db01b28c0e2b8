"""A one-line progress display for commands that read logs: files, lines read and lines per second.

It writes to a terminal only: when its stream is not a TTY (piped, redirected, under a test) or the
command has ``--quiet``, it writes nothing at all, so outputs and logs stay clean. On a terminal it
redraws one line in place, at most a few times a second, and erases it when the work is done.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]

_REDRAW_SECONDS = 0.2
_BAR_WIDTH = 20
_ERASE_LINE = "\r\x1b[K"
_SPINNER = "|/-\\"


class Progress:
    """Shows ``[#####.....] file 2/5  1,250,000 lines  142,000 lines/s  8.8 s`` on a terminal (for one
    file, a turning ``|/-\\`` instead of the bar)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        files: int,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream, self._files, self._enabled, self._clock = stream, files, enabled, clock
        self._started = clock()
        self._drawn_at: float | None = None
        self._turns = 0

    @classmethod
    def on_terminal(cls, *, files: int, quiet: bool, stream: TextIO | None = None) -> Progress:
        """A display on ``stream`` (stderr by default) that is silent unless it is a TTY and not quiet."""
        stream = sys.stderr if stream is None else stream
        return cls(stream, files=files, enabled=not quiet and stream.isatty())

    @property
    def enabled(self) -> bool:
        return self._enabled

    def update(self, lines: int, file_number: int) -> None:
        """``lines`` read so far in all, while reading file ``file_number`` (from 1)."""
        if not self._enabled:
            return
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < _REDRAW_SECONDS:
            return
        self._drawn_at = now
        elapsed = now - self._started
        rate = lines / elapsed if elapsed > 0 else 0.0
        if self._files > 1:  # files done, as a bar: the length of a gzip stream is not known in advance
            filled = round(_BAR_WIDTH * (file_number - 1) / self._files)
            where = f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] file {file_number}/{self._files}"
        else:
            self._turns += 1
            where = _SPINNER[self._turns % len(_SPINNER)]
        self._stream.write(f"{_ERASE_LINE}{where}  {lines:,} lines  {rate:,.0f} lines/s  {elapsed:.1f} s")
        self._stream.flush()

    def finish(self) -> None:
        """Erase the display (if anything was drawn), so what follows starts on a clean line."""
        if self._enabled and self._drawn_at is not None:
            self._stream.write(_ERASE_LINE)
            self._stream.flush()
