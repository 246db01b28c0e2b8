"""Log lines → NDJSON rows per table, fast: the path the CLI, the ingestor and backfills use.

:class:`Converter` gives, line for line, exactly ``dumps_row(to_row(parse_line(line)))`` (tests hold it to
that on every corpus line and on generated ones) without building events. A line's parts repeat heavily
within a log (the same date for many lines, a few hundred agents, a few thousand files), so each distinct
part is checked (with the rules of :mod:`linehaul._fields`) and turned into JSON once and cached (bounded),
and a row is one template generated from its table's columns (:mod:`linehaul._templates`). A line the fast
path is not sure of goes through :func:`parse_line`.

Each line goes to exactly one destination of :class:`Converted`:

* ``downloads`` / ``simple``: NDJSON rows for ``file_downloads`` / ``simple_requests``;
* ``unprocessed``: lines that are not valid events, kept byte for byte, each an :class:`UnprocessedLine`;
* ``ignored``: valid lines whose agent production deliberately drops, kept byte for byte.

No line stops a block: every row's text is UTF-8 (the head's fields are plain ASCII, and an agent and its
details are checked once each, see :func:`linehaul._fields.encodable`), and an unexpected exception while
converting a line (a bug of linehaul's) is contained to that line, which is kept as unprocessed with the
field :data:`~linehaul.errors.INTERNAL` and a reason naming the exception (:meth:`Converter.convert_lines`);
the rest of the block goes on.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from linehaul._fields import (
    NULL,
    encodable,
    json_text,
    nullable_fields,
    plain,
    plain_fields,
    timestamp_text,
    usual_timestamp,
)
from linehaul._grammar import DOWNLOAD, PACKAGE_TYPES, SIMPLE
from linehaul._templates import RowTemplate, row_template
from linehaul.converted import Checkpoint, Converted, UnprocessedLine, without_frames
from linehaul.errors import LineError, internal_error
from linehaul.events import Download, file_of, parse_line, simple_project, timestamp_text_of
from linehaul.rows import FORMATS, RowFormat, dumps_row, to_row
from linehaul.tables import Table
from linehaul.useragents import Classification, Classifier, Ignored, Unknown, UserAgent
from linehaul.useragents.classifier import BoundedCache

__all__ = ["Converter", "Details"]

_KNOWN_TYPES = frozenset(PACKAGE_TYPES)
_AFTER_DOWNLOAD = len(DOWNLOAD) + 3  # the middle starts after the kind, date, country and their '|'
_AFTER_SIMPLE = len(SIMPLE) + 3
_Encoded = TypeVar("_Encoded")
_NO_ROW = "~"  # sorts after every timestamp text (which starts with a digit); "9999" did not, for year 9999


class _Slow(enum.Enum):
    """A part the fast path leaves to :func:`parse_line` (which decides, and says why if it rejects)."""

    SLOW = enum.auto()


_SLOW = _Slow.SLOW
Runs = tuple[str, ...]
"""The JSON text of each run of request columns (see :mod:`linehaul._templates`)."""
Details = str | Ignored
"""The JSON text of a row's details, or the Ignored classification of the agent (no row)."""


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
    return "null" if not country else json_text(country) if plain(country) else _SLOW  # plain is ASCII


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
        if "\t" in agent or "\n" in agent or not encodable(agent):
            return _SLOW
        try:
            found = self._classify(agent)
        except MemoryError:
            raise
        except Exception:  # a bug: parse_line meets it again, and keeps each line of the agent (internal)
            return _SLOW
        if isinstance(found, UserAgent):
            text = self._details_json(found)
            return text if encodable(text) else _SLOW
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
        return _SLOW if values is _SLOW else self._templates[0].request_texts(values)  # plain: ASCII

    def _simple_runs(self, middle: str) -> Runs | _Slow:
        values = _simple_values(middle)
        return _SLOW if values is _SLOW else self._templates[1].request_texts(values)  # plain: ASCII

    def convert_block(self, block: bytes, out: Converted) -> None:
        """Convert every line of ``block`` (lines end with ``\\n``; the last one may not) into ``out``."""
        self.convert_lines(_split_lines(block), out)

    def convert_encoded(
        self, block: bytes, encode: Callable[[Converted], _Encoded]
    ) -> tuple[Converted, _Encoded]:
        """Convert ``block`` into a new :class:`Converted`, and ``encode`` it (make what its rows and kept
        lines become: bytes, tables). Should ``encode`` raise (a bug), the block is converted again one line
        at a time, each line's outcome encoded alone, and a line whose outcome fails is kept as unprocessed
        with :func:`internal_error`'s reason; the rest is then encoded together (should that still fail,
        ``encode`` fails on no single line's outcome, and the exception propagates)."""
        lines = _split_lines(block)
        out = Converted()
        self.convert_lines(lines, out)
        try:
            return out, encode(out)
        except MemoryError:
            raise
        except Exception:
            out = Converted()
            self._convert_each(lines, out, encode)
            return out, encode(out)

    def convert_lines(self, lines: Sequence[str | bytes], out: Converted) -> None:
        """Convert lines (text, or bytes to decode; no newlines) into ``out``.

        Never raises for what a line holds: should converting the lines raise (a bug), what they added to
        ``out`` is taken back and they are converted again one at a time, and a line that raises on its own
        is kept as unprocessed with :func:`internal_error`'s reason. (``MemoryError`` is not contained.)
        """
        mark = Checkpoint.of(out)
        try:
            self._convert_lines(lines, out)
        except MemoryError:
            raise
        except Exception:
            mark.restore(out)
            self._convert_each(lines, out)

    def _convert_each(
        self,
        lines: Sequence[str | bytes],
        out: Converted,
        encode: Callable[[Converted], object] | None = None,
    ) -> None:
        """:meth:`_convert_lines` one line at a time (and ``encode`` of its outcome alone), each line that
        raises kept as unprocessed."""
        for line in lines:
            one = Converted(lines=out.lines, earliest=out.earliest)
            try:
                self._convert_lines([line], one)
                if encode is not None:
                    encode(one)
            except MemoryError:
                raise
            except Exception as error:
                number = out.lines + 1
                kept = UnprocessedLine(number, _raw_bytes(line), without_frames(internal_error(error)))
                one = Converted(lines=number, unprocessed=[kept], earliest=out.earliest)
            out.absorb(one)

    def _convert_lines(self, lines: Sequence[str | bytes], out: Converted) -> None:
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
        raw = _raw_bytes(line)
        try:
            outcome = parse_line(line, self._classify)
        except LineError as error:
            out.unprocessed.append(UnprocessedLine(number, raw, without_frames(error)))
            return earliest
        if isinstance(outcome, Ignored):
            out.ignored.append(raw)
            return earliest
        table = Table.FILE_DOWNLOADS if isinstance(outcome, Download) else Table.SIMPLE_REQUESTS
        row = to_row(outcome) if self._formats is FORMATS else self._formats[table].to_row(outcome)
        text = dumps_row(row)
        if not encodable(text):  # cannot be: its values are checked UTF-8 (convert_lines contains it)
            raise ValueError(f"a row that is not UTF-8: {text.encode(errors='backslashreplace')[:200]!r}")
        out.rows(table).append(text)
        return min(earliest, timestamp_text(outcome.timestamp))


def _raw_bytes(line: str | bytes) -> bytes:
    """The bytes a line is kept as: as read, or its text as UTF-8 (a lone surrogate, which no UTF-8 holds,
    as the byte it escapes, or as its three bytes: such text came from outside, never from a log)."""
    if isinstance(line, bytes):
        return line
    try:
        return line.encode()
    except UnicodeEncodeError:
        try:
            return line.encode(errors="surrogateescape")
        except UnicodeEncodeError:
            return line.encode(errors="surrogatepass")


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
