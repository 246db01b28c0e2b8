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

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from linehaul._fields import timestamp_text, usual_timestamp, valid_text
from linehaul._grammar import SIMPLE, Fields, split_line
from linehaul.errors import LineError, internal_error
from linehaul.useragents import Classification, Ignored, Unusable, UserAgent, classify

__all__ = [
    "Download",
    "Event",
    "File",
    "Ignored",
    "Outcome",
    "SimpleRequest",
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


def parse_timestamp(text: str) -> datetime:
    """The UTC time of an RFC 1123 date (``Thu, 07 Jan 2021 20:54:54 GMT``); ValueError if it is not one.

    As in production, the day name (first five characters) and the zone (last four) are not read, and
    the rest is read by ``strptime("%d %b %Y %H:%M:%S")``, whose leniency (one-digit fields, any case,
    extra spaces) is kept; the usual form is read by :func:`linehaul._fields.usual_timestamp`, with the
    same answers.
    """
    usual = usual_timestamp(text)
    if usual is not None:
        return datetime.fromisoformat(usual)
    return datetime.strptime(text[5:-4], _DATE_FORMAT).replace(tzinfo=UTC)


def timestamp_text_of(text: str) -> str:
    """``timestamp_text(parse_timestamp(text))``, without a datetime for the usual form."""
    return usual_timestamp(text) or timestamp_text(parse_timestamp(text))


def decode_line(line: bytes | str) -> str:
    """The text of a line, without its trailing newline; :class:`LineError` if it is not UTF-8 (bytes that
    do not decode, or text holding a lone surrogate, which no UTF-8 encodes)."""
    if isinstance(line, bytes):
        raw = line
        try:
            line = raw.decode()
        except UnicodeDecodeError as error:
            reason = f"not UTF-8: byte 0x{raw[error.start]:02x} at byte {error.start}"
            column = len(raw[: error.start].decode())
            raise LineError("line", reason, line=raw.decode(errors="replace"), column=column) from None
    elif not line.isascii():
        try:
            line.encode()
        except UnicodeEncodeError as error:
            reason = f"not UTF-8: a lone surrogate U+{ord(line[error.start]):04X}"
            raise LineError("line", reason, line=valid_text(line), column=error.start) from None
    return line[:-1] if line.endswith("\n") else line


def file_of(url: str, project: str, version: str, package_type: str) -> File:
    """The file a download line names: its name is the URL's last segment."""
    return File(url[url.rfind("/") + 1 :], project, version, package_type)


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
    event raises :class:`LineError` naming the field and the reason; nothing else is raised: should reading
    the line fail in linehaul itself (a bug), the error's field is :data:`~linehaul.errors.INTERNAL`.
    ``classify`` turns the user agent into details (default: the built-in rules, cached).
    """
    if not isinstance(line, str | bytes):  # the caller's mistake, not a line's
        raise TypeError(f"a line is str or bytes, not {type(line).__name__}")
    try:
        return _parse_line(line, classify)
    except (LineError, MemoryError):
        raise
    except Exception as error:
        raise internal_error(error) from error


def _parse_line(line: bytes | str, classify: Callable[[str], Classification]) -> Outcome:
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
    file = file_of(url, project, version, package_type)
    return Download(timestamp, url, project, file, agent, details, country, protocol, cipher)
