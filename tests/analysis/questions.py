"""The analysts' questions of issue 12, each one ``linehaul stats`` command, and the answer worked out
independently: counted in Python over the NDJSON rows ``linehaul parse`` writes (not by the same SQL).

Shared by the tests on files (tests/analysis/test_questions.py) and on BigQuery (tests/integration).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Row = dict[str, Any]
Record = dict[str, Any]

MIRRORS = {"bandersnatch", "z3c.pypimirror", "Artifactory", "devpi", "Nexus", "pep381client"}


def _details(row: Row) -> dict[str, Any]:
    return row.get("details") or {}


def _name(record: dict[str, Any] | None) -> Any:
    return (record or {}).get("name")


def _python(row: Row, pattern: str) -> Any:
    text = _details(row).get("python")
    if text is None:
        return None
    match = re.match(pattern, text)
    return match.group(0) if match else text


VALUES: dict[str, Callable[[Row], Any]] = {
    "project": lambda row: row["project"],
    "installer": lambda row: _name(_details(row).get("installer")),
    "python": lambda row: _python(row, r"[0-9]+\.[0-9]+"),
    "system": lambda row: _name(_details(row).get("system")),
    "distro": lambda row: _name(_details(row).get("distro")),
    "cpu": lambda row: _details(row).get("cpu"),
    "ci": lambda row: _details(row).get("ci"),
    "day": lambda row: row["timestamp"][:10],
}
"""Each field the questions use, read from a row as ``schemas/`` shapes it (JSON values, days as text)."""

VERSIONS = {"python"}


def stats_rows(out: str) -> list[Record]:
    """The rows of what ``linehaul stats --json`` printed (beside them: the window, the total, ...)."""
    document = json.loads(out)
    assert isinstance(document, dict), document
    rows: list[Record] = document["rows"]
    return rows


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _sort_key(field_name: str, value: Any) -> tuple[Any, ...]:
    """Values in order, None last; versions with their numbers compared as numbers."""
    if value is None:
        return (1,)
    if field_name in VERSIONS:
        return (0, re.sub(r"[0-9]+", lambda match: match.group(0).rjust(10, "0"), value), value)
    return (0, value)


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Question:
    """A question: its ``stats`` arguments, and how to answer it from the rows."""

    name: str
    arguments: tuple[str, ...]
    fields: tuple[str, ...]
    keep: Callable[[Row], bool] = lambda row: True
    pivot: str | None = None
    top: int | None = None
    by_time: bool = False  # the first field is a day: in time order, not by count
    notes: Sequence[str] = field(default_factory=tuple)

    def answer(self, rows: Sequence[Row]) -> list[Record]:
        """What ``stats ... --json`` should print, counted here."""
        kept = [row for row in rows if self.keep(row)]
        total = len(kept)
        groups = Counter(tuple(VALUES[name](row) for name in self.fields) for row in kept)

        def key(item: tuple[tuple[Any, ...], int]) -> tuple[Any, ...]:
            values, count = item
            ordered = tuple(_sort_key(name, value) for name, value in zip(self.fields, values, strict=True))
            return ordered if self.by_time else ((-count,), *ordered)

        chosen = sorted(groups.items(), key=key)[: self.top]
        cells: dict[tuple[Any, ...], Counter[Any]] = {}
        if self.pivot is not None:
            spread = VALUES[self.pivot]
            for row in kept:
                cells.setdefault(tuple(VALUES[name](row) for name in self.fields), Counter())[
                    spread(row)
                ] += 1
        columns = {value for values, _ in chosen for value in cells.get(values, ())}  # a cell for each
        records = []
        for values, count in chosen:
            record: Record = dict(zip(self.fields, values, strict=True))
            if self.pivot is not None:
                record[self.pivot] = {_text(value): cells[values][value] for value in columns}
            record["count"], record["share"] = count, round(count / total, 6)
            if self.by_time:  # the sample covers whole days: no partial one
                record["partial"] = None
            records.append(record)
        return records


def _project(name: str) -> Callable[[Row], bool]:
    return lambda row: normalised(row["project"]) == normalised(name)


QUESTIONS = (
    Question("top projects", ("--by", "project", "--top", "5"), ("project",), top=5),
    Question(
        "one project by Python minor",
        ("--project", "Boto3", "--by", "python", "--top", "0"),
        ("python",),
        keep=_project("boto3"),
    ),
    Question(
        "one project by installer and Python together",
        ("--project", "numpy", "--by", "installer,python", "--top", "0"),
        ("installer", "python"),
        keep=_project("numpy"),
    ),
    Question(
        "CI share per installer",
        ("--by", "installer", "--pivot", "ci", "--top", "0"),
        ("installer",),
        pivot="ci",
    ),
    Question(
        "one project per day over a week",
        ("--project", "requests", "--by", "day", "--days", "7"),
        ("day",),
        keep=_project("requests"),
        by_time=True,
    ),
    Question(
        "OS, distro and CPU of one project",
        ("--project", "urllib3", "--by", "system", "--by", "distro,cpu", "--top", "0"),
        ("system", "distro", "cpu"),
        keep=_project("urllib3"),
    ),
    Question(
        "downloads without mirrors (rows without an installer kept)",
        ("--by", "installer", "--exclude-mirrors", "--top", "0"),
        ("installer",),
        keep=lambda row: VALUES["installer"](row) not in MIRRORS,
    ),
)
"""Every question of issue 12's "Done when" but the last (the same table as Markdown, CSV and JSON)."""


@dataclass(frozen=True)
class Week:
    """A week of sample log (written by ``linehaul sample --start 2026-11-01 --days 7``), and what
    ``linehaul parse`` made of it: NDJSON rows (read back as dicts) and Parquet."""

    log: Path
    ndjson: Path  # the folder of parse's NDJSON output
    parquet: Path  # the folder of parse's Parquet output
    downloads: list[Row]
    simple: list[Row]


WEEK_START = "2026-11-01"


def write_week(directory: Path, lines: int = 30_000) -> Week:
    """Write the week's log into ``directory`` and parse it, as a person would, with the command line."""
    from linehaul.cli import main

    log = directory / "week.log.gz"
    sample = ["sample", str(log), "--lines", str(lines), "--seed", "7", "--start", WEEK_START, "--days", "7"]
    assert main(sample) == 0
    assert main(["parse", "--quiet", "-o", str(directory / "ndjson"), str(log)]) == 0
    assert main(["parse", "--quiet", "--format", "parquet", "-o", str(directory / "parquet"), str(log)]) == 0

    def rows(name: str) -> list[Row]:
        with open(directory / "ndjson" / name) as lines:
            return [json.loads(line) for line in lines]

    downloads, simple = rows("file_downloads.ndjson"), rows("simple_requests.ndjson")
    return Week(log, directory / "ndjson", directory / "parquet", downloads, simple)
