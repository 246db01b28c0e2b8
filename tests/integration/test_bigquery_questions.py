"""The analysts' questions asked of BigQuery: a week of generated log goes through the real pipeline (the
ingestor and publisher functions, over HTTP) into the BigQuery emulator, and ``linehaul stats --bigquery``
prints exactly what ``linehaul stats`` prints on the same log; ``report --bigquery`` draws every chart;
dry runs and the bytes limit behave as BigQuery's."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from linehaul.analysis.report import CHARTS, PROJECT_CHARTS
from linehaul.cli import main
from linehaul.local import LocalStack
from linehaul.local.resources import DATASET
from linehaul.local.runner import provision, run_pipeline
from tests.analysis.questions import QUESTIONS, Question, Week, write_week

pytestmark = pytest.mark.integration

PROJECT = "linehaul-questions"
Capture = pytest.CaptureFixture[str]


@dataclass(frozen=True)
class Warehouse:
    """The week's log, loaded into the emulator of ``stack`` by the pipeline."""

    stack: LocalStack
    week: Week
    dataset: str  # PROJECT.DATASET


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    week = write_week(tmp_path_factory.mktemp("week"), lines=12_000)
    with LocalStack(project=PROJECT) as stack, pytest.MonkeyPatch.context() as environment:
        provision(stack)
        counts = run_pipeline(stack, [week.log], say=lambda text: None)
        assert counts.counts.file_downloads == len(week.downloads)
        for name, value in stack.env.items():  # as `eval "$(linehaul local up | grep ^export)"` does
            environment.setenv(name, value)
        yield Warehouse(stack, week, f"{PROJECT}.{DATASET}")


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


_DEFAULT_WINDOW = {"since": "2026-10-09", "until": "2026-11-07", "default": True}
"""BigQuery's window when none is given: the 30 days up to the table's last partition."""


@pytest.mark.parametrize("question", QUESTIONS, ids=[question.name for question in QUESTIONS])
def test_each_question_prints_the_same_on_bigquery(
    question: Question, warehouse: Warehouse, capsys: Capture
) -> None:
    local = _run(capsys, "stats", str(warehouse.week.log), *question.arguments, "--json")
    remote = _run(capsys, "stats", "--bigquery", warehouse.dataset, *question.arguments, "--json")
    if "--days" in question.arguments:  # the same window: the same answer, byte for byte
        assert remote[:2] == local[:2]
    on_files, on_bigquery = json.loads(local[1]), json.loads(remote[1])
    assert (remote[0], local[2]) == (0, "")
    assert remote[2].startswith("linehaul stats: read ")  # which tables, and the bytes processed
    assert on_bigquery["rows"] == on_files["rows"] == question.answer(warehouse.week.downloads)
    window, files_window = on_bigquery.pop("window"), on_files.pop("window")
    assert window == (files_window if "--days" in question.arguments else _DEFAULT_WINDOW)
    assert on_bigquery == on_files  # the days of the rows and of the data, the total, the groups


@pytest.mark.parametrize("output", ["--csv", "--markdown", "--top=3"])
def test_the_other_formats_print_the_same(output: str, warehouse: Warehouse, capsys: Capture) -> None:
    question = ["--by", "installer", "--pivot", "python", "--exclude-mirrors", "--since", "2026-11-02"]
    local = _run(capsys, "stats", str(warehouse.week.parquet), *question, output)
    assert local[0] == 0
    assert _run(capsys, "stats", "--bigquery", warehouse.dataset, *question, output)[:2] == local[:2]


def test_query_runs_the_same_sql_on_both(warehouse: Warehouse, capsys: Capture) -> None:
    sql = (
        "SELECT project, COUNT(*) AS n, MIN(timestamp) AS first FROM file_downloads "
        "WHERE details.ci GROUP BY project ORDER BY n DESC, project LIMIT 5"
    )
    local = _run(capsys, "query", str(warehouse.week.parquet), sql, "--json")
    assert local[0] == 0
    assert _run(capsys, "query", "--bigquery", warehouse.dataset, sql, "--json") == local


def _charts(html: str) -> dict[str, int]:
    return {name: int(marks) for name, marks in re.findall(r'data-chart="([^"]+)" data-marks="(\d+)"', html)}


