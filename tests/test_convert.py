"""The converter's memory (what it keeps after a block must not keep the converter itself alive), and a
line it fails on (a bug) kept with its reason while the rest of the block goes on."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from linehaul import Converted, Converter
from linehaul.errors import INTERNAL
from linehaul.logs.sample import sample_lines
from linehaul.useragents import Classification, classify
from tests.hostile_agents import line_with_agent


@pytest.fixture
def no_cycle_collector() -> Iterator[None]:
    """Only reference counting frees objects meanwhile (the cycle collector runs rarely in long runs)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_converter_is_freed_as_soon_as_it_is_dropped(no_cycle_collector: None) -> None:
    block = "".join(line + "\n" for line in sample_lines(2000, seed=3)).encode()
    converted = Converted()
    converter = Converter()
    converter.convert_block(block + b"download|not a date|\n\xff bytes\n", converted)
    dropped = weakref.ref(converter)

    del converter

    assert len(converted.unprocessed) >= 2  # kept errors, as the ingestor and parse keep them
    assert dropped() is None, "a kept error holds the converter (and its caches) through its traceback"
    assert all(line.error.__traceback__ is None for line in converted.unprocessed)


@pytest.mark.parametrize("year", ["0001", "2021", "9999"])
def test_the_earliest_row_of_any_year_is_found(year: str) -> None:
    line = f"simple|Fri, 01 Jan {year} 00:00:00 GMT|US|/simple/x/|TLSv1.3|C||||curl/8.5.0\n"
    converted = Converted()
    Converter().convert_block(line.encode(), converted)
    assert converted.earliest == f"{year}-01-01T00:00:00Z"


def _failing_classifier(marker: str) -> Callable[[str], Classification]:
    def classify_or_fail(agent: str) -> Classification:
        if marker in agent:
            raise RuntimeError(f"failing on purpose for {marker}")
        return classify(agent)

    return classify_or_fail


def _failing_on_classifying() -> Converter:
    """A converter whose classifier fails on the agent ``boom/1.0``: the line takes the general path."""
    return Converter(classify=_failing_classifier("boom/"))


def _failing_on_reading_a_request() -> Converter:
    """A converter that fails while reading the request of the line with ``boom`` in its URL, on its fast
    path: the block is rolled back and converted again line by line."""
    converter = Converter()
    read = converter._download_runs

    def read_or_fail(middle: str) -> object:
        if "boom" in middle:
            raise RuntimeError("failing on purpose for boom/")
        return read(middle)

    converter._download_runs = read_or_fail  # type: ignore[method-assign,assignment]
    return converter


@pytest.mark.parametrize("failing", [_failing_on_classifying, _failing_on_reading_a_request])
def test_a_line_the_converter_fails_on_is_kept_and_the_block_goes_on(
    failing: Callable[[], Converter],
) -> None:
    lines = list(sample_lines(500, seed=9))
    chosen = line_with_agent("boom/1.0").replace("/requests-2.25.1", "/boom-requests-2.25.1")
    expected = Converted()
    Converter().convert_lines(lines, expected)

    out = Converted()
    converter = failing()
    converter.convert_lines(lines[:100], out)  # what out held before is kept as it was
    held = (out.lines, list(out.downloads), list(out.simple), list(out.unprocessed), out.earliest)
    converter.convert_lines([*lines[100:300], chosen, *lines[300:]], out)

    assert (out.lines, out.downloads[: len(held[1])], out.simple[: len(held[2])]) == (
        expected.lines + 1,
        held[1],
        held[2],
    )
    assert out.unprocessed[: len(held[3])] == held[3]
    assert (out.downloads, out.simple, out.ignored) == (expected.downloads, expected.simple, expected.ignored)
    (internal,) = [line for line in out.unprocessed if line.internal]
    assert (internal.number, internal.raw, internal.field) == (301, chosen.encode(), INTERNAL)
    assert "RuntimeError: failing on purpose for boom/" in internal.reason
    assert internal.error.__traceback__ is None
    assert [(line.number, line.reason) for line in out.unprocessed if not line.internal] == [
        (line.number + (line.number > 300), line.reason) for line in expected.unprocessed
    ]
    assert out.internal_errors == 1
    assert out.earliest == expected.earliest


def test_a_raw_surrogate_in_an_agent_never_reaches_a_row() -> None:
    """Text (from a library caller) whose agent holds a lone surrogate: the line is rejected, never a row
    that is not UTF-8, on the fast path too (its agent is checked)."""
    chosen = line_with_agent("pip/1.4.1 CPython/2.7.5\udcff Darwin/12.5.0")
    out = Converted()
    Converter().convert_lines([chosen, chosen], out)
    assert [(line.field, line.raw) for line in out.unprocessed] == [
        ("line", chosen.encode(errors="surrogateescape"))
    ] * 2
    assert out.downloads == []


def test_a_line_whose_rows_fail_to_encode_is_kept_and_the_rest_is_encoded() -> None:
    lines = list(sample_lines(300, seed=10))
    chosen = line_with_agent("curl/8.5.0").replace("requests-2.25.1", "unencodable-1.0")
    block = "".join(line + "\n" for line in [*lines[:50], chosen, *lines[50:]]).encode()

    def encode(out: Converted) -> bytes:
        if any("unencodable" in row for row in out.downloads):
            raise ValueError("cannot encode this row")
        return "".join(row + "\n" for row in out.downloads).encode()

    out, encoded = Converter().convert_encoded(block, encode)
    expected, expected_encoded = Converter().convert_encoded(
        "".join(line + "\n" for line in lines).encode(), encode
    )
    assert encoded == expected_encoded
    (internal,) = [line for line in out.unprocessed if line.internal]
    assert (internal.number, internal.raw) == (51, chosen.encode())
    assert "ValueError: cannot encode this row" in internal.reason
    assert out.lines == expected.lines + 1
    assert out.internal_errors == 1
