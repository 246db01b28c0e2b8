"""Events: what one CDN log line says, as frozen values, and :func:`parse_line` that makes them.

>>> from linehaul import parse_line
>>> event = parse_line(
...     "download|Thu, 07 Jan 2021 20:54:54 GMT|US|/packages/ab/cd/requests-2.25.1.tar.gz|TLSv1.3|"
...     "TLS_AES_128_GCM_SHA256|requests|2.25.1|sdist|curl/7.81.0"
... )
>>> event.project, event.file.version, event.details.installer.name
('requests', '2.25.1', 'Browser')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from linehaul._grammar import SIMPLE, Fields, split_line
from linehaul.errors import LineError
from linehaul.useragents import Classification, Ignored, Unusable, UserAgent, classify

__all__ = [
    "Download",
    "Event",
    "File",
    "Ignored",
    "Outcome",
    "SimpleRequest",
    "day_text",
    "decode_line",
    "parse_line",
    "parse_timestamp",
    "timestamp_text",
    "timestamp_text_of",
]


@dataclass(frozen=True, slots=True)
class File:
    """The file of a download: ``type`` is the package type (``sdist``, ``bdist_wheel``, ...)."""

    filename: str
    project: str
    version: str
    type: str


@dataclass(frozen=True, slots=True)
class Download:
    """A file download: a row of ``file_downloads``. ``details`` is ``None`` for an unknown agent."""

    timestamp: datetime
    url: str
    project: str
    file: File
    user_agent: str
    details: UserAgent | None = None
    country_code: str | None = None
    tls_protocol: str | None = None
    tls_cipher: str | None = None


@dataclass(frozen=True, slots=True)
class SimpleRequest:
    """A request for a project's index page: a row of ``simple_requests``."""

    timestamp: datetime
    url: str
    project: str
    user_agent: str
    details: UserAgent | None = None
    country_code: str | None = None
    tls_protocol: str | None = None
    tls_cipher: str | None = None


Event = Download | SimpleRequest
Outcome = Download | SimpleRequest | Ignored
"""What a valid line gives: an event, or :class:`Ignored` for an agent production deliberately drops."""

