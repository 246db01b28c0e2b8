"""What stats, query and report read besides logs: Parquet files and folders, NDJSON rows (staged files,
BigQuery exports), told apart by content; and inputs that hold neither rows nor log lines."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linehaul.analysis.inputs import Input, InputKind
from linehaul.cli import main
from linehaul.logs.sample import write_sample
from linehaul.tables import Table
from tests.analysis.questions import VALUES, Week, stats_rows

Capture = pytest.CaptureFixture[str]


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _installers(out: str) -> dict[Any, int]:
    return {record["installer"]: record["count"] for record in stats_rows(out)}


def _bigquery_export(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a BigQuery export writes it: NULL fields left out, timestamps as ``… UTC``."""

    def pruned(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: pruned(item) for key, item in value.items() if item is not None}
        return value

    exported: dict[str, Any] = pruned(row)
    exported["timestamp"] = row["timestamp"].replace("T", " ").replace("Z", " UTC")
    return exported


def test_each_kind_is_told_by_its_content(week: Week, tmp_path: Path) -> None:
    disguised = tmp_path / "rows.log"  # the names say nothing
    shutil.copy(week.ndjson / "file_downloads.ndjson", disguised)
    parquet = tmp_path / "downloads.log.gz"
    shutil.copy(week.parquet / "file_downloads.parquet", parquet)
    log = tmp_path / "log.parquet"
    shutil.copy(week.log, log)
    assert Input.of(str(disguised)).kind is InputKind.ROWS
    assert Input.of(str(parquet)).kind is InputKind.PARQUET
    assert Input.of(str(log)).kind is InputKind.LOG
    simple = Input.of(str(week.ndjson / "simple_requests.ndjson"))
    assert (simple.kind, simple.table) == (InputKind.ROWS, Table.SIMPLE_REQUESTS)


def test_bigquery_exports_gzipped_with_fields_left_out(week: Week, tmp_path: Path, capsys: Capture) -> None:
    export = tmp_path / "export-000000000000.json.gz"
    with gzip.open(export, "wt") as file:
        for row in week.downloads:
            file.write(json.dumps(_bigquery_export(row)) + "\n")
    status, out, err = _run(capsys, "stats", str(export), "--by", "installer", "--top", "0", "--json")
    assert (status, err) == (0, "")
    assert _installers(out) == Counter(map(VALUES["installer"], week.downloads))
    status, out, _ = _run(
        capsys, "query", str(export), "SELECT min(timestamp) AS first FROM file_downloads", "--json"
    )
    assert json.loads(out) == [
        {"first": min(row["timestamp"] for row in week.downloads).replace("Z", "+00:00")}
    ]


def test_a_parquet_file_alone_and_logs_beside_rows(week: Week, tmp_path: Path, capsys: Capture) -> None:
    one = week.parquet / "file_downloads.parquet"
    status, out, _ = _run(capsys, "query", str(one), "SELECT count(*) AS n FROM file_downloads", "--json")
    assert (status, json.loads(out)) == (0, [{"n": len(week.downloads)}])
    status, out, _ = _run(capsys, "query", str(one), "SELECT count(*) AS n FROM simple_requests", "--json")
    assert (status, json.loads(out)) == (0, [{"n": 0}])  # a table no input holds: an empty view
    other = write_sample(tmp_path / "other.log.gz", lines=3000, seed=77)
    assert main(["parse", "--format", "parquet", "-q", "-o", str(tmp_path / "other"), str(other)]) == 0
    capsys.readouterr()
    by_installer = ["--by", "installer", "--json"]
    _, beside, _ = _run(capsys, "stats", str(week.log), str(tmp_path / "other"), *by_installer)
    _, alone, _ = _run(capsys, "stats", str(tmp_path / "other"), *by_installer)
    assert Counter(_installers(beside)) == Counter(map(VALUES["installer"], week.downloads)) + Counter(
        _installers(alone)
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
         "no log line and no row in it: none of its 2 lines is a download or simple line, nor a row of JSON; "
         "the first is 'root:x:0:0:root:/root:/bin/bash'"),
        (b"", "empty: no log line and no row in it"),
        (b"\n\n  \n", "only blank lines: no log line and no row in it"),
        (b'{"name": "x", "size": 3}\n',
         "its columns are not those of file_downloads or simple_requests: name, size"),
        (gzip.compress(b"hello\n"),
         "no log line and no row in it: none of its 1 lines is a download or simple line, nor a row of JSON; "
         "the first is 'hello'"),
    ],
    ids=["passwd", "empty", "blank", "other-json", "gzip-text"],
)  # fmt: skip
def test_input_without_rows_or_log_lines_is_an_error(
    content: bytes, reason: str, tmp_path: Path, capsys: Capture
) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    for argv in (["stats", str(path), "--by", "cpu"], ["query", str(path), "SELECT 1"]):
        status, out, err = _run(capsys, *argv)
        assert (status, out) == (1, "")
        assert err == f"linehaul {argv[0]}: {path}: {reason}\n"


def test_parquet_of_something_else_and_folders_without_tables(tmp_path: Path, capsys: Capture) -> None:
    pq.write_table(pa.table({"name": ["x"]}), tmp_path / "other.parquet")
    status, _, err = _run(capsys, "stats", str(tmp_path / "other.parquet"), "--by", "cpu")
    assert status == 1
    assert "its columns are not those of file_downloads or simple_requests: name" in err
    status, _, err = _run(capsys, "stats", str(tmp_path), "--by", "cpu")
    assert status == 2
    assert err == (
        f"linehaul stats: {tmp_path}: a folder without file_downloads or simple_requests .parquet or .ndjson "
        "(as linehaul parse writes them); it holds other.parquet\n"
    )
