"""When a daily table's partition holds exactly the counts of ``file_downloads``' partition of the same day.

BigQuery says, for every partition of a table, how many rows it holds and when data was last written to it
(``INFORMATION_SCHEMA.PARTITIONS``: ``total_rows``, ``last_modified_time``: metadata, no table data read).
A daily table's partition of a day is *in step* when it was written after the last write to that day's
partition of ``file_downloads``: its aggregation job then read every row there is. A later load into the
day (a late log, a backfill) makes it stale until the publisher aggregates the day again.

That holds because no load runs while an aggregation job does: the publisher, one run at a time under its
lease, aggregates after its loads, and a run that leaves aggregation jobs running keeps them in the lease,
so that the next run waits for them before it loads anything (:mod:`linehaul.pipeline.daily`).

One rule for both sides: the publisher aggregates the days that are not in step (:func:`stale_days`),
``linehaul stats`` reads a daily table only for the days that are (:func:`days_held`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["PartitionState", "Partitions", "days_held", "in_step", "ranges", "stale_days"]


@dataclass(frozen=True, slots=True)
class PartitionState:
    """A partition as BigQuery's metadata describes it: its rows, and when data was last written to it."""

    rows: int
    modified: datetime


Partitions = Mapping[date, PartitionState]
"""A table's partitions by day."""


def in_step(source: PartitionState | None, daily: PartitionState | None) -> bool:
    """Whether a daily partition (None: there is none) holds the counts of the ``file_downloads`` partition
    of its day (None: no row that day). A partition listed with no row is none: BigQuery may list one whose
    rows were all deleted, and an aggregation of no row writes none."""
    source, daily = _holding(source), _holding(daily)
    if source is None:
        return daily is None
    return daily is not None and daily.modified >= source.modified


def _holding(state: PartitionState | None) -> PartitionState | None:
    return None if state is None or state.rows == 0 else state


def stale_days(source: Partitions, daily: Partitions) -> set[date]:
    """The days whose daily partition is not in step with ``file_downloads``' (``source``)."""
    return {day for day in set(source) | set(daily) if not in_step(source.get(day), daily.get(day))}


def days_held(source: Partitions, daily: Partitions, first: date, last: date) -> tuple[set[date], set[date]]:
    """The days from ``first`` to ``last`` that either table has a partition of, as two sets: those whose
    daily partition is in step, and the others (a day neither table has holds no row: in neither set)."""
    held = {day for day in set(source) | set(daily) if first <= day <= last}
    in_step_days = {day for day in held if in_step(source.get(day), daily.get(day))}
    return in_step_days, held - in_step_days


def ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, as (first, last), in order."""
    found: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if found and found[-1][1] + timedelta(days=1) == day:
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found
