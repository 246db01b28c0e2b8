"""The embedded DuckDB database: views over the rows of log files, stats on them, SQL errors."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from linehaul.analysis import DIMENSIONS, Database, QueryError, TimeWindow, UnknownFieldError, count_by
from linehaul.cli import main
from linehaul.logs.files import LogFileError
from linehaul.tables import Table
from tests.analysis.conftest import FIRST_DAY, SECOND_DAY, Expected, Logs, installer_of


def test_the_views_answer_a_known_query(database: Database, expected: Expected) -> None:
    result = database.query(
        "SELECT details.installer.name AS installer, count(*) AS n FROM file_downloads GROUP BY ALL"
    )
    assert result.columns == ("installer", "n")
    assert dict(result.rows) == Counter(map(installer_of, expected.downloads))
    simple = database.query("SELECT count(*) FROM simple_requests").rows
    assert simple == ((len(expected.simple),),)


def test_timestamps_are_utc_and_days_are_utc_days(database: Database, expected: Expected) -> None:
    result = database.query("SELECT min(timestamp), CAST(min(timestamp) AS DATE) FROM file_downloads")
    first, day = result.rows[0]
    assert first.utcoffset().total_seconds() == 0
    assert first.strftime("%Y-%m-%dT%H:%M:%SZ") == min(row["timestamp"] for row in expected.downloads)
    assert day == FIRST_DAY.date()


def test_sql_errors_carry_duckdbs_message(database: Database) -> None:
    with pytest.raises(QueryError, match=r'(?s)Parser Error: syntax error at or near "SELEC"'):
        database.query("SELEC 1")
    with pytest.raises(QueryError, match=r'Referenced column "nope" not found'):
        database.query("SELECT nope FROM file_downloads")


def test_count_by_installer_and_shares(database: Database, expected: Expected) -> None:
    stats = count_by(database, "installer")
    counted = Counter(map(installer_of, expected.downloads))
    assert {count.value: count.count for count in stats.counts} == counted
    assert [count.count for count in stats.counts] == sorted(counted.values(), reverse=True)
    assert stats.total == len(expected.downloads)
    assert stats.groups == len(counted)
    assert sum(count.share for count in stats.counts) == pytest.approx(1)
    top = count_by(database, "installer", top=3)
    assert top.counts == stats.counts[:3]
    assert top.total == stats.total


@pytest.mark.parametrize("field", list(DIMENSIONS))
def test_every_field_counts_every_row(database: Database, expected: Expected, field: str) -> None:
    stats = count_by(database, field)
    assert sum(count.count for count in stats.counts) == stats.total == len(expected.downloads)


def test_the_time_window_keeps_whole_utc_days(database: Database, expected: Expected) -> None:
    by_day = Counter(row["timestamp"][:10] for row in expected.downloads)
    first, second = FIRST_DAY.date(), SECOND_DAY.date()
    total = sum(by_day.values())
    assert count_by(database, "day").records() == [
        {"day": day, "count": count, "share": round(count / total, 6)}
        for day, count in sorted(by_day.items())
    ]
    assert count_by(database, "project", window=TimeWindow(since=second)).total == by_day[second.isoformat()]
    assert count_by(database, "project", window=TimeWindow(until=first)).total == by_day[first.isoformat()]
    assert count_by(database, "project", window=TimeWindow(since=date(2027, 1, 1))).counts == ()
    with pytest.raises(ValueError, match="ends"):
        TimeWindow(since=second, until=first)


def test_an_unknown_field_lists_the_valid_ones(database: Database) -> None:
    with pytest.raises(UnknownFieldError) as raised:
        count_by(database, "colour")
    assert all(field in str(raised.value) for field in DIMENSIONS)
    with pytest.raises(UnknownFieldError, match="simple requests have no file"):
        count_by(database, "version", table=Table.SIMPLE_REQUESTS)


def test_the_views_over_parse_parquet_output(logs: Logs, database: Database, tmp_path: Path) -> None:
    assert main(["parse", "--format", "parquet", "-o", str(tmp_path), *logs.paths]) == 0
    with Database.from_parquet([tmp_path]) as parquet:
        assert count_by(parquet, "installer") == count_by(database, "installer")
    with pytest.raises(LogFileError, match="no such file"):
        Database.from_parquet([tmp_path / "elsewhere"])
