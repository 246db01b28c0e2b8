"""An analyst's real questions, each answered by one ``linehaul stats`` command, checked against a count in
Python over the rows ``linehaul parse`` wrote (tests/analysis/questions.py), on logs, on parse's Parquet
output and on its NDJSON rows alike."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest

from linehaul.cli import main
from tests.analysis.questions import MIRRORS, QUESTIONS, VALUES, Question, Week, stats_rows

Capture = pytest.CaptureFixture[str]


def _stats(capsys: Capture, *argv: str) -> str:
    status = main(["stats", *argv])
    out, err = capsys.readouterr()
    assert (status, err) == (0, ""), err
    return out


@pytest.mark.parametrize("question", QUESTIONS, ids=[question.name for question in QUESTIONS])
def test_each_question_is_one_command(question: Question, week: Week, capsys: Capture) -> None:
    answer = question.answer(week.downloads)
    assert answer, "the sample should have rows for every question"
    assert stats_rows(_stats(capsys, str(week.log), *question.arguments, "--json")) == answer


@pytest.mark.parametrize("question", QUESTIONS, ids=[question.name for question in QUESTIONS])
def test_parquet_and_ndjson_rows_give_what_the_logs_give(
    question: Question, week: Week, capsys: Capture
) -> None:
    answer = question.answer(week.downloads)
    for rows in (week.parquet, week.parquet / "file_downloads.parquet", week.ndjson):
        assert stats_rows(_stats(capsys, str(rows), *question.arguments, "--json")) == answer, rows


def test_the_mirrors_and_the_rows_without_installer(week: Week, capsys: Capture) -> None:
    without = {record["installer"]: record["count"] for record in stats_rows(
        _stats(capsys, str(week.parquet), "--by", "installer", "--exclude-mirrors", "--top", "0", "--json")
    )}  # fmt: skip
    installers = Counter(map(VALUES["installer"], week.downloads))
    assert without[None] == installers[None] > 0  # NOT IN would have dropped them
    assert not MIRRORS & set(without)
    only = stats_rows(_stats(capsys, str(week.parquet), "--by", "installer", "--mirrors-only", "--json"))
    assert {record["installer"]: record["count"] for record in only} == {
        name: count for name, count in installers.items() if name in MIRRORS
    }
    assert sum(without.values()) + sum(record["count"] for record in only) == len(week.downloads)
    split = stats_rows(_stats(capsys, str(week.parquet), "--by", "mirror", "--json"))
    assert {record["mirror"]: record["count"] for record in split} == {
        False: sum(without.values()),
        True: sum(record["count"] for record in only),
    }


def test_markdown_csv_and_json_of_the_same_table(week: Week, capsys: Capture) -> None:
    question = QUESTIONS[2]  # one project by installer and Python together
    arguments = [str(week.parquet), *question.arguments, "--top", "6"]
    answer = question.answer(week.downloads)[:6]
    assert stats_rows(_stats(capsys, *arguments, "--json")) == answer
    expected = [[record["installer"], record["python"], record["count"]] for record in answer]

    table = list(csv.reader(io.StringIO(_stats(capsys, *arguments, "--csv"))))
    assert table[0] == ["installer", "python", "count", "share"]
    assert [[a or None, b or None, int(n)] for a, b, n, _ in table[1:]] == expected
    assert [float(share) for *_, share in table[1:]] == [record["share"] for record in answer]

    markdown = _stats(capsys, *arguments, "--markdown").splitlines()
    assert markdown[:2] == ["| installer | python | downloads | share |", "|---|---|---:|---:|"]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown[2:]]
    assert [[a, b, int(n)] for a, b, n, _ in cells[:-1]] == [
        [a or "(none)", b or "(none)", n] for a, b, n in expected
    ]
    assert [share for *_, share in cells[:-1]] == [f"{100 * record['share']:.1f}%" for record in answer]
    total = sum(1 for row in week.downloads if question.keep(row))
    assert cells[-1] == ["**total**", "", f"**{total}**", "**100.0%**"]

    aligned = _stats(capsys, *arguments).splitlines()
    assert aligned[0].split() == ["installer", "python", "downloads", "share"]
    assert [line.split()[:3] for line in aligned[2:8]] == [
        [a or "(none)", b or "(none)", str(n)] for a, b, n in expected
    ]
    assert aligned[9].split() == ["total", str(total), "100.0%"]