@pytest.mark.parametrize("project", [None, "requests"])
def test_report_draws_every_chart(
    project: str | None, warehouse: Warehouse, tmp_path: Path, capsys: Capture
) -> None:
    selection = ["--project", project] if project else []
    pages = {}
    for name, source in (
        ("local", [str(warehouse.week.parquet)]),
        ("bigquery", ["--bigquery", warehouse.dataset]),
    ):
        path = tmp_path / f"{name}.html"
        status, out, err = _run(capsys, "report", *source, *selection, "-o", str(path))
        assert status == 0
        assert err == "" if name == "local" else err.startswith("linehaul report: read "), err
        assert out.startswith(f"wrote {path}: ")
        pages[name] = path.read_text()
    charts = _charts(pages["bigquery"])
    assert list(charts) == list(PROJECT_CHARTS if project else CHARTS)
    assert all(marks > 0 for marks in charts.values()), charts
    assert charts == _charts(pages["local"])
    tiles = re.compile(r'<section class="tiles">.*?</section>')
    assert tiles.findall(pages["bigquery"]) == tiles.findall(pages["local"])


def test_a_dry_run_prints_the_sql_bytes_and_cost_and_runs_nothing(
    warehouse: Warehouse, capsys: Capture
) -> None:
    status, out, err = _run(
        capsys,
        "stats",
        "--bigquery",
        warehouse.dataset,
        "--project",
        "Requests",
        "--by",
        "python",
        "--dry-run",
    )
    assert (status, err) == (0, "")
    header = re.search(
        r"-- 1\. counts by python \(downloads_by_python_daily for 2026-11-01 to 2026-11-07\): would process "
        r"([\d,]+) bytes \([^)]+\), \$[\d.]+\n",
        out,
    )
    assert header is not None, out
    instead = re.search(
        r"-- instead, counts by python from file_downloads alone would process ([\d,]+) bytes", out
    )
    assert instead is not None, out
    daily, raw = (int(found[1].replace(",", "")) for found in (header, instead))
    assert 0 < daily < raw  # the question priced both ways
    assert f"(from file_downloads alone: {raw:,} bytes (" in out
    assert '--    @projects ARRAY<STRING> = ["requests"]\n' in out
    assert "--    @window_start TIMESTAMP = 2026-10-09T00:00:00+00:00\n" in out  # 30 days up to the last day
    read_back = "TIMESTAMP(date) AS timestamp, project, STRUCT(python AS python) AS details, downloads AS n"
    assert f"FROM (SELECT {read_back}" in out
    assert f"FROM `{warehouse.dataset}.downloads_by_python_daily` WHERE date BETWEEN" in out
    assert f"FROM `{warehouse.dataset}.file_downloads`" in out  # the question from the rows alone
    assert "WHERE timestamp >= @window_start AND timestamp < @window_end" in out
    assert "'requests'" not in out.lower().split("where", 1)[1]  # the name travels as a parameter
    assert out.splitlines()[-1].startswith(f"dry run: 1 query would process {daily:,} bytes")
    assert "each job is limited to 1,000,000,000,000 bytes billed" in out


def test_no_daily_asks_file_downloads_alone(warehouse: Warehouse, capsys: Capture) -> None:
    question = ["--project", "requests", "--by", "python", "--days", "30"]
    status, out, err = _run(
        capsys, "stats", "--bigquery", warehouse.dataset, *question, "--no-daily", "--dry-run"
    )
    assert (status, err) == (0, "")
    assert re.search(r"-- 1\. counts by python \(file_downloads\): would process ", out), out
    assert "daily" not in out
    assert out.splitlines()[-1].startswith("dry run: 1 query would process ")
    rows = _run(capsys, "stats", "--bigquery", warehouse.dataset, *question, "--no-daily")
    daily = _run(capsys, "stats", "--bigquery", warehouse.dataset, *question)
    assert rows[:2] == daily[:2]
    assert rows[2].startswith("linehaul stats: read file_downloads: ")
    assert daily[2].startswith(
        "linehaul stats: read downloads_by_python_daily for 2026-11-01 to 2026-11-07: "
    )


