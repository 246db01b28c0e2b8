"""No line stops its log: when linehaul itself fails on one chosen line (a bug, made here by a classifier that
raises for that line's agent), that line is kept as unprocessed with a reason naming the error, every other
line gives what it gives without the chosen one, and the failure is said (stderr, an ERROR log line). Through
every path: ``linehaul parse`` (line converter and columnar path), the ingestor, a backfill, the analysis."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from linehaul import LineError, parse_line, to_row
from linehaul.analysis import read_arrow, read_events, read_rows
from linehaul.cli import main
from linehaul.columnar.converter import ColumnarConverter
from linehaul.errors import INTERNAL
from linehaul.logs.blocks import ColumnarPathWarning
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.naming import staged_names
from linehaul.pipeline.settings import IngestSettings
from linehaul.tables import Output, Table
from linehaul.testing import MemoryBlobStore
from linehaul.useragents.classifier import Classifier
from tests.beam.helpers import IN_PROCESS, backfill
from tests.hostile_agents import line_with_agent

MARKER = "linehaul-test-fails-on/1.0"
CHOSEN = line_with_agent(f"{MARKER} the chosen line")
POSITION = 1234  # the chosen line's index in the log
ORDINARY = list(sample_lines(3000, seed=5))


@pytest.fixture
def failing_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every classifier raises for the chosen line's agent, as a bug of linehaul's would."""
    real = Classifier.__call__

    def failing(self: Classifier, agent: str) -> object:
        if agent.startswith(MARKER):
            raise RuntimeError("failing on purpose for the chosen line")
        return real(self, agent)

    monkeypatch.setattr(Classifier, "__call__", failing)
    return


def _write_log(path: Path, lines: list[str]) -> Path:
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


@pytest.fixture
def logs(tmp_path: Path) -> tuple[Path, Path]:
    """The log with the chosen line, and the same log without it."""
    with_chosen = [*ORDINARY[:POSITION], CHOSEN, *ORDINARY[POSITION:]]
    return _write_log(tmp_path / "cdn-chosen.log.gz", with_chosen), _write_log(
        tmp_path / "cdn.log.gz", ORDINARY
    )


def _assert_kept(
    reasons: list[dict[str, object]], unprocessed: bytes, line_number: int = POSITION + 1
) -> None:
    (internal,) = [reason for reason in reasons if reason["field"] == INTERNAL]
    assert internal["line"] == line_number
    assert "RuntimeError: failing on purpose for the chosen line" in str(internal["reason"])
    assert CHOSEN.encode() + b"\n" in unprocessed


def _without_internal(reasons: list[dict[str, object]]) -> list[dict[str, object]]:
    """The other reasons, numbered as in the log without the chosen line."""
    return [
        {**reason, "line": int(str(reason["line"])) - (int(str(reason["line"])) > POSITION)}
        for reason in reasons
        if reason["field"] != INTERNAL
    ]


def test_the_library_raises_only_line_error_naming_the_failure(failing_classifier: None) -> None:
    with pytest.raises(LineError) as raised:
        parse_line(CHOSEN)
    assert raised.value.field == INTERNAL
    assert isinstance(raised.value.__cause__, RuntimeError)


