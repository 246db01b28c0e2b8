"""linehaul stats, query and report, and parse's --format, --jobs and progress line, through main()."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from linehaul.analysis import DIMENSIONS
from linehaul.cli import main
from linehaul.logs.sample import sample_lines, write_sample
from tests.analysis.conftest import SECOND_DAY, Expected, Logs, installer_of
from tests.analysis.questions import Week, stats_rows

Capture = pytest.CaptureFixture[str]


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_stats_table_has_aligned_counts_and_shares(logs: Logs, expected: Expected, capsys: Capture) -> None:
    status, out, err = _run(capsys, "stats", *logs.paths, "--by", "installer", "--top", "3")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["installer", "downloads", "share"]
    counted = Counter(map(installer_of, expected.downloads)).most_common(3)
    total = len(expected.downloads)
    rows = [line.split() for line in lines[2:5]]
    assert rows == [[str(name), str(n), f"{100 * n / total:.1f}%"] for name, n in counted]
    assert lines[6].split() == ["total", str(total), "100.0%"]
    assert len({len(line) for line in lines[:7]}) == 1  # every line of the table has the same width
    assert "more values" in lines[7]


def test_stats_json_and_simple(logs: Logs, expected: Expected, capsys: Capture) -> None:
    status, out, _ = _run(capsys, "stats", *logs.paths, "--by", "project", "--simple", "--top", "0", "--json")
    assert status == 0
    counted = Counter(row["project"] for row in expected.simple)
    assert {record["project"]: record["count"] for record in stats_rows(out)} == counted
    assert all(set(record) == {"project", "count", "share"} for record in stats_rows(out))


def test_stats_since_and_until(logs: Logs, expected: Expected, capsys: Capture) -> None:
    day = SECOND_DAY.date().isoformat()
    _, out, _ = _run(capsys, "stats", *logs.paths, "--by", "day", "--since", day, "--until", day, "--json")
    assert stats_rows(out) == [
        {
            "day": day,
            "count": sum(row["timestamp"].startswith(day) for row in expected.downloads),
            "share": 1.0,
            "partial": None,
        }
    ]
    status, _, err = _run(
        capsys, "stats", *logs.paths, "--by", "day", "--since", day, "--until", "2026-10-01"
    )
    assert status == 2
    assert "ends (2026-10-01) before it starts" in err


def test_stats_unknown_field_lists_the_valid_ones(logs: Logs, capsys: Capture) -> None:
    status, out, err = _run(capsys, "stats", *logs.paths, "--by", "colour")
    assert (status, out) == (2, "")
    assert err == f"linehaul stats: --by: unknown field 'colour': choose one of {', '.join(DIMENSIONS)}\n"


def test_stats_by_installer_agrees_with_counting_parses_ndjson(tmp_path: Path, capsys: Capture) -> None:
    log = write_sample(tmp_path / "corpus.log.gz", lines=20_000, seed=99)
    assert main(["parse", "-o", str(tmp_path / "out"), str(log)]) == 0
    with open(tmp_path / "out" / "file_downloads.ndjson") as rows:
        counted = Counter(installer_of(json.loads(line)) for line in rows)
    capsys.readouterr()
    status, out, _ = _run(capsys, "stats", str(log), "--by", "installer", "--top", "0", "--json")
    assert status == 0
    assert {record["installer"]: record["count"] for record in stats_rows(out)} == counted


def test_query_table_json_and_csv(logs: Logs, expected: Expected, capsys: Capture) -> None:
    sql = (
        "SELECT project, count(*) AS n FROM file_downloads GROUP BY project ORDER BY n DESC, project LIMIT 3"
    )
    counted = sorted(
        Counter(row["project"] for row in expected.downloads).items(), key=lambda p: (-p[1], p[0])
    )
    status, out, _ = _run(capsys, "query", *logs.paths, sql)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["project", "n"]
    assert set(lines[1]) <= {"-", " "}
    assert [line.split() for line in lines[2:5]] == [[name, str(n)] for name, n in counted[:3]]
    assert lines[5] == "(3 rows)"
    _, out, _ = _run(capsys, "query", *logs.paths, sql, "--json")
    assert json.loads(out) == [{"project": name, "n": n} for name, n in counted[:3]]
    _, out, _ = _run(capsys, "query", "--csv", *logs.paths, sql)
    assert list(csv.reader(io.StringIO(out))) == [
        ["project", "n"],
        *([name, str(n)] for name, n in counted[:3]),
    ]


def test_query_json_turns_times_and_records_into_json(logs: Logs, capsys: Capture) -> None:
    sql = "SELECT timestamp, details FROM file_downloads WHERE details IS NOT NULL ORDER BY timestamp LIMIT 1"
    _, out, _ = _run(capsys, "query", *logs.paths, sql, "--json")
    [record] = json.loads(out)
    assert record["timestamp"].endswith("+00:00")
    assert isinstance(record["details"]["installer"], dict)


def test_query_sql_error_shows_duckdbs_message(logs: Logs, capsys: Capture) -> None:
    status, out, err = _run(capsys, "query", *logs.paths, "SELECT nope FROM file_downloads")
    assert (status, out) == (1, "")
    assert err.startswith('linehaul query: DuckDB says: Binder Error: Referenced column "nope" not found')
    assert "Traceback" not in err


def test_unreadable_files_are_named(tmp_path: Path, capsys: Capture) -> None:
    status, out, err = _run(
        capsys, "stats", str(tmp_path / "gone.log.gz"), str(tmp_path / "*.gz"), "--by", "cpu"
    )
    assert (status, out) == (2, "")
    assert err.splitlines() == [
        f"linehaul stats: {tmp_path / 'gone.log.gz'}: no such file",
        f"linehaul stats: {tmp_path / '*.gz'}: no file matches this pattern",
    ]
    packed = gzip.compress(("\n".join(sample_lines(4000, seed=3)) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(packed[: len(packed) // 2])
    status, out, err = _run(
        capsys, "query", str(tmp_path / "cut.log.gz"), "SELECT count(*) AS n FROM file_downloads"
    )
    assert status == 1
    assert int(out.splitlines()[2]) > 0
    assert err.startswith(f"linehaul query: {tmp_path / 'cut.log.gz'}: the gzip data is cut short")


def _outputs(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


@pytest.mark.parametrize("output_format", ["ndjson", "parquet"])
def test_parse_jobs_2_writes_the_same_bytes_as_jobs_1(
    output_format: str, tmp_path: Path, capsys: Capture
) -> None:
    big = write_sample(tmp_path / "big.log.gz", lines=14_000, seed=4)  # several blocks for each worker
    small = tmp_path / "small.log"
    small.write_text("\n".join(sample_lines(500, seed=5)) + "\n")
    packed = gzip.compress(("\n".join(sample_lines(5000, seed=6)) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(packed[: len(packed) * 2 // 3])
    inputs = [str(big), str(tmp_path / "cut.log.gz"), str(small)]
    summaries = []
    for jobs in ("1", "2"):
        status = main(
            ["parse", "--format", output_format, "--jobs", jobs, "-o", str(tmp_path / jobs), *inputs]
        )
        out, err = capsys.readouterr()
        assert status == 1
        assert err.startswith(f"linehaul parse: {tmp_path / 'cut.log.gz'}: the gzip data")
        summaries.append(out.split(" seconds=")[0])
    assert summaries[0] == summaries[1]
    one, two = _outputs(tmp_path / "1"), _outputs(tmp_path / "2")
    assert set(one) == {f"file_downloads.{output_format}", f"simple_requests.{output_format}",
                        "unprocessed.log", "unprocessed.reasons.ndjson", "ignored.log"}  # fmt: skip
    assert one == two
    reasons = [
        json.loads(line) for line in (tmp_path / "2" / "unprocessed.reasons.ndjson").read_text().splitlines()
    ]
    assert {reason["file"] for reason in reasons} == set(inputs)  # line numbers per file, in input order


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_terminal_only(
    logs: Logs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["parse", "-o", str(tmp_path / "a"), *logs.paths]) == 0
    assert "lines/s" in terminal.getvalue()
    assert "file 1/2" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r\x1b[K")  # erased at the end
    quiet = _Terminal()
    monkeypatch.setattr("sys.stderr", quiet)
    assert main(["parse", "--quiet", "-o", str(tmp_path / "b"), *logs.paths]) == 0
    assert quiet.getvalue() == ""
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    assert main(["stats", *logs.paths, "--by", "cpu"]) == 0
    assert piped.getvalue() == ""


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)


def test_parse_ndjson_does_not_load_pyarrow_or_duckdb(logs: Logs, tmp_path: Path) -> None:
    code = (
        "import sys; from linehaul.cli import main; "
        f"assert main(['parse', '-o', {str(tmp_path)!r}, *{logs.paths!r}]) == 0; "
        "print(sorted(name for name in ('pyarrow', 'duckdb') if name in sys.modules))"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize("argv", [["stats", "--by", "cpu"], ["parse", "--format", "parquet", "-o", "out"]])
def test_without_the_analysis_extra_the_message_names_it(logs: Logs, tmp_path: Path, argv: list[str]) -> None:
    code = (
        "import sys; sys.modules['pyarrow'] = sys.modules['duckdb'] = None; from linehaul.cli import main; "
        f"sys.exit(main([{argv[0]!r}, *{logs.paths!r}, *{argv[1:]!r}]))"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 1
    assert "pip install 'linehaul[analysis]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_by_repeated_keeps_every_field_and_pivot(week: Week, capsys: Capture) -> None:
    status, out, _ = _run(capsys, "stats", str(week.parquet), "--by", "installer", "--by", "python", "--json")
    assert status == 0
    assert set(stats_rows(out)[0]) == {"installer", "python", "count", "share"}
    status, out, err = _run(capsys, "stats", str(week.parquet), "--by", "python", "--pivot", "python")
    assert (status, out) == (2, "")
    assert err == "linehaul stats: --pivot python: also give a field to count by\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--month", "2026-11", "--days", "3"], "--month cannot be combined with --since, --until or --days"),
        (["--month", "November"], "not a month (YYYY-MM): 'November'"),
        (
            ["--since", "2026-11-02", "--days", "3"],
            "a number of days cannot be combined with a first or last day",
        ),
        (["--where", " "], "the where expression is empty"),
    ],
)
def test_selection_mistakes_are_named(week: Week, capsys: Capture, argv: list[str], message: str) -> None:
    status, out, err = _run(capsys, "stats", str(week.parquet), "--by", "cpu", *argv)
    assert (status, out, err) == (2, "", f"linehaul stats: {message}\n")


def test_where_is_sql_and_its_errors_are_duckdbs(week: Week, capsys: Capture) -> None:
    status, out, _ = _run(
        capsys, "stats", str(week.parquet), "--by", "file_type", "--where", "file.type = 'sdist'", "--json"
    )
    assert status == 0
    assert stats_rows(out) == [
        {
            "file_type": "sdist",
            "count": sum(row["file"]["type"] == "sdist" for row in week.downloads),
            "share": 1.0,
        }
    ]
    status, out, err = _run(capsys, "stats", str(week.parquet), "--by", "cpu", "--where", "nope = 1")
    assert (status, out) == (1, "")
    assert err.startswith('linehaul stats: DuckDB says: Binder Error: Referenced column "nope" not found')


def test_an_empty_window_says_what_the_data_covers(week: Week, capsys: Capture) -> None:
    status, out, err = _run(capsys, "stats", str(week.parquet), "--by", "cpu", "--month", "2026-12")
    assert status == 0
    assert out.splitlines()[-2:] == [
        "total          0      -",
        "window: 2026-12-01 to 2026-12-31; no row selected (the data covers 2026-11-01 to 2026-11-07)",
    ]
    assert err == "linehaul stats: no file_downloads row selected; the data covers 2026-11-01 to 2026-11-07\n"


def test_sample_spreads_its_lines_over_days(tmp_path: Path, capsys: Capture) -> None:
    log = tmp_path / "days.log"
    status, out, _ = _run(
        capsys, "sample", str(log), "--lines", "900", "--start", "2025-02-27", "--days", "3"
    )
    assert (status, out) == (0, f"wrote 900 lines to {log} (3 days from 2025-02-27)\n")
    assert main(["parse", "-o", str(tmp_path / "out"), str(log)]) == 0
    rows = (tmp_path / "out" / "file_downloads.ndjson").read_text().splitlines()
    days = Counter(json.loads(line)["timestamp"][:10] for line in rows)
    assert sorted(days) == ["2025-02-27", "2025-02-28", "2025-03-01"]
    assert min(days.values()) > 150  # spread evenly


@pytest.mark.parametrize(
    "argv",
    [
        ["stats", "{parquet}", "--by", "project,version,installer,python,system,cpu", "--top", "0"],
        ["query", "{parquet}", "SELECT * FROM range(300000)"],
        ["query", "{parquet}", "SELECT * FROM range(300000)", "--json"],
    ],
    ids=["stats", "query", "query-json"],
)
def test_a_closed_pipe_ends_quietly(week: Week, argv: list[str]) -> None:
    """Each prints far more than a pipe holds (64 KiB): the reader's going away breaks the pipe."""
    values = {"parquet": str(week.parquet)}
    command = [sys.executable, "-m", "linehaul", *(argument.format(**values) for argument in argv)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()  # like | head -1
        process.stdout.close()
        errors = process.stderr.read().decode()
        status = process.wait()
    assert (status, errors) == (0, "")


def test_stats_on_parquet_loads_neither_pyarrow_nor_the_parser(week: Week, tmp_path: Path) -> None:
    """Start-up is most of what stats on Parquet costs: it imports DuckDB and little else."""
    code = (
        "import sys, io, contextlib; from linehaul.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['stats', {str(week.parquet)!r}, '--project', 'requests', '--by', 'python']) == 0\n"
        "print(sorted(name for name in ('pyarrow', 'linehaul.convert', 'linehaul.useragents', 'google.cloud."
        "bigquery') if name in sys.modules))"
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats", "--by", "cpu"], "linehaul stats: give the files to read, or --bigquery"),
        (
            ["stats", "{log}", "--bigquery", "--by", "cpu"],
            "linehaul stats: give files or --bigquery, not both",
        ),
        (
            ["stats", "{log}", "--by", "cpu", "--dry-run"],
            "linehaul stats: --table, --billing-project, --dry-run and --no-daily go with --bigquery",
        ),
        (
            ["stats", "--bigquery", "a.b.c", "--by", "cpu"],
            "linehaul stats: --bigquery: not a dataset ([PROJECT.]DATASET): 'a.b.c'",
        ),
        (
            ["query", "--bigquery", "x.y", "--table", "t;DROP", "SELECT 1"],
            "linehaul query: --bigquery: not a table name: 't;DROP'",
        ),
        (["query", "--bigquery", "x.y"], "linehaul query: give the SQL to run"),
    ],
)
def test_bigquery_usage_mistakes(week: Week, capsys: Capture, argv: list[str], message: str) -> None:
    status, out, err = _run(capsys, *(argument.format(log=week.log) for argument in argv))
    assert (status, out, err) == (2, "", message + "\n")


def test_without_the_gcp_extra_bigquery_says_which_to_install(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['google.cloud.bigquery'] = None; from linehaul.cli import main; "
        "sys.exit(main(['stats', '--bigquery', '--by', 'cpu']))"
    )
    result = _python(code, tmp_path)
    assert (result.returncode, result.stdout) == (1, "")
    assert (
        result.stderr
        == "linehaul stats: --bigquery needs google-cloud-bigquery: pip install 'linehaul[gcp]'\n"
    )
