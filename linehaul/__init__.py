"""linehaul: PyPI CDN download logs → rows of the BigQuery tables ``file_downloads`` and ``simple_requests``.

The parsing core is pure (no I/O, no cloud imports)::

    >>> from linehaul import parse_line, to_row
    >>> event = parse_line(
    ...     "simple|Thu, 07 Jan 2021 20:54:54 GMT|DE|/simple/numpy/|TLSv1.3|TLS_AES_128_GCM_SHA256||||"
    ...     'uv/0.5.11 {"installer":{"name":"uv","version":"0.5.11"},"python":"3.12.4"}'
    ... )
    >>> to_row(event)["project"], event.details.installer.name
    ('numpy', 'uv')
"""

from typing import TYPE_CHECKING

from linehaul._lazy import lazy_attributes

if TYPE_CHECKING:
    from linehaul.convert import Converter
    from linehaul.converted import Converted
    from linehaul.errors import LineError
    from linehaul.events import (
        Download,
        Event,
        File,
        Ignored,
        Outcome,
        SimpleRequest,
        parse_line,
        parse_timestamp,
    )
    from linehaul.rows import dumps_row, table_for, to_row
    from linehaul.tables import Output, Table
    from linehaul.useragents import UNKNOWN, Classification, Unknown, Unusable, UserAgent, classify

__all__ = [
    "UNKNOWN",
    "Classification",
    "Converted",
    "Converter",
    "Download",
    "Event",
    "File",
    "Ignored",
    "LineError",
    "Outcome",
    "Output",
    "SimpleRequest",
    "Table",
    "Unknown",
    "Unusable",
    "UserAgent",
    "classify",
    "dumps_row",
    "parse_line",
    "parse_timestamp",
    "table_for",
    "to_row",
]

# Imported on first use: a program that needs only part of linehaul (the command line counting Parquet
# files, linehaul.tables) does not pay for the parser and the user-agent rules (a tenth of a second).
_HOMES = {
    "Converted": "converted",
    "Converter": "convert",
    "LineError": "errors",
    "Output": "tables",
    "Table": "tables",
    **dict.fromkeys(
        ("Download", "Event", "File", "Ignored", "Outcome", "SimpleRequest", "parse_line", "parse_timestamp"),
        "events",
    ),
    **dict.fromkeys(("dumps_row", "table_for", "to_row"), "rows"),
    **dict.fromkeys(
        ("UNKNOWN", "Classification", "Unknown", "Unusable", "UserAgent", "classify"), "useragents"
    ),
}

__getattr__ = lazy_attributes(__name__, _HOMES)
