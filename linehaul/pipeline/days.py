"""A quick first look at a log: the UTC days of its events, when they can be read exactly.

The ingestor names its outputs after the day of the log's earliest event. Knowing it before the real pass
lets the outputs be written under their final names at once, instead of being written under temporary names
and copied (a copy of every byte written, on a fake or slow store). Most logs span a few minutes of one day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from linehaul._fields import plain, usual_timestamp
from linehaul.events import timestamp_text_of
from linehaul.pipeline.naming import partition_of_timestamp

__all__ = ["event_days"]

# Every line that may be an event: optional whitespace, the kind, optional whitespace, '|', the date field,
# '|' (a line that ends in its date field lacks the rest of an event).
# Searched after a newline rather than with ^ and MULTILINE: re then skips ahead by newline, much faster.
_EVENT_DATE = re.compile(rb"\n[ \t\r]*(?:download|simple)[ \t\r]*\|([^|\n]*)\|")


def event_days(blocks: Iterable[bytes]) -> set[str] | None:
    """The days (``YYYYMMDD``) of every line that may be an event, or None if one of them cannot be read.

    A line may be an event when it starts like one; its date is read exactly when the date field is plain
    (then it is what the parser reads). Any other such line makes the answer None: the caller must not
    guess. Lines whose date is not a date are not events and are left out.
    """
    days: set[str] = set()
    for block in blocks:
        for raw in set(_EVENT_DATE.findall(b"\n" + block)):  # few distinct dates per block: C does the rest
            day = _day(raw)
            if day is None:
                return None
            if day:
                days.add(day)
    return days


def _day(raw: bytes) -> str | None:
    """``20210107``, ``""`` for a date field that is no date (not an event), None when unsure."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return ""  # the grammar rejects a line with a non-ASCII date field
    usual = usual_timestamp(text)
    if usual is not None:
        return partition_of_timestamp(usual)
    if not plain(text):
        # Empty, '@' or a control character: the grammar rejects the line. Spaces at either end, tabs
        # (expanded) or carriage returns (skipped next to '|') may still give a date: unsure.
        odd = text.translate(_KEEP_ODD)
        return None if text and "@" not in text and odd.strip(" \t\r") == "" else ""
    try:
        return partition_of_timestamp(timestamp_text_of(text))
    except ValueError:
        return ""


# every printable ASCII character but '@' (which the grammar refuses) is deleted; what is left is odd
_KEEP_ODD = {code: None for code in range(32, 127) if chr(code) != "@"}
