"""TIMESTAMP values in JSON loads, read by the BigQuery emulator as BigQuery reads them (part of
:mod:`linehaul.local.bqcompat`, which applies it).

BigQuery's loads take a TIMESTAMP written ``2026-12-05 00:00:00 +00:00`` (production linehaul stages its rows
so), ``... -5:00`` or ``... America/Los_Angeles``; DuckDB's JSON reader, under bqemulator 1.4.0, fails the
load on them ("Unknown TimeZone '+00:00'"). :func:`reading_bigquery_timestamps` wraps
``jobs.executor._load_path_into_target``: a JSON file whose TIMESTAMP fields (nested ones too) hold such text
is loaded from a copy with the text rewritten by :func:`bigquery_timestamp_text` to the same instant in a
form DuckDB reads; any other file is loaded as it is. ``tests/local/test_bqcompat_timestamps.py`` loads every
form.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import re
import tempfile
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bqemulator.api.dependencies import AppContext
from bqemulator.catalog.models import TableFieldSchema

__all__ = ["bigquery_timestamp_text", "reading_bigquery_timestamps"]

_JSON_FORMATS = frozenset({"NEWLINE_DELIMITED_JSON", "JSON"})
_ZONED_TIMESTAMP = re.compile(
    r"(?P<stamp>(?P<year>\d{4})[-/](?P<month>\d{1,2})[-/](?P<day>\d{1,2})[ T]"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:\.(?P<fraction>\d+))?)?)"
    r"(?:\s*(?P<sign>[+-])(?P<hours>\d{1,2})(?::(?P<minutes>\d{2}))?"
    r"|\s+(?P<zone>[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*))"
)


def bigquery_timestamp_text(text: str) -> str:
    """``text``, a TIMESTAMP as BigQuery reads it from JSON, in a form DuckDB reads as the same instant.

    BigQuery takes ``YYYY-MM-DD HH:MM[:SS[.F]]`` (``T`` or a space between date and time, ``/`` or ``-``
    between the date's parts) followed by ``Z``, `` UTC``, an offset ``[+-]H[H][:MM]`` with or without a
    space before it (production linehaul writes ``2026-12-05 00:00:00 +00:00``), or a time zone's name.
    DuckDB's JSON reader takes all of them but an offset after a space or of one-digit hours, which become
    ``+HH:MM`` here, and a zone's name, which becomes that zone's offset at that time. Anything else is
    returned unchanged (the load then fails on it, or not, as before)."""
    match = _ZONED_TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return text
    if match["zone"] is None:
        return f"{match['stamp']}{match['sign']}{int(match['hours']):02d}:{match['minutes'] or '00'}"
    try:
        zone = zoneinfo.ZoneInfo(match["zone"])
        year, month, day, hour, minute = (
            int(match[part]) for part in ("year", "month", "day", "hour", "minute")
        )
        local = datetime(year, month, day, hour, minute, int(match["second"] or 0))
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return text
    offset = zone.utcoffset(local) or timedelta(0)
    sign, minutes = ("-", -offset) if offset < timedelta(0) else ("+", offset)
    hours, rest = divmod(int(minutes.total_seconds()) // 60, 60)
    return f"{match['stamp']}{sign}{hours:02d}:{rest:02d}"


def _timestamps_read(row: Any, fields: Sequence[TableFieldSchema]) -> Any:
    """A JSON row (or the value of a RECORD) with the text of its TIMESTAMP fields, nested ones too,
    rewritten by :func:`bigquery_timestamp_text`; other values, and keys of no field, are left alone."""
    if not isinstance(row, dict):
        return row
    by_name = {field.name.lower(): field for field in fields}
    return {key: _field_read(value, by_name.get(key.lower())) for key, value in row.items()}


def _field_read(value: Any, field: TableFieldSchema | None) -> Any:
    if field is None or value is None:
        return value
    if isinstance(value, list) and (field.mode or "").upper() == "REPEATED":
        return [_field_read(item, field.model_copy(update={"mode": "NULLABLE"})) for item in value]
    if field.type.upper() == "TIMESTAMP":
        return bigquery_timestamp_text(value) if isinstance(value, str) else value
    return _timestamps_read(value, field.fields) if field.fields else value


def _json_with_bigquery_timestamps(path: str, fields: Sequence[TableFieldSchema]) -> bytes | None:
    """The NDJSON of ``path`` (files of a wildcard, in order) with its timestamps rewritten, or None when no
    value changes. A line that is not JSON is kept as it is, for the load to fail on as before."""
    files = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
    lines: list[bytes] = []
    changed = False
    for name in files:
        with open(name, "rb") as source:
            data = source.read()
        for line in data.splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            read = _timestamps_read(row, fields)
            if read != row:
                changed = True
                line = json.dumps(read).encode()
            lines.append(line)
    return b"\n".join(lines) + b"\n" if changed else None


def reading_bigquery_timestamps(original: Callable[[str, Any, AppContext], None]) -> Callable[..., None]:
    @functools.wraps(original)
    def loading(path: str, job: Any, ctx: AppContext) -> None:
        table = ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id)
        rewritten = None
        if job.source_format in _JSON_FORMATS and table is not None:
            rewritten = _json_with_bigquery_timestamps(path, table.schema_.fields)
        if rewritten is None:
            original(path, job, ctx)
            return
        descriptor, copy = tempfile.mkstemp(prefix="bqcompat-", suffix=".json")
        try:
            with os.fdopen(descriptor, "wb") as target:
                target.write(rewritten)
            original(copy, job, ctx)
        finally:
            os.unlink(copy)

    return loading
