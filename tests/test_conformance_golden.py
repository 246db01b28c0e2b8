"""Conformance with production Linehaul 1.0.3 on tests/data/edge-cases.log, without production installed.

tests/data/edge-cases.production.ndjson holds, line by line, what production (PyPI linehaul==1.0.3, its
parser registry seeded with 0 as ../shared/conformance/run does) made of each line of edge-cases.log: a
download or simple row, or "unprocessed". The contract: every line lands where production put it (ignored
lines count as unprocessed there), and every value production fills in is ours too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from linehaul import Download, Ignored, LineError, parse_line, to_row
from tests.fixtures import DATA

_DATA = (DATA / "edge-cases.log").read_bytes()
LINES = _DATA.split(b"\n")[:-1] if _DATA.endswith(b"\n") else _DATA.split(b"\n")
PRODUCTION = [json.loads(line) for line in (DATA / "edge-cases.production.ndjson").read_text().splitlines()]


def _faults(production: Any, ours: Any, path: str) -> list[str]:
    """Where ``ours`` lacks or changes a value ``production`` has (None is no value)."""
    if isinstance(production, dict):
        ours = ours if isinstance(ours, dict) else {}
        return [
            fault
            for key, value in production.items()
            for fault in _faults(value, ours.get(key), f"{path}.{key}")
        ]
    return (
        []
        if production is None or production == ours
        else [f"{path}: production {production!r}, ours {ours!r}"]
    )


def test_the_record_covers_every_line() -> None:
    assert len(LINES) == len(PRODUCTION) > 900


@pytest.mark.parametrize("number", range(len(PRODUCTION)))
def test_same_destination_and_values_as_production(number: int) -> None:
    expected, line = PRODUCTION[number], LINES[number]
    try:
        outcome = parse_line(line)
    except LineError:
        destination, row = "unprocessed", None
    else:
        if isinstance(outcome, Ignored):
            destination, row = "unprocessed", None
        else:
            destination, row = ("download" if isinstance(outcome, Download) else "simple"), to_row(outcome)
    assert destination == expected["dest"], line
    if row is not None:
        assert _faults(expected["row"], row, "row") == [], line
