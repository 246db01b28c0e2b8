"""Rows: every fixture row validates against schemas/*.json, and the schemas match the public tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from linehaul import Ignored, dumps_row, parse_line, table_for, to_row
from linehaul.schema import load_schema, row_problems
from linehaul.tables import Table
from tests.fixtures import fixture_id, load_yaml

LINES = [e for e in load_yaml("lines.yaml", {"note", "line", "table", "row", "ignored"}) if "row" in e]
ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("entry", LINES, ids=[fixture_id(e, "note") for e in LINES])
def test_fixture_rows_validate_against_their_schema(entry: dict[str, Any]) -> None:
    event = parse_line(entry["line"])
    assert not isinstance(event, Ignored)
    row = to_row(event)
    assert row_problems(row, load_schema(table_for(event))) == []
    assert list(row) == [column["name"] for column in load_schema(table_for(event))]  # schema order
    assert json.loads(dumps_row(row)) == row


def test_the_package_schemas_are_the_repository_schemas() -> None:
    for table in Table:
        assert list(load_schema(table)) == json.loads((ROOT / "schemas" / f"{table}.json").read_text())


def test_the_columns_of_the_public_tables() -> None:
    def names(fields: Any, prefix: str = "") -> set[str]:
        found = set()
        for column in fields:
            found.add(prefix + column["name"])
            found |= names(column.get("fields", []), f"{prefix}{column['name']}.")
        return found

    details = {
        "details", "details.installer", "details.installer.name", "details.installer.version",
        "details.installer.subcommand", "details.python", "details.implementation",
        "details.implementation.name",
        "details.implementation.version", "details.distro", "details.distro.name", "details.distro.version",
        "details.distro.id", "details.distro.libc", "details.distro.libc.lib", "details.distro.libc.version",
        "details.system", "details.system.name", "details.system.release", "details.cpu",
        "details.openssl_version", "details.setuptools_version", "details.rustc_version", "details.ci",
    }  # fmt: skip
    common = {"timestamp", "country_code", "url", "project", "tls_protocol", "tls_cipher"} | details
    files = {"file", "file.filename", "file.project", "file.version", "file.type"}
    assert names(load_schema(Table.FILE_DOWNLOADS)) == common | files
    assert names(load_schema(Table.SIMPLE_REQUESTS)) == common
    for table in Table:
        modes = {column["name"]: column["mode"] for column in load_schema(table)}
        assert modes["timestamp"] == modes["url"] == "REQUIRED"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"url": "/x"}, "timestamp: is required"),
        ({"timestamp": "2021-01-07 20:54:54", "url": "/x"}, "timestamp: '2021-01-07 20:54:54' is not in UTC"),
        ({"timestamp": "yesterday", "url": "/x"}, "timestamp: 'yesterday' is not an RFC 3339 timestamp"),
        ({"timestamp": "2021-01-07T20:54:54Z", "url": 5}, "url: is int, not STRING"),
        ({"timestamp": "2021-01-07T20:54:54Z", "url": "/x", "extra": 1}, "extra: no such column"),
        (
            {"timestamp": "2021-01-07T20:54:54Z", "url": "/x", "details": {"ci": "yes"}},
            "details.ci: is str, not BOOLEAN",
        ),
        (
            {"timestamp": "2021-01-07T20:54:54Z", "url": "/x", "details": "pip"},
            "details: is str, not a record",
        ),
    ],
)
def test_row_problems_name_the_column(row: dict[str, Any], problem: str) -> None:
    assert row_problems(row, load_schema(Table.SIMPLE_REQUESTS)) == [problem]


def test_unknown_table() -> None:
    with pytest.raises(ValueError, match="unknown table 'downloads'"):
        Table.of("downloads")
