"""The converter's memory: what it keeps after a block must not keep the converter itself alive."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from linehaul import Converted, Converter
from linehaul.logs.sample import sample_lines


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
