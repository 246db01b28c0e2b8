"""What ``linehaul stats`` says beside its counts, and the questions of issue 28 in an analyst's words,
through the command line on the log and on its Parquet (tests/integration/test_bigquery_questions.py asks
BigQuery the same): exports carry every group, every answer states its window, partial days and damaged
inputs are marked, empty periods count 0, typos are caught, weeks, filters, totals and pivots."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from linehaul.cli import main
from linehaul.logs.sample import sample_lines
from tests.analysis.questions import VALUES, Row, Week, stats_rows

Capture = pytest.CaptureFixture[str]
SOURCES = ["log", "parquet"]


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _stats(capsys: Capture, *argv: str) -> str:
    status, out, err = _run(capsys, "stats", *argv)
    assert (status, err) == (0, ""), err
    return out


def _source(week: Week, source: str) -> str:
    return str(week.log if source == "log" else week.parquet)


def _week(row: Row) -> str:
    year, week, _ = date.fromisoformat(row["timestamp"][:10]).isocalendar()
    return f"{year}-W{week:02d}"


# -- 1. exports are whole ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_exports_carry_every_group_unless_top_is_given(source: str, week: Week, capsys: Capture) -> None:
    groups = Counter((row["timestamp"][:10], row["project"]) for row in week.downloads)
    assert len(groups) > 20
    question = [_source(week, source), "--by", "day,project"]
    table = list(csv.reader(io.StringIO(_stats(capsys, *question, "--csv"))))
    assert len(table) == 1 + len(groups)
    assert {(day, project): int(count) for day, project, count, _ in table[1:]} == groups
    assert len(stats_rows(_stats(capsys, *question, "--json"))) == len(groups)
    markdown = _stats(capsys, *question, "--markdown").splitlines()
    assert len(markdown) == 2 + len(groups) + 1  # header, rule, the groups, the total
    assert len(list(csv.reader(io.StringIO(_stats(capsys, *question, "--csv", "--top", "5"))))) == 6
    shown = _stats(capsys, *question).splitlines()
    assert shown[24] == (
        f"({len(groups) - 20} more groups: --top 0 shows all; --csv, --json and --markdown give every one)"
    )


# -- 3. every answer states its window -------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_every_answer_states_its_window(source: str, week: Week, capsys: Capture) -> None:
    out = _stats(capsys, _source(week, source), "--project", "requests", "--by", "installer")
    assert out.splitlines()[-1] == (
        "window: all the data; rows selected: 2026-11-01 to 2026-11-07 "
        "(the data covers 2026-11-01 to 2026-11-07)"
    )
    document = json.loads(
        _stats(capsys, _source(week, source), "--by", "installer", "--since", "2026-11-03", "--json")
    )
    chosen = [row for row in week.downloads if row["timestamp"] >= "2026-11-03"]
    assert {key: document[key] for key in ("window", "first_day", "last_day", "data", "total")} == {
        "window": {"since": "2026-11-03", "until": None, "default": False},
        "first_day": min(row["timestamp"] for row in chosen)[:10],
        "last_day": max(row["timestamp"] for row in chosen)[:10],
        "data": {"first_day": "2026-11-01", "last_day": "2026-11-07"},
        "total": len(chosen),
    }
    assert (document["partial_days"], document["damaged"]) == ([], [])


def _truncated(directory: Path) -> Path:
    """Five days of log, cut two thirds into its gzip: its last day ends early, and it is damaged."""
    lines = sample_lines(10_000, seed=28, start=datetime(2026, 11, 1, tzinfo=UTC), days=5)
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    path = directory / "cut.log.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    return path


def test_partial_days_and_damaged_inputs_are_marked(tmp_path: Path, capsys: Capture) -> None:
    log = _truncated(tmp_path)
    status, out, err = _run(capsys, "stats", str(log), "--by", "day")
    assert status == 1
    assert err.startswith(f"linehaul stats: {log}: the gzip data is cut short")
    assert _run(capsys, "parse", "-o", str(tmp_path / "rows"), str(log))[0] == 1
    rows = [
        json.loads(line) for line in (tmp_path / "rows" / "file_downloads.ndjson").read_text().splitlines()
    ]
    last = max(row["timestamp"] for row in rows)
    ends = datetime.fromisoformat(last.replace("Z", "+00:00"))
    days = sorted({row["timestamp"][:10] for row in rows})
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[2 : 2 + len(days)]] == [*days[:-1], f"{days[-1]}*"]
    assert lines[-2:] == [
        f"* partial: {last[:10]}, the data ends at {ends:%H:%M} UTC",
        f"damaged: {log}: {err.split(': ', 2)[2].split(' (its lines')[0]} (counted up to the damage)",
    ]
    status, out, _ = _run(capsys, "stats", str(log), "--by", "installer", "--json")
    document = json.loads(out)
    assert status == 1
    assert document["partial_days"] == [{"day": last[:10], "why": f"the data ends at {ends:%H:%M} UTC"}]
    assert [damage.split(":")[0] for damage in document["damaged"]] == [str(log)]


def test_the_report_marks_the_partial_day_and_the_damaged_input(tmp_path: Path, capsys: Capture) -> None:
    log = _truncated(tmp_path)
    page = tmp_path / "report.html"
    assert main(["report", str(log), "-o", str(page)]) == 1
    capsys.readouterr()
    html = page.read_text()
    notices = re.findall(r'<p class="notice">([^<]*)</p>', html)
    assert len(notices) == 2
    assert re.fullmatch(
        r"2026-11-0\d is partial: the data ends at \d\d:\d\d UTC; its downloads are not a whole day&#x27;s\.",
        notices[0],
    )
    assert notices[1].startswith(f"Damaged input: {log}: the gzip data is cut short")
    partial = re.findall(r'<rect class="mark partial"[^>]*><title>([^<]*)</title>', html)
    assert len(partial) == 1
    assert partial[0].endswith(notices[0].split(" is partial: ")[1].split(";")[0] + ")")


def test_days_weeks_and_months_without_rows_count_0(tmp_path: Path, capsys: Capture) -> None:
    for day in (1, 16):  # 2026-11-01 (a Sunday) and 2026-11-16: two weeks without rows between them
        lines = sample_lines(600, seed=day, start=datetime(2026, 11, day, tzinfo=UTC))
        (tmp_path / f"day{day}.log").write_text("\n".join(lines) + "\n")
    logs = [str(tmp_path / "day1.log"), str(tmp_path / "day16.log")]
    assert main(["parse", "--format", "parquet", "-q", "-o", str(tmp_path / "pq"), *logs]) == 0
    capsys.readouterr()
    for source in (logs, [str(tmp_path / "pq")]):
        days = stats_rows(_stats(capsys, *source, "--by", "day", "--json"))
        assert [record["day"] for record in days] == [f"2026-11-{day:02d}" for day in range(1, 17)]
        assert [record["count"] > 0 for record in days] == [True, *[False] * 14, True]
        weeks = stats_rows(_stats(capsys, *source, "--by", "week", "--json", "--order", "count"))
        assert [record["week"] for record in weeks[2:]] == ["2026-W45", "2026-W46"]  # 0: last, in time order
        assert [record["count"] for record in weeks[2:]] == [0, 0]
        assert {record["week"] for record in weeks[:2]} == {"2026-W44", "2026-W47"}
        assert [record["week"] for record in weeks if record["partial"]] == [
            weeks[0]["week"],
            weeks[1]["week"],
        ]
        table = _stats(capsys, *source, "--by", "week").splitlines()
        assert [line.split()[:2] for line in table[2:6]] == [
            ["2026-W44*", str(weeks[0 if weeks[0]["week"] == "2026-W44" else 1]["count"])],
            ["2026-W45", "0"],
            ["2026-W46", "0"],
            ["2026-W47*", str(weeks[1 if weeks[0]["week"] == "2026-W44" else 0]["count"])],
        ]


# -- 4. typos are caught ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_a_project_without_rows_names_the_closest_ones(source: str, week: Week, capsys: Capture) -> None:
    counts = Counter(row["project"] for row in week.downloads)
    status, out, err = _run(capsys, "stats", _source(week, source), "--project", "numpi", "--by", "python")
    assert (status, out) == (1, "")
    assert err == (
        f"linehaul stats: --project numpi: no download of it in the data; the closest names with rows: "
        f"numpy ({counts['numpy']:,})\n"
    )
    status, out, err = _run(
        capsys, "stats", _source(week, source), "--project", "requests", "--project", "setuptool"
    )
    assert (status, out) == (1, "")
    assert (
        "--project setuptool: no download of it in the data; the closest names with rows: setuptools (" in err
    )
    status, out, err = _run(
        capsys, "report", _source(week, source), "--project", "xyzzy", "-o", "unused.html"
    )
    assert (status, out) == (1, "")
    assert (
        err == "linehaul report: --project xyzzy: no download of it in the data; "
        "no name close to it has rows either\n"
    )


@pytest.mark.parametrize("spec", ["setuptools==75.1.0", "setuptools >= 70", "requests[socks]<3"])
def test_a_requirement_is_not_a_project_name(spec: str, week: Week, capsys: Capture) -> None:
    status, out, err = _run(capsys, "stats", str(week.parquet), "--project", spec)
    assert (status, out) == (2, "")
    name = spec.split("=")[0].split(">")[0].split("[")[0].strip()
    assert err.startswith(f"linehaul stats: --project: {spec!r} is a requirement, not a project name: ")
    assert f"--project {name} --by version counts each version" in err
    status, _, err = _run(capsys, "stats", str(week.parquet), "--project", "not a name")
    assert status == 2
    assert "'not a name' is not a project name" in err


# -- 5. questions in people's words ------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_weeks_and_months(source: str, week: Week, capsys: Capture) -> None:
    weeks = Counter(map(_week, week.downloads))
    records = stats_rows(_stats(capsys, _source(week, source), "--by", "week", "--json"))
    assert (
        {record["week"]: record["count"] for record in records}
        == weeks
        == {"2026-W44": records[0]["count"], "2026-W45": records[1]["count"]}
    )
    months = stats_rows(
        _stats(capsys, _source(week, source), "--by", "month,installer", "--json", "--top", "2")
    )
    installers = Counter(map(VALUES["installer"], week.downloads)).most_common(2)
    assert [(record["month"], record["installer"], record["count"]) for record in months] == [
        ("2026-11", name, count) for name, count in installers
    ]


def _keep(row: Row, installer: str, python: str, system: str, country: str) -> bool:
    return (
        (VALUES["installer"](row) or "").lower() == installer
        and VALUES["python"](row) == python
        and (VALUES["system"](row) or "").lower() == system
        and row["country_code"] == country
    )


@pytest.mark.parametrize("source", SOURCES)
def test_filters_with_the_names_by_uses(source: str, week: Week, capsys: Capture) -> None:
    kept = [row for row in week.downloads if _keep(row, "pip", "3.12", "linux", "US")]
    assert kept
    by_flags = _stats(
        capsys, _source(week, source), "--by", "project", "--json",
        "--installer", "PIP", "--python", "3.12", "--system", "linux", "--country", "US",
    )  # fmt: skip
    expected = Counter(row["project"] for row in kept)
    assert {record["project"]: record["count"] for record in stats_rows(by_flags)} == expected
    where = "installer = 'pip' AND python = '3.12' AND system = 'Linux' AND country = 'US'"
    by_where = _stats(capsys, _source(week, source), "--by", "project", "--json", "--where", where)
    assert stats_rows(by_where) == stats_rows(by_flags)
    several = stats_rows(
        _stats(capsys, _source(week, source), "--installer", "uv", "--installer", "Pip", "--json")
    )
    assert several == [
        {"count": sum(VALUES["installer"](row) in ("uv", "pip") for row in week.downloads), "share": 1.0}
    ]


@pytest.mark.parametrize("source", SOURCES)
def test_without_by_the_total(source: str, week: Week, capsys: Capture) -> None:
    out = _stats(capsys, _source(week, source), "--exclude-mirrors").splitlines()
    total = sum(
        VALUES["installer"](row) not in ("bandersnatch", "devpi", "Nexus", "Artifactory")
        for row in week.downloads
    )
    assert out[:3] == ["downloads   share", "---------  ------", f"{total:>9}  100.0%"]
    assert out[3].startswith("window: all the data; rows selected: 2026-11-01 to 2026-11-07")
    assert stats_rows(_stats(capsys, _source(week, source), "--simple", "--json")) == [
        {"count": len(week.simple), "share": 1.0}
    ]


def text(value: Any) -> str:
    return "(none)" if value is None else str(value)


def _cells(rows: list[Row], field: str, pivot: str) -> dict[Any, Counter[Any]]:
    cells: dict[Any, Counter[Any]] = {}
    for row in rows:
        cells.setdefault(VALUES[field](row), Counter())[VALUES[pivot](row)] += 1
    return cells


@pytest.mark.parametrize("source", SOURCES)
def test_pivots_by_total_with_others_totals_and_shares(source: str, week: Week, capsys: Capture) -> None:
    cells = _cells(week.downloads, "installer", "python")
    columns = Counter(map(VALUES["python"], week.downloads))
    top = [value for value, _ in sorted(columns.items(), key=lambda item: -item[1])[:3]]
    rows = sorted(cells, key=lambda name: -sum(cells[name].values()))[:3]
    document = json.loads(
        _stats(
            capsys, _source(week, source), "--by", "installer", "--pivot", "python", "--top", "3", "--json"
        )
    )
    assert document["columns"] == [
        *({"value": text(value), "count": columns[value]} for value in top),
        {"value": "(others)", "count": len(week.downloads) - sum(columns[value] for value in top)},
    ]
    assert [record["installer"] for record in document["rows"]] == rows
    for record in document["rows"]:
        counted = cells[record["installer"]]
        shown = {text(value): counted[value] for value in top}
        assert record["python"] == {**shown, "(others)": sum(counted.values()) - sum(shown.values())}
    table = _stats(
        capsys, _source(week, source), "--by", "installer", "--pivot", "python", "--top", "3", "--share"
    )
    lines = table.splitlines()
    assert lines[0].split() == ["installer", *map(text, top), "(others)", "downloads", "share"]
    first = cells[rows[0]]
    assert lines[2].split()[1:4] == [f"{100 * first[value] / sum(first.values()):.1f}%" for value in top]
    assert lines[6].split()[1:4] == [f"{100 * columns[value] / len(week.downloads):.1f}%" for value in top]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "2026-13-01"], "argument --since: not a date (YYYY-MM-DD): '2026-13-01'"),
        (["--top", "-1"], "argument --top: must be at least 0 (0: all), not -1"),
        (["--colour", "blue"], "unrecognized arguments: --colour blue"),
    ],
)
def test_a_mistaken_argument_is_one_line(argv: list[str], message: str, week: Week, capsys: Capture) -> None:
    try:
        status = main(["stats", str(week.parquet), *argv])
    except SystemExit as exit_:  # argparse's way
        status = int(str(exit_.code))
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == f"linehaul stats: {message} (linehaul stats --help shows every option)\n"
