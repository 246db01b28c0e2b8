"""``linehaul aggregate``: the daily tables of logs as Parquet, every row the count of the rows (counted in
Python), with BigQuery's columns; and ``linehaul query`` running BigQuery's SQL over them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linehaul.cli import main
from linehaul.daily.shape import DAILY_TABLES
from tests.analysis.conftest import Expected, Logs
from tests.daily_counts import differences

Capture = pytest.CaptureFixture[str]
_ARROW_TYPES = {"DATE": "date32[day]", "STRING": "string", "INTEGER": "int64", "BOOLEAN": "bool"}


@pytest.fixture(scope="module")
def daily_dir(logs: Logs, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("daily")
    assert main(["aggregate", *logs.paths, "-o", str(directory), "--quiet"]) == 0
    return directory


def test_every_daily_table_is_written_with_the_counts_of_the_rows(
    daily_dir: Path, expected: Expected
) -> None:
    for table in DAILY_TABLES:
        written = pq.read_table(daily_dir / f"{table.name}.parquet")
        assert [(field.name, str(field.type)) for field in written.schema] == [
            (column["name"], _ARROW_TYPES[column["type"]]) for column in table.schema
        ]
        assert differences(table, expected.downloads, written.to_pylist()) == []


def test_it_says_what_it_wrote(logs: Logs, tmp_path: Path, capsys: Capture) -> None:
    assert main(["aggregate", *logs.paths, "-o", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{tmp_path}/downloads_daily.parquet: ")
    assert out[-1].startswith(f"daily tables: 11 in {tmp_path}, ")
    assert out[-1].endswith("rows; the downloads cover 2026-11-01 to 2026-11-02")


def test_query_runs_bigquerys_sql_over_them(daily_dir: Path, logs: Logs, capsys: Capture) -> None:
    sql = (
        "SELECT installer, SUM(downloads) AS count FROM downloads_by_installer_daily "
        "WHERE project = 'requests' GROUP BY installer ORDER BY count DESC, installer NULLS LAST"
    )
    assert main(["query", str(daily_dir), sql, "--json"]) == 0
    from_daily = json.loads(capsys.readouterr().out)
    assert main(["stats", *logs.paths, "--project", "requests", "--by", "installer", "--order", "count",
                 "--json"]) == 0  # fmt: skip
    from_rows = json.loads(capsys.readouterr().out)["rows"]
    assert sorted((row["installer"] or "", row["count"]) for row in from_daily) == sorted(
        (row["installer"] or "", row["count"]) for row in from_rows
    )


def test_query_takes_daily_files_beside_rows(daily_dir: Path, logs: Logs, capsys: Capture) -> None:
    sql = (
        "SELECT (SELECT SUM(downloads) FROM downloads_daily) = (SELECT COUNT(*) FROM file_downloads) AS same"
    )
    assert main(["query", str(daily_dir / "downloads_daily.parquet"), *logs.paths, sql, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"same": True}]
