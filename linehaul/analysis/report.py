"""A one-page HTML report of downloads: over time, installers, Python versions, systems, CI, projects.

:func:`write_report` queries a :class:`~linehaul.analysis.Database` and writes one self-contained HTML
file: inline CSS and SVG charts (:mod:`linehaul.analysis.charts`), no JavaScript, nothing fetched from
the network, so it opens anywhere, offline, and can be mailed or archived as it is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

from linehaul.analysis.charts import BLUE, GREY, ORANGE, bar_chart, column_chart, share_chart
from linehaul.analysis.database import Database
from linehaul.analysis.sources import ReadCounts
from linehaul.analysis.stats import Stats, TimeWindow, count_by

__all__ = ["CHARTS", "ReportData", "gather_report", "render_report", "write_report"]

CHARTS = (
    "downloads-over-time",
    "installers",
    "python-versions",
    "operating-systems",
    "ci-share",
    "top-projects",
)
"""The ``data-chart`` names of the report's charts, in page order."""

_TOP = 10
_TOP_PROJECTS = 15
_HOURLY_UP_TO = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report shows, gathered from the database."""

    title: str
    counts: ReadCounts
    first: datetime | None
    last: datetime | None
    bucket: str  # "hour" or "day"
    over_time: tuple[tuple[datetime, int], ...]
    installers: Stats
    pythons: Stats
    systems: Stats
    ci: Stats
    projects: Stats


def _over_time(database: Database, window: TimeWindow) -> tuple[str, tuple[tuple[datetime, int], ...]]:
    condition, parameters = window.condition()
    span = database.query(
        f"SELECT min(timestamp), max(timestamp) FROM file_downloads WHERE {condition}", parameters
    )
    first, last = span.rows[0]
    if first is None:
        return "hour", ()
    bucket = "hour" if last - first <= _HOURLY_UP_TO else "day"
    counted = database.query(
        f"SELECT date_trunc('{bucket}', timestamp) AS bucket, count(*) FROM file_downloads "
        f"WHERE {condition} GROUP BY bucket",
        parameters,
    )
    counts = {moment.astimezone(UTC): int(count) for moment, count in counted.rows}
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    moment, end, points = min(counts), max(counts), []
    while moment <= end:  # every bucket, the empty ones too
        points.append((moment, counts.get(moment, 0)))
        moment += step
    return bucket, tuple(points)


def gather_report(
    database: Database, *, title: str = "PyPI downloads", window: TimeWindow | None = None
) -> ReportData:
    """Query what the report shows."""
    window = window or TimeWindow()
    condition, parameters = window.condition()
    span = database.query(
        f"SELECT min(timestamp), max(timestamp) FROM file_downloads WHERE {condition}", parameters
    )
    bucket, points = _over_time(database, window)
    return ReportData(
        title=title,
        counts=database.counts,
        first=span.rows[0][0],
        last=span.rows[0][1],
        bucket=bucket,
        over_time=points,
        installers=count_by(database, "installer", top=_TOP, window=window),
        pythons=count_by(database, "python", top=_TOP, window=window),
        systems=count_by(database, "system", top=_TOP, window=window),
        ci=count_by(database, "ci", window=window),
        projects=count_by(database, "project", top=_TOP_PROJECTS, window=window),
    )


def _items(stats: Stats) -> list[tuple[str, int]]:
    """(label, count) for a bar chart: unknown values as "unknown", the rest as "other"."""
    items = [("unknown" if count.value is None else str(count.value), count.count) for count in stats.counts]
    rest = stats.total - sum(count for _, count in items)
    return [*items, ("other", rest)] if rest else items


def _ci_parts(stats: Stats) -> list[tuple[str, int, str]]:
    by_value = {count.value: count.count for count in stats.counts}
    return [("CI", by_value.get(True, 0), ORANGE), ("not CI", by_value.get(False, 0), BLUE),
            ("unknown (not reported)", by_value.get(None, 0), GREY)]  # fmt: skip


def _moment(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _bucket_label(moment: datetime, bucket: str) -> str:
    """Hours as 14:00, and the first hour of each day as its date (01-08), so days can be told apart."""
    return moment.strftime("%H:00" if bucket == "hour" and moment.hour else "%m-%d")


_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; padding: 28px 32px 40px; background: #f4f6f9; color: #1f2733;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; }
header h1 { margin: 0 0 2px; font-size: 24px; }
header p { margin: 0; color: #5b6676; }
.tiles { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin: 18px 0 20px; }
.tile { background: #fff; border: 1px solid #e1e5eb; border-radius: 10px; padding: 10px 14px; }
.tile b { display: block; font-size: 20px; }
.tile span { color: #5b6676; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #e1e5eb; border-radius: 10px; padding: 14px 18px; }
figure.wide { grid-column: 1 / -1; }
figcaption { font-weight: 600; margin-bottom: 8px; }
figcaption small { font-weight: 400; color: #5b6676; margin-left: 6px; }
svg.chart { display: block; overflow: visible; }
svg text { font-size: 12px; fill: #1f2733; }
svg text.axis, svg text.value { fill: #5b6676; }
svg line.grid { stroke: #e6e9ee; stroke-width: 1; }
footer { margin-top: 20px; color: #8a93a0; font-size: 12px; }
"""


