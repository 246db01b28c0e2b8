"""Leaving out, before converting them, the lines of a log that cannot hold a row of some projects.

A question about a few projects (``linehaul stats LOGS --project numpy``) needs their rows only, and most
lines of a CDN log are of other projects: converting them all (splitting, checking, classifying each
agent) is nearly all of the question's time. :class:`ProjectLines` keeps the lines that *may* hold a row
of one of the projects, a cheap search of the block's bytes, so that only those are converted; the
question's own condition (:class:`linehaul.analysis.Selection`) then picks the rows, as it does from all.

Why no row of the projects is lost: a row's project is a field of its line as logged (a download's
project field, or the segment of a simple request's URL after ``/simple/``), a run of printable ASCII
that the grammar (:mod:`linehaul._grammar`) takes from the line as it stands (a tab made spaces, which no
project name holds). A row is of a project when both names are the same once PEP 503-normalised (runs of
``-``, ``_`` and ``.`` made one ``-``, in lower case: ``packaging.utils.canonicalize_name``, which
gives :meth:`ProjectLines.of` its names), so the row's project spells each part of the normalised name
(what lies between its ``-``), case aside: the line, in lower case, holds every part. :class:`ProjectLines`
keeps each line that holds the longest part of one of the names. A name whose normalised form is not
made of ASCII letters and digits between single ``-`` could match a row in other ways: then
:meth:`ProjectLines.of` gives None, and nothing is left out.

The first and the last line of each block are kept too, whatever they hold: their times tell the days
the whole log covers (:func:`linehaul.analysis.write_parquet` keeps that span, then leaves their rows
out), so that a question about some projects still knows where the data begins and ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ProjectLines", "count_lines"]

_BYTES_A_LINE_AT_MOST = 1024
"""A block keeps every line once the lines found number one per this many of its bytes: CDN log lines are
300 to 600 bytes long, so by then about half of them or more hold a needle (a short or common name)."""


@dataclass(frozen=True, slots=True)
class ProjectLines:
    """Keeps the lines of a block that hold one of ``needles`` (lower-case ASCII), whatever their case."""

    needles: tuple[bytes, ...]

    @classmethod
    def of(cls, normalised: Iterable[str]) -> ProjectLines | None:
        """The lines that may hold a row of one of the projects named ``normalised`` (PEP 503-normalised),
        or None when no line can be left out: no name given, or one that is not a project name."""
        from packaging.utils import is_normalized_name  # here: reading logs does not pay for its import

        names = list(normalised)
        if not names or not all(is_normalized_name(name) for name in names):
            return None
        longest = (max(name.split("-"), key=len).encode("ascii") for name in names)
        return cls(tuple(dict.fromkeys(longest)))

    def keep(self, block: bytes) -> bytes:
        """The lines of ``block`` (each with its ``\\n``; the last may have none) that hold a needle, and
        its first and last lines, in their order, the others left out; or the whole block, when about half
        its lines or more are kept."""
        lowered = block.lower()  # ASCII letters only: the bytes stay where they were
        most = len(block) // _BYTES_A_LINE_AT_MOST + 16  # (a short block is searched whatever it holds)
        first_end = block.find(b"\n") + 1 or len(block)
        last_start = block.rfind(b"\n", 0, len(block) - 1) + 1
        spans: dict[int, int] = {0: first_end} if block else {}
        for needle in self.needles:
            found = lowered.find(needle)
            while found >= 0:
                start = lowered.rfind(b"\n", 0, found) + 1
                end = lowered.find(b"\n", found)
                end = len(block) if end < 0 else end + 1
                spans[start] = end
                if len(spans) > most:
                    return block  # about half the lines or more stay: keep them all, without the search
                found = lowered.find(needle, end)
        if block:
            spans[last_start] = len(block)
        ordered = sorted(spans.items())
        return b"".join(block[start:end] for start, end in ordered)


def count_lines(block: bytes) -> int:
    """How many lines ``block`` holds, as the converters count them (a last line may lack its ``\\n``)."""
    return block.count(b"\n") + (1 if block and not block.endswith(b"\n") else 0)
