"""Shared fixtures of the analysis tests: small sample logs (written once per run) and what they hold."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from linehaul import Download, Ignored, LineError, parse_line, to_row
from linehaul.analysis import Database, open_database
from linehaul.logs.sample import sample_lines, write_sample
from tests.analysis.questions import Week, write_week

FIRST_DAY = datetime(2026, 11, 1, tzinfo=UTC)
SECOND_DAY = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    """What a list of lines should give, worked out line by line with parse_line (the reference)."""

    downloads: list[dict[str, Any]]
    simple: list[dict[str, Any]]
    unprocessed: int
    ignored: int


def expected_of(lines: list[str]) -> Expected:
    downloads: list[dict[str, Any]] = []
    simple: list[dict[str, Any]] = []
    unprocessed = ignored = 0
    for line in lines:
        try:
            outcome = parse_line(line)
        except LineError:
            unprocessed += 1
            continue
        if isinstance(outcome, Ignored):
            ignored += 1
        else:
            (downloads if isinstance(outcome, Download) else simple).append(to_row(outcome))
    return Expected(downloads, simple, unprocessed, ignored)


def installer_of(row: dict[str, Any]) -> str | None:
    """The installer name of a file_downloads row (None for an unknown agent)."""
    details = row["details"]
    return details["installer"]["name"] if details and details["installer"] else None


@dataclass(frozen=True)
class Logs:
    """Two sample logs, one per UTC day (gzip and plain), and the lines they hold in order."""

    first: Path
    second: Path
    lines: list[str]

    @property
    def paths(self) -> list[str]:
        return [str(self.first), str(self.second)]


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Logs:
    directory = tmp_path_factory.mktemp("logs")
    first = write_sample(directory / "day1.log.gz", lines=3000, seed=21, start=FIRST_DAY)
    second_lines = list(sample_lines(2000, seed=22, start=SECOND_DAY))
    second = directory / "day2.log"
    second.write_text("\n".join(second_lines) + "\n")
    lines = list(sample_lines(3000, seed=21, start=FIRST_DAY)) + second_lines
    return Logs(first, second, lines)


@pytest.fixture(scope="session")
def expected(logs: Logs) -> Expected:
    return expected_of(logs.lines)


@pytest.fixture(scope="session")
def database(logs: Logs) -> Iterator[Database]:
    with open_database(logs.paths) as opened:
        yield opened


@pytest.fixture(scope="session")
def week(tmp_path_factory: pytest.TempPathFactory) -> Week:
    return write_week(tmp_path_factory.mktemp("week"))
