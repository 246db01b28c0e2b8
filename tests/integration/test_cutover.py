"""Cutover rehearsal (docs/operations.md, "Cutover"): our publisher loads what production's ingestor staged.

Between stopping production's publisher and switching the ingestor's trigger, the staging bucket holds files
of both ingestors: production's, named by ``os.path.basename(name).rstrip(".log.gz")`` (a set of characters,
not a suffix: ``...Nglo.log.gz`` is staged as ``...N``), timestamps written ``2026-12-05 00:00:00 +00:00``;
and ours. Here production's own outputs for two logs of tests/data/cutover/ (made by production linehaul
1.0.3: tests/data/cutover/regenerate) are staged under production's names, our ingestor function stages the
two other logs, and our publisher function loads both into the BigQuery emulator. The tables then hold
production's rows for all four logs, each once, compared as the conformance contract compares them
(/work/shared/conformance/compare.py): every value production fills in is ours too, timestamps as instants.
Run with ``-s`` to see the counts.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from linehaul.gcp import BigQueryAdmin, GcsBlobStore
from linehaul.gcp.schema_apply import apply_schemas
from linehaul.local import FunctionServer, LocalStack
from linehaul.local.runner import function_source
from linehaul.pipeline.naming import log_name, staged_prefix
from linehaul.tables import Output, Table
from tests.cloud import PROJECT

pytestmark = pytest.mark.integration

DATA = Path(__file__).parents[1] / "data" / "cutover"
LOGS = sorted((DATA / "logs").glob("*.log.gz"))
STAGED_BY_PRODUCTION = (LOGS[0], LOGS[2])  # one log of each day
STAGED_BY_US = (LOGS[1], LOGS[3])
PARTITIONS = ("20261204", "20261205")
_ROUNDS = 3  # scheduled messages before giving up on a staging bucket that does not empty
# production's outputs: (its file in production/<log>/, its staged name, the table it is loaded into)
_OUTPUTS = (
    ("downloads.json", "processed/{partition}/downloads-{name}.json", Table.FILE_DOWNLOADS),
    ("simple.json", "processed/{partition}/simple-{name}.json", Table.SIMPLE_REQUESTS),
    ("unprocessed.txt", "unprocessed/{partition}/{name}.txt", None),
)


def production_name(object_name: str) -> str:
    """The name production's ingestor gives a log's outputs: its own expression, on purpose."""
    return os.path.basename(object_name).rstrip(".log.gz")  # noqa: B005  # production's, as it is


@dataclass(frozen=True, slots=True)
class ProductionOutputs:
    """What production linehaul made of one log: its rows per table, and its partition."""

    log: Path
    partition: str
    rows: dict[Table, list[dict[str, Any]]]
    files: dict[str, bytes]  # by file name in production/<log>/

    @classmethod
    def read(cls, log: Path) -> ProductionOutputs:
        directory = DATA / "production" / log.name.removesuffix(".log.gz")
        summary = (directory / "summary.txt").read_text()
        match = re.search(r"min_timestamp: (\d{8})", summary)
        assert match, summary
        files = {name: gzip.decompress((directory / f"{name}.gz").read_bytes()) for name, _, _ in _OUTPUTS}
        rows = {
            table: [json.loads(line) for line in files[name].splitlines() if line.strip()]
            for name, _, table in _OUTPUTS
            if table is not None
        }
        return cls(log, match[1], rows, files)

    def staged(self) -> dict[str, bytes]:
        """Production's staged objects for this log, as its ingestor names them (empty outputs are not
        uploaded)."""
        name = production_name(f"{self.partition[:4]}/{self.partition[4:6]}/{self.log.name}")
        return {
            pattern.format(partition=self.partition, name=name): self.files[file]
            for file, pattern, _ in _OUTPUTS
            if self.files[file]
        }


# -- the conformance contract, for rows read back from BigQuery ----------------------------------------------


def _instant(value: Any) -> Any:
    """A timestamp as an instant: BigQuery's datetime, or production's text (``... +00:00``, ``... UTC``)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    text = str(value).strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    if len(text) > 19 and text[19] == " ":
        text = text[:19] + text[20:]
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, str):  # a lone surrogate is U+FFFD in ours (the contract's one difference)
        return "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in value)
    return value


def filled(row: dict[str, Any], path: str = "") -> set[tuple[str, Any]]:
    """The leaves of ``row`` that hold a value, as (path, value); lists as tuples, timestamps as instants."""
    leaves: set[tuple[str, Any]] = set()
    for key, value in row.items():
        where = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            leaves |= filled(value, where)
        elif isinstance(value, list):
            if value:
                leaves.add((where, tuple(map(_plain, value))))
        elif value is not None:
            leaves.add((where, _instant(value) if where == "timestamp" else _plain(value)))
    return leaves


