"""What an answer covers, said with it: the window asked for, the first and last day of the rows selected,
the days the data holds, the periods it holds in part, and the inputs that were damaged.

A count over days that the data covers only in part looks like a dip: the first day of a log that starts
at 14:00, the last day of a truncated log, the week of a month's first day. :class:`Coverage` tells them:
a period (a day, an ISO week, a month, a year) is *partial* when the time that both the window and the data
cover, from the data's first moment to its last (:class:`~linehaul.analysis.DataSpan`), leaves out more
than an hour of it. On BigQuery the data's moments are its partitions' days, and today's partition,
still being loaded, ends now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from linehaul.analysis.engine import DataSpan, Engine
from linehaul.analysis.periods import PERIODS, Period, Value
from linehaul.analysis.selection import TimeWindow
from linehaul.analysis.stats import Stats

__all__ = ["TOLERANCE", "Coverage", "Partial", "coverage_of"]

TOLERANCE = timedelta(hours=1)
"""A period is partial when the data or the window leaves out more than this of it."""


@dataclass(frozen=True, slots=True)
class Partial:
    """A period the answer covers in part, and why (``the data ends at 11:02 UTC``)."""

    period: str  # "day", "week", "month", "year"
    value: Value
    why: str


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _starts(moment: datetime, period: Period) -> str:
    """When the data starts, as precisely as a period asks: the time in a day, else the day."""
    return f"at {moment:%H:%M} UTC" if period.name == "day" else f"on {moment:%Y-%m-%d}"


def _ends(moment: datetime, period: Period) -> str:
    """When the data ends: the time in a day, else its last day (an end at midnight is the day before's)."""
    last = moment - timedelta(microseconds=1)
    return f"at {moment:%H:%M} UTC" if period.name == "day" else f"on {last:%Y-%m-%d}"


@dataclass(frozen=True, slots=True)
class Coverage:
    """What an answer covers (see the module doc): the ``window`` (dates; ``default``: the engine's own,
    BigQuery's last 30 days), the ``first`` and ``last`` day of the rows selected (None: none), the
    ``data``'s days and moments, and the inputs read only up to their damage (``name: reason``)."""

    window: TimeWindow
    default: bool
    first: date | None
    last: date | None
    data: DataSpan | None
    damaged: tuple[str, ...] = ()

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The first and last moment that both the window and the data cover (None: no limit known)."""
        starts = [self.data.start if self.data else None]
        ends = [self.data.end if self.data else None]
        if self.window.since is not None:
            starts.append(_midnight(self.window.since))
        if self.window.until is not None:
            ends.append(_midnight(self.window.until + timedelta(days=1)))
        known_starts = [moment for moment in starts if moment is not None]
        known_ends = [moment for moment in ends if moment is not None]
        return max(known_starts, default=None), min(known_ends, default=None)

    def partial(self, period: Period, value: Value) -> Partial | None:
        """Whether the period ``value`` is covered in part, and why; None when it is whole."""
        first, last = period.days(value)
        start, end = self.bounds()
        if start is not None and start - _midnight(first) > TOLERANCE:
            data_start = self.data.start if self.data else None
            why = (
                f"the data starts {_starts(start, period)}"
                if start == data_start
                else f"the window starts on {start:%Y-%m-%d}"
            )
            return Partial(period.name, value, why)
        if end is not None and _midnight(last + timedelta(days=1)) - end > TOLERANCE:
            data_end = self.data.end if self.data else None
            why = (
                f"the data ends {_ends(end, period)}"
                if end == data_end
                else f"the window ends on {end - timedelta(days=1):%Y-%m-%d}"
            )
            return Partial(period.name, value, why)
        return None

    def partial_days(self) -> tuple[Partial, ...]:
        """The first and the last day of the rows selected, when partial."""
        days = dict.fromkeys(day for day in (self.first, self.last) if day is not None)
        found = (self.partial(PERIODS["day"], day) for day in days)
        return tuple(partial for partial in found if partial is not None)

    def record(self) -> dict[str, Any]:
        """The coverage as JSON holds it (days as ISO text; ``since``/``until`` null for no limit)."""

        def text(day: date | None) -> str | None:
            return None if day is None else day.isoformat()

        return {
            "window": {
                "since": text(self.window.since),
                "until": text(self.window.until),
                "default": self.default,
            },
            "first_day": text(self.first),
            "last_day": text(self.last),
            "data": None
            if self.data is None
            else {"first_day": text(self.data.first), "last_day": text(self.data.last)},
            "partial_days": [
                {"day": str(partial.value), "why": partial.why} for partial in self.partial_days()
            ],
            "damaged": list(self.damaged),
        }


def coverage_of(engine: Engine, stats: Stats) -> Coverage:
    """The coverage of ``stats``, an answer of ``engine`` (its data span is asked: cheap, and once)."""
    failures = getattr(engine, "failures", ())
    return Coverage(
        window=stats.selection.window,
        default=stats.default_window,
        first=stats.first,
        last=stats.last,
        data=engine.data_span(stats.table),
        damaged=tuple(str(failure) for failure in failures),
    )
