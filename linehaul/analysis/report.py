"""A one-page HTML report: downloads over time, installers, Python versions, systems, CI, countries, and
the top projects, or with projects selected, a page about those projects (their versions instead).

:func:`gather_report` asks an :class:`~linehaul.analysis.engine.Engine` (DuckDB over files, or BigQuery)
what the page shows, every figure for the same :class:`~linehaul.analysis.Selection` (projects, window,
mirrors, SQL condition); :func:`~linehaul.analysis.report_page.write_report` writes the page:
inline CSS and SVG, no JavaScript, nothing fetched, so it opens anywhere, offline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from linehaul.analysis.coverage import Coverage
from linehaul.analysis.dimensions import Parameters
from linehaul.analysis.engine import DataSpan, Engine, SqlQuery, resolve_selection
from linehaul.analysis.errors import QueryError
from linehaul.analysis.selection import Selection, TimeWindow
from linehaul.analysis.stats import Order, Stats, count_by
from linehaul.tables import Table

__all__ = ["CHARTS", "PROJECT_CHARTS", "ReportData", "gather_report"]

CHARTS = (
    "downloads-over-time",
    "installers",
    "python-versions",
    "operating-systems",
    "ci-share",
    "countries",
    "top-projects",
)
"""The ``data-chart`` names of the report's charts, in page order."""

PROJECT_CHARTS = (
    "downloads-over-time",
    "versions",
    "python-versions",
    "installers",
    "operating-systems",
    "ci-share",
    "countries",
)
"""The charts of a report about some projects (``--project``), in page order."""

TOP = 10
TOP_LONG = 15  # projects, versions
_HOURLY_UP_TO = timedelta(days=3)

# chart name → (field, how many, order); the CI share and the time line are drawn apart
_BARS = {
    "installers": ("installer", TOP, Order.COUNT),
    "python-versions": ("python", TOP, Order.COUNT),
    "operating-systems": ("system", TOP, Order.COUNT),
    "countries": ("country", TOP, Order.COUNT),
    "top-projects": ("project", TOP_LONG, Order.COUNT),
    "versions": ("version", TOP_LONG, Order.COUNT),
}


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report shows, for one selection."""

    title: str
    source: str  # what was read, in a few words
    selection: Selection  # its window as dates
    covers: DataSpan | None  # the days the data holds, whatever the selection
    first: datetime | None  # the first and last download selected
    last: datetime | None
    bucket: str  # "hour" or "day"
    over_time: tuple[tuple[datetime, int], ...]
    simple_requests: int | None  # None: the selection does not apply to simple requests
    bars: dict[str, Stats]  # chart name → counts, for the bar charts of the page
    ci: Stats
    mirrors: Stats
    coverage: Coverage  # the window, partial days, damaged inputs

    @property
    def charts(self) -> tuple[str, ...]:
        """The page's charts, in order."""
        return PROJECT_CHARTS if self.selection.projects else CHARTS

    @property
    def downloads(self) -> int:
        return self.ci.total


def _rows(engine: Engine, selection: Selection, parameters: Parameters, table: Table) -> str:
    """``FROM ... WHERE ...`` of the rows of ``table`` that ``selection`` selects."""
    source = selection.source(engine.dialect, parameters, table, engine.table(table))
    return f"FROM {source} WHERE {selection.condition(engine.dialect, parameters)}"


def _moment(engine: Engine, selection: Selection, day: date | None, which: str) -> datetime | None:
    """The first (``MIN``) or last (``MAX``) moment of the rows selected on ``day``: one day's rows read."""
    if day is None:
        return None
    parameters = Parameters(engine.dialect)
    rows = _rows(engine, replace(selection, window=TimeWindow(day, day)), parameters, Table.FILE_DOWNLOADS)
    query = SqlQuery.of(f"SELECT {which}(timestamp) {rows}", parameters, f"{which.lower()} download")
    found = engine.run(query)
    return found[0][0] if found else None