_DATE_FORMAT = "%d %b %Y %H:%M:%S"
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}
_CANONICAL_DATE = re.compile(r"([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


def parse_timestamp(text: str) -> datetime:
    """The UTC time of an RFC 1123 date (``Thu, 07 Jan 2021 20:54:54 GMT``); ValueError if it is not one.

    As in production, the day name (first five characters) and the zone (last four) are not read, and
    the rest is read by ``strptime("%d %b %Y %H:%M:%S")``, whose leniency (one-digit fields, any case,
    extra spaces) is kept; the usual two-digit form is read directly, with the same answers.
    """
    canonical = _CANONICAL_DATE.fullmatch(text, 5, len(text) - 4)
    if canonical is not None and (month := _MONTHS.get(canonical[2])) is not None:
        day, _, year, hour, minute, second = canonical.groups()
        return datetime(int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    return datetime.strptime(text[5:-4], _DATE_FORMAT).replace(tzinfo=UTC)


def timestamp_text_of(text: str) -> str:
    """``timestamp_text(parse_timestamp(text))``; quick for the usual ``Thu, 07 Jan 2021 20:54:54 GMT``.

    The day part (``07 Jan 2021``) of the usual form is checked once and remembered; the clock part is
    checked here; anything else takes the general path.
    """
    if len(text) == 29 and text[16] == " " and text[19] == ":" and text[22] == ":":
        day = day_text(text[5:16])
        clock = text[17:25]
        digits = clock[:2] + clock[3:5] + clock[6:]
        if (
            day is not None
            and digits.isascii()
            and digits.isdigit()
            and clock[:2] <= "23"
            and clock[3:5] <= "59"
            and clock[6:] <= "59"
        ):
            return f"{day}T{clock}Z"
    return timestamp_text(parse_timestamp(text))


_MISSING: Any = object()
_DAYS: dict[str, Any] = {}  # day text -> ISO day, or None
_CANONICAL_DAY = re.compile(r"([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4})")


def day_text(day: str) -> str | None:
    """``2021-01-07`` for ``07 Jan 2021`` (remembered), or None if it is not that form or not a real day."""
    known: str | None = _DAYS.get(day, _MISSING)
    if known is not _MISSING:
        return known
    if len(_DAYS) > 10_000:
        _DAYS.clear()
    found = _CANONICAL_DAY.fullmatch(day)
    month = _MONTHS.get(found[2]) if found else None
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


def decode_line(line: bytes | str) -> str:
    """The text of a line, without its trailing newline; :class:`LineError` if it is not UTF-8."""
    if isinstance(line, bytes):
        raw = line
        try:
            line = raw.decode()
        except UnicodeDecodeError as error:
            reason = f"not UTF-8: byte 0x{raw[error.start]:02x} at byte {error.start}"
            column = len(raw[: error.start].decode())
            raise LineError("line", reason, line=raw.decode(errors="replace"), column=column) from None
    return line[:-1] if line.endswith("\n") else line


def simple_project(url: str) -> str:
    """The project of a simple-index URL: the path segment after ``/simple/``."""
    segments = url.split("/")
    if len(segments) < 3:
        raise ValueError("a simple request URL must look like /simple/<project>/")
    return segments[2]


def check_download(fields: Fields) -> tuple[str, str, str]:
    """The (project, version, package type) of a download line; ValueError naming the missing one."""
    _, _, _, _, _, _, project, version, package_type, _ = fields
    if project is None:
        raise _MissingValueError("project")
    if version is None:
        raise _MissingValueError("version")
    if package_type is None:
        raise _MissingValueError("package_type")
    return project, version, package_type


class _MissingValueError(ValueError):
    def __init__(self, field: str) -> None:
        super().__init__(f"a download needs a {field.replace('_', ' ')}, the line has (null)")
        self.field = field


_FIELD_INDEX = {"date": 1, "url": 3, "project": 6, "version": 7, "package_type": 8}


def _column(text: str, field: str) -> int:
    """Where the ``field`` of a line that splits into fields starts: after its '|'."""
    position = -1
    for _ in range(_FIELD_INDEX[field]):
        position = text.index("|", position + 1)
    return position + 1


def parse_line(line: bytes | str, classify: Callable[[str], Classification] = classify) -> Outcome:
    """Parse one CDN log line into a :class:`Download`, a :class:`SimpleRequest` or :class:`Ignored`.

    ``line`` may be bytes (UTF-8) or text, with or without its newline. Anything that is not a valid
    event raises :class:`LineError` naming the field and the reason; nothing else is raised.
    ``classify`` turns the user agent into details (default: the built-in rules, cached).
    """
    text = decode_line(line)
    fields = split_line(text)
    kind, date, country, url, protocol, cipher, _, _, _, agent = fields
    try:
        timestamp = parse_timestamp(date)
    except ValueError:
        reason = f"{date[:40]!r} is not a date like 'Thu, 07 Jan 2021 20:54:54 GMT'"
        raise LineError("date", reason, line=text, column=_column(text, "date")) from None
    try:
        if kind == SIMPLE:
            project = simple_project(url)
        else:
            project, version, package_type = check_download(fields)
    except _MissingValueError as error:
        raise LineError(error.field, str(error), line=text, column=_column(text, error.field)) from None
    except ValueError as error:
        raise LineError("url", str(error), line=text, column=_column(text, "url")) from None
    classification = classify(agent)
    if isinstance(classification, Unusable):
        raise LineError("user_agent", classification.reason, line=text, column=len(text) - len(agent))
    if isinstance(classification, Ignored):
        return classification
    details = classification if isinstance(classification, UserAgent) else None
    if kind == SIMPLE:
        return SimpleRequest(timestamp, url, project, agent, details, country, protocol, cipher)
    file = File(url[url.rfind("/") + 1 :], project, version, package_type)
    return Download(timestamp, url, project, file, agent, details, country, protocol, cipher)
