"""``linehaul local run``'s pipeline loads into BigQuery exactly the rows ``linehaul parse`` writes, hostile
user agents (lone surrogate escapes, control characters, ...) included."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linehaul.cli import main
from linehaul.local import LocalStack
from linehaul.local.runner import DATASET, provision, run_pipeline
from linehaul.logs.sample import write_sample
from tests.cloud import canonical_row
from tests.hostile_agents import corpus_lines

pytestmark = pytest.mark.integration


def test_the_local_pipeline_loads_what_parse_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "hostile.log.gz"
    hostile.write_bytes(gzip.compress("".join(line + "\n" for line in corpus_lines(1000, seed=3)).encode()))
    logs = [
        write_sample(tmp_path / "old.log.gz", lines=1500, seed=31, start=datetime(2019, 3, 4, tzinfo=UTC)),
        write_sample(tmp_path / "new.log.gz", lines=1500, seed=32),
        hostile,
    ]
    assert main(["parse", "-o", str(tmp_path / "parsed"), *map(str, logs)]) == 0
    summary = dict(part.split("=") for part in capsys.readouterr().out.split())
    with LocalStack(project="linehaul-run") as stack:
        provision(stack)
        counts = run_pipeline(stack, logs, say=lambda text: None)
        admin = stack.bigquery_admin()
        for table in ("file_downloads", "simple_requests"):
            loaded = admin.query(f"SELECT * FROM `linehaul-run.{DATASET}.{table}`")
            parsed = (tmp_path / "parsed" / f"{table}.ndjson").read_bytes().split(b"\n")[:-1]
            assert sorted(map(canonical_row, loaded)) == sorted(
                canonical_row(json.loads(line)) for line in parsed
            ), table
    assert counts.counts.lines == 4000 == int(summary["lines"])
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
