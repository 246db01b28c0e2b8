"""Log lines → NDJSON rows per table, fast: the path the CLI, the ingestor and backfills use.

:class:`Converter` gives, line for line, exactly ``dumps_row(to_row(parse_line(line)))`` (tests hold it to
that on every corpus line and on generated ones) without building events. A line's parts repeat heavily
within a log (the same date for many lines, a few hundred agents, a few thousand files), so each distinct
part is checked (with the rules of :mod:`linehaul._fields`) and turned into JSON once and cached (bounded),
and a row is one template generated from its table's columns (:mod:`linehaul._templates`). A line the fast
path is not sure of goes through :func:`parse_line`.

Each line goes to exactly one destination of :class:`Converted`:

* ``downloads`` / ``simple``: NDJSON rows for ``file_downloads`` / ``simple_requests``;
* ``unprocessed``: lines that are not valid events, kept byte for byte, each a :class:`RejectedLine`;
* ``ignored``: valid lines whose agent production deliberately drops, kept byte for byte.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from linehaul._fields import (
    NULL,
    json_text,
    nullable_fields,
    plain,
    plain_fields,
    timestamp_text,
    usual_timestamp,
)
from linehaul._grammar import DOWNLOAD, PACKAGE_TYPES, SIMPLE
from linehaul._templates import RowTemplate, row_template
from linehaul.errors import LineError
from linehaul.events import Download, file_of, parse_line, simple_project, timestamp_text_of
from linehaul.rows import FORMATS, RowFormat, dumps_row, to_row
from linehaul.tables import Table
from linehaul.useragents import Classification, Classifier, Ignored, Unknown, UserAgent
from linehaul.useragents.classifier import BoundedCache

__all__ = ["Converted", "Converter", "Details", "RejectedLine", "reason_records"]

_KNOWN_TYPES = frozenset(PACKAGE_TYPES)
_AFTER_DOWNLOAD = len(DOWNLOAD) + 3  # the middle starts after the kind, date, country and their '|'
_AFTER_SIMPLE = len(SIMPLE) + 3
_NO_ROW = "~"  # sorts after every timestamp text (which starts with a digit); "9999" did not, for year 9999


class _Slow(enum.Enum):
    """A part the fast path leaves to :func:`parse_line` (which decides, and says why if it rejects)."""

    SLOW = enum.auto()


_SLOW = _Slow.SLOW
Runs = tuple[str, ...]
"""The JSON text of each run of request columns (see :mod:`linehaul._templates`)."""
Details = str | Ignored
"""The JSON text of a row's details, or the Ignored classification of the agent (no row)."""


@dataclass(frozen=True, slots=True)
class RejectedLine:
    """A line that is not a valid event: its ``number`` (from 1, in what one :class:`Converted` received),
    its bytes as read, and the :class:`LineError` that says why (its traceback dropped)."""

    number: int
    raw: bytes
    error: LineError

    @property
    def field(self) -> str:
        return self.error.field

    @property
    def reason(self) -> str:
        return self.error.reason

    def reason_record(self, lines_before: int = 0, file: str | None = None) -> dict[str, Any]:
        """Why, as a record: ``{"file"?, "line", "field", "reason"}``; ``line`` counts from the start of
        the file (``lines_before`` were read before this block), ``file`` is given where one output holds
        the lines of several files."""
        record: dict[str, Any] = {} if file is None else {"file": file}
        record.update(line=lines_before + self.number, field=self.field, reason=self.reason)
        return record


def reason_records(rejected: Sequence[RejectedLine], lines_before: int = 0, file: str | None = None) -> bytes:
    """The reasons NDJSON of rejected lines (one :meth:`RejectedLine.reason_record` a line), as bytes."""
    records = (json.dumps(line.reason_record(lines_before, file)) for line in rejected)
    return "".join(record + "\n" for record in records).encode()


@dataclass(slots=True)
class Converted:
    """What a block of lines became, in input order within each destination.

    ``downloads`` and ``simple`` are NDJSON lines (no newline); ``unprocessed`` holds each rejected line;
    ``earliest`` is the smallest row timestamp (RFC 3339 text, which sorts as time does).
    """

    lines: int = 0
    downloads: list[str] = field(default_factory=list)
    simple: list[str] = field(default_factory=list)
    unprocessed: list[RejectedLine] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)
    earliest: str | None = None

    def rows(self, table: Table) -> list[str]:
        """The NDJSON rows of ``table``."""
        return self.downloads if table is Table.FILE_DOWNLOADS else self.simple


def _unusual_date_text(date: str) -> str | _Slow:
    """The RFC 3339 text of a date field not in the usual form (those are cached by
    :func:`usual_timestamp`), or _SLOW (not plain, or not a date: parse_line says why)."""
    if not plain(date):
        return _SLOW
    try:
        return timestamp_text_of(date)
    except ValueError:
        return _SLOW


