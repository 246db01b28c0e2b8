"""The one public error of the parsing core: a log line that is not a valid event."""

from __future__ import annotations

__all__ = ["INTERNAL", "LineError", "internal_error"]

_EXCERPT = 72  # characters of the line shown around the bad column


class LineError(ValueError):
    """A CDN log line that linehaul cannot turn into an event.

    ``field`` names the part of the line that is wrong (``"line"``, ``"kind"``, ``"date"``,
    ``"country_code"``, ``"url"``, ``"tls_protocol"``, ``"tls_cipher"``, ``"project"``, ``"version"``,
    ``"package_type"`` or ``"user_agent"``), or is :data:`INTERNAL` when linehaul itself failed on the
    line (a bug: see :func:`internal_error`); ``reason`` says why, and ``column`` (0-based, or ``None``
    when the whole line is at fault) points at the offending character of ``line``.
    ``str(error)`` is a one-line message; :meth:`explain` adds the line with a caret under the column.
    """

    def __init__(self, field: str, reason: str, *, line: str = "", column: int | None = None) -> None:
        self.field = field
        self.reason = reason
        self.line = line
        self.column = column
        where = f" (column {column + 1})" if column is not None else ""
        super().__init__(f"{field}: {reason}{where}")

    def explain(self) -> str:
        """The message, then the line (cut around the column) with a caret under the bad part."""
        if self.column is None or not self.line:
            return str(self)
        start = max(0, self.column - _EXCERPT // 2)
        shown = self.line[start : start + _EXCERPT]
        prefix = "..." if start else ""
        suffix = "..." if start + _EXCERPT < len(self.line) else ""
        caret = " " * (len(prefix) + self.column - start) + "^"
        return f"{self}\n  {prefix}{shown!s}{suffix}\n  {caret}"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default pickling (multiprocessing needs it).
        return (_rebuild, (self.field, self.reason, self.line, self.column))


INTERNAL = "internal"
"""The ``field`` of a line that linehaul itself failed on: a bug to fix (the reason names the exception)."""


def internal_error(error: Exception) -> LineError:
    """The error a line is kept with when reading it raised ``error``, which no line should ever make
    linehaul do: field :data:`INTERNAL`, and a reason naming the exception."""
    reason = f"linehaul failed on this line (a bug, please report it): {type(error).__name__}: {error}"
    return LineError(INTERNAL, reason[:500])


def _rebuild(field: str, reason: str, line: str, column: int | None) -> LineError:
    return LineError(field, reason, line=line, column=column)