def unmatched(production: list[dict[str, Any]], loaded: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """Production's rows that no loaded row carries (every value production fills in, equal), and loaded
    rows left over once each production row took one: both empty when the table holds production's rows,
    each once."""
    left: dict[tuple[Any, Any], list[set[tuple[str, Any]]]] = defaultdict(list)
    for row in loaded:
        left[(row.get("url"), _instant(row["timestamp"]))].append(filled(row))
    missing = []
    for row in production:
        want, candidates = filled(row), left[(row.get("url"), _instant(row["timestamp"]))]
        found = next((number for number, have in enumerate(candidates) if want <= have), None)
        if found is None:
            missing.append(row)
        else:
            candidates.pop(found)
    return missing, [leaves for candidates in left.values() for leaves in candidates]


# -- the rehearsal -------------------------------------------------------------------------------------------


@pytest.fixture
def buckets(local_stack: LocalStack) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:12]
    logs, staging = f"logs-{suffix}", f"staging-{suffix}"
    for bucket in (logs, staging):
        local_stack.storage_client().create_bucket(bucket)
    return logs, staging


@pytest.fixture
def functions(
    local_stack: LocalStack, buckets: tuple[str, str], dataset: str
) -> Iterator[tuple[FunctionServer, FunctionServer]]:
    staging = buckets[1]
    environment = {
        **local_stack.env,
        "RESULT_BUCKET": staging,
        "GCP_PROJECT": PROJECT,
        "BIGQUERY_DATASET": f"{PROJECT}.{dataset}",
        "BIGQUERY_DOWNLOAD_TABLE": Table.FILE_DOWNLOADS,
        "BIGQUERY_SIMPLE_TABLE": Table.SIMPLE_REQUESTS,
    }
    ingestor = FunctionServer(
        function_source("linehaul.runtime.ingestor"), "process_fastly_log", env=environment
    )
    publisher = FunctionServer(
        function_source("linehaul.runtime.publisher"), "load_processed_files_into_bigquery", env=environment
    )
    with ingestor, publisher:
        yield ingestor, publisher


def _staged_names(store: GcsBlobStore, bucket: str) -> list[str]:
    return [info.name for output in Output.of_rows() for info in store.list(bucket, staged_prefix(output))]


def test_our_publisher_loads_what_production_staged_beside_ours_each_row_once(
    local_stack: LocalStack,
    bigquery_admin: BigQueryAdmin,
    dataset: str,
    buckets: tuple[str, str],
    functions: tuple[FunctionServer, FunctionServer],
) -> None:
    logs, staging = buckets
    ingestor, publisher = functions
    tables = {table: table.value for table in Table}
    apply_schemas(bigquery_admin, PROJECT, dataset, tables)
    store = local_stack.blob_store()
    production = {log: ProductionOutputs.read(log) for log in LOGS}

    # production's ingestor staged two logs before it was switched off ...
    for log in STAGED_BY_PRODUCTION:
        for name, data in production[log].staged().items():
            store.put(staging, name, data, content_type="application/json")
    # ... and ours stages the two that came after
    for log in STAGED_BY_US:
        name = f"2026/12/05/{log.name}"
        generation = store.put(logs, name, log.read_bytes(), content_type="application/gzip")
        assert ingestor.storage_finalized(logs, name, generation).ok, ingestor.output()
    staged = _staged_names(store, staging)
    assert {name.split("/")[1] for name in staged} == set(PARTITIONS)  # both sides' files in both partitions
    for _ in range(_ROUNDS):  # the scheduler's messages, as docs/operations.md's step 3 sends them
        assert publisher.pubsub_message(b"publish").ok, publisher.output()
        if not _staged_names(store, staging):
            break
    again = publisher.pubsub_message(b"publish")  # nothing left: no change
    loaded = {table: bigquery_admin.query(f"SELECT * FROM `{PROJECT}.{dataset}.{table}`") for table in tables}

    expected = {table: [row for log in LOGS for row in production[log].rows[table]] for table in tables}
    by_production = {
        table: sum(len(production[log].rows[table]) for log in STAGED_BY_PRODUCTION) for table in tables
    }
    print(
        "\ncutover: "
        + "; ".join(
            f"{table}: {len(loaded[table])} rows loaded, production {len(expected[table])} "
            f"({by_production[table]} from production's staged files, "
            f"{len(expected[table]) - by_production[table]} from ours)"
            for table in tables
        )
    )
    renamed = [log.name for log in STAGED_BY_PRODUCTION if production_name(log.name) != log_name(log.name)]
    assert renamed, "one of production's logs should be staged under a name rstrip shortened"
    assert again.ok
    assert _staged_names(store, staging) == []
    assert [info.name for info in store.list(staging, "quarantine/")] == []
    assert {f"loaded/{name}" for name in staged} <= {info.name for info in store.list(staging, "loaded/")}
    for table in tables:
        missing, extra = unmatched(expected[table], loaded[table])
        assert (missing, extra) == ([], []), table
        assert len(loaded[table]) == len(expected[table]) > 0
    assert Counter(row["url"] for row in loaded[Table.FILE_DOWNLOADS]) == Counter(
        row["url"] for row in expected[Table.FILE_DOWNLOADS]
    )
