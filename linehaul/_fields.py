"""Private: the rules for a line's fields and a row's values, each written once.

Every fast path of linehaul reads fields with these: the grammar's :func:`~linehaul._grammar.split_line`,
the converter (:mod:`linehaul.convert`) and the ingestor's quick look at a log's days. The general path
(production's grammar, ``strptime``) decides whatever these do not recognise, so each reader here only says
"this is the usual, simple case, and here is its value" or "not sure" (``None`` / ``False``):

* a **plain** field is one the grammar reads exactly as it stands (:func:`plain`); :func:`plain_fields`
  is the same rule over the head of a line (every field before the agent) at once, for speed, and a
  property test holds the two together;
* a **nullable** field (TLS, project, version) is ``(null)`` for no value; a field that starts with
  ``(null)`` but is not it is left to the grammar (:func:`plain_nullable`);
* the **usual date** ``Thu, 07 Jan 2021 20:54:54 GMT`` gives its RFC 3339 text (:func:`usual_timestamp`);
  every other form goes through ``strptime``, as production reads dates.

Rows write timestamps as :func:`timestamp_text` and strings as :func:`json_text`. A row's text is always
UTF-8: a lone surrogate (a code point that is not text, which a user agent's JSON can escape) is U+FFFD in a
value (:func:`valid_text`), and :func:`encodable` tells whether a text holds none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime

__all__ = [
    "MONTHS",
    "NULL",
    "day_text",
    "encodable",
    "json_text",
    "nullable_fields",
    "plain",
    "plain_fields",
    "plain_nullable",
    "timestamp_text",
    "usual_timestamp",
    "valid_text",
]

NULL = "(null)"
"""No value, in the TLS, project, version and package type fields."""

MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def plain(field: str) -> bool:
    """True for a field the grammar reads as it stands, wherever it is in a download or simple line.

    That is non-empty printable ASCII without ``@``, not starting or ending with a space. A ``download``
    or ``simple`` line whose fields but the agent are all plain (or, for the country, empty), whose TLS,
    project and version fields are :func:`plain_nullable`, and whose agent has no tab or newline, splits
    into its fields as they stand.
    """
    return (
        bool(field)
        and field.isascii()
        and field.isprintable()
        and "@" not in field
        and field[0] != " "
        and field[-1] != " "
    )


def plain_fields(head: str) -> bool:
    """:func:`plain` for every ``|``-separated field of ``head`` that is not empty, in one pass.

    ``head`` is a line up to its agent; empty fields are left for the caller to judge.
    """
    return (
        head.isascii()
        and head.isprintable()
        and "@" not in head
        and "| " not in head
        and " |" not in head
        and head[:1] != " "
        and head[-1:] != " "
    )


def plain_nullable(field: str) -> bool:
    """A plain field that reads as it stands where ``(null)`` means no value: ``(null)`` itself, or a
    field that does not start with it (``(null)x`` is the grammar's to judge)."""
    return plain(field) and (field == NULL or not field.startswith(NULL))


_NULL_PREFIXED = re.compile(r"\|\(null\)[^|]")


def nullable_fields(head: str) -> bool:
    """:func:`plain_nullable`'s ``(null)`` rule for every field of ``head`` after its first, in one pass:
    none starts with ``(null)`` unless it is ``(null)``."""
    return NULL not in head or _NULL_PREFIXED.search(head) is None


# The day name and the zone are not read, as in production; any other form takes the general path.
_USUAL_DATE = re.compile(
    r"[A-Za-z]{3}, ([0-9]{2} [A-Z][a-z]{2} [0-9]{4}) ([01][0-9]|2[0-3])(:[0-5][0-9]:[0-5][0-9]) GMT"
)
_DAY = re.compile(r"([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4})")
_DAYS: dict[str, str | None] = {}  # day text -> ISO day, or None: few distinct days in any log
_UNSEEN = "unseen"  # not an ISO day: marks a day not looked at yet


def usual_timestamp(text: str) -> str | None:
    """``2021-01-07T20:54:54Z`` for a date field in the usual form ``Thu, 07 Jan 2021 20:54:54 GMT``,
    None for any other text (which may still be a date: ``strptime`` decides)."""
    if _USUAL_DATE.fullmatch(text) is None:
        return None
    day = _DAYS.get(text[5:16], _UNSEEN)  # day_text's own memory, read here: this runs once a line
    if day is _UNSEEN:
        day = day_text(text[5:16])
    return None if day is None else f"{day}T{text[17:25]}Z"


def day_text(day: str) -> str | None:
    """``2021-01-07`` for ``07 Jan 2021`` (remembered), or None if it is not that form or not a real day."""
    known = _DAYS.get(day, _UNSEEN)
    if known is not _UNSEEN:
        return known
    if len(_DAYS) > 10_000:
        _DAYS.clear()
    found = _DAY.fullmatch(day)
    month = MONTHS.get(found[2]) if found else None
    text: str | None = None
    if found and month:
        try:
            text = date(int(found[3]), month, int(found[1])).isoformat()
        except ValueError:
            text = None
    _DAYS[day] = text
    return text


def timestamp_text(moment: datetime) -> str:
    """``2021-01-07T20:54:54Z`` for a UTC datetime (RFC 3339; four-digit years, whole seconds)."""
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


_quote: Callable[[str], str] = json.encoder.encode_basestring  # json.dumps' own, for ensure_ascii=False


def json_text(value: str | None) -> str:
    """``json.dumps(value, ensure_ascii=False)`` for a string or None, without its overhead."""
    return "null" if value is None else _quote(value)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def valid_text(text: str) -> str:
    """``text`` with each lone surrogate (U+D800-U+DFFF, which no UTF-8 encodes) replaced by U+FFFD, as a
    UTF-8 decoder replaces what it cannot read; ``text`` itself when it holds none."""
    return text if _LONE_SURROGATE.search(text) is None else _LONE_SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def encodable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    return text.isascii() or _LONE_SURROGATE.search(text) is None