@pytest.mark.parametrize("output_format", ["ndjson", "parquet"])
def test_parse_keeps_the_line_and_says_so(
    failing_classifier: None,
    logs: tuple[Path, Path],
    tmp_path: Path,
    output_format: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chosen, plain = logs
    assert (
        main(["parse", "--quiet", "--format", output_format, "-o", str(tmp_path / "plain"), str(plain)]) == 0
    )
    capsys.readouterr()
    arguments = ["parse", "--quiet", "--format", output_format, "-o", str(tmp_path / "chosen"), str(chosen)]
    status = main(arguments)  # Parquet: the columnar path sends the line to the line converter
    out, err = capsys.readouterr()

    assert status == 1
    assert "linehaul failed on 1 line (a bug, please report it)" in err
    assert f"lines={len(ORDINARY) + 1} " in out
    assert "internal_errors=1" in out
    for name in ("file_downloads", "simple_requests"):
        suffix = "parquet" if output_format == "parquet" else "ndjson"
        if suffix == "ndjson":
            assert (tmp_path / "chosen" / f"{name}.ndjson").read_bytes() == (
                tmp_path / "plain" / f"{name}.ndjson"
            ).read_bytes()
        else:
            import pyarrow.parquet as pq

            assert pq.read_table(tmp_path / "chosen" / f"{name}.parquet").equals(
                pq.read_table(tmp_path / "plain" / f"{name}.parquet")
            )
    reasons = [
        json.loads(line)
        for line in (tmp_path / "chosen" / "unprocessed.reasons.ndjson").read_text().splitlines()
    ]
    plain_reasons = [
        json.loads(line)
        for line in (tmp_path / "plain" / "unprocessed.reasons.ndjson").read_text().splitlines()
    ]
    _assert_kept(reasons, (tmp_path / "chosen" / "unprocessed.log").read_bytes())
    assert [{**r, "file": None} for r in _without_internal(reasons)] == [
        {**r, "file": None} for r in plain_reasons
    ]


def test_the_ingestor_keeps_the_line_and_logs_one_error(
    failing_classifier: None, logs: tuple[Path, Path]
) -> None:
    store = MemoryBlobStore("logs", "staging")
    settings = IngestSettings(staging_bucket="staging")
    for log in logs:
        store.put("logs", log.name, log.read_bytes())
    chosen = ingest_log(store, "logs", "cdn-chosen.log.gz", settings)
    plain = ingest_log(store, "logs", "cdn.log.gz", settings)

    assert chosen.outcome == "ingested"
    assert store.names("logs") == []
    assert chosen.counts.internal_errors == 1
    assert chosen.counts.lines == plain.counts.lines + 1
    record = chosen.log_record()
    assert record["severity"] == "ERROR"
    assert record["internal_errors"] == 1
    assert "linehaul failed on 1 line" in record["message"]
    assert plain.log_record()["severity"] == "INFO"
    assert chosen.partition is not None
    assert chosen.partition == plain.partition
    names, plain_names = staged_names(chosen.partition, "cdn-chosen"), staged_names(chosen.partition, "cdn")
    for output in (Output.DOWNLOADS, Output.SIMPLE, Output.IGNORED):
        assert store.get("staging", names[output])[0] == store.get("staging", plain_names[output])[0]
    reasons = [json.loads(line) for line in store.get("staging", names[Output.REASONS])[0].splitlines()]
    _assert_kept(reasons, store.get("staging", names[Output.UNPROCESSED])[0])


def test_a_backfill_keeps_the_line_and_logs_one_error(
    failing_classifier: None, logs: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="linehaul.beam.transforms"):
        summary = backfill([str(logs[0])], tmp_path / "staging")
    assert summary.counts.internal_errors == 1
    assert summary.counts.lines == len(ORDINARY) + 1
    (reasons_file,) = (tmp_path / "staging").glob("unprocessed/*/cdn-chosen.reasons.json")
    reasons = [json.loads(line) for line in reasons_file.read_text().splitlines()]
    _assert_kept(reasons, reasons_file.with_name("cdn-chosen.txt").read_bytes())
    (logged,) = [record for record in caplog.records if "cdn-chosen" in record.getMessage()]
    assert logged.levelno == logging.ERROR
    assert json.loads(logged.getMessage())["internal_errors"] == 1


def test_the_backfill_command_says_so_and_fails(
    failing_classifier: None, logs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["backfill", "--quiet", "--input", str(logs[0]), "--staging", str(tmp_path / "staging")]
    assert main([*arguments, "--", *IN_PROCESS]) == 1
    out, err = capsys.readouterr()
    assert "linehaul backfill: linehaul failed on 1 line (a bug, please report it)" in err
    assert "internal_errors=1" in out


def test_the_analysis_counts_the_other_lines(
    failing_classifier: None, logs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    chosen, plain = logs
    rows = read_rows([str(chosen)])
    assert list(rows) == list(read_rows([str(plain)]))
    assert rows.counts.internal_errors == 1
    events = read_events([str(chosen)])
    assert [to_row(event) for event in events] == [to_row(event) for event in read_events([str(plain)])]
    assert events.counts.internal_errors == 1

    assert main(["stats", str(plain), "--by", "installer", "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["stats", str(chosen), "--by", "installer", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == expected
    assert "linehaul failed on 1 line (a bug, please report it)" in err


def test_a_block_the_columnar_path_fails_on_is_converted_by_the_line_converter(
    monkeypatch: pytest.MonkeyPatch, logs: tuple[Path, Path]
) -> None:
    """Should the columnar path itself fail on a block, a warning says so, and the line converter's result
    stands: the same Arrow tables."""
    chosen, _ = logs
    expected = {table: read_arrow([str(chosen)], table) for table in Table}

    def fail(*args: object) -> None:
        raise RuntimeError("the columnar path failing on purpose")

    monkeypatch.setattr(ColumnarConverter, "_fast_rows", fail)
    with pytest.warns(ColumnarPathWarning, match="failing on purpose") as warned:
        found = {table: read_arrow([str(chosen)], table) for table in Table}
    assert len(warned) >= 1
    assert all(found[table].equals(expected[table]) for table in Table)
