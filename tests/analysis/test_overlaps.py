"""The same rows once: inputs that are the same file, the same bytes or the same log lines are read once,
with a note; rows written from a log given beside that log are refused (through ``linehaul stats``)."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linehaul.analysis import open_database
from linehaul.analysis.overlaps import Duplicate
from linehaul.cli import main
from linehaul.logs.sample import sample_lines
from tests.analysis.questions import Week, stats_rows

Capture = pytest.CaptureFixture[str]


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _total(out: str) -> int:
    [record] = stats_rows(out)
    total: int = record["count"]
    return total


@pytest.mark.parametrize("source", ["log", "parquet"])
def test_the_same_input_twice_is_read_once(source: str, week: Week, tmp_path: Path, capsys: Capture) -> None:
    given = week.log if source == "log" else week.parquet / "file_downloads.parquet"
    copy = tmp_path / f"copy-{given.name}"
    shutil.copyfile(given, copy)
    link = tmp_path / f"link-{given.name}"
    link.symlink_to(given)
    status, out, err = _run(capsys, "stats", str(given), str(copy), str(link), "--json")
    assert status == 0
    assert _total(out) == len(week.downloads)
    assert err.splitlines() == [  # in the order they were given
        f"linehaul stats: {copy}: the same bytes as {given}: read once",
        f"linehaul stats: {link}: the same file as {given}: read once",
    ]


def test_a_log_and_its_gzip_are_read_once(week: Week, tmp_path: Path, capsys: Capture) -> None:
    plain = tmp_path / "week.log"
    plain.write_bytes(gzip.decompress(week.log.read_bytes()))
    status, out, err = _run(capsys, "stats", str(week.log), str(plain), "--json")
    assert (status, _total(out)) == (0, len(week.downloads))
    assert err == f"linehaul stats: {plain}: the same log lines as {week.log}: read once\n"
    with open_database([week.log, plain]) as database:
        assert database.duplicates == (Duplicate(str(plain), str(week.log), "the same log lines"),)


def test_logs_that_begin_alike_are_both_read(week: Week, tmp_path: Path, capsys: Capture) -> None:
    lines = gzip.decompress(week.log.read_bytes()).splitlines(keepends=True)
    longer, shorter = tmp_path / "longer.log", tmp_path / "shorter.log"
    longer.write_bytes(b"".join(lines))
    shorter.write_bytes(b"".join(lines[: len(lines) // 2]))  # the same first 64 KiB, not the same lines
    status, out, err = _run(capsys, "stats", str(longer), str(shorter), "--json")
    assert (status, err) == (0, "")
    assert _total(out) > len(week.downloads)


@pytest.mark.parametrize("rows", ["parquet", "parquet-file", "ndjson", "ndjson-file"])
def test_rows_written_from_a_log_given_beside_it_are_refused(rows: str, week: Week, capsys: Capture) -> None:
    given = {
        "parquet": week.parquet,
        "parquet-file": week.parquet / "file_downloads.parquet",
        "ndjson": week.ndjson,
        "ndjson-file": week.ndjson / "simple_requests.ndjson",
    }[rows]
    status, out, err = _run(capsys, "stats", str(week.log), str(given), "--by", "installer")
    assert (status, out) == (2, "")
    named = given / "file_downloads.parquet" if rows == "parquet" else given
    if rows == "ndjson":
        named = given / "file_downloads.ndjson"
    assert err == (
        f"linehaul stats: {named}: holds the rows of {week.log}, which is given too: each of them would "
        "count twice (give the log or the rows written from it, not both)\n"
    )


def test_rows_of_another_log_are_read_with_a_log(week: Week, tmp_path: Path, capsys: Capture) -> None:
    other = tmp_path / "other.log"
    other.write_text("\n".join(sample_lines(3000, seed=99, start=datetime(2026, 11, 2, tzinfo=UTC))) + "\n")
    status, out, err = _run(capsys, "stats", str(other), str(week.parquet), "--json")
    assert (status, err) == (0, "")
    assert _total(out) > len(week.downloads)
    part = tmp_path / "part.log"  # a piece of the week's log: its rows are in the Parquet too
    lines = gzip.decompress(week.log.read_bytes()).splitlines(keepends=True)
    part.write_bytes(b"".join(lines[1000:2000]))
    status, _, err = _run(capsys, "stats", str(part), str(week.parquet))
    assert status == 2
    assert f"holds the rows of {part}, which is given too" in err
