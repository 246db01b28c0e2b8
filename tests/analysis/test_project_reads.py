"""Reading logs for questions about some projects: only the lines that may hold their rows are converted,
and every answer about them is the answer a database of all the rows gives (counts, shares, the days the
data covers), through the library and through ``linehaul stats --project``."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from packaging.utils import canonicalize_name

from linehaul.analysis import Database, count_by, open_database, write_parquet
from linehaul.cli import main
from linehaul.logs.sample import sample_lines
from linehaul.tables import Table
from tests.analysis.conftest import Logs
from tests.analysis.questions import stats_rows

Capture = pytest.CaptureFixture[str]

PROJECTS = [["numpy"], ["NumPy", "six"], ["Typing_Extensions"], ["no-such-project"], ["not a name"]]


def _rows(database: Database, table: Table) -> int:
    rows: int = database.query(f"SELECT count(*) FROM {table.value}").rows[0][0]
    return rows


@pytest.mark.parametrize("projects", PROJECTS, ids=lambda names: ",".join(names))
def test_a_database_of_some_projects_answers_as_one_of_all_rows(
    logs: Logs, database: Database, projects: list[str]
) -> None:
    with open_database(logs.paths, projects=projects) as narrowed:
        for table in Table:
            for field in ["installer", "project", "day", "python", "country"]:
                assert count_by(narrowed, field, table=table, projects=projects) == count_by(
                    database, field, table=table, projects=projects
                ), (table, field)
            assert narrowed.data_span(table) == database.data_span(table)
        assert narrowed.counts.lines == database.counts.lines == len(logs.lines)
        narrowed_rows, all_rows = _rows(narrowed, Table.FILE_DOWNLOADS), _rows(database, Table.FILE_DOWNLOADS)
        if projects == ["not a name"]:  # no line can be left out: every row is given
            assert narrowed_rows == all_rows
        else:
            assert narrowed_rows < all_rows / 5


def _normalised_rows(path: Path, names: set[str] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return [row for row in rows if names is None or canonicalize_name(row["project"]) in names]


@pytest.mark.parametrize("jobs", [1, 2])
def test_write_parquet_of_some_projects_writes_their_rows_alone(
    logs: Logs, tmp_path: Path, jobs: int
) -> None:
    whole = write_parquet(logs.paths, tmp_path / "whole")
    some = write_parquet(logs.paths, tmp_path / "some", jobs=jobs, projects=["NUMPY", "urllib3"])
    names = {"numpy", "urllib3"}
    for table in ("file_downloads", "simple_requests"):
        expected = _normalised_rows(tmp_path / "whole" / f"{table}.parquet", names)
        written = _normalised_rows(tmp_path / "some" / f"{table}.parquet", None)
        assert written == expected
        assert expected
    assert some.counts.lines == whole.counts.lines
    assert some.counts.file_downloads == len(_normalised_rows(some.file_downloads, None))


def test_stats_of_a_project_on_logs_is_stats_of_it_on_all_rows(
    logs: Logs, tmp_path: Path, capsys: Capture
) -> None:
    assert main(["parse", "--format", "parquet", "-q", "-o", str(tmp_path), *logs.paths]) == 0
    capsys.readouterr()
    for argv in (
        ["--project", "numpy", "--by", "installer,python", "--json"],
        ["--project", "Six", "--by", "project", "--simple", "--top", "0"],
        ["--project", "numpy", "--project", "requests", "--by", "version", "--csv"],
        ["--project", "numpy", "--by", "day", "--where", "(SELECT count(*) FROM file_downloads) > 1000"],
    ):
        assert main(["stats", *logs.paths, *argv]) == 0
        on_logs = capsys.readouterr()
        assert main(["stats", str(tmp_path), *argv]) == 0
        on_parquet = capsys.readouterr()
        assert on_logs == on_parquet, argv
        assert on_logs.out, argv
        if "--json" in argv:
            assert sum(record["count"] for record in stats_rows(on_logs.out)) > 0


def test_a_project_without_rows_in_the_window_is_told_the_days_of_all_the_data(
    logs: Logs, capsys: Capture
) -> None:
    """Its logs are read for its rows alone (narrowed), and still know the days they cover."""
    assert main(["stats", *logs.paths, "--project", "numpy", "--month", "2026-12", "--by", "installer"]) == 0
    err = capsys.readouterr().err
    assert err == "linehaul stats: no file_downloads row selected; the data covers 2026-11-01 to 2026-11-02\n"


def test_a_log_on_stdin_is_read_whole_for_a_project(
    logs: Logs, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    data = "".join(line + "\n" for line in logs.lines).encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["stats", "-", "--project", "numpy", "--month", "2026-12", "--by", "installer"]) == 0
    err = capsys.readouterr().err  # read once: the days it covers come from the same reading
    assert err == "linehaul stats: no file_downloads row selected; the data covers 2026-11-01 to 2026-11-02\n"


_SPELLINGS = ["zope.interface", "Zope_Interface", "ZOPE-interface", "zope..interface", "zope.interface.extra"]
"""One project in four spellings, and another project whose name holds the first one's."""


@pytest.fixture(scope="module")
def spellings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log whose pyyaml lines are renamed to the spellings above (downloads and simple requests)."""
    lines = []
    for number, line in enumerate(sample_lines(4000, seed=31)):
        fields = line.split("|")
        name = _SPELLINGS[number % len(_SPELLINGS)]
        if fields[0] == "download" and len(fields) > 6 and fields[6] == "pyyaml":
            fields[6] = name
        elif fields[0] == "simple" and fields[3] == "/simple/pyyaml/":
            fields[3] = f"/simple/{name}/"
        lines.append("|".join(fields))
    log = tmp_path_factory.mktemp("spellings") / "spellings.log.gz"
    log.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
    return log


def test_every_spelling_of_a_project_is_read_and_no_other_project(spellings: Path, tmp_path: Path) -> None:
    write_parquet([str(spellings)], tmp_path / "whole")
    write_parquet([str(spellings)], tmp_path / "some", projects=["Zope.Interface"])
    for table in ("file_downloads", "simple_requests"):
        expected = _normalised_rows(tmp_path / "whole" / f"{table}.parquet", {"zope-interface"})
        written = _normalised_rows(tmp_path / "some" / f"{table}.parquet", None)
        assert written == expected
        assert (
            set(_SPELLINGS[:4])
            <= {row["project"] for row in written}
            <= set(_SPELLINGS[:4]) | {"zope-interface"}
        )


def test_stats_of_a_project_in_any_spelling_on_logs_is_stats_on_all_rows(
    spellings: Path, tmp_path: Path, capsys: Capture
) -> None:
    assert main(["parse", "--format", "parquet", "-q", "-o", str(tmp_path), str(spellings)]) == 0
    capsys.readouterr()
    outputs: dict[str, list[str]] = {}
    for argv in (["--by", "project", "--json"], ["--by", "project", "--simple"], ["--by", "installer"]):
        for inputs in ([str(spellings)], [str(tmp_path)]):
            assert main(["stats", *inputs, "--project", "ZOPE_interface", *argv]) == 0
            outputs.setdefault(" ".join(argv), []).append(capsys.readouterr().out)
    for question, (on_logs, on_parquet) in outputs.items():
        assert on_logs == on_parquet, question
    counted = {record["project"]: record["count"] for record in stats_rows(outputs["--by project --json"][0])}
    assert set(_SPELLINGS[:4]) <= set(counted)
    assert "zope.interface.extra" not in counted
