"""The first look at a log's days: never wrong about a row's day (it may only say it is unsure)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linehaul import Converted, Converter
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.days import _day, event_days
from tests.property.strategies import lines


@given(st.lists(lines(), max_size=30))
@settings(max_examples=500)
def test_every_row_day_is_among_the_days_found(batch: list[str]) -> None:
    block = "".join(line.replace("\n", " ") + "\n" for line in batch).encode()
    days = event_days([block])
    converted = Converted()
    Converter().convert_block(block, converted)
    rows = [json.loads(row) for row in converted.downloads + converted.simple]
    if days is not None:
        assert {row["timestamp"][:10].replace("-", "") for row in rows} <= days


def test_a_sample_log_has_its_days() -> None:
    block = "".join(line + "\n" for line in sample_lines(3000, seed=4)).encode()
    assert event_days([block]) == {"20261101"}


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        (b"Thu, 07 Jan 2021 20:54:54 GMT", "20210107"),
        (b"", ""),  # no date: not an event
        (b"not a date", ""),
        (b"a@b", ""),  # the grammar refuses '@'
        (b"caf\xc3\xa9", ""),  # and non-ASCII fields
        (b" Thu, 07 Jan 2021 20:54:54 GMT", None),  # a leading space is skipped: could be a date
        (b"Thu, 07 Jan 2021 20:54:54 GMT\r", None),
        (b"Thu,\t07 Jan 2021 20:54:54 GMT", None),
    ],
)
def test_day_of_a_date_field(raw: bytes, day: str | None) -> None:
    assert _day(raw) == day
