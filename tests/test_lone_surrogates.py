"""A lone surrogate escape in an agent's JSON (``\\udcc3``) gives production's row with U+FFFD in its place,
on every path: the library's ``to_row``, the line converter, the columnar path, NDJSON, Arrow and Parquet.
A valid pair stays the character it encodes. Text holding a lone surrogate is not a line (no UTF-8 holds
one): the library rejects it, and the converter keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from linehaul import Converted, Converter, LineError, parse_line, to_row
from linehaul.analysis.arrow import ndjson_to_arrow
from linehaul.cli import main
from linehaul.columnar.converter import ColumnarConverter
from linehaul.tables import Table
from tests.hostile_agents import agent_json, line_with_agent

FFFD = "\ufffd"
# (path in the agent's JSON, the escape written there, the value of the row's details at that path)
CASES = [
    (("openssl_version",), r"\ud800", FFFD),
    (("distro", "name"), r"Ubuntu \udcc3\udca9", f"Ubuntu {FFFD}{FFFD}"),
    (("python",), r"3.12\udfff", f"3.12{FFFD}"),
    (("system", "release"), r"\ude00\ud83d", FFFD + FFFD),  # a pair the wrong way round: two lone ones
    (("implementation", "name"), r"Py\ud83d\ude00", "Py\U0001f600"),  # a valid pair: the character
    (("installer", "name"), r"pip\uDBFF", f"pip{FFFD}"),
]


def _line(path: tuple[str, ...], escape: str, simple: bool) -> str:
    return line_with_agent("pip/25.0.1 " + agent_json([(path, f'"{escape}"')]), simple=simple)


def _at(details: dict[str, object], path: tuple[str, ...]) -> object:
    value: object = details
    for key in path:
        assert isinstance(value, dict)
        value = value[key]
    return value


@pytest.mark.parametrize("simple", [False, True], ids=["download", "simple"])
@pytest.mark.parametrize(("path", "escape", "expected"), CASES, ids=[".".join(case[0]) for case in CASES])
def test_every_path_gives_u_fffd_for_a_lone_surrogate(
    path: tuple[str, ...], escape: str, expected: str, simple: bool, tmp_path: Path
) -> None:
    line = _line(path, escape, simple)
    table = Table.SIMPLE_REQUESTS if simple else Table.FILE_DOWNLOADS
    library = to_row(parse_line(line))  # type: ignore[arg-type]
    assert _at(library["details"], path) == expected

    converted = Converted()
    Converter().convert_block(line.encode() + b"\n", converted)
    (row,) = converted.rows(table)
    ndjson = row.encode()  # UTF-8, as BigQuery loads it
    assert json.loads(ndjson) == library
    assert b"\\ud" not in ndjson.lower()

    columnar = ColumnarConverter().convert_block(line.encode() + b"\n").rows[table]
    assert columnar.ndjson() == ndjson + b"\n"
    assert columnar.arrow().to_pylist() == ndjson_to_arrow(table, ndjson).to_pylist()
    assert _at(columnar.arrow().to_pylist()[0]["details"], path) == expected

    log = tmp_path / "one.log"
    log.write_text(line + "\n", encoding="utf-8")
    assert main(["parse", "--quiet", "-o", str(tmp_path / "ndjson"), str(log)]) == 0
    assert (tmp_path / "ndjson" / f"{table.value}.ndjson").read_bytes() == ndjson + b"\n"
    assert main(["parse", "--quiet", "--format", "parquet", "-o", str(tmp_path / "pq"), str(log)]) == 0
    (parquet_row,) = pq.read_table(tmp_path / "pq" / f"{table.value}.parquet").to_pylist()
    assert _at(parquet_row["details"], path) == expected


def test_a_subcommand_or_a_list_keeps_production_s_text() -> None:
    """Production writes ``str()`` of a list and shell-quotes a subcommand: an escape inside a list is
    Python's own escape text (no surrogate), one inside a subcommand word is quoted, then replaced."""
    line = line_with_agent(
        "uv/0.5.11 "
        + agent_json([(("installer", "subcommand"), r'["pip", "\ud800"]'), (("python",), r'["\udcc3"]')])
    )
    details = to_row(parse_line(line))["details"]  # type: ignore[arg-type]
    assert details["installer"]["subcommand"] == f"pip '{FFFD}'"
    assert details["python"] == "['\\udcc3']"


def test_text_with_a_lone_surrogate_is_not_a_line() -> None:
    line = line_with_agent("curl/8.5.0").replace("requests-2.25.1", "requests-\udcff")
    with pytest.raises(LineError) as raised:
        parse_line(line)
    assert raised.value.field == "line"
    assert "lone surrogate U+DCFF" in raised.value.reason
    assert "\udcff" not in raised.value.explain()

    converted = Converted()
    Converter().convert_lines([line, line_with_agent("curl/8.5.0")], converted)
    assert [rejected.field for rejected in converted.unprocessed] == ["line"]
    assert converted.unprocessed[0].raw == line.encode(errors="surrogateescape")
    assert len(converted.downloads) == 1
