"""The BigQuery emulator reads a TIMESTAMP in NDJSON in every form BigQuery's loads take
(linehaul.local.bqtimestamps, applied by linehaul.local.bqcompat): production linehaul's staged files write
``2026-12-05 00:00:00 +00:00``, which upstream bqemulator (DuckDB) refuses. Without the patches the load
test fails: run this file with ``LINEHAUL_BQ_COMPAT=0``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader
from linehaul.local.bqtimestamps import bigquery_timestamp_text
from linehaul.pipeline.ports import TableRef
from tests.local.test_bqcompat import Rows, ToNdjson, load

pytestmark = pytest.mark.integration

MIDNIGHT = datetime(2026, 12, 5, tzinfo=UTC)
# Texts of the same instant, 2026-12-05T00:00:00Z, in the forms BigQuery reads from JSON.
FORMS = {
    "production": "2026-12-05 00:00:00 +00:00",
    "space-offset-minutes": "2026-12-05 01:30:00 +01:30",
    "space-one-digit-hours": "2026-12-04 19:00:00 -5:00",
    "offset-hours-only": "2026-12-04 19:00:00-05",
    "one-digit-hours-only": "2026-12-04 19:00:00 -5",
    "utc": "2026-12-05 00:00:00 UTC",
    "zulu": "2026-12-05T00:00:00Z",
    "fraction-offset": "2026-12-05T00:00:00.000000+00:00",
    "slashes-no-seconds": "2026/12/05 00:00",
    "zone-name": "2026-12-04 16:00:00 America/Los_Angeles",
}


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("2026-12-05 00:00:00 +00:00", "2026-12-05 00:00:00+00:00"),
        ("2026-12-04 19:00:00.25 -5:00", "2026-12-04 19:00:00.25-05:00"),
        ("2026-12-04T19:00:00   -05", "2026-12-04T19:00:00-05:00"),
        ("2026/12/05 1:30 +1:30", "2026/12/05 1:30+01:30"),
        ("2026-12-04 16:00:00 America/Los_Angeles", "2026-12-04 16:00:00-08:00"),
        ("2026-07-04 16:00:00.5 America/Los_Angeles", "2026-07-04 16:00:00.5-07:00"),
        ("2026-12-05 05:30 Asia/Kolkata", "2026-12-05 05:30+05:30"),
        ("2026-12-05 00:00:00 UTC", "2026-12-05 00:00:00+00:00"),
        # forms DuckDB reads as they are, and text that is no timestamp: unchanged
        ("2026-12-05 00:00:00 Mars/Olympus", "2026-12-05 00:00:00 Mars/Olympus"),
        ("2026-12-05T00:00:00Z", "2026-12-05T00:00:00Z"),
        ("2026-12-05T00:00:00+00:00", "2026-12-05T00:00:00+00:00"),
        ("2026-12-05", "2026-12-05"),
        ("12/05/2026 00:00 +00:00", "12/05/2026 00:00 +00:00"),
        ("yesterday -5", "yesterday -5"),
    ],
)
def test_the_text_duckdb_is_given(text: str, read: str) -> None:
    assert bigquery_timestamp_text(text) == read


def test_every_form_bigquery_reads_loads_as_the_same_instant(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    downloads: Rows,
    stage: Callable[[str, bytes], str],
    ndjson: ToNdjson,
) -> None:
    rows: list[dict[str, Any]] = [
        {**downloads[0], "url": f"/{form}", "timestamp": text} for form, text in FORMS.items()
    ]

    job = load(table_loader, downloads_table, downloads_schema, [stage("forms.ndjson", ndjson(rows))])

    assert job.succeeded, job
    loaded = bigquery_admin.query(f"SELECT url, timestamp FROM `{downloads_table}`")
    assert {row["url"]: row["timestamp"] for row in loaded} == {f"/{form}": MIDNIGHT for form in FORMS}


def test_a_file_in_the_ingestors_form_is_loaded_as_it_is(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    downloads: Rows,
    stage: Callable[[str, bytes], str],
    ndjson: ToNdjson,
) -> None:
    job = load(table_loader, downloads_table, downloads_schema, [stage("ours.ndjson", ndjson(downloads))])

    assert job.succeeded
    assert bigquery_admin.count_rows(downloads_table) == len(downloads)
