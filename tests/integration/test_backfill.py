"""A backfill from logs in fake GCS into a staging bucket, then the publisher into the BigQuery emulator:
every row of ``linehaul parse`` arrives once, also when the backfill and the publisher run again."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linehaul.beam import pipeline_options, run_backfill
from linehaul.cli import main
from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader, GcsBlobStore
from linehaul.local import LocalStack
from linehaul.logs.sample import write_sample
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.settings import PublishSettings
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.cloud import PROJECT, canonical_row

pytestmark = pytest.mark.integration

TABLES = ("file_downloads", "simple_requests")


def test_backfill_from_cloud_storage_then_publish_loads_every_row_once(
    local_stack: LocalStack,
    blob_store: GcsBlobStore,
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for variable, value in local_stack.env.items():
        monkeypatch.setenv(variable, value)
    suffix = uuid.uuid4().hex[:12]
    logs_bucket, staging, dataset = f"logs-{suffix}", f"staging-{suffix}", f"backfill_{suffix}"
    for bucket in (logs_bucket, staging):
        local_stack.storage_client().create_bucket(bucket)
    bigquery_admin.ensure_dataset(PROJECT, dataset)
    for table in TABLES:
        bigquery_admin.create_table(TableRef(PROJECT, dataset, table), load_schema(Table(table)))
    logs = [
        write_sample(tmp_path / "cdn-a.log.gz", lines=1200, seed=51, start=datetime(2018, 5, 6, tzinfo=UTC)),
        write_sample(tmp_path / "cdn-b.log.gz", lines=1200, seed=52),
    ]
    for log in logs:
        blob_store.put(logs_bucket, f"2018/{log.name}", log.read_bytes())
    assert main(["parse", "--quiet", "-o", str(tmp_path / "parsed"), *map(str, logs)]) == 0
    capsys.readouterr()
    settings = PublishSettings(PROJECT, staging, ((PROJECT, dataset),), *TABLES)
    options = pipeline_options(["--direct_running_mode", "in_memory"], workers=1)

    def backfill_and_publish() -> None:
        summary = run_backfill([f"gs://{logs_bucket}/2018/*.log.gz"], f"gs://{staging}", options=options)
        assert summary.complete, summary
        assert summary.counts.files == 2
        partitions = {info.name.split("/")[1] for info in blob_store.list(staging, "processed/")}
        for partition in sorted(partitions):
            publish(blob_store, table_loader, settings, PublishRequest(partition, continue_publishing=True))

    backfill_and_publish()
    backfill_and_publish()  # the backfill finds the files loaded; the publisher has nothing new

    for table in TABLES:
        loaded = bigquery_admin.query(f"SELECT * FROM `{PROJECT}.{dataset}.{table}`")
        expected = (tmp_path / "parsed" / f"{table}.ndjson").read_text().splitlines()
        assert Counter(map(canonical_row, loaded)) == Counter(
            canonical_row(json.loads(line)) for line in expected
        ), table
    assert [info.name for info in blob_store.list(logs_bucket, "")] == [
        "2018/cdn-a.log.gz",
        "2018/cdn-b.log.gz",
    ]
    assert list(blob_store.list(staging, "processed/")) == []
    assert "credentials" not in caplog.text  # no search for Google credentials with an emulator
