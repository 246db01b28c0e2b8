"""Counts by one field: which projects, installers, Python versions, systems, how much from CI, per day.

:func:`count_by` asks the :class:`~linehaul.analysis.Database` for the number of rows per value of one
of :data:`STATS_FIELDS`, most frequent first (``day`` in date order), with each value's share of all the
rows in the time window. A row without a value (an unrecognised user agent has no installer) counts
under ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from linehaul.analysis.errors import UnknownFieldError
from linehaul.tables import Table

if TYPE_CHECKING:  # this module works without duckdb; only count_by needs a database
    from linehaul.analysis.database import Database

__all__ = ["STATS_FIELDS", "Count", "Stats", "TimeWindow", "count_by"]

STATS_FIELDS: dict[str, str] = {
    "project": "project",
    "version": "file.version",
    "installer": "details.installer.name",
    # major.minor, as people ask about Python versions (3.12, not 3.12.4); any other text as it is
    "python": "coalesce(nullif(regexp_extract(details.python, '^[0-9]+\\.[0-9]+'), ''), details.python)",
    "implementation": "details.implementation.name",
    "system": "details.system.name",
    "distro": "details.distro.name",
    "cpu": "details.cpu",
    "country": "country_code",
    "ci": "details.ci",
    "tls_protocol": "tls_protocol",
    "file_type": "file.type",
    "day": "CAST(timestamp AS DATE)",
}
"""Each field ``linehaul stats --by`` knows, and the SQL expression that gives it."""

_DOWNLOADS_ONLY = frozenset({"version", "file_type"})


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """UTC days to keep: from ``since`` and up to ``until``, both included (None: no limit)."""

    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"the window ends ({self.until}) before it starts ({self.since})")

    def condition(self) -> tuple[str, list[object]]:
        """A SQL condition on ``timestamp`` for the window, and its parameters."""
        parts, parameters = ["TRUE"], list[object]()
        if self.since is not None:
            parts.append("timestamp >= CAST(? AS TIMESTAMPTZ)")
            parameters.append(f"{self.since.isoformat()} 00:00:00+00")
        if self.until is not None:
            parts.append("timestamp < CAST(? AS TIMESTAMPTZ)")
            parameters.append(f"{(self.until + timedelta(days=1)).isoformat()} 00:00:00+00")
        return " AND ".join(parts), parameters


@dataclass(frozen=True, slots=True)
class Count:
    """How many rows have ``value``, and their share (0 to 1) of all the rows in the window."""

    value: str | bool | date | None
    count: int
    share: float


@dataclass(frozen=True, slots=True)
class Stats:
    """The counts by ``field`` in ``table``: ``total`` rows, ``values`` distinct values (``counts`` shows
    the first ones), ``None`` counted as a value."""

    field: str
    table: Table
    total: int
    values: int
    counts: tuple[Count, ...]

    def records(self) -> list[dict[str, Any]]:
        """``[{"<field>": value, "count": n}, ...]``, dates as ISO text: what ``--json`` prints."""
        return [
            {self.field: count.value.isoformat() if isinstance(count.value, date) else count.value,
             "count": count.count}
            for count in self.counts
        ]  # fmt: skip


def check_field(field: str, table: Table | str = Table.FILE_DOWNLOADS) -> None:
    """Raise :class:`UnknownFieldError` (listing the valid fields) unless ``table`` can be counted by it."""
    if field not in STATS_FIELDS:
        raise UnknownFieldError(field, list(STATS_FIELDS))
    if Table.of(table) is Table.SIMPLE_REQUESTS and field in _DOWNLOADS_ONLY:
        valid = [name for name in STATS_FIELDS if name not in _DOWNLOADS_ONLY]
        raise UnknownFieldError(field, valid, why="simple requests have no file, so no")


def count_by(
    database: Database,
    field: str,
    *,
    table: Table | str = Table.FILE_DOWNLOADS,
    top: int | None = None,
    window: TimeWindow | None = None,
) -> Stats:
    """Rows of ``table`` per value of ``field`` (one of :data:`STATS_FIELDS`), the ``top`` first."""
    chosen = Table.of(table)
    check_field(field, chosen)
    condition, parameters = (window or TimeWindow()).condition()
    order = "value" if field == "day" else "n DESC, value"
    limit = "" if top is None else f"LIMIT {int(top)}"
    result = database.query(
        f"""SELECT value, count(*) AS n, sum(count(*)) OVER () AS total, count(*) OVER () AS groups
            FROM (SELECT {STATS_FIELDS[field]} AS value FROM {chosen.value} WHERE {condition})
            GROUP BY value ORDER BY {order} NULLS LAST {limit}""",
        parameters,
    )
    total = int(result.rows[0][2]) if result.rows else 0
    return Stats(
        field=field,
        table=chosen,
        total=total,
        values=int(result.rows[0][3]) if result.rows else 0,
        counts=tuple(Count(value, int(n), n / total) for value, n, _, _ in result.rows),
    )
