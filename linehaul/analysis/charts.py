"""Charts as inline SVG, drawn in Python: no JavaScript, no fonts or styles from the network.

Each chart is one ``<svg class="chart" data-chart="NAME" data-marks="N">`` whose ``N`` data marks are
``<rect class="mark">`` elements, each with a ``<title>`` (the browser's tooltip) giving its label and
value, so a test, or a person, can check that every chart was drawn and what it says. Text and colours
come from the page's CSS classes (``axis``, ``label``, ``value``), fills from the ``fill`` attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["BLUE", "GREY", "ORANGE", "PALE_BLUE", "bar_chart", "column_chart", "share_chart"]

BLUE, ORANGE, GREY, PALE_BLUE = "#3b6fd4", "#e07b39", "#b8bec9", "#a9c0ec"
Item = tuple[str, int]


def _number(value: int) -> str:
    return f"{value:,}"


def _percent(part: int, total: int) -> str:
    return f"{100 * part / total:.1f}%" if total else "0.0%"


def _nice_step(maximum: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) that covers ``maximum`` in about ``ticks`` steps."""
    raw = max(maximum, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return int(next(factor * power for factor in (1, 2, 5, 10) if factor * power >= raw)) or 1


def _svg(name: str, marks: int, width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" data-marks="{marks}" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        + "".join(body)
        + "</svg>"
    )


def _empty(name: str, title: str, width: int) -> str:
    body = [f'<text class="label" x="{width / 2}" y="40" text-anchor="middle">no rows in this period</text>']
    return _svg(name, 0, width, 70, title, body)


def column_chart(
    name: str,
    title: str,
    points: Sequence[Item],
    *,
    width: int = 1120,
    height: int = 260,
    partial: Mapping[int, str] | None = None,
) -> str:
    """Vertical columns over time (or any ordered buckets): ``points`` are (label, count); the columns of
    ``partial`` (index → why) are pale, their tooltip says why (a day the data covers in part)."""
    if not points or not any(count for _, count in points):
        return _empty(name, title, width)
    left, right, top, bottom = 64, 12, 14, 34
    plot_width, plot_height = width - left - right, height - top - bottom
    step = _nice_step(max(count for _, count in points))
    ceiling = step * math.ceil(max(count for _, count in points) / step)
    body: list[str] = []
    for tick in range(0, ceiling + 1, step):
        y = top + plot_height - plot_height * tick / ceiling
        body.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text class="axis" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    slot = plot_width / len(points)
    label_every = max(1, math.ceil(len(points) / 12))
    partial = partial or {}
    for index, (label, count) in enumerate(points):
        bar_height = plot_height * count / ceiling
        x, y = left + index * slot + slot * 0.12, top + plot_height - bar_height
        why = f" (partial: {partial[index]})" if index in partial else ""
        body.append(
            f'<rect class="mark{" partial" if why else ""}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{slot * 0.76:.1f}" height="{max(bar_height, 0.5):.1f}" '
            f'fill="{PALE_BLUE if why else BLUE}" rx="1.5">'
            f"<title>{escape(label)}: {_number(count)}{escape(why)}</title></rect>"
        )
        if index % label_every == 0:
            body.append(
                f'<text class="axis" x="{left + (index + 0.5) * slot:.1f}" y="{height - 12}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    return _svg(name, len(points), width, height, title, body)


def bar_chart(name: str, title: str, items: Sequence[Item], total: int, *, width: int = 540) -> str:
    """Horizontal bars, in the order given: ``items`` are (label, count), shares are of ``total``; the bars
    of "other" and "unknown" are grey."""
    if not items or not total:
        return _empty(name, title, width)
    label_width, value_width, row, top = 130, 118, 26, 6
    bar_space = width - label_width - value_width - 16
    largest = max(count for _, count in items) or 1
    body: list[str] = []
    for index, (label, count) in enumerate(items):
        y = top + index * row
        bar = max(bar_space * count / largest, 1.5)
        shown = label if len(label) <= 18 else label[:17] + "…"
        body.append(
            f'<text class="label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="mark" x="{label_width}" y="{y + 4}" width="{bar:.1f}" height="{row - 9}" '
            f'fill="{GREY if label in ("other", "unknown") else BLUE}" rx="2">'
            f"<title>{escape(label)}: {_number(count)} ({_percent(count, total)})</title></rect>"
            f'<text class="value" x="{label_width + bar + 6:.1f}" y="{y + 16}">'
            f"{_number(count)} · {_percent(count, total)}</text>"
        )
    return _svg(name, len(items), width, top * 2 + row * len(items), title, body)


def share_chart(name: str, title: str, parts: Sequence[tuple[str, int, str]], *, width: int = 540) -> str:
    """One bar split into ``parts`` (label, count, colour) in proportion, with a legend below it."""
    total = sum(count for _, count, _ in parts)
    shown = [(label, count, colour) for label, count, colour in parts if count]
    if not total:
        return _empty(name, title, width)
    body: list[str] = []
    x = 0.0
    for label, count, colour in shown:
        part = width * count / total
        body.append(
            f'<rect class="mark" x="{x:.1f}" y="8" width="{part:.1f}" height="36" fill="{colour}">'
            f"<title>{escape(label)}: {_number(count)} ({_percent(count, total)})</title></rect>"
        )
        x += part
    for index, (label, count, colour) in enumerate(parts):
        y = 70 + index * 24
        body.append(
            f'<rect x="0" y="{y - 11}" width="13" height="13" rx="2" fill="{colour}"/>'
            f'<text class="label" x="20" y="{y}">{escape(label)}</text>'
            f'<text class="value" x="{width}" y="{y}" text-anchor="end">'
            f"{_number(count)} · {_percent(count, total)}</text>"
        )
    return _svg(name, len(shown), width, 70 + 24 * len(parts) - 6, title, body)
