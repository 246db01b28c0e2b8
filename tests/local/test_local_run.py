"""``linehaul local run``'s pipeline loads into BigQuery exactly the rows ``linehaul parse`` writes, hostile
user agents (lone surrogate escapes, control characters, ...) included, and a damaged log among the others
is quarantined after its readable lines are loaded."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linehaul.cli import main
from linehaul.local import LocalStack
from linehaul.local.resources import DATASET
from linehaul.local.runner import provision, run_pipeline
from linehaul.logs.sample import write_sample
from tests.cloud import canonical_row
from tests.hostile_agents import corpus_lines

pytestmark = pytest.mark.integration


def test_the_local_pipeline_loads_what_parse_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = write_sample(tmp_path / "whole.log.gz", lines=1500, seed=33)
    damaged = tmp_path / "damaged.log.gz"
    damaged.write_bytes(whole.read_bytes()[:20_000])  # a truncated gzip: its first lines can be read
    hostile = tmp_path / "hostile.log.gz"
    hostile.write_bytes(gzip.compress("".join(line + "\n" for line in corpus_lines(1000, seed=3)).encode()))
    logs = [
        write_sample(tmp_path / "old.log.gz", lines=1500, seed=31, start=datetime(2019, 3, 4, tzinfo=UTC)),
        damaged,
        write_sample(tmp_path / "new.log.gz", lines=1500, seed=32),
        hostile,
    ]
    assert main(["parse", "-o", str(tmp_path / "parsed"), *map(str, logs)]) == 1  # it names the damage
    summary = dict(part.split("=") for part in capsys.readouterr().out.split()[:5])
    said: list[str] = []
    with LocalStack(project="linehaul-run") as stack:
        provision(stack)
        counts = run_pipeline(stack, logs, say=said.append)
        admin = stack.bigquery_admin()
        for table in ("file_downloads", "simple_requests"):
            loaded = admin.query(f"SELECT * FROM `linehaul-run.{DATASET}.{table}`")
            parsed = (tmp_path / "parsed" / f"{table}.ndjson").read_bytes().split(b"\n")[:-1]
            assert sorted(map(canonical_row, loaded)) == sorted(
                canonical_row(json.loads(line)) for line in parsed
            ), table
    assert 4000 < counts.counts.lines == int(summary["lines"]) < 5500  # the damaged log's readable lines
    (quarantined,) = counts.quarantined_logs
    assert quarantined.startswith("gs://linehaul-logs/quarantine/")
    assert quarantined.endswith("/damaged.log.gz: the gzip data is cut short (truncated file)")
    assert counts.quarantined_files == ()
    assert any(line.startswith("ingested the readable lines of ") for line in said)
    assert (counts.counts.file_downloads, counts.counts.simple_requests) == (
        int(summary["file_downloads"]),
        int(summary["simple_requests"]),
    )
    assert (counts.counts.unprocessed, counts.counts.ignored) == (
        int(summary["unprocessed"]),
        int(summary["ignored"]),
    )
    assert (
        counts.counts.file_downloads
        + counts.counts.simple_requests
        + counts.counts.unprocessed
        + counts.counts.ignored
        == counts.counts.lines
    )
