"""Truncations to a week, computed by the BigQuery emulator as BigQuery computes them (part of
:mod:`linehaul.local.bqcompat`, which applies it).

BigQuery's ``TIMESTAMP_TRUNC(t, WEEK)`` (and ``DATE_TRUNC``, ``DATETIME_TRUNC``) goes back to the Sunday on
or before ``t``, ``ISOWEEK`` to the Monday, ``WEEK(<day>)`` to that day. bqemulator 1.4.0 goes back to the
Monday for ``WEEK`` on a timestamp, refuses ``ISOWEEK`` ("extract specifier ISOWEEK not recognized") and
``WEEK(<day>)`` on a timestamp, and goes back to the Sunday for ``DATE_TRUNC(d, WEEK(MONDAY))``.
:func:`truncating_weeks_as_bigquery` wraps ``sql.translator.SQLTranslator.translate``: each such truncation
in the GoogleSQL it is given becomes a truncation to the day less the days since the week's first day
(``DAYOFWEEK``, which the emulator gets right); SQL without one is translated as it is.
``linehaul stats --by week`` needs none of it (``FORMAT_TIMESTAMP('%G-W%V')`` is right on both); SQL typed
into ``linehaul query --bigquery`` on the local cloud may. ``tests/local/test_bqcompat.py`` proves it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["truncating_weeks_as_bigquery", "weeks_as_days"]

_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")


def _week_start(unit: Any) -> int | None:
    """BigQuery's DAYOFWEEK (Sunday 1 ... Saturday 7) of the first day of a truncation's week unit, or
    None when the unit is not a week (WEEK: Sunday; ISOWEEK: Monday; WEEK(<day>): that day)."""
    from sqlglot import exp

    if isinstance(unit, exp.WeekStart):
        day = unit.this.name.upper()
        return _WEEKDAYS.index(day) + 1 if day in _WEEKDAYS else None
    name = (unit.this if isinstance(unit, exp.Literal) else unit.name).upper() if unit is not None else ""
    return {"WEEK": 1, "ISOWEEK": 2}.get(name)


def weeks_as_days(sql: str) -> str:
    """``sql`` (GoogleSQL) with each truncation to a week written as a truncation to the day less the days
    since the week's first day; ``sql`` itself when it has none (or cannot be parsed)."""
    import sqlglot
    from sqlglot import exp

    if "WEEK" not in sql.upper():
        return sql
    try:
        statements = sqlglot.parse(sql, read="bigquery")
    except sqlglot.errors.ParseError:
        return sql
    changed = False
    truncations = (exp.TimestampTrunc, exp.DateTrunc, exp.DatetimeTrunc)
    for statement in statements:
        if statement is None:
            continue
        for node in list(statement.find_all(*truncations)):
            first = _week_start(node.args.get("unit"))
            if first is None or node.args.get("zone") is not None:
                continue
            value = node.this.sql(dialect="bigquery")
            back = f"INTERVAL MOD(EXTRACT(DAYOFWEEK FROM {value}) + {7 - first}, 7) DAY"
            if isinstance(node, exp.DateTrunc):
                text = f"DATE_SUB({value}, {back})"
            else:
                kind = "TIMESTAMP" if isinstance(node, exp.TimestampTrunc) else "DATETIME"
                text = f"{kind}_SUB({kind}_TRUNC({value}, DAY), {back})"
            node.replace(sqlglot.parse_one(text, read="bigquery"))
            changed = True
    if not changed:
        return sql
    return ";\n".join(statement.sql(dialect="bigquery") for statement in statements if statement is not None)


def truncating_weeks_as_bigquery(translate: Callable[..., Any]) -> Callable[..., Any]:
    """``SQLTranslator.translate`` that first rewrites truncations to a week (see the module doc)."""

    @functools.wraps(translate)
    def translating(self: Any, bq_sql: str, *args: Any, **kwargs: Any) -> Any:
        return translate(self, weeks_as_days(bq_sql), *args, **kwargs)

    return translating
