"""count_by's selection (projects, where, mirrors, windows), grouping, ordering and pivots, through the
library, against counts in Python over the same rows; and the SQL it generates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from linehaul.analysis import (
    Database,
    Mirrors,
    Selection,
    SqlQuery,
    TimeWindow,
    UnknownFieldError,
    count_by,
    open_database,
)
from linehaul.analysis.dimensions import DUCKDB
from linehaul.analysis.stats import Order
from linehaul.cli import main
from linehaul.tables import Table
from tests.analysis.questions import MIRRORS, VALUES, Week, stats_rows


@pytest.fixture(scope="module")
def db(week: Week) -> Iterator[Database]:
    with open_database([week.parquet]) as opened:
        yield opened


class _Recording:
    """The database, keeping the queries it was asked (to look at the SQL text and its parameters)."""

    def __init__(self, database: Database) -> None:
        self.database, self.queries = database, list[SqlQuery]()
        self.dialect, self.default_window = database.dialect, database.default_window
        self.table, self.data_span = database.table, database.data_span

    def run(self, query: SqlQuery) -> Sequence[tuple[Any, ...]]:
        self.queries.append(query)
        return self.database.run(query)


def test_count_by_takes_projects_where_mirrors_and_window(db: Database, week: Week) -> None:
    stats = count_by(
        db,
        "installer",
        projects=["Boto3"],
        where="details.python LIKE '3.1%'",
        mirrors=Mirrors.EXCLUDE,
        window=TimeWindow(date(2026, 11, 2), date(2026, 11, 3)),
    )
    expected = Counter(
        VALUES["installer"](row)
        for row in week.downloads
        if row["project"] == "boto3"
        and ((row["details"] or {}).get("python") or "").startswith("3.1")
        and VALUES["installer"](row) not in MIRRORS
        and "2026-11-02" <= row["timestamp"][:10] <= "2026-11-03"
    )
    assert {count.value: count.count for count in stats.counts} == expected
    assert stats.total == sum(expected.values()) > 0


def test_values_travel_as_parameters_never_in_the_sql(db: Database) -> None:
    recording = _Recording(db)
    hostile = "x'); DROP VIEW file_downloads; --"
    selection = Selection(
        projects=("Requests", hostile), mirrors=Mirrors.ONLY, window=TimeWindow(date(2026, 11, 3), None)
    )
    count_by(recording, "installer,python", selection=selection, top=3, pivot="ci")
    [query] = recording.queries
    for value in ("requests", "Requests", "DROP", "2026-11-03", "bandersnatch", "'3'"):
        assert value not in query.text
    parameters = {parameter.name: parameter.value for parameter in query.parameters}
    assert parameters["projects"] == ("requests", canonicalize_name(hostile))
    assert "bandersnatch" in parameters["mirror_installers"]
    assert parameters["window_start"].isoformat() == "2026-11-03T00:00:00+00:00"
    assert parameters["top"] == 3
    assert count_by(db, "project").total > 0  # the views are still there


def test_pep_503_names_match_and_show_as_logged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    date_text = "Thu, 07 Jan 2021 20:54:54 GMT"
    spellings = ["Zope.Interface", "zope_interface", "zope-interface", "ZOPE__.interface", "zope-interfaces"]
    lines = [
        f"download|{date_text}|US|/packages/ab/cd/z-1.0.tar.gz|TLSv1.3|C|{name}|1.0|sdist|pip/24.0"
        for name in spellings
    ]
    (tmp_path / "names.log").write_text("\n".join(lines) + "\n")
    assert (
        main(
            ["stats", str(tmp_path / "names.log"), "--project", "zope-INTERFACE", "--by", "project", "--json"]
        )
        == 0
    )
    shown = {record["project"] for record in stats_rows(capsys.readouterr().out)}
    assert shown == set(spellings) - {"zope-interfaces"}


def test_several_fields_in_order(db: Database, week: Week) -> None:
    stats = count_by(db, ["installer", "python"], top=None)
    expected = Counter((VALUES["installer"](row), VALUES["python"](row)) for row in week.downloads)
    assert {count.values: count.count for count in stats.counts} == expected
    assert stats.groups == len(expected)
    counts = [count.count for count in stats.counts]
    assert counts == sorted(counts, reverse=True)


def test_versions_sort_as_versions_and_days_in_time_order(db: Database) -> None:
    pythons = [count.value for count in count_by(db, "python", order=Order.VALUE).counts]
    known = [value for value in pythons if value is not None]
    assert known.index("3.8") < known.index("3.9") < known.index("3.10") < known.index("3.13")
    assert pythons[-1] is None  # rows without a value last
    days = [str(count.value) for count in count_by(db, "day").counts]
    assert days == [f"2026-11-0{day}" for day in range(1, 8)]
    assert [count.value for count in count_by(db, "month").counts] == ["2026-11"]
    assert [count.value for count in count_by(db, "year").counts] == [2026]


def test_windows_of_days_and_months(db: Database, week: Week) -> None:
    by_day = Counter(row["timestamp"][:10] for row in week.downloads)
    last_three = count_by(db, "day", window=TimeWindow(days=3)).records()
    assert [record["day"] for record in last_three] == sorted(by_day)[-3:]
    assert count_by(db, "project", window=TimeWindow.of_month("2026-11")).total == len(week.downloads)
    assert count_by(db, "project", window=TimeWindow.of_month("2026-10")).total == 0
    with pytest.raises(ValueError, match="not a month"):
        TimeWindow.of_month("2026-13")
    with pytest.raises(ValueError, match="cannot be combined"):
        TimeWindow(since=date(2026, 11, 1), days=3)


def test_a_pivot_spreads_one_field_into_columns(db: Database, week: Week) -> None:
    stats = count_by(db, "installer", pivot="python", top=4)
    cells = Counter((VALUES["installer"](row), VALUES["python"](row)) for row in week.downloads)
    columns = Counter(map(VALUES["python"], week.downloads))
    assert len(stats.counts) == 4
    assert [columns[column] for column in stats.columns] == sorted(columns.values(), reverse=True)[:4]
    assert stats.column_totals == tuple(columns[column] for column in stats.columns)
    assert stats.others == len(week.downloads) - sum(stats.column_totals) > 0  # the columns left out
    for count in stats.counts:
        assert dict(zip(stats.columns, count.cells, strict=True)) == {
            column: cells[(count.value, column)] for column in stats.columns
        }
        assert sum(count.cells) + count.others == count.count
    by_value = count_by(db, "installer", pivot="python", order=Order.VALUE)
    known = [column for column in by_value.columns if column is not None]
    assert known.index("3.9") < known.index("3.10")  # in version order
    assert by_value.others is None  # every column: none left out
    by_day = count_by(db, "installer", pivot="day", top=3)
    assert [str(column) for column in by_day.columns] == ["2026-11-01", "2026-11-02", "2026-11-03"]


def test_unknown_and_unsuited_fields_are_refused(db: Database) -> None:
    with pytest.raises(UnknownFieldError, match="choose one of project, version"):
        count_by(db, "installer,colour")
    with pytest.raises(UnknownFieldError, match="simple requests have no file"):
        count_by(db, "file_type", table=Table.SIMPLE_REQUESTS)
    with pytest.raises(ValueError, match="besides the pivot"):
        count_by(db, "python", pivot="python")


_LOGGED_PROJECT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
"""A project as a log line holds it: printable ASCII (the grammar takes no other), so any spelling."""


@given(st.lists(_LOGGED_PROJECT, min_size=1, max_size=30))
def test_the_sql_of_pep_503_names_is_canonicalize_name(projects: list[str]) -> None:
    """Selection compares ``canonicalize_name`` of the projects asked with the SQL form of each row's
    project: the two are one rule (BigQuery's form is held to DuckDB's in the integration tests)."""
    expression = DUCKDB.normalised_name("project")
    found = duckdb.execute(
        f"SELECT project, {expression} FROM (SELECT unnest($projects) AS project)", {"projects": projects}
    ).fetchall()
    assert dict(found) == {project: canonicalize_name(project) for project in projects}
