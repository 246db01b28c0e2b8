"""Where the columnar path runs (Arrow rows: parse --format parquet, read_arrow, stats on logs) and where
it is only measured (NDJSON), its outputs are the bytes the line converter gives with it turned off
(``LINEHAUL_COLUMNAR=0``, as without pyarrow)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from linehaul import columnar
from linehaul.analysis import read_arrow, write_parquet
from linehaul.analysis.arrow import ARROW
from linehaul.cli import main
from linehaul.logs.blocks import COLUMNAR_NDJSON, NDJSON, BlockResult, RowCodec, block_converter
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError
from linehaul.logs.parallel import convert_files
from linehaul.logs.sample import sample_lines
from linehaul.tables import Table

EDGE_CASES = Path(__file__).parents[1] / "data" / "edge-cases.log"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gzipped log: generated lines with the edge cases among them (several columnar blocks)."""
    lines = [line.encode() for line in sample_lines(12_000, seed=8)]
    lines[5000:5000] = EDGE_CASES.read_bytes().split(b"\n")[:-1]
    path = tmp_path_factory.mktemp("logs") / "cdn.log.gz"
    path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines)))
    return path


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_the_switch_turns_the_columnar_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert columnar.available()
    assert block_converter(ARROW).block_size == columnar.BLOCK_SIZE
    assert block_converter(NDJSON).block_size < columnar.BLOCK_SIZE  # NDJSON: the line converter
    monkeypatch.setenv(columnar.DISABLE, "0")
    assert not columnar.available()
    assert block_converter(ARROW).block_size < columnar.BLOCK_SIZE


def test_parquet_is_the_same_bytes_either_way(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(columnar.DISABLE, "0")
    assert main(["parse", "--quiet", "-o", str(tmp_path / "line"), "--format", "parquet", str(log)]) == 0
    monkeypatch.setenv(columnar.DISABLE, "1")
    assert main(["parse", "--quiet", "-o", str(tmp_path / "columnar"), "--format", "parquet", str(log)]) == 0
    line, fast = _files(tmp_path / "line"), _files(tmp_path / "columnar")
    assert line == fast
    assert all(line.values())


def _converted(log: Path, jobs: int, codec: RowCodec[bytes]) -> list[BlockResult[bytes]]:
    results = []
    for result in convert_files([str(log)], codec, jobs=jobs):
        assert not isinstance(result, LogFileError)
        results.append(result)
    return results


def _rejected(results: list[BlockResult[bytes]]) -> list[tuple[bytes, str, str]]:
    return [(line.raw, line.field, line.reason) for result in results for line in result.unprocessed]


@pytest.mark.parametrize("jobs", [1, 2])
def test_columnar_ndjson_is_the_line_converters_bytes(log: Path, jobs: int) -> None:
    line, fast = _converted(log, jobs, NDJSON), _converted(log, jobs, COLUMNAR_NDJSON)
    for table in Table:
        assert b"".join(result.rows(table) for result in line) == b"".join(r.rows(table) for r in fast)
        assert b"".join(result.rows(table) for result in line)
    # blocks differ in size (numbers count from each block's start): the lines, in order, do not
    assert _rejected(line) == _rejected(fast)
    assert [raw for r in line for raw in r.ignored] == [raw for r in fast for raw in r.ignored]
    assert sum((r.counts for r in line), ReadCounts()) == sum((r.counts for r in fast), ReadCounts())


def test_read_arrow_and_write_parquet_give_the_same_rows_either_way(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(columnar.DISABLE, "0")
    line = {table: read_arrow([str(log)], table) for table in Table}
    write_parquet([str(log)], tmp_path / "line")
    monkeypatch.setenv(columnar.DISABLE, "1")
    for table in Table:
        assert read_arrow([str(log)], table).equals(line[table])
    write_parquet([str(log)], tmp_path / "columnar")
    assert _files(tmp_path / "line") == _files(tmp_path / "columnar")
