"""parse_line on whole lines: tests/data/lines.yaml and tests/data/rejected.yaml."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from linehaul import Download, Ignored, LineError, SimpleRequest, dumps_row, parse_line, table_for, to_row
from tests.fixtures import fixture_id, load_yaml, pruned

LINES = load_yaml("lines.yaml", {"note", "line", "table", "row", "ignored"})
REJECTED = load_yaml("rejected.yaml", {"note", "line", "field", "message"})


@pytest.mark.parametrize("entry", LINES, ids=[fixture_id(e, "note") for e in LINES])
def test_lines_give_their_rows(entry: dict[str, Any]) -> None:
    outcome = parse_line(entry["line"])
    if "ignored" in entry:
        assert outcome == Ignored(entry["ignored"])
        return
    assert not isinstance(outcome, Ignored)
    assert table_for(outcome) == entry["table"]
    assert pruned(to_row(outcome)) == entry["row"]


@pytest.mark.parametrize("entry", LINES, ids=[fixture_id(e, "note") for e in LINES])
def test_bytes_and_text_give_the_same_outcome(entry: dict[str, Any]) -> None:
    assert parse_line(entry["line"].encode()) == parse_line(entry["line"])


@pytest.mark.parametrize("entry", REJECTED, ids=[fixture_id(e, "line") for e in REJECTED])
def test_rejected_lines_say_which_field_and_why(entry: dict[str, Any]) -> None:
    with pytest.raises(LineError) as caught:
        parse_line(entry["line"])
    assert caught.value.field == entry["field"]
    assert str(caught.value) == entry["message"]


def test_a_line_that_is_not_utf8() -> None:
    with pytest.raises(LineError, match=r"line: not UTF-8: byte 0xff at byte 3"):
        parse_line(b"dow\xffnload|")


def test_explain_points_at_the_column() -> None:
    line = "download|Thu, 07 Jan 2021 20:54:54 GMT|US|/p/x.whl|TLSv1.2|C|x|1.0@2|sdist|curl/7"
    with pytest.raises(LineError) as caught:
        parse_line(line)
    explained = caught.value.explain().splitlines()
    assert explained[0] == str(caught.value)
    caret = explained[2].index("^")
    assert explained[1][caret] == "@"


def test_line_errors_survive_pickling() -> None:
    error = LineError("url", "bad", line="x", column=0)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.field, copy.reason, copy.line, copy.column, str(copy)) == ("url", "bad", "x", 0, str(error))


def test_event_values() -> None:
    event = parse_line(LINES[0]["line"])
    assert isinstance(event, Download)
    assert event.user_agent == "curl/7.81.0"
    assert event.timestamp.isoformat() == "2021-01-07T20:54:54+00:00"
    simple = parse_line(LINES[1]["line"])
    assert isinstance(simple, SimpleRequest)
    assert dumps_row(to_row(simple)).startswith('{"timestamp":"2021-01-08T00:00:01Z","country_code":"DE",')
