"""The hostile-input lane: valid pip, uv and hatch agents with what strangers can send in every field the
rules read (``tests/hostile_agents.py``). Whatever a line holds, it gives a row or is kept with its reason
(never another exception, never an internal error), and a row is UTF-8 JSON that loads back to the library's
row: through the line converter, the columnar path (NDJSON and Arrow) and the ingestor's staged files."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linehaul import Download, Ignored, LineError, parse_line, to_row
from linehaul.analysis.arrow import ndjson_to_arrow
from linehaul.columnar.converter import ColumnarConverter
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.naming import staged_names
from linehaul.pipeline.settings import IngestSettings
from linehaul.tables import Output, Table
from linehaul.testing import MemoryBlobStore
from linehaul.useragents.rule_types import MAX_NESTING
from tests.columnar.reference import columnar_outcome, library_outcome, line_outcome
from tests.hostile_agents import FIELDS, HOSTILE_VALUES, PREFIXES, agent_json, hostile_agent, line_with_agent

_T = TypeVar("_T")

_escape = st.one_of(
    st.integers(0xD800, 0xDFFF).map(lambda code: f"\\u{code:04x}"),  # lone, or a pair when two meet
    st.integers(0, 0x1F).map(lambda code: f"\\u{code:04X}"),
    st.sampled_from(["a", "é", "\U0001f600", "\\u2028", "\\\\", '\\"', "\\/", "\\n", " ", "'", "|"]),
)
_strings = st.lists(_escape, max_size=8).map(lambda parts: '"' + "".join(parts) + '"')
_numbers = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e400", "-1e-400", "-0", "3.10"]),
)
_scalars = st.one_of(_strings, _numbers, st.sampled_from(["true", "false", "null"]))
_json_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(_strings, inner), max_size=3).map(
            lambda pairs: "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"
        ),
    ),
    max_leaves=6,
)
_values = st.one_of(st.sampled_from(HOSTILE_VALUES), _json_values)
# a path may come twice: a duplicate key, of which JSON decoders keep the last
_settings = st.lists(st.tuples(st.sampled_from(FIELDS), _values), min_size=1, max_size=6)
hostile_agents = st.builds(hostile_agent, st.sampled_from([*PREFIXES, "Hatch/"]), _settings)
hostile_lines = st.builds(line_with_agent, hostile_agents, st.booleans(), st.integers(0, 59))


def _strings_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *_strings_of(item))]
    if isinstance(value, list):
        return [text for item in value for text in _strings_of(item)]
    return []


@given(hostile_lines)
def test_a_hostile_line_gives_a_row_that_loads_back_or_is_kept_with_its_reason(line: str) -> None:
    try:
        outcome = parse_line(line)
    except LineError as error:
        rejected: LineError | None = error
    else:
        rejected = None
    if rejected is not None:
        assert rejected.field == "user_agent", rejected  # production drops such an agent's line too
        return
    if isinstance(outcome, Ignored):
        return
    row = to_row(outcome)
    outcome_block = line_outcome(line.encode() + b"\n")
    table = Table.FILE_DOWNLOADS if isinstance(outcome, Download) else Table.SIMPLE_REQUESTS
    ndjson = outcome_block.rows[table]
    assert json.loads(ndjson.decode("utf-8")) == row  # strict UTF-8, and the library's very values
    assert all(not 0xD800 <= ord(char) <= 0xDFFF for text in _strings_of(row) for char in text)


@given(st.lists(hostile_lines, min_size=1, max_size=12))
def test_the_line_converter_and_the_columnar_path_give_the_library_s_outcomes(lines: list[str]) -> None:
    raw = [line.encode() for line in lines]
    block = b"\n".join(raw) + b"\n"
    by_line, columnar = line_outcome(block), columnar_outcome(block)
    library = library_outcome(raw)
    assert (by_line.rows, by_line.unprocessed, by_line.ignored) == (
        library.rows,
        library.unprocessed,
        library.ignored,
    )
    assert columnar == by_line
    assert all(field != "internal" for _, _, field, _ in by_line.unprocessed)
    rows = ColumnarConverter().convert_block(block).rows
    for table in Table:
        assert rows[table].arrow().to_pylist() == ndjson_to_arrow(table, by_line.rows[table]).to_pylist()


@given(st.lists(hostile_lines, min_size=1, max_size=12))
def test_the_ingestor_stages_every_hostile_line_as_utf8_rows_or_kept_lines(lines: list[str]) -> None:
    store = MemoryBlobStore("logs", "staging")
    store.put("logs", "hostile.log.gz", gzip.compress(("\n".join(lines) + "\n").encode()))
    report = ingest_log(store, "logs", "hostile.log.gz", IngestSettings(staging_bucket="staging"))
    assert report.outcome == "ingested"
    assert report.counts.internal_errors == 0
    assert report.counts.settled
    assert report.counts.lines == len(lines)
    assert report.partition is not None
    names = staged_names(report.partition, "hostile").by_output()
    expected = library_outcome([line.encode() for line in lines])
    for output, table in ((Output.DOWNLOADS, Table.FILE_DOWNLOADS), (Output.SIMPLE, Table.SIMPLE_REQUESTS)):
        staged = store.get("staging", names[output])[0] if store.stat("staging", names[output]) else b""
        assert staged == expected.rows[table]
        # NDJSON rows end with "\n" only: a row may hold U+2028, which str.splitlines would cut at
        assert [json.loads(row.decode("utf-8")) for row in staged.split(b"\n")[:-1]] == [
            json.loads(row) for row in expected.rows[table].split(b"\n")[:-1]
        ]


def _deep_agent(levels: int) -> str:
    return "pip/25.0.1 " + agent_json([(("installer", "subcommand"), "[" * levels + "]" * levels)])


def _outcomes(line: str) -> tuple[object, ...]:
    """What parse_line, the line converter and the columnar path make of ``line``, comparable."""
    try:
        library: object = to_row(parse_line(line))  # type: ignore[arg-type]
    except LineError as error:
        library = (error.field, error.reason)
    block = line.encode() + b"\n"
    return library, line_outcome(block), columnar_outcome(block)


def _at_depth(frames: int, call: Callable[[], _T]) -> _T:
    return call() if frames == 0 else _at_depth(frames - 1, call)


# the subcommand's arrays sit two objects deep: MAX_NESTING - 2 of them reach the bound
@pytest.mark.parametrize(
    ("levels", "gives_details"),
    [(150, True), (MAX_NESTING - 2, True), (MAX_NESTING - 1, False), (990, False)],
)
def test_deep_json_gives_one_answer_whatever_the_caller_s_stack(levels: int, gives_details: bool) -> None:
    line = line_with_agent(_deep_agent(levels))
    shallow = _outcomes(line)
    deep = _at_depth(600, lambda: _outcomes(line))  # as a deeply nested caller (a framework) would call
    assert deep == shallow
    library, by_line, columnar = shallow
    assert by_line == columnar
    assert isinstance(library, dict)
    if gives_details:
        assert library["details"]["installer"]["subcommand"].startswith("'[[[")
    else:  # not JSON we read, as production takes JSON too deep for its decoder: an unknown agent
        assert library["details"] is None
