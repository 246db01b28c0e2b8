"""ReadCounts says where a reading's lines went, in one form for every report."""

from __future__ import annotations

from linehaul.logs.counts import ReadCounts
from linehaul.tables import Table

COUNTS = ReadCounts(files=2, lines=10, file_downloads=5, simple_requests=2, unprocessed=2, ignored=1)


def test_the_summary_line_and_sentence() -> None:
    assert COUNTS.line() == "lines=10 file_downloads=5 simple_requests=2 unprocessed=2 ignored=1"
    assert COUNTS.in_words() == "10 lines, 5 file_downloads, 2 simple_requests, 2 unprocessed, 1 ignored"


def test_internal_errors_are_said_in_the_line_only_when_there_are_some() -> None:
    failed = COUNTS.plus(internal_errors=1)
    assert failed.line() == COUNTS.line() + " internal_errors=1"
    assert failed.in_words() == COUNTS.in_words()  # the sentence's caller says them apart
    assert failed.internal_errors_message() is not None


def test_the_rows_of_each_table_are_counted_under_its_name() -> None:
    assert {table: COUNTS.rows(table) for table in Table} == {
        Table.FILE_DOWNLOADS: 5,
        Table.SIMPLE_REQUESTS: 2,
    }
    assert ReadCounts.names()[0] == "files"
    assert ReadCounts.line_names() == ReadCounts.names()[1:]
