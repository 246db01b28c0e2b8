"""Where the columnar path runs (parse, Parquet, read_arrow, the ingestor), its outputs are the bytes the
line converter gives with it turned off (``LINEHAUL_COLUMNAR=0``, as without pyarrow)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from linehaul import columnar
from linehaul.analysis import read_arrow, write_parquet
from linehaul.cli import main
from linehaul.logs.parallel import NDJSON, block_converter
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.memory import MemoryBlobStore
from linehaul.pipeline.settings import IngestSettings
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
    assert block_converter(NDJSON).block_size == columnar.BLOCK_SIZE
    monkeypatch.setenv(columnar.DISABLE, "0")
    assert not columnar.available()
    assert block_converter(NDJSON).block_size < columnar.BLOCK_SIZE


@pytest.mark.parametrize("arguments", [["--jobs", "1"], ["--jobs", "2"], ["--format", "parquet"]])
def test_parse_writes_the_same_bytes_either_way(
    log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str]
) -> None:
    monkeypatch.setenv(columnar.DISABLE, "0")
    assert main(["parse", "--quiet", "-o", str(tmp_path / "line"), *arguments, str(log)]) == 0
    monkeypatch.setenv(columnar.DISABLE, "1")
    assert main(["parse", "--quiet", "-o", str(tmp_path / "columnar"), *arguments, str(log)]) == 0
    line, fast = _files(tmp_path / "line"), _files(tmp_path / "columnar")
    assert line == fast
    assert all(line.values())


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


def test_the_ingestor_stages_the_same_objects_either_way(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    staged = []
    for switch in ("0", "1"):
        monkeypatch.setenv(columnar.DISABLE, switch)
        store = MemoryBlobStore()
        store.put("logs", "2026/11/01/cdn.log.gz", log.read_bytes())
        report = ingest_log(store, "logs", "2026/11/01/cdn.log.gz", IngestSettings(result_bucket="staging"))
        assert report.outcome == "ingested"
        staged.append(
            (report.partition, report.counts, {n: store.get("staging", n)[0] for n in store.names("staging")})
        )
    assert staged[0] == staged[1]
    assert len(staged[0][2]) == 5
