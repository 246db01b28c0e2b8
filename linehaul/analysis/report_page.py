"""The report's page: :func:`render_report` turns :class:`~linehaul.analysis.report.ReportData` into one
self-contained HTML document (inline CSS, SVG charts from :mod:`linehaul.analysis.charts`, no script), and
:func:`write_report` gathers the data and writes the page."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from linehaul.analysis.charts import GREY, ORANGE, bar_chart, column_chart, share_chart
from linehaul.analysis.engine import Engine
from linehaul.analysis.report import TOP_LONG, ReportData, gather_report
from linehaul.analysis.selection import Mirrors, Selection, TimeWindow
from linehaul.analysis.stats import Stats

__all__ = ["render_report", "write_report"]

_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; padding: 28px 32px 40px; background: #f4f6f9; color: #1f2733;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; }
header h1 { margin: 0 0 2px; font-size: 24px; }
header p { margin: 0; color: #5b6676; }
header p.empty, header p.notice { margin-top: 10px; padding: 10px 14px; background: #fff4e5;
                 border: 1px solid #f0c58a; border-radius: 8px; color: #7a4b00; }
.tiles { display: grid; grid-template-columns: repeat(6, 1fr); gap: 12px; margin: 18px 0 20px; }
.tile { background: #fff; border: 1px solid #e1e5eb; border-radius: 10px; padding: 10px 14px; }
.tile b { display: block; font-size: 20px; }
.tile span { color: #5b6676; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
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

# chart name → (caption, note) of the bar charts
_CAPTIONS = {
    "installers": ("Installers", "downloads by installer"),
    "python-versions": ("Python versions", "major.minor"),
    "operating-systems": ("Operating systems", "by system name"),
    "countries": ("Countries", "ISO country code of the client"),
    "top-projects": ("Top projects", f"the {TOP_LONG} most downloaded"),
    "versions": ("Versions", f"the {TOP_LONG} most downloaded"),
}


def _items(stats: Stats) -> list[tuple[str, int]]:
    """(label, count) for a bar chart: unknown values as "unknown", the rest as "other"."""
    items = [("unknown" if count.value is None else str(count.value), count.count) for count in stats.counts]
    rest = stats.total - sum(count for _, count in items)
    return [*items, ("other", rest)] if rest else items


def _ci_parts(stats: Stats) -> list[tuple[str, int, str]]:
    """pip and uv report ``ci: true`` or nothing at all (never false): CI, and everything else."""
    ci = sum(count.count for count in stats.counts if count.value is True)
    return [("CI", ci, ORANGE), ("not reported as CI", stats.total - ci, GREY)]


def _share(stats: Stats, value: object) -> float:
    return next((count.share for count in stats.counts if count.value is value), 0.0)


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _bucket_label(moment: datetime, bucket: str) -> str:
    """Hours as 14:00, and the first hour of each day as its date (01-08), so days can be told apart."""
    return moment.strftime("%H:00" if bucket == "hour" and moment.hour else "%m-%d")


def _figure(data: ReportData, name: str) -> tuple[str, str, str, str]:
    """(CSS class, caption, note, SVG) of one chart."""
    if name == "downloads-over-time":
        points = [(_bucket_label(moment, data.bucket), count) for moment, count in data.over_time]
        note = f"per {data.bucket}, UTC"
        partial = {}
        if data.bucket == "day":
            whys = {partial.value: partial.why for partial in data.coverage.partial_days()}
            partial = {
                index: whys[moment.date()]
                for index, (moment, _) in enumerate(data.over_time)
                if moment.date() in whys
            }
            if partial:
                note += "; pale: a day the data covers in part"
        return "wide", "Downloads over time", note, column_chart(name, "Downloads", points, partial=partial)
    if name == "ci-share":
        chart = share_chart(name, "CI share", _ci_parts(data.ci))
        return "", "CI share", "as installers report it (pip, uv: ci true or nothing)", chart
    caption, note = _CAPTIONS[name]
    return "", caption, note, bar_chart(name, caption, _items(data.bars[name]), data.downloads)


def _tiles(data: ReportData) -> list[tuple[str, str]]:
    simple = "n/a" if data.simple_requests is None else f"{data.simple_requests:,}"
    many = "versions" if data.selection.projects else "projects"
    grouped = data.bars["versions" if data.selection.projects else "top-projects"]
    return [
        (f"{data.downloads:,}", "downloads"),
        (simple, "simple requests"),
        (f"{grouped.groups:,}", many),
        (f"{data.bars['countries'].groups:,}", "countries"),
        (f"{100 * _share(data.ci, True):.1f}%", "downloads from CI"),
        (f"{100 * _share(data.mirrors, True):.1f}%", "from mirrors"),
    ]


def _subtitle(data: ReportData) -> str:
    """Which rows the page is about, and what was read."""
    parts = []
    selection = data.selection
    if selection.projects:
        parts.append("project " + ", ".join(selection.projects))
    if data.first is not None and data.last is not None:
        parts.append(f"{_moment(data.first)} to {_moment(data.last)}")
    if not selection.window.is_whole:
        default = " (BigQuery's last 30 days, by default)" if data.coverage.default else ""
        parts.append(f"window {selection.window.describe()}{default}")
    if selection.mirrors is Mirrors.EXCLUDE:
        parts.append("without mirrors")
    elif selection.mirrors is Mirrors.ONLY:
        parts.append("mirrors only")
    if selection.where:
        parts.append(f"where {selection.where}")
    parts.append(data.source)
    return " · ".join(parts)


def _empty_notice(data: ReportData) -> str:
    if data.downloads:
        return ""
    where = "" if data.selection.window.is_whole else f" in {data.selection.window.describe()}"
    covers = (
        f"The data covers {data.covers.first} to {data.covers.last}."
        if data.covers
        else "The data holds no download at all."
    )
    return f'<p class="empty">No downloads selected{escape(where)}. {covers}</p>'


def _notices(data: ReportData) -> str:
    """The days the data covers in part, and the inputs read only up to their damage."""
    notes = [
        f"{partial.value} is partial: {partial.why}; its downloads are not a whole day's."
        for partial in data.coverage.partial_days()
    ]
    notes += [
        f"Damaged input: {damage}. Its lines before the damage are counted."
        for damage in data.coverage.damaged
    ]
    return "".join(f'<p class="notice">{escape(note)}</p>' for note in notes)


def render_report(data: ReportData) -> str:
    """The report as one HTML page."""
    body = ""
    for name in data.charts:
        kind, caption, note, svg = _figure(data, name)
        body += (
            f'<figure class="{kind}" id="{name}"><figcaption>{escape(caption)}<small>{escape(note)}</small>'
            f"</figcaption>{svg}</figure>"
        )
    tiles = "".join(
        f'<div class="tile"><b>{value}</b><span>{label}</span></div>' for value, label in _tiles(data)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{_STYLE}</style></head><body>"
        f"<header><h1>{escape(data.title)}</h1><p>{escape(_subtitle(data))}</p>{_empty_notice(data)}"
        f"{_notices(data)}</header>"
        f'<section class="tiles">{tiles}</section><main class="grid">{body}</main>'
        f"<footer>Written by linehaul report on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.</footer>"
        "</body></html>\n"
    )


def write_report(
    engine: Engine,
    path: str | os.PathLike[str],
    *,
    title: str = "PyPI downloads",
    window: TimeWindow | None = None,
    selection: Selection | None = None,
) -> ReportData:
    """Write the report of what ``engine`` holds to ``path`` (one HTML file); returns what it shows."""
    data = gather_report(engine, title=title, window=window, selection=selection)
    Path(path).write_text(render_report(data), encoding="utf-8")
    return data
