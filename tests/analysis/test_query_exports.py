"""``linehaul query`` exports: CSV and NDJSON written by DuckDB, every row, records flattened into dotted
columns in CSV, streamed (the first row leaves before the last is read, whatever the size), on the log
and on its Parquet. (Their speed against DuckDB's own COPY: benchmarks/bench_analysis.py --query-export.)"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from linehaul.cli import main
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.analysis.questions import Row, Week

Capture = pytest.CaptureFixture[str]
SOURCES = ["log", "parquet"]
_ALL = "SELECT * FROM file_downloads"


def _source(week: Week, source: str) -> str:
    return str(week.log if source == "log" else week.parquet)


def _query(capsys: Capture, *argv: str) -> str:
    status = main(["query", *argv])
    out, err = capsys.readouterr()
    assert (status, err) == (0, ""), err
    return out


def _paths(fields: list[Any], prefix: str = "") -> list[str]:
    """The dotted names of the leaves of a schema's fields, in order."""
    names: list[str] = []
    for field in fields:
        name = prefix + field["name"]
        names += _paths(field["fields"], name + ".") if field["type"] == "RECORD" else [name]
    return names


def _leaf(row: Row, path: str) -> Any:
    value: Any = row
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("source", SOURCES)
def test_csv_has_every_row_and_a_column_per_field(source: str, week: Week, capsys: Capture) -> None:
    table = list(csv.reader(io.StringIO(_query(capsys, _source(week, source), _ALL, "--csv"))))
    columns = _paths([dict(field) for field in load_schema(Table.FILE_DOWNLOADS)])
    assert table[0] == columns  # details.installer.name, not a record as text
    assert len(table) - 1 == len(week.downloads)
    for cells, row in zip(table[1:], week.downloads, strict=True):  # in the order of the log
        expected = [_cell(_leaf(row, column)) for column in columns]
        assert cells[1:] == expected[1:]
        assert datetime.fromisoformat(cells[0] + ":00") == datetime.fromisoformat(
            row["timestamp"].replace("Z", "+00:00")
        )


@pytest.mark.parametrize("source", SOURCES)
def test_ndjson_has_every_row_with_its_records(source: str, week: Week, capsys: Capture) -> None:
    lines = _query(capsys, _source(week, source), _ALL, "--ndjson").splitlines()
    assert len(lines) == len(week.downloads)

    def pruned(value: Any) -> Any:  # parse leaves null fields out of its rows
        if isinstance(value, dict):
            kept = {key: pruned(item) for key, item in value.items() if item is not None}
            return {key: item for key, item in kept.items() if item != {}}
        return value

    for line, row in zip(lines, week.downloads, strict=True):
        record = json.loads(line)
        assert pruned({**record, "timestamp": None}) == pruned({**row, "timestamp": None})


def test_json_is_the_array_it_was(week: Week, capsys: Capture) -> None:
    sql = (
        "SELECT project, count(*) AS n, min(timestamp) AS first FROM file_downloads "
        "GROUP BY ALL ORDER BY n DESC, project"
    )
    records = json.loads(_query(capsys, str(week.parquet), sql, "--json"))
    assert len(records) == len({row["project"] for row in week.downloads})
    assert records[0]["first"].endswith("+00:00")
    assert json.loads(_query(capsys, str(week.parquet), "SELECT 1 AS a WHERE false", "--json")) == []
    assert _query(capsys, str(week.parquet), "SELECT 1 AS a WHERE false", "--csv") == "a\n"


@pytest.mark.parametrize("form", ["--csv", "--ndjson", "--json"])
def test_exports_are_streamed(form: str, week: Week) -> None:
    """The first row of a result too big for any memory arrives, and the copy stops when the reader goes."""
    command = [
        sys.executable,
        "-m",
        "linehaul",
        "query",
        str(week.parquet),
        "SELECT * FROM range(1000000000000)",
        form,
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        watchdog = threading.Timer(120, process.kill)  # a copy that is not streamed never gives a row
        watchdog.start()
        try:
            first = process.stdout.readline()
            second = process.stdout.readline()
            process.stdout.close()  # like | head -2
            errors = process.stderr.read().decode()
            status = process.wait()
        finally:
            watchdog.cancel()
    assert (status, errors) == (0, "")
    assert {"--csv": [b"range\n", b"0\n"], "--ndjson": [b'{"range":0}\n', b'{"range":1}\n'],
            "--json": [b"[\n", b"  {\n"]}[form] == [first, second]  # fmt: skip


def test_an_export_appends_to_a_file_opened_for_appending(week: Week, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("kept\n")
    command = [sys.executable, "-m", "linehaul", "query", str(week.parquet), "SELECT 42 AS answer", "--csv"]
    with open(target, "ab") as appending:  # as >> opens it
        subprocess.run(command, stdout=appending, check=True)
    assert target.read_text() == "kept\nanswer\n42\n"


def test_ndjson_goes_alone(week: Week, capsys: Capture) -> None:
    assert main(["query", str(week.parquet), "SELECT 1", "--ndjson", "--csv"]) == 2
    assert (
        capsys.readouterr().err
        == "linehaul query: --ndjson goes alone, without --json, --csv or --markdown\n"
    )