def test_a_query_over_the_bytes_limit_is_refused_and_says_which_flag(
    warehouse: Warehouse, capsys: Capture
) -> None:
    status, out, err = _run(
        capsys, "stats", "--bigquery", warehouse.dataset, "--by", "python", "--max-bytes-billed", "1MB"
    )
    assert (status, out) == (1, "")
    assert re.fullmatch(
        r"linehaul stats: BigQuery refused the query: it would bill 10,485,760 bytes \(10\.0 MiB: "
        r"\$[\d.]+ at \$6\.25/TiB\), above --max-bytes-billed 1,000,000 \(976\.6 KiB\): raise "
        r"--max-bytes-billed to run it \(--dry-run shows the SQL first\)\n",
        err,
    ), err


def test_every_job_carries_the_bytes_limit(warehouse: Warehouse, tmp_path: Path, capsys: Capture) -> None:
    billing = f"billing-{uuid.uuid4().hex[:8]}"  # a project of its own: its jobs are this test's
    limit = ["--billing-project", billing, "--max-bytes-billed", "5GB"]
    assert (
        main(["stats", "--bigquery", warehouse.dataset, "--by", "installer,python", "--days", "3", *limit])
        == 0
    )
    assert main(["report", "--bigquery", warehouse.dataset, "-o", str(tmp_path / "r.html"), *limit]) == 0
    assert (
        main(["query", "--bigquery", warehouse.dataset, "SELECT COUNT(*) FROM file_downloads", *limit]) == 0
    )
    capsys.readouterr()
    jobs = list(warehouse.stack.bigquery_client().list_jobs(project=billing))
    assert len(jobs) > 12  # stats (2: the partitions, the counts), report (a dozen), query (1)
    assert {job._properties["configuration"]["query"].get("maximumBytesBilled") for job in jobs} == {
        "5000000000"
    }


def test_the_dialects_agree_on_the_tricky_expressions(warehouse: Warehouse) -> None:
    """Versions' sort keys, PEP 503 names and the first match of a pattern: one definition, two dialects,
    the same values (DuckDB here, the emulator there)."""
    import duckdb

    from linehaul.analysis.dimensions import BIGQUERY, DUCKDB, Dialect

    texts = ["3.8", "3.10", "3.10.1rc2", "2024.8.30", "1.0.0b1", "Zope.Interface", "a_-.B--c", "x", ""]

    def expressions(dialect: Dialect) -> str:
        return ", ".join(
            [
                dialect.version_key("x"),
                dialect.normalised_name("x"),
                dialect.first_match("x", r"^[0-9]+\.[0-9]+"),
            ]
        )

    local = (
        duckdb.connect()
        .execute(
            f"SELECT x, {expressions(DUCKDB)} FROM (SELECT unnest($texts) AS x) ORDER BY x", {"texts": texts}
        )
        .fetchall()
    )
    from google.cloud import bigquery

    job = warehouse.stack.bigquery_client().query(
        f"SELECT x, {expressions(BIGQUERY)} FROM UNNEST(@texts) AS x ORDER BY x",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ArrayQueryParameter("texts", "STRING", texts)]
        ),
    )
    assert [tuple(row.values()) for row in job.result()] == local
    assert [row[2] for row in local] == [re.sub(r"[-_.]+", "-", text).lower() for text in sorted(texts)]


def test_query_takes_the_sql_right_after_a_lone_bigquery(warehouse: Warehouse, capsys: Capture) -> None:
    """``--bigquery "SQL"``: a dataset name has no spaces, so that is the SQL, on the public dataset."""
    assert _run(capsys, "query", "--bigquery", "SELECT 41 + 1 AS answer", "--json") == (
        0,
        '[\n  {\n    "answer": 42\n  }\n]\n',
        "",
    )


# -- issue 28: the same answers, said the same way, on BigQuery ------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        ["--by", "day,project", "--csv"],  # every group, not --top's 20
        ["--by", "week", "--json"],
        ["--by", "day", "--where", "day <> '2026-11-03'", "--json"],  # a day without rows: 0
        ["--by", "project", "--installer", "PIP", "--python", "3.12", "--system", "linux", "--country", "US"],
        ["--by", "project", "--where", "installer = 'pip' AND python = '3.12' AND country = 'US'", "--csv"],
        ["--exclude-mirrors", "--json"],  # no --by: the total
        ["--by", "installer", "--pivot", "python", "--top", "3", "--share", "--csv"],
        ["--by", "installer", "--pivot", "ci", "--top", "4"],
    ],
    ids=["whole-csv", "week", "empty-day", "filters", "where-fields", "total", "pivot-share", "pivot-table"],
)
def test_issue_28_questions_answer_the_same(
    question: list[str], warehouse: Warehouse, capsys: Capture
) -> None:
    window = ["--since", "2026-11-01", "--until", "2026-11-07"]  # the window BigQuery's default would widen
    local = _run(capsys, "stats", str(warehouse.week.parquet), *window, *question)
    remote = _run(capsys, "stats", "--bigquery", warehouse.dataset, *window, *question)
    assert local[0] == 0, local[2]
    assert remote[:2] == local[:2]
    if "--json" in question and question[:2] == ["--by", "day"]:
        days = {record["day"]: record["count"] for record in json.loads(remote[1])["rows"]}
        assert len(days) == 7
        assert days["2026-11-03"] == 0


