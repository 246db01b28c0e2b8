"""Events as BigQuery rows: dicts shaped like ``schemas/*.json`` and their NDJSON text.

Rows carry every column of their table, ``None`` where there is no value, in the schema's column order.
Timestamps are RFC 3339 in UTC (``2021-01-07T20:54:54Z``), which BigQuery and the local emulator both load.
"""

from __future__ import annotations

import json
from typing import Any

from linehaul.events import Download, Event, timestamp_text

__all__ = ["FILE_DOWNLOADS", "SIMPLE_REQUESTS", "dumps_row", "table_for", "timestamp_text", "to_row"]

FILE_DOWNLOADS = "file_downloads"
SIMPLE_REQUESTS = "simple_requests"


def table_for(event: Event) -> str:
    """The table an event belongs to: :data:`FILE_DOWNLOADS` or :data:`SIMPLE_REQUESTS`."""
    return FILE_DOWNLOADS if isinstance(event, Download) else SIMPLE_REQUESTS


def to_row(event: Event) -> dict[str, Any]:
    """The row of ``event`` for its table (see :func:`table_for`)."""
    row: dict[str, Any] = {
        "timestamp": timestamp_text(event.timestamp),
        "country_code": event.country_code,
        "url": event.url,
        "project": event.project,
    }
    if isinstance(event, Download):
        file = event.file
        row["file"] = {
            "filename": file.filename,
            "project": file.project,
            "version": file.version,
            "type": file.type,
        }
    row["details"] = None if event.details is None else event.details.to_dict()
    row["tls_protocol"] = event.tls_protocol
    row["tls_cipher"] = event.tls_cipher
    return row


def dumps_row(row: dict[str, Any]) -> str:
    """One NDJSON line (without the newline): compact, UTF-8 text, keys in schema order."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))
