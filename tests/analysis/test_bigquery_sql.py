"""The SQL that stats and report send to BigQuery, looked at before it is sent: every value a parameter,
the partition filter (timestamp) in every query, whatever the selection. (That BigQuery runs it, and
that every job carries the bytes limit: tests/integration/test_bigquery_questions.py.)"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from linehaul.analysis import DataSpan, Mirrors, Selection, SqlQuery, TimeWindow, count_by, gather_report
from linehaul.analysis.dimensions import BIGQUERY, DIMENSIONS, MIRROR_INSTALLERS
from linehaul.cli import build_parser
from linehaul.cli.inputs import selection
from linehaul.cli.stats_command import checked_fields
from linehaul.tables import Table
from tests.analysis.questions import QUESTIONS, Question

LAST_DAY = date(2026, 11, 7)
_PARTITION_FILTER = re.compile(r"WHERE timestamp >= @window_start AND timestamp < @window_end\b")


class _BigQueryDialect:
    """An engine that speaks BigQuery's SQL and keeps what it is asked, answering no rows (an in-memory
    stand-in for :class:`linehaul.gcp.queries.BigQueryEngine`, whose default window it has)."""

    dialect = BIGQUERY
    default_window = TimeWindow(days=30)
    dry_run = True

    def __init__(self) -> None:
        self.queries: list[SqlQuery] = []

    def table(self, table: Table) -> str:
        return f"`project.dataset.{Table.of(table).value}`"

    def run(self, query: SqlQuery) -> Sequence[tuple[Any, ...]]:
        self.queries.append(query)
        return []

    def data_span(self, table: Table) -> DataSpan | None:
        return DataSpan(date(2026, 11, 1), LAST_DAY)


def _asked(question: Question) -> SqlQuery:
    args = build_parser("stats").parse_args(["stats", "--bigquery", *question.arguments])
    fields, chosen = checked_fields("stats", args), selection("stats", args)
    assert fields is not None
    assert chosen is not None
    engine = _BigQueryDialect()
    count_by(engine, fields, top=args.top or None, pivot=args.pivot, selection=chosen)
    [query] = engine.queries
    return query


@pytest.mark.parametrize("question", QUESTIONS, ids=[question.name for question in QUESTIONS])
def test_each_question_filters_on_the_partitions_with_parameters(question: Question) -> None:
    query = _asked(question)
    assert _PARTITION_FILTER.search(query.text), query.text
    values = {parameter.name: parameter.value for parameter in query.parameters}
    assert values["window_end"].date() == date(2026, 11, 8)  # the last day, whole
    for name in ("mirror_installers", "projects"):
        for value in values.get(name, ()):
            assert value not in query.text


def test_no_value_is_spliced_into_the_sql() -> None:
    engine = _BigQueryDialect()
    hostile = "x' OR TRUE OR project = '"
    chosen = Selection(
        projects=(hostile, "Django"),
        mirrors=Mirrors.EXCLUDE,
        window=TimeWindow(date(2026, 11, 2), date(2026, 11, 3)),
    )
    count_by(engine, "installer,python", selection=chosen, top=7, pivot="ci")
    [query] = engine.queries
    for value in (hostile, "django", "Django", "2026-11-02", "2026-11-04", *MIRROR_INSTALLERS):
        assert value not in query.text, value
    kinds = {parameter.name: parameter.type for parameter in query.parameters}
    assert kinds == {
        "window_start": "TIMESTAMP",
        "window_end": "TIMESTAMP",
        "projects": "ARRAY<STRING>",
        "mirror_installers": "ARRAY<STRING>",
        "top": "INT64",
    }
    assert "@projects" in query.text
    assert "@mirror_installers" in query.text


@pytest.mark.parametrize("field", list(DIMENSIONS))
def test_every_field_filters_on_the_partitions(field: str) -> None:
    engine = _BigQueryDialect()
    table = (
        Table.FILE_DOWNLOADS
        if Table.SIMPLE_REQUESTS not in DIMENSIONS[field].tables
        else Table.SIMPLE_REQUESTS
    )
    count_by(engine, field, table=table, top=5)
    [query] = engine.queries
    assert _PARTITION_FILTER.search(query.text)
    assert f"FROM `project.dataset.{table.value}`" in query.text


@pytest.mark.parametrize(
    "window",
    [
        TimeWindow(),
        TimeWindow(since=date(2026, 1, 1)),
        TimeWindow(until=date(2026, 1, 1)),
        TimeWindow(days=2),
    ],
    ids=["default", "since", "until", "days"],
)
def test_every_query_of_the_report_filters_on_timestamp(window: TimeWindow) -> None:
    engine = _BigQueryDialect()
    gather_report(engine, selection=Selection(projects=("requests",), where="details.ci", window=window))
    # per day, the first and the last download (each on its day), 5 bar charts, simple requests, the CI and
    # mirror shares
    assert len(engine.queries) == 11
    for query in engine.queries:
        assert re.search(r"WHERE timestamp (>= @window_start|< @window_end)", query.text), query.purpose
