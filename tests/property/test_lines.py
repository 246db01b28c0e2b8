"""Properties of line parsing over generated lines."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from linehaul import (
    Converted,
    Converter,
    Download,
    Ignored,
    LineError,
    dumps_row,
    parse_line,
    table_for,
    to_row,
)
from linehaul._grammar import Fields, _Scanner, split_line
from linehaul.schema import load_schema, row_problems
from tests.property.strategies import lines


def _split_or_error(split: object, text: str) -> Fields | str:
    try:
        return split(text)  # type: ignore[operator,no-any-return]
    except LineError as error:
        return str(error)


@given(lines())
@settings(max_examples=settings().max_examples * 20)
def test_the_fast_path_agrees_with_the_grammar(line: str) -> None:
    text = line[:-1] if line.endswith("\n") else line
    assert _split_or_error(split_line, text) == _split_or_error(_Scanner.parse, text)


@given(st.one_of(lines(), st.text(), st.binary()))
@settings(max_examples=settings().max_examples * 10)
def test_any_input_gives_an_event_ignored_or_the_public_error(line: str | bytes) -> None:
    try:
        outcome = parse_line(line)
    except LineError as error:
        rejected: LineError | None = error
    else:
        rejected = None
    if rejected is not None:
        assert rejected.field
        assert rejected.reason
        return
    if not isinstance(outcome, Ignored):
        row = to_row(outcome)
        assert row_problems(row, load_schema(table_for(outcome))) == []
        assert json.loads(dumps_row(row)) == row


@given(st.lists(st.one_of(lines(), st.binary(max_size=40)), max_size=20))
@settings(max_examples=settings().max_examples * 3)
def test_the_converter_gives_what_parse_line_gives(batch: list[str | bytes]) -> None:
    raw_lines = [line.encode() if isinstance(line, str) else line for line in batch]
    raw_lines = [part for line in raw_lines for part in line.split(b"\n")]  # a block holds whole lines
    converted = Converted()
    Converter().convert_block(b"".join(line + b"\n" for line in raw_lines), converted)
    downloads: list[str] = []
    simple: list[str] = []
    unprocessed: list[tuple[int, bytes, str]] = []
    ignored: list[bytes] = []
    for number, raw in enumerate(raw_lines, 1):
        try:
            outcome = parse_line(raw)
        except LineError as error:
            unprocessed.append((number, raw, str(error)))
            continue
        if isinstance(outcome, Ignored):
            ignored.append(raw)
        else:
            (downloads if isinstance(outcome, Download) else simple).append(dumps_row(to_row(outcome)))
    assert converted.downloads == downloads
    assert converted.simple == simple
    assert [(line.number, line.raw, str(line.error)) for line in converted.unprocessed] == unprocessed
    assert converted.ignored == ignored
    assert converted.lines == len(raw_lines)
