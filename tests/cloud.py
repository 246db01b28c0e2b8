"""The local cloud as fixtures (a pytest plugin, loaded by the conftest of each test folder that talks to fake
GCS or the BigQuery emulator; never in the fast lane): one stack per session, a fresh bucket and dataset per
test.

``LINEHAUL_BQ_COMPAT=0`` runs the BigQuery emulator without :mod:`linehaul.local.bqcompat` (in a child
process): the compatibility tests then show which BigQuery behaviours upstream bqemulator lacks.
"""

from __future__ import annotations

import gc
import json
import os
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from linehaul import Download, LineError, parse_line, to_row
from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader, GcsBlobStore
from linehaul.local import LocalStack
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ports import TableRef
from linehaul.schema import load_schema
from linehaul.tables import Table

PROJECT = "linehaul-test"
COMPAT = os.environ.get("LINEHAUL_BQ_COMPAT", "1") != "0"

Rows = list[dict[str, Any]]

FAILING_REQUESTS = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.usefixtures("collect_failed_downloads"),
]
"""Marks of tests whose client requests fail (through the flaky proxy): google-cloud-storage does not close
the connection of a download that failed and is retried, so the garbage collector closes it, with a
ResourceWarning, during the test or after it."""


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    # Unpatched, the emulator runs in a child process: patches applied in this process cannot be undone.
    with LocalStack(project=PROJECT, bigquery_mode="thread" if COMPAT else "process", compat=COMPAT) as stack:
        yield stack


@pytest.fixture
def collect_failed_downloads() -> Iterator[None]:
    """After the test, collect quietly the connections that google-cloud-storage leaves to the garbage
    collector when a download fails and is retried (through the flaky proxy): else their ResourceWarning
    surfaces in whichever test runs when the collector does. See :data:`FAILING_REQUESTS`."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="session")
def blob_store(local_stack: LocalStack) -> GcsBlobStore:
    return local_stack.blob_store()


@pytest.fixture(scope="session")
def table_loader(local_stack: LocalStack) -> BigQueryTableLoader:
    return local_stack.table_loader()


@pytest.fixture(scope="session")
def bigquery_admin(local_stack: LocalStack) -> BigQueryAdmin:
    return local_stack.bigquery_admin()


@pytest.fixture
def bucket(local_stack: LocalStack) -> str:
    """A new, empty bucket."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    local_stack.storage_client().create_bucket(name)
    return name


@pytest.fixture
def dataset(bigquery_admin: BigQueryAdmin) -> str:
    """A new, empty dataset in :data:`PROJECT`."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    bigquery_admin.ensure_dataset(PROJECT, name)
    return name


@pytest.fixture(scope="session")
def downloads_schema() -> list[dict[str, Any]]:
    return [dict(column) for column in load_schema(Table.FILE_DOWNLOADS)]


@pytest.fixture
def downloads_table(dataset: str, bigquery_admin: BigQueryAdmin, downloads_schema: Rows) -> TableRef:
    """An empty ``file_downloads`` table, created from ``schemas/file_downloads.json``."""
    table = TableRef(PROJECT, dataset, "file_downloads")
    bigquery_admin.create_table(table, downloads_schema)
    return table


@pytest.fixture(scope="session")
def downloads() -> Rows:
    """60 rows of ``file_downloads``, made by linehaul from its deterministic sample log."""
    rows: Rows = []
    for line in sample_lines(200, seed=1):
        try:
            event = parse_line(line)
        except LineError:
            continue
        if isinstance(event, Download):
            rows.append(to_row(event))
    assert len(rows) >= 60, "the sample should give at least 60 downloads"
    return rows[:60]


@pytest.fixture(scope="session")
def ndjson() -> Callable[[Sequence[dict[str, Any]]], bytes]:
    """Rows as newline-delimited JSON."""
    return lambda rows: "".join(json.dumps(row) + "\n" for row in rows).encode()


@pytest.fixture
def stage(blob_store: GcsBlobStore, bucket: str) -> Callable[[str, bytes], str]:
    """Upload bytes to the test's bucket; returns the object's ``gs://`` URI."""

    def upload(name: str, data: bytes) -> str:
        blob_store.put(bucket, name, data, content_type="application/json")
        return f"gs://{bucket}/{name}"

    return upload


def canonical_row(row: dict[str, Any]) -> str:
    """A row as canonical JSON: BigQuery's datetimes back to linehaul's RFC 3339 text."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return json.dumps(plain(row), sort_keys=True)
