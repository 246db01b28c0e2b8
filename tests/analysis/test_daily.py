"""The daily tables on DuckDB: their rows are the counts of the rows, and ``count_by`` answers the same from
them (where they suffice, day by day) as from the rows. No server: the BigQuery side is in
tests/integration/test_daily_tables.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from linehaul.analysis import Database, open_database
from linehaul.analysis.dimensions import DIMENSIONS, DUCKDB, Parameters
from linehaul.analysis.engine import DataSpan, SqlQuery
from linehaul.analysis.selection import Mirrors, Selection, TimeWindow
from linehaul.analysis.stats import Stats, count_by
from linehaul.daily.freshness import PartitionState
from linehaul.daily.shape import COUNTS, DAILY_TABLES, OVERALL, DailyTable, daily_table_of
from linehaul.daily.sql import aggregate_sql
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.analysis.conftest import Expected, Logs
from tests.daily_counts import differences

WRITTEN = datetime(2026, 12, 1, tzinfo=UTC)

DAYS = (date(2026, 11, 1), date(2026, 11, 2))


def run(database: Database, sql: str, parameters: Parameters) -> list[tuple[Any, ...]]:
    values = {name: list(item.value) if isinstance(item.value, tuple) else item.value
              for name, item in parameters.values.items()}  # fmt: skip
    return database.connection.execute(sql, values).fetchall()


@pytest.fixture(scope="module")
def database(logs: Logs) -> Iterator[Database]:
    """The rows of the two days' logs, and every daily table made from them (DuckDB tables)."""
    with open_database(logs.paths) as opened:
        for table in DAILY_TABLES:
            parameters = Parameters(DUCKDB)
            sql = aggregate_sql(table, DUCKDB, parameters, opened.table(Table.FILE_DOWNLOADS))
            values = {name: list(item.value) if isinstance(item.value, tuple) else item.value
                      for name, item in parameters.values.items()}  # fmt: skip
            opened.connection.execute(f"CREATE TABLE {table.name} AS {sql}", values)
        yield opened


@dataclass
class DailyDuckDB:
    """The database as an engine with daily tables: each day's daily partition written after the rows', but
    for the ``stale`` days (rows loaded after their aggregation)."""

    database: Database
    stale: frozenset[date] = frozenset()

    @property
    def dialect(self) -> Any:
        return self.database.dialect

    @property
    def default_window(self) -> TimeWindow:
        return self.database.default_window

    def table(self, table: Table) -> str:
        return self.database.table(table)

    def run(self, query: SqlQuery) -> Sequence[tuple[Any, ...]]:
        self.reads = query.reads
        return self.database.run(query)

    def data_span(self, table: Table) -> DataSpan | None:
        return self.database.data_span(table)

    def daily_table(self, table: DailyTable) -> str:
        return table.name

    def daily_partitions(self, table: DailyTable) -> tuple[dict[date, PartitionState], ...]:
        source = {day: PartitionState(1, WRITTEN) for day in DAYS}
        written = {day: WRITTEN - timedelta(hours=day in self.stale) for day in DAYS}
        return source, {day: PartitionState(1, moment) for day, moment in written.items()}


def test_the_schemas_are_the_shape() -> None:
    downloads = {column["name"]: column for column in load_schema(Table.FILE_DOWNLOADS)}
    assert [table.name for table in DAILY_TABLES] == ["downloads_daily"] + [
        f"downloads_by_{name}_daily"
        for name in ("version", "file_type", "installer", "python", "implementation", "system", "distro",
                     "cpu", "country", "ci")
    ]  # fmt: skip
    for table in DAILY_TABLES:
        columns = [(column["name"], column["type"], column["mode"]) for column in table.schema]
        field = (
            [(table.field, "BOOLEAN" if table.field == "ci" else "STRING", "NULLABLE")] if table.field else []
        )
        assert columns == [("date", "DATE", "NULLABLE"), ("project", "STRING", "NULLABLE"), *field,
                           *((count, "INTEGER", "NULLABLE") for count in COUNTS)]  # fmt: skip
        assert all(column["description"] for column in table.schema)
        if table.source is not None:  # where file_downloads keeps the value the field's expression reads
            top, *inner = table.source.split(".")
            column = downloads[top]
            for name in inner:
                column = {child["name"]: child for child in column["fields"]}[name]
            assert table.source in DIMENSIONS[str(table.field)].sql(DUCKDB, Parameters(DUCKDB))


@pytest.mark.parametrize("table", DAILY_TABLES, ids=[table.name for table in DAILY_TABLES])
def test_every_row_is_the_count_of_the_rows(
    table: DailyTable, database: Database, expected: Expected
) -> None:
    """Counted again in Python over the rows the reference parser gives (not by the same SQL)."""
    rows = database.connection.execute(f"SELECT * FROM {table.name}").fetchall()
    names = [column["name"] for column in table.schema]
    assert differences(table, expected.downloads, [dict(zip(names, row, strict=True)) for row in rows]) == []


