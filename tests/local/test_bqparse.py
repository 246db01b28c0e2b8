"""The emulator's remembered parses: the same trees as sqlglot's own, copies a caller may change, and errors
raised each time."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError

from linehaul.local.bqparse import KEPT_TEXTS, remembering_parses

SQL = "SELECT project, COUNT(*) AS n FROM `p.d.file_downloads` WHERE timestamp >= @start GROUP BY project"


class _Counting:
    """Dialect.parse, counting the texts it really parses."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, dialect: Dialect, sql: str, **options: Any) -> list[Any]:
        self.calls += 1
        return list(Dialect.parse(dialect, sql, **options))


def test_a_text_is_parsed_once_and_every_caller_gets_the_same_tree() -> None:
    counting = _Counting()
    parse = remembering_parses(counting)
    bigquery = Dialect.get_or_raise("bigquery")
    trees = [parse(bigquery, SQL) for _ in range(3)]
    assert counting.calls == 1
    expected = sqlglot.parse_one(SQL, read="bigquery")
    assert all(tree == [expected] for tree in trees)
    assert trees[1][0] is not trees[2][0]


def test_a_caller_that_changes_its_tree_changes_only_its_own() -> None:
    parse = remembering_parses(_Counting())
    bigquery = Dialect.get_or_raise("bigquery")
    (first,) = parse(bigquery, SQL)
    first.find(exp.Table).set("this", exp.to_identifier("other"))  # as the emulator's rewrites do
    (second,) = parse(bigquery, SQL)
    assert second.find(exp.Table).name == "file_downloads"
    (third,) = parse(bigquery, SQL)
    third.find(exp.Table).set("this", exp.to_identifier("another"))
    assert parse(bigquery, SQL)[0].find(exp.Table).name == "file_downloads"


def test_dialects_and_options_are_told_apart() -> None:
    counting = _Counting()
    parse = remembering_parses(counting)
    text = "SELECT a FROM t"
    parse(Dialect.get_or_raise("bigquery"), text)
    parse(Dialect.get_or_raise("duckdb"), text)
    parse(Dialect.get_or_raise("duckdb"), text, error_level=None)
    assert counting.calls == 3


def test_a_text_that_does_not_parse_fails_every_time() -> None:
    counting = _Counting()
    parse = remembering_parses(counting)
    bigquery = Dialect.get_or_raise("bigquery")
    for _ in range(2):
        with pytest.raises(ParseError):
            parse(bigquery, "SELECT FROM WHERE (")
    assert counting.calls == 2


def test_the_least_recently_used_text_is_dropped_first() -> None:
    counting = _Counting()
    parse = remembering_parses(counting)
    bigquery = Dialect.get_or_raise("bigquery")
    parse(bigquery, "SELECT 0")
    for number in range(1, KEPT_TEXTS):
        parse(bigquery, f"SELECT {number}")
    parse(bigquery, "SELECT 0")  # used again: kept
    parse(bigquery, f"SELECT {KEPT_TEXTS}")  # one more: drops the least recent, SELECT 1
    calls = counting.calls
    parse(bigquery, "SELECT 0")
    assert counting.calls == calls
    parse(bigquery, "SELECT 1")
    assert counting.calls == calls + 1