def _country_text(country: str) -> str | _Slow:
    return "null" if not country else json_text(country) if plain(country) else _SLOW


def _download_values(middle: str) -> dict[str, Any] | _Slow:
    """The request columns' values of a download line's middle, ``url|tls protocol|tls cipher|project|
    version|package type|``, as :func:`parse_line` reads them; _SLOW when the grammar must decide."""
    url, protocol, cipher, project, version, package_type, _ = middle.split("|")
    if not (url and protocol and cipher and project and version and plain_fields(middle)):
        return _SLOW  # every field plain (linehaul._fields), and none empty
    if package_type not in _KNOWN_TYPES or NULL in (project, version) or not nullable_fields(middle):
        return _SLOW
    return {
        "url": url,
        "project": project,
        "file": file_of(url, project, version, package_type),
        "tls_protocol": None if protocol == NULL else protocol,
        "tls_cipher": None if cipher == NULL else cipher,
    }


def _simple_values(middle: str) -> dict[str, Any] | _Slow:
    """:func:`_download_values` for a simple line: ``middle`` is ``url|tls protocol|tls cipher||||``."""
    url, protocol, cipher, *rest = middle.split("|")
    if rest != ["", "", "", ""] or not (url and protocol and cipher and plain_fields(middle)):
        return _SLOW
    if not nullable_fields(middle):
        return _SLOW
    try:
        project = simple_project(url)
    except ValueError:
        return _SLOW
    return {
        "url": url,
        "project": project,
        "tls_protocol": None if protocol == NULL else protocol,
        "tls_cipher": None if cipher == NULL else cipher,
    }