QUESTIONS: list[dict[str, Any]] = [
    {"fields": "installer"},
    {"fields": "installer", "mirrors": Mirrors.EXCLUDE},  # no group of mirrors' downloads alone
    {"fields": "installer,day", "mirrors": Mirrors.ONLY},
    {"fields": "day,project"},
    {"fields": "python", "projects": ("requests", "NumPy"), "mirrors": Mirrors.EXCLUDE},
    {"fields": (), "mirrors": Mirrors.ONLY},
    {"fields": "week"},
    {"fields": "ci", "pivot": "day", "top": 1},
    {"fields": "installer", "filters": (("installer", ("PIP", "uv")),), "mirrors": Mirrors.EXCLUDE},
    {"fields": "country", "order": "value", "top": 3},
    {"fields": "version", "projects": ("requests",), "pivot": "month"},
    {"fields": "project,file_type"},
]


def ask(engine: Any, question: dict[str, Any], window: TimeWindow) -> Stats:
    asked = dict(question)
    selection = Selection(
        asked.pop("projects", ()),
        None,
        asked.pop("mirrors", Mirrors.INCLUDE),
        window,
        asked.pop("filters", ()),
    )
    return count_by(engine, selection=selection, **asked)


@pytest.mark.parametrize("stale", [(), (DAYS[1],), DAYS], ids=["in-step", "one-day-stale", "all-stale"])
@pytest.mark.parametrize("question", QUESTIONS, ids=[str(question) for question in QUESTIONS])
def test_the_daily_tables_answer_as_the_rows(
    question: dict[str, Any], stale: tuple[date, ...], database: Database
) -> None:
    window = TimeWindow(DAYS[0], DAYS[1])
    daily = DailyDuckDB(database, frozenset(stale))
    assert ask(daily, question, window) == ask(database, question, window)
    fields = [name for name in str(question["fields"] or "").split(",") if name]
    field = next(
        (name for name in fields if DIMENSIONS[name].sort.value != "time" and name != "project"), None
    )
    table = daily_table_of(field) or OVERALL
    if len(stale) == len(DAYS):
        assert daily.reads == ("file_downloads",)
    elif stale:
        assert daily.reads == (f"{table.name} for {DAYS[0]}", f"file_downloads for {DAYS[1]}")
    else:
        assert daily.reads == (f"{table.name} for {DAYS[0]} to {DAYS[1]}",)


@pytest.mark.parametrize(
    "question",
    [
        {"fields": "installer,python"},  # two fields: their joint counts are in no daily table
        {"fields": "installer", "pivot": "python"},
        {"fields": "python", "filters": (("installer", ("pip",)),)},
        {"fields": "mirror"},
        {"fields": "tls_protocol"},
    ],
)
def test_what_no_daily_table_answers_is_read_from_the_rows(
    question: dict[str, Any], database: Database
) -> None:
    daily = DailyDuckDB(database)
    window = TimeWindow(DAYS[0], DAYS[1])
    assert ask(daily, question, window) == ask(database, question, window)
    assert daily.reads == ("file_downloads",)
    where = count_by(daily, "installer", where="project = 'requests'", window=window)
    assert daily.reads == ("file_downloads",)
    assert where == count_by(database, "installer", where="project = 'requests'", window=window)


MORE_QUESTIONS: list[dict[str, Any]] = [  # a reviewer's, over every mirror rule and more windows
    {"fields": "day"},
    {"fields": "month", "mirrors": Mirrors.ONLY},
    {"fields": "year"},
    {"fields": "python", "filters": (("python", ("3.12", "3.11")),)},
    {"fields": "version", "filters": (("version", ("2.31.0",)),), "projects": ("Requests",)},
    {"fields": "project", "top": 2, "mirrors": Mirrors.EXCLUDE},
    {"fields": "installer", "pivot": "week", "top": 2, "order": "value"},
    {"fields": "distro,day", "mirrors": Mirrors.EXCLUDE},
    {"fields": "cpu", "pivot": "project", "top": 3},
    {"fields": "implementation", "projects": ("no-such-project",)},
    {"fields": "system", "filters": (("system", ("linux",)),), "mirrors": Mirrors.ONLY},
    {"fields": "ci"},
    {"fields": (), "projects": ("numpy", "REQUESTS")},
]
MORE_WINDOWS = [
    TimeWindow(),
    TimeWindow(DAYS[1], None),
    TimeWindow(None, DAYS[0]),
    TimeWindow(date(2026, 10, 1), date(2026, 12, 31)),
    TimeWindow(days=1),
]


@pytest.mark.parametrize("window", MORE_WINDOWS, ids=[repr(window) for window in MORE_WINDOWS])
@pytest.mark.parametrize("stale", [(), (DAYS[0],)], ids=["in-step", "first-stale"])
@pytest.mark.parametrize("question", MORE_QUESTIONS, ids=[str(question) for question in MORE_QUESTIONS])
def test_more_questions_answer_the_same_either_way(
    question: dict[str, Any], stale: tuple[date, ...], window: TimeWindow, database: Database
) -> None:
    daily = DailyDuckDB(database, frozenset(stale))
    assert ask(daily, question, window) == ask(database, question, window)
