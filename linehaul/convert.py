"""Log lines → NDJSON rows per table, fast: the path the CLI, the ingestor and backfills use.

:class:`Converter` gives, line for line, exactly ``dumps_row(to_row(parse_line(line)))`` (tests hold it to
that on every corpus line and on generated ones) without building events. A line's parts repeat heavily
within a log (the same date for many lines, a few hundred agents, a few thousand files), so each distinct
part is checked and turned into JSON once and cached (bounded), and a row is one string template. A line
the fast path is not sure of (see :func:`linehaul._grammar.plain`) goes through :func:`parse_line`.

Each line goes to exactly one destination of :class:`Converted`:

* ``downloads`` / ``simple``: NDJSON rows for ``file_downloads`` / ``simple_requests``;
* ``unprocessed``: lines that are not valid events, kept byte for byte, each with its :class:`LineError`;
* ``ignored``: valid lines whose agent production deliberately drops, kept byte for byte.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linehaul._grammar import DOWNLOAD, NULL, PACKAGE_TYPES, SIMPLE, plain
from linehaul.errors import LineError
from linehaul.events import Download, day_text, parse_line, simple_project, timestamp_text_of
from linehaul.rows import dumps_row, to_row
from linehaul.useragents import Classification, Classifier, Ignored, Unknown, UserAgent
from linehaul.useragents.classifier import BoundedCache

__all__ = ["Converted", "Converter"]

_SLOW: Any = object()  # a part the fast path leaves to parse_line
Text = Any
"""JSON text for part of a row, or _SLOW: the fast path's caches hold these."""
_quote: Callable[[str], str] = json.encoder.encode_basestring  # what json.dumps uses, with ensure_ascii=False
_KNOWN_TYPES = frozenset(PACKAGE_TYPES)


@dataclass(slots=True)
class Converted:
    """What a block of lines became, in input order within each destination.

    ``downloads`` and ``simple`` are NDJSON lines (no newline); ``unprocessed`` holds each rejected line's
    number (counted from 1 over everything this ``Converted`` received), its raw bytes and the reason;
    ``earliest`` is the smallest row timestamp (RFC 3339 text, which sorts as time does).
    """

    lines: int = 0
    downloads: list[str] = field(default_factory=list)
    simple: list[str] = field(default_factory=list)
    unprocessed: list[tuple[int, bytes, LineError]] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)
    earliest: str | None = None


def _json(value: str | None) -> str:
    """``json.dumps(value, ensure_ascii=False)`` for a string or None, without its overhead."""
    return "null" if value is None else _quote(value)


def _nullable(field: str) -> str | None:
    return None if field == NULL else field


def _plain_nullable(field: str) -> bool:
    return plain(field) and (field == NULL or not field.startswith(NULL))


# The usual date field, all plain characters: "Thu, 07 Jan 2021 20:54:54 GMT" (the day name and the zone
# are not read, as in production; any other form takes the general path below).
_USUAL_DATE = re.compile(
    r"[A-Za-z]{3}, ([0-9]{2} [A-Z][a-z]{2} [0-9]{4}) ([01][0-9]|2[0-3])(:[0-5][0-9]:[0-5][0-9]) GMT"
)


def _date_text(date: str) -> Text:
    """The RFC 3339 text of a date field, or _SLOW (not plain, or not a date: parse_line says why)."""
    usual = _USUAL_DATE.fullmatch(date)
    if usual is not None:
        day = day_text(usual[1])
        if day is not None:
            return f"{day}T{usual[2]}{usual[3]}Z"
    if not plain(date):
        return _SLOW
    try:
        return timestamp_text_of(date)
    except ValueError:
        return _SLOW


def _country_text(country: str) -> Text:
    return "null" if not country else _json(country) if plain(country) else _SLOW


def _download_texts(middle: str) -> Text:
    """The row's JSON around the details, for the middle of a download line.

    ``middle`` is ``url|tls protocol|tls cipher|project|version|package type|``; the first text runs from
    after the country to ``"details":``, the second from the TLS fields to the end of the row.
    """
    url, protocol, cipher, project, version, package_type, _ = middle.split("|")
    if not (plain(url) and _plain_nullable(protocol) and _plain_nullable(cipher)):
        return _SLOW
    if package_type not in _KNOWN_TYPES or NULL in (project, version):
        return _SLOW
    if not (_plain_nullable(project) and _plain_nullable(version)):
        return _SLOW
    project_text, filename = _json(project), url[url.rfind("/") + 1 :]
    return (
        f',"url":{_json(url)},"project":{project_text},"file":{{"filename":{_json(filename)},'
        f'"project":{project_text},"version":{_json(version)},"type":"{package_type}"}},"details":',
        _tls_text(protocol, cipher),
    )