def _over_time(
    engine: Engine, selection: Selection
) -> tuple[datetime | None, datetime | None, str, tuple[tuple[datetime, int], ...]]:
    """The first and last download, and the downloads per hour (up to three days) or per day. The days come
    from ``count_by`` (the daily tables where they answer: :mod:`linehaul.analysis.daily`); the first and
    last moment from those two days' rows, the hours from the rows."""
    days = count_by(engine, "day", selection=selection)
    pricing = bool(getattr(engine, "dry_run", False))  # a dry run has no rows: price the window's own days
    first_day, last_day = days.first, days.last
    if pricing:  # the window's first and last day, or the data's
        span = engine.data_span(Table.FILE_DOWNLOADS)
        first_day = selection.window.since or (span.first if span else None)
        last_day = selection.window.until or (span.last if span else None)
    first, last = _moment(engine, selection, first_day, "MIN"), _moment(engine, selection, last_day, "MAX")
    if (first is None or last is None) and not pricing:
        return None, None, "hour", ()
    if (first and last and last - first > _HOURLY_UP_TO) or (pricing and first_day != last_day):
        held = {count.value: count.count for count in days.counts if isinstance(count.value, date)}
        within = [day for day in held if days.first and days.last and days.first <= day <= days.last]
        return (
            first,
            last,
            "day",
            tuple((datetime.combine(day, time(), UTC), held[day]) for day in sorted(within)),
        )
    parameters = Parameters(engine.dialect)
    moment = engine.dialect.truncate("timestamp", "hour")
    selected = _rows(engine, selection, parameters, Table.FILE_DOWNLOADS)
    text = f"SELECT {moment} AS bucket, COUNT(*) AS n {selected}\nGROUP BY bucket"
    counted = engine.run(SqlQuery.of(text, parameters, "downloads per hour"))
    counts = {moment.astimezone(UTC): int(count) for moment, count in counted}
    if not counts:
        return first, last, "hour", ()
    at, end, points = min(counts), max(counts), []
    while at <= end:  # every hour, the empty ones too
        points.append((at, counts.get(at, 0)))
        at += timedelta(hours=1)
    return first, last, "hour", tuple(points)


def _simple_requests(engine: Engine, selection: Selection) -> int | None:
    parameters = Parameters(engine.dialect)
    text = f"SELECT COUNT(*) {_rows(engine, selection, parameters, Table.SIMPLE_REQUESTS)}"
    try:
        rows = engine.run(SqlQuery.of(text, parameters, "simple requests"))
    except QueryError as error:  # a --where over columns simple requests do not have (file.*)
        if getattr(error, "needed", None) is not None:  # BigQuery's bytes limit: not the selection's fault
            raise
        return None
    return int(rows[0][0]) if rows else 0


def gather_report(
    engine: Engine,
    *,
    title: str = "PyPI downloads",
    window: TimeWindow | None = None,
    selection: Selection | None = None,
    source: str | None = None,
) -> ReportData:
    """Query what the report shows, for ``selection`` (or just a ``window``); ``source`` says what was
    read (by default, the engine's own description)."""
    if selection is None:
        selection = Selection(window=window or TimeWindow())
    default = selection.window.is_whole and not engine.default_window.is_whole
    selection = resolve_selection(engine, selection, Table.FILE_DOWNLOADS)
    first, last, bucket, points = _over_time(engine, selection)
    names = PROJECT_CHARTS if selection.projects else CHARTS
    bars = {
        name: count_by(engine, field, top=top, order=order, selection=selection)
        for name, (field, top, order) in _BARS.items()
        if name in names
    }
    describe = getattr(engine, "describe", None)
    covers = engine.data_span(Table.FILE_DOWNLOADS)
    coverage = Coverage(
        window=selection.window,
        default=default,
        first=first.astimezone(UTC).date() if first else None,
        last=last.astimezone(UTC).date() if last else None,
        data=covers,
        damaged=tuple(str(failure) for failure in getattr(engine, "failures", ())),
    )
    return ReportData(
        title=title,
        source=source or (describe() if callable(describe) else type(engine).__name__),
        selection=selection,
        covers=covers,
        first=first,
        last=last,
        bucket=bucket,
        over_time=points,
        simple_requests=_simple_requests(engine, selection),
        bars=bars,
        ci=count_by(engine, "ci", selection=selection),
        mirrors=count_by(engine, "mirror", selection=selection),
        coverage=coverage,
    )