def test_bigquery_states_its_partition_window(warehouse: Warehouse, capsys: Capture) -> None:
    status, out, err = _run(capsys, "stats", "--bigquery", warehouse.dataset, "--by", "installer")
    assert status == 0
    assert err.startswith("linehaul stats: read downloads_by_installer_daily for 2026-11-01 to 2026-11-07: ")
    assert out.splitlines()[-1] == (
        "window: 2026-10-09 to 2026-11-07 (BigQuery's partitions of the last 30 days of the table, by "
        "default); rows selected: 2026-11-01 to 2026-11-07 (the data covers 2026-11-01 to 2026-11-07)"
    )
    status, out, _ = _run(capsys, "stats", "--bigquery", warehouse.dataset, "--by", "installer", "--json")
    document = json.loads(out)
    assert document["window"] == _DEFAULT_WINDOW
    assert (document["first_day"], document["last_day"]) == ("2026-11-01", "2026-11-07")
    assert document["total"] == len(warehouse.week.downloads)  # the same total as the files', said so


def test_a_project_without_rows_on_bigquery_names_the_closest(warehouse: Warehouse, capsys: Capture) -> None:
    numpy = sum(row["project"] == "numpy" for row in warehouse.week.downloads)
    status, out, err = _run(
        capsys, "stats", "--bigquery", warehouse.dataset, "--project", "numpi", "--by", "python"
    )
    assert (status, out) == (1, "")
    assert err == (
        "linehaul stats: --project numpi: no download of it in 2026-10-09 to 2026-11-07; "
        f"the closest names with rows: numpy ({numpy:,})\n"
    )


def test_iso_weeks_are_the_same_on_bigquery_and_duckdb(warehouse: Warehouse) -> None:
    """--by week's expression, on the days where ISO weeks and years part from the calendar's."""
    import duckdb
    from google.cloud import bigquery

    from linehaul.analysis.dimensions import BIGQUERY, DUCKDB

    days = [date(2020, 12, 27) + timedelta(days=offset) for offset in range(10)]
    days += [date(2024, 12, 29), date(2024, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 4)]
    moments = [datetime.combine(day, time(23, 59, 59), UTC) for day in days]
    expected = [f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}" for day in days]
    local = duckdb.connect().execute("SET TimeZone = 'UTC'")
    on_duckdb = local.execute(
        f"SELECT {DUCKDB.week('t')} FROM (SELECT unnest($moments) AS t) ORDER BY t", {"moments": moments}
    ).fetchall()
    job = warehouse.stack.bigquery_client().query(
        f"SELECT {BIGQUERY.week('t')} FROM UNNEST(@moments) AS t ORDER BY t",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ArrayQueryParameter("moments", "TIMESTAMP", moments)]
        ),
    )
    assert [row[0] for row in on_duckdb] == [row[0] for row in job.result()] == expected


def test_query_csv_flattens_records_on_both(warehouse: Warehouse, capsys: Capture) -> None:
    sql = "SELECT * FROM file_downloads ORDER BY timestamp, url LIMIT 20"
    local = _run(capsys, "query", str(warehouse.week.parquet), sql, "--csv")
    remote = _run(capsys, "query", "--bigquery", warehouse.dataset, sql, "--csv")
    assert (local[0], local[2], remote[0], remote[2]) == (0, "", 0, "")
    on_files, on_bigquery = (list(csv.reader(io.StringIO(out))) for out in (local[1], remote[1]))
    assert on_bigquery[0] == on_files[0]  # details.installer.name, ...: a column per field
    assert "details.installer.name" in on_files[0]
    assert [row[1:] for row in on_bigquery] == [row[1:] for row in on_files]  # the times are written apart