class Converter:
    """Converts blocks of log lines; keeps its caches between blocks. Not thread-safe: one per worker.

    ``formats`` shapes the rows of each table (default: ``schemas/``); both tables must share one
    ``details`` column, as they do, since an agent's details are encoded once for both.
    """

    def __init__(
        self,
        classify: Callable[[str], Classification] | None = None,
        cache_size: int = 65_536,
        formats: Mapping[Table, RowFormat] | None = None,
    ) -> None:
        formats = FORMATS if formats is None else formats
        self._formats = formats
        self._classify = classify if classify is not None else Classifier()
        downloads, simple = formats[Table.FILE_DOWNLOADS], formats[Table.SIMPLE_REQUESTS]
        if downloads.column("details") != simple.column("details"):
            raise ValueError("file_downloads and simple_requests must share one details column")
        self._details_json = downloads.json_encoders().get("details", lambda _: "null")
        self._templates: tuple[RowTemplate, RowTemplate] = (row_template(downloads), row_template(simple))
        shapes = {template.shape for template in self._templates}
        self._shape = shapes.pop() if len(shapes) == 1 else None  # both rows joined here, or by their row()
        self._agents: BoundedCache[str, Details | _Slow] = BoundedCache(cache_size)
        self._dates: BoundedCache[str, str | None] = BoundedCache(4096)  # None: not the usual form
        self._countries: BoundedCache[str, str | _Slow] = BoundedCache(1024)
        self._downloads: BoundedCache[str, Runs | _Slow] = BoundedCache(cache_size)
        self._simple: BoundedCache[str, Runs | _Slow] = BoundedCache(cache_size)

    def _details(self, agent: str) -> Details | _Slow:
        """The JSON text of the agent's details, its Ignored classification, or _SLOW."""
        if "\t" in agent or "\n" in agent:
            return _SLOW
        found = self._classify(agent)
        if isinstance(found, UserAgent):
            return self._details_json(found)
        if isinstance(found, Unknown):
            return "null"
        if isinstance(found, Ignored):
            return found
        return _SLOW  # Unusable: parse_line gives the error

    def agents_details(self, agents: list[str]) -> list[Details | None]:
        """What a row of a line with each agent gets, cached: the JSON text of its details, the agent's
        Ignored classification (no row), or None when the line must go through :func:`parse_line`."""
        cache, found = self._agents, list(map(self._agents.entries.get, agents))
        for index, details in enumerate(found):
            if details is None:
                found[index] = cache.add(agents[index], self._details)
        return [None if details is _SLOW else details for details in found]

    @property
    def formats(self) -> Mapping[Table, RowFormat]:
        """The row format of each table."""
        return self._formats

    def _download_runs(self, middle: str) -> Runs | _Slow:
        values = _download_values(middle)
        return _SLOW if values is _SLOW else self._templates[0].request_texts(values)

    def _simple_runs(self, middle: str) -> Runs | _Slow:
        values = _simple_values(middle)
        return _SLOW if values is _SLOW else self._templates[1].request_texts(values)

    def convert_block(self, block: bytes, out: Converted) -> None:
        """Convert every line of ``block`` (lines end with ``\\n``; the last one may not) into ``out``."""
        self.convert_lines(_split_lines(block), out)

    def convert_lines(self, lines: list[str | bytes], out: Converted) -> None:
        """Convert lines (text, or bytes to decode; no newlines) into ``out``."""
        agents, dates, countries = self._agents, self._dates, self._countries
        download_middles, simple_middles = self._downloads, self._simple
        agent_cache, date_cache, country_cache = agents.entries, dates.entries, countries.entries
        download_cache, simple_cache = download_middles.entries, simple_middles.entries
        details_of, download_runs, simple_runs = self._details, self._download_runs, self._simple_runs
        download_row, simple_row = self._templates[0].row, self._templates[1].row
        downloads, simple, ignored = out.downloads, out.simple, out.ignored
        inline, (head, between) = self._shape is not None, self._shape or ("", "")
        earliest = out.earliest or _NO_ROW
        after_download, after_simple = _AFTER_DOWNLOAD, _AFTER_SIMPLE
        first = out.lines + 1
        out.lines += len(lines)
        for number, line in enumerate(lines, first):
            if type(line) is str:
                parts = line.split("|", 9)
                try:
                    agent = parts[9]
                except IndexError:
                    agent = ""  # fewer than ten fields: the general path says what is missing
                else:
                    kind, date, country = parts[0], parts[1], parts[2]
                    # url|tls protocol|tls cipher|project|version|package type| is one cache key
                    end = len(line) - len(agent)
                    runs: Runs | _Slow
                    if kind == DOWNLOAD:
                        middle = line[after_download + len(date) + len(country) : end]
                        runs = download_cache.get(middle) or download_middles.add(middle, download_runs)
                        rows, row_of = downloads, download_row
                    elif kind == SIMPLE:
                        middle = line[after_simple + len(date) + len(country) : end]
                        runs = simple_cache.get(middle) or simple_middles.add(middle, simple_runs)
                        rows, row_of = simple, simple_row
                    else:
                        runs = _SLOW
                    timestamp = (
                        date_cache.get(date) or dates.add(date, usual_timestamp) or _unusual_date_text(date)
                    )
                    country_text = country_cache.get(country) or countries.add(country, _country_text)
                    if runs is not _SLOW and timestamp is not _SLOW and country_text is not _SLOW:
                        details = agent_cache.get(agent) or agents.add(agent, details_of)
                        if type(details) is str:
                            if inline:
                                rows.append(
                                    f"{head}{timestamp}{between}{country_text}{runs[0]}{details}{runs[1]}"
                                )
                            else:
                                rows.append(row_of(timestamp, country_text, runs, details))
                            if timestamp < earliest:
                                earliest = timestamp
                            continue
                        if details is not _SLOW:
                            ignored.append(line.encode())
                            continue
            earliest = self._convert_one(number, line, out, earliest)
        out.earliest = None if earliest == _NO_ROW else earliest

    def _convert_one(self, number: int, line: str | bytes, out: Converted, earliest: str) -> str:
        """The general path: :func:`parse_line` and the row format. Returns the new earliest timestamp."""
        raw = line if isinstance(line, bytes) else line.encode()
        try:
            outcome = parse_line(line, self._classify)
        except LineError as error:
            out.unprocessed.append(RejectedLine(number, raw, _without_frames(error)))
            return earliest
        if isinstance(outcome, Ignored):
            out.ignored.append(raw)
            return earliest
        table = Table.FILE_DOWNLOADS if isinstance(outcome, Download) else Table.SIMPLE_REQUESTS
        row = to_row(outcome) if self._formats is FORMATS else self._formats[table].to_row(outcome)
        out.rows(table).append(dumps_row(row))
        return min(earliest, timestamp_text(outcome.timestamp))


def _without_frames(error: LineError) -> LineError:
    """``error`` with no traceback, nor any on the errors that caused it: a kept error would otherwise keep
    the frames of its raising, and through them this converter with all its caches, until the next full
    garbage collection (a new converter per log then piles up tens of megabytes per log)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return error


def _split_lines(block: bytes) -> list[str | bytes]:
    """The lines of a block, decoded; a line that is not UTF-8 stays bytes (and will be rejected)."""
    lines: list[str | bytes] = []
    while block:
        try:
            text = block.decode()
        except UnicodeDecodeError as error:
            start = block.rfind(b"\n", 0, error.start) + 1
            end = block.find(b"\n", error.start)
            if start:
                lines += block[: start - 1].decode().split("\n")
            lines.append(block[start:] if end < 0 else block[start:end])
            block = b"" if end < 0 else block[end + 1 :]
            if end >= 0 and not block:
                break
        else:
            lines += text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
            break
    return lines
