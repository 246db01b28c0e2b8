"""``linehaul sample`` writes data that looks like PyPI's: what a line's installer, Python, file type and
project version say fits together. Checked with ``linehaul query`` on the log and on its Parquet, the
same SQL giving the same answer on both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linehaul.cli import main
from tests.analysis.questions import Week

Capture = pytest.CaptureFixture[str]

_FILES = "SELECT file.type AS type, count(*) AS n FROM file_downloads GROUP BY ALL"
_WHEELS_OF_ANOTHER_PYTHON = """
    SELECT count(*) AS n FROM file_downloads
    WHERE details.installer.name IN ('pip', 'uv') AND file.type = 'bdist_wheel'
      AND regexp_matches(file.filename, '-cp[0-9]+-cp')
      AND regexp_extract(file.filename, '-cp([0-9])([0-9]+)-', ['major', 'minor'])
          != {'major': split_part(details.python, '.', 1), 'minor': split_part(details.python, '.', 2)}
"""
_PYTHON2_VERSIONS = """
    SELECT project, file.version AS version, count(*) AS n FROM file_downloads
    WHERE details.python LIKE '2.%' GROUP BY ALL ORDER BY project, version
"""
_INSTALLERS_OF_OLD_FILES = """
    SELECT DISTINCT details.installer.name AS installer FROM file_downloads
    WHERE file.type IN ('bdist_egg', 'bdist_wininst') ORDER BY installer
"""
_HOMEBREW = "SELECT DISTINCT file.type AS type FROM file_downloads WHERE details.installer.name = 'Homebrew'"
_NEWEST_FOR_PYTHON = {"numpy": "2.1.", "setuptools": "75.", "pandas": "2.2.", "pytest": "8.3."}


def _query(capsys: Capture, source: Path, sql: str) -> list[dict[str, object]]:
    assert main(["query", str(source), sql, "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    records: list[dict[str, object]] = json.loads(out)
    return records


@pytest.mark.parametrize("source", ["log", "parquet"])
def test_the_sample_is_plausible_as_a_whole(source: str, week: Week, capsys: Capture) -> None:
    where = week.log if source == "log" else week.parquet
    files = {record["type"]: int(str(record["n"])) for record in _query(capsys, where, _FILES)}
    total = sum(files.values())
    assert files["bdist_wheel"] > 0.8 * total  # PyPI's downloads are mostly wheels
    assert 0 < files.get("bdist_wininst", 0) < 0.01 * total  # old Windows installers: a trickle
    assert _query(capsys, where, _WHEELS_OF_ANOTHER_PYTHON) == [{"n": 0}]
    python2 = _query(capsys, where, _PYTHON2_VERSIONS)
    assert python2, "some downloads come from Python 2.7"
    for record in python2:  # of versions that still ran on Python 2; pydantic never did
        newest = _NEWEST_FOR_PYTHON.get(str(record["project"]))
        assert newest is None or not str(record["version"]).startswith(newest), record
        assert record["project"] != "pydantic"
    installers = [record["installer"] for record in _query(capsys, where, _INSTALLERS_OF_OLD_FILES)]
    assert installers, "mirrors and easy_install fetch eggs and Windows installers"
    assert not {"pip", "uv", "poetry", "pdm", "Browser"} & set(map(str, installers)), installers
    assert _query(capsys, where, _HOMEBREW) == [{"type": "sdist"}]  # Homebrew builds from source


def test_the_week_answers_alike_on_the_log_and_its_parquet(week: Week, capsys: Capture) -> None:
    for sql in (_FILES + " ORDER BY type", _PYTHON2_VERSIONS, _INSTALLERS_OF_OLD_FILES):
        assert _query(capsys, week.log, sql) == _query(capsys, week.parquet, sql)
