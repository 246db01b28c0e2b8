"""The periods of the time fields of ``--by`` (day, week, month, year), as Python sees the values the engines
give: which days a period holds, every period between two days (to show the empty ones as 0), and the
label of the period a day falls in.

Weeks are ISO 8601 weeks, ``2026-W44``: Monday to Sunday, numbered in the ISO year (2027-01-01 is in
``2026-W53``), as ``strftime('%G-W%V')`` writes them in DuckDB and ``FORMAT_TIMESTAMP('%G-W%V')`` in
BigQuery. Months are ``YYYY-MM`` text, years integers, days dates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["PERIODS", "Period", "Value"]

Value = date | str | int
"""A period's value, as the engines give it: a date (day), ``2026-W44`` (week), ``2026-11`` (month), 2026."""


def _day(day: date) -> Value:
    return day


def _day_first(value: Value) -> date:
    if not isinstance(value, date):
        raise TypeError(f"not a day: {value!r}")
    return value


def _after_day(day: date) -> date:
    return day + timedelta(days=1)


def _week(day: date) -> Value:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _week_first(value: Value) -> date:
    year, week = str(value).split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


def _after_week(day: date) -> date:
    return day + timedelta(days=7 - day.weekday())


def _month(day: date) -> Value:
    return f"{day:%Y-%m}"


def _month_first(value: Value) -> date:
    text = str(value)
    return date(int(text[:4]), int(text[5:7]), 1)


def _after_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _year(day: date) -> Value:
    return day.year


def _year_first(value: Value) -> date:
    return date(int(str(value)), 1, 1)


def _after_year(day: date) -> date:
    return date(day.year + 1, 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """A kind of period: the value of the period a day falls in, the first day of a value, the first day
    of the next period."""

    name: str
    of: Callable[[date], Value]
    first_day: Callable[[Value], date]
    following: Callable[[date], date]

    def days(self, value: Value) -> tuple[date, date]:
        """The first and the last day of the period ``value``."""
        first = self.first_day(value)
        return first, self.following(first) - timedelta(days=1)

    def between(self, first: date, last: date) -> list[Value]:
        """Every period from the one of ``first`` to the one of ``last``, in time order."""
        values: list[Value] = []
        day = self.first_day(self.of(first))
        while day <= last:
            values.append(self.of(day))
            day = self.following(day)
        return values


PERIODS: dict[str, Period] = {
    period.name: period
    for period in (
        Period("day", _day, _day_first, _after_day),
        Period("week", _week, _week_first, _after_week),
        Period("month", _month, _month_first, _after_month),
        Period("year", _year, _year_first, _after_year),
    )
}
"""The periods of the time fields, by field name."""
