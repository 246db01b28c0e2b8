"""Reading rows and events from many files: paths, globs, stdin, counts, damaged files."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from linehaul import to_row
from linehaul.analysis import ReadCounts, expand_paths, read_events, read_rows
from linehaul.logs.files import LogFileError
from linehaul.logs.sample import sample_lines
from linehaul.tables import Table
from tests.analysis.conftest import Expected, Logs, expected_of


def _counts(expected: Expected, lines: int, files: int) -> ReadCounts:
    return ReadCounts(
        files=files,
        lines=lines,
        file_downloads=len(expected.downloads),
        simple_requests=len(expected.simple),
        unprocessed=expected.unprocessed,
        ignored=expected.ignored,
    )


def test_rows_of_both_files_in_order_with_counts(logs: Logs, expected: Expected) -> None:
    reading = read_rows(logs.paths)
    assert list(reading) == expected.downloads
    assert reading.counts == _counts(expected, len(logs.lines), files=2)
    assert expected.unprocessed > 0
    assert expected.ignored > 0


def test_simple_request_rows(logs: Logs, expected: Expected) -> None:
    assert list(read_rows(logs.paths, Table.SIMPLE_REQUESTS)) == expected.simple


def test_events_are_parse_lines_outcomes(logs: Logs, expected: Expected) -> None:
    reading = read_events(logs.paths)
    rows = [to_row(event) for event in reading]
    assert sorted(rows, key=json.dumps) == sorted(expected.downloads + expected.simple, key=json.dumps)
    assert reading.counts == _counts(expected, len(logs.lines), files=2)
    assert [to_row(event) for event in reading] == rows  # iterating again reads the files again
    assert reading.counts == _counts(expected, len(logs.lines), files=2)


def test_globs_expand_sorted_and_each_file_is_read_once(logs: Logs) -> None:
    directory = logs.first.parent
    assert expand_paths([directory / "day*", logs.first]) == [str(logs.first), str(logs.second)]
    assert expand_paths([str(directory / "*.log")]) == [str(logs.second)]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = list(sample_lines(300, seed=5))
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    reading = read_rows(["-"])
    assert list(reading) == expected_of(lines).downloads
    assert reading.counts.lines == 300


@pytest.mark.parametrize(
    ("patterns", "named", "reason"),
    [
        (["missing.log.gz"], "missing.log.gz", "no such file"),
        (["nothing-*.gz"], "nothing-*.gz", "no file matches this pattern"),
        (["."], ".", "not a regular file"),
        (["-", "-"], "-", "stdin can be read only once"),
    ],
)
def test_unreadable_inputs_are_named_before_anything_is_read(
    patterns: list[str], named: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(LogFileError) as raised:
        read_rows(patterns)
    assert raised.value.name == named
    assert reason in raised.value.reason


def test_a_damaged_file_raises_after_its_rows_or_is_recorded_with_keep_going(tmp_path: Path) -> None:
    lines = list(sample_lines(6000, seed=8))
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    whole = tmp_path / "whole.log"
    whole.write_text("\n".join(lines[:100]) + "\n")

    reading = read_rows([cut, whole])
    seen: list[dict[str, object]] = []
    with pytest.raises(LogFileError, match="cut short"):
        seen.extend(reading)
    assert 0 < len(seen) < len(expected_of(lines).downloads)

    reading = read_rows([cut, whole], keep_going=True)
    rows = list(reading)
    assert [failure.name for failure in reading.failures] == [str(cut)]
    assert rows[len(seen) :] == expected_of(lines[:100]).downloads
    assert reading.counts.files == 2