def _figures(data: ReportData) -> list[tuple[str, str, str, str]]:
    """(CSS class, caption, note, SVG) of each chart, in the order of :data:`CHARTS`."""
    downloads = data.installers.total
    over_time = [(_bucket_label(moment, data.bucket), count) for moment, count in data.over_time]
    installers, pythons = _items(data.installers), _items(data.pythons)
    systems, projects = _items(data.systems), _items(data.projects)
    return [
        (
            "wide",
            "Downloads over time",
            f"per {data.bucket}, UTC",
            column_chart(CHARTS[0], "Downloads", over_time),
        ),
        (
            "",
            "Installers",
            "downloads by installer",
            bar_chart(CHARTS[1], "Installers", installers, downloads),
        ),
        ("", "Python versions", "major.minor", bar_chart(CHARTS[2], "Python versions", pythons, downloads)),
        ("", "Operating systems", "by system name", bar_chart(CHARTS[3], "Systems", systems, downloads)),
        ("", "CI share", "as installers report it", share_chart(CHARTS[4], "CI share", _ci_parts(data.ci))),
        (
            "wide",
            "Top projects",
            f"the {_TOP_PROJECTS} most downloaded",
            bar_chart(CHARTS[5], "Top projects", projects, downloads, width=1120),
        ),
    ]


def _tiles(data: ReportData) -> list[tuple[str, str]]:
    counts = data.counts
    ci_share = next((count.share for count in data.ci.counts if count.value is True), 0.0)
    return [
        (f"{counts.lines:,}", "lines read"),
        (f"{data.installers.total:,}", "downloads"),
        (f"{counts.simple_requests:,}", "simple requests"),
        (f"{counts.unprocessed:,}", "unprocessed lines"),
        (f"{counts.ignored:,}", "ignored (bots)"),
        (f"{100 * ci_share:.1f}%", "downloads from CI"),
    ]


def render_report(data: ReportData) -> str:
    """The report as one HTML page."""
    figures = _figures(data)
    body = "".join(
        f'<figure class="{kind}" id="{name}"><figcaption>{escape(caption)}<small>{escape(note)}</small>'
        f"</figcaption>{svg}</figure>"
        for name, (kind, caption, note, svg) in zip(CHARTS, figures, strict=True)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{escape(data.title)}</h1>"
        f"<p>{_moment(data.first)} to {_moment(data.last)} · {data.counts.files} log file(s)</p></header>"
        '<section class="tiles">'
        + "".join(
            f'<div class="tile"><b>{value}</b><span>{label}</span></div>' for value, label in _tiles(data)
        )
        + f'</section><main class="grid">{body}</main>'
        f"<footer>Written by linehaul report on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</footer>"
        "</body></html>\n"
    )


def write_report(
    database: Database,
    path: str | os.PathLike[str],
    *,
    title: str = "PyPI downloads",
    window: TimeWindow | None = None,
) -> ReportData:
    """Write the report of ``database`` to ``path`` (one HTML file); returns what it shows."""
    data = gather_report(database, title=title, window=window)
    Path(path).write_text(render_report(data), encoding="utf-8")
    return data