def _simple_texts(middle: str) -> Text:
    """:func:`_download_texts` for a simple line: ``middle`` is ``url|tls protocol|tls cipher||||``."""
    url, protocol, cipher, *rest = middle.split("|")
    if rest != ["", "", "", ""] or not (plain(url) and _plain_nullable(protocol) and _plain_nullable(cipher)):
        return _SLOW
    try:
        project = simple_project(url)
    except ValueError:
        return _SLOW
    return f',"url":{_json(url)},"project":{_json(project)},"details":', _tls_text(protocol, cipher)


def _tls_text(protocol: str, cipher: str) -> str:
    return f',"tls_protocol":{_json(_nullable(protocol))},"tls_cipher":{_json(_nullable(cipher))}}}'


class Converter:
    """Converts blocks of log lines; keeps its caches between blocks. Not thread-safe: one per worker."""

    def __init__(
        self, classify: Callable[[str], Classification] | None = None, cache_size: int = 65_536
    ) -> None:
        self._classify = classify if classify is not None else Classifier()
        self._agents: BoundedCache[str, Any] = BoundedCache(cache_size)
        self._dates: BoundedCache[str, str] = BoundedCache(4096)
        self._countries: BoundedCache[str, str] = BoundedCache(1024)
        self._downloads: BoundedCache[str, Any] = BoundedCache(cache_size)
        self._simple: BoundedCache[str, Any] = BoundedCache(cache_size)

    def _details(self, agent: str) -> Any:
        """The JSON text of the agent's details, its Ignored / Unusable classification, or _SLOW."""
        if "\t" in agent or "\n" in agent:
            return _SLOW
        found = self._classify(agent)
        if isinstance(found, UserAgent):
            return found.to_json()
        if isinstance(found, Ignored):
            return found
        return "null" if isinstance(found, Unknown) else _SLOW  # Unusable: parse_line gives the error

    def convert_block(self, block: bytes, out: Converted) -> None:
        """Convert every line of ``block`` (lines end with ``\\n``; the last one may not) into ``out``."""
        self.convert_lines(_split_lines(block), out)

    def convert_lines(self, lines: list[str | bytes], out: Converted) -> None:
        """Convert lines (text, or bytes to decode; no newlines) into ``out``."""
        agents, dates, countries, download_middles, simple_middles = (
            self._agents,
            self._dates,
            self._countries,
            self._downloads,
            self._simple,
        )
        agent_cache, date_cache, country_cache = agents.entries, dates.entries, countries.entries
        download_cache, simple_cache = download_middles.entries, simple_middles.entries
        details_of = self._details
        downloads, simple, ignored, earliest = out.downloads, out.simple, out.ignored, out.earliest or "9999"
        first = out.lines + 1
        out.lines += len(lines)
        for number, line in enumerate(lines, first):
            if type(line) is str:
                parts = line.split("|", 9)
                if len(parts) == 10:
                    kind, date, country, agent = parts[0], parts[1], parts[2], parts[9]
                    # url|tls protocol|tls cipher|project|version|package type| is one cache key
                    middle = line[len(kind) + len(date) + len(country) + 3 : len(line) - len(agent)]
                    if kind == DOWNLOAD:
                        texts = download_cache.get(middle) or download_middles.add(middle, _download_texts)
                        rows = downloads
                    elif kind == SIMPLE:
                        texts = simple_cache.get(middle) or simple_middles.add(middle, _simple_texts)
                        rows = simple
                    else:
                        texts = _SLOW
                    timestamp = date_cache.get(date) or dates.add(date, _date_text)
                    country_text = country_cache.get(country) or countries.add(country, _country_text)
                    if texts is _SLOW or timestamp is _SLOW or country_text is _SLOW:
                        details = _SLOW  # an unusual line: parse_line decides, and says why if it rejects
                    else:
                        details = agent_cache.get(agent) or agents.add(agent, details_of)
                    if details is not _SLOW:
                        if type(details) is str:
                            rows.append(
                                f'{{"timestamp":"{timestamp}","country_code":{country_text}'
                                f"{texts[0]}{details}{texts[1]}"
                            )
                            if timestamp < earliest:
                                earliest = timestamp
                        else:
                            ignored.append(line.encode())
                        continue
            earliest = self._convert_one(number, line, out, earliest)
        out.earliest = None if earliest == "9999" else earliest

    def _convert_one(self, number: int, line: str | bytes, out: Converted, earliest: str) -> str:
        """The general path: :func:`parse_line` and :func:`to_row`. Returns the new earliest timestamp."""
        raw = line if isinstance(line, bytes) else line.encode()
        try:
            outcome = parse_line(line, self._classify)
        except LineError as error:
            out.unprocessed.append((number, raw, _without_frames(error)))
            return earliest
        if isinstance(outcome, Ignored):
            out.ignored.append(raw)
            return earliest
        row = to_row(outcome)
        (out.downloads if isinstance(outcome, Download) else out.simple).append(dumps_row(row))
        return min(earliest, str(row["timestamp"]))


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
