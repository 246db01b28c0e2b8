"""Printing the answer of ``linehaul stats``: an aligned table that says what it covers, or every group as
JSON (with the coverage as fields), CSV or Markdown.

The table may stop at ``--top`` (20 by default) and says how to see the rest; exports carry every group
unless ``--top`` is given. Below the table, the window and the days of the rows selected, the partial
periods (a ``*`` marks them in a column of days, weeks, months or years) and the damaged inputs.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linehaul.cli.render import render_csv, render_markdown, render_table
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.analysis.coverage import Coverage, Partial
    from linehaul.analysis.stats import Count, Stats

__all__ = ["Output", "coverage_lines", "print_stats"]

_MARK = "*"


@dataclass(frozen=True, slots=True)
class Output:
    """How to print: ``form`` is ``table``, ``json``, ``csv`` or ``markdown``; ``shares`` shows a pivot's
    cells as shares of their row."""

    form: str = "table"
    shares: bool = False


def _partials(stats: Stats, coverage: Coverage) -> dict[object, Partial]:
    """The partial periods among the rows, by value (for a time field alone)."""
    from linehaul.analysis.periods import PERIODS

    if len(stats.fields) != 1 or stats.field not in PERIODS:
        return {}
    period = PERIODS[stats.field]
    found = {count.value: coverage.partial(period, count.value) for count in stats.counts if count.value}
    return {value: partial for value, partial in found.items() if partial is not None}


def _days(first: object, last: object) -> str:
    return str(first) if first == last else f"{first} to {last}"


def coverage_lines(stats: Stats, coverage: Coverage) -> list[str]:
    """What the answer covers, in a few lines for people (see the module doc)."""
    window = coverage.window
    if window.is_whole:
        asked = "window: all the data"
    else:
        asked = f"window: {window.describe()}"
        if coverage.default:
            asked += " (BigQuery's partitions of the last 30 days of the table, by default)"
    data = coverage.data
    if stats.first is not None and stats.last is not None:
        rows = f"rows selected: {_days(stats.first, stats.last)}"
    else:
        rows = "no row selected"
    lines = [f"{asked}; {rows}" + (f" (the data covers {_days(data.first, data.last)})" if data else "")]
    partials = _partials(stats, coverage)
    if partials:
        lines += [f"{_MARK} partial: {partial.value}, {partial.why}" for partial in partials.values()]
    elif stats.total:
        lines += [f"partial: {partial.value}, {partial.why}" for partial in coverage.partial_days()]
    lines += [f"damaged: {damage} (counted up to the damage)" for damage in coverage.damaged]
    return lines


def _value_cells(stats: Stats, count: Count, partials: dict[object, Partial]) -> list[Any]:
    from linehaul.analysis.stats import value_text

    values: list[Any] = [*count.values]
    if count.values and count.value in partials:
        values[0] = value_text(count.value) + _MARK
    return values


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _document(stats: Stats, coverage: Coverage, shares: bool) -> dict[str, Any]:
    """What --json prints: the coverage, the total, the groups and, with a pivot, its columns."""
    from linehaul.analysis.stats import OTHERS, value_text

    document: dict[str, Any] = {"table": stats.table.value, "fields": list(stats.fields)}
    document |= coverage.record()
    document |= {"total": stats.total, "groups": stats.groups}
    if stats.pivot is not None:
        columns = list(zip(map(value_text, stats.columns), stats.column_totals, strict=True))
        if stats.others is not None:
            columns.append((OTHERS, stats.others))
        document["pivot"] = stats.pivot
        document["columns"] = [{"value": value, "count": count} for value, count in columns]
    from linehaul.analysis.periods import PERIODS

    rows = stats.records(shares=shares)
    partials = _partials(stats, coverage)
    if len(stats.fields) == 1 and stats.field in PERIODS:  # a time field alone: each period says
        for record, count in zip(rows, stats.counts, strict=True):
            partial = partials.get(count.value)
            record["partial"] = None if partial is None else partial.why
    document["rows"] = rows
    return document


def print_stats(stats: Stats, coverage: Coverage, output: Output) -> None:
    """Print ``stats`` in ``output``'s form (see the module doc)."""
    from linehaul.analysis.stats import OTHERS, value_text

    if output.form == "json":
        print(json.dumps(_document(stats, coverage, output.shares), indent=2, ensure_ascii=False))
        return
    others = stats.others is not None
    columns = [*stats.fields, *map(value_text, stats.columns), *([OTHERS] if others else [])]

    def cells(count: Count) -> list[Any]:
        numbers = [*count.cells, *([count.others] if others else [])]
        if output.shares:
            return [_share(number, count.count) for number in numbers]
        return numbers

    if output.form == "csv":
        rows = [[*count.values, *cells(count), count.count, round(count.share, 6)] for count in stats.counts]
        sys.stdout.write(render_csv([*columns, "count", "share"], rows))
        return
    partials = _partials(stats, coverage)
    noun = "requests" if stats.table is Table.SIMPLE_REQUESTS else "downloads"
    rows = [
        [*_value_cells(stats, count, partials), *cells(count), count.count, _share(count.count, stats.total)]
        for count in stats.counts
    ]
    totals: list[Any] = [*stats.column_totals, *([stats.others] if stats.others is not None else [])]
    if output.shares:
        totals = [_share(total, stats.total) for total in totals]
    label = ["total"] if stats.fields else []
    footer = [*label, *[""] * (len(stats.fields) - 1), *totals, stats.total, _share(stats.total, stats.total)]
    right = [False] * len(stats.fields) + [True] * (len(columns) - len(stats.fields) + 2)
    render = render_markdown if output.form == "markdown" else render_table
    headers = [*columns, noun, "share"]
    if not stats.fields:  # the total alone: one line, no footer
        print(render(headers, [[stats.total, _share(stats.total, stats.total)]], right=right))
    else:
        print(render(headers, rows, none="(none)", footer=footer, right=right))
    if output.form == "markdown":
        return
    if stats.groups > len(stats.counts):
        what = "values" if len(stats.fields) == 1 else "groups"
        print(f"({stats.groups - len(stats.counts)} more {what}: --top 0 shows all; --csv, --json and "
              "--markdown give every one)")  # fmt: skip
    for line in coverage_lines(stats, coverage):
        print(line)
