"""The TableLoader contract, run against the in-memory fake and against BigQuery (the local emulator, made to
behave like BigQuery where the pipeline relies on it by linehaul.local.bqcompat): loads append exactly the
rows of their files, job ids are never reused, a failed load loads nothing and says why.

BigQuery-only behaviour (the layout of a table a load creates, the admin calls) is tested beside the
adapter: tests/gcp/test_bigquery_adapters.py.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from linehaul.pipeline.naming import object_uri
from linehaul.pipeline.ports import BlobStore, JobExistsError, LoadJob, TableLoader, TableRef
from linehaul.schema import load_schema
from linehaul.tables import Table
from linehaul.testing import MemoryBlobStore, MemoryTableLoader
from tests.cloud import canonical_row

Rows = list[dict[str, Any]]
SCHEMA = load_schema(Table.FILE_DOWNLOADS)


@dataclass(frozen=True, slots=True)
class Target:
    """A loader under test, the store its files are read from, a bucket there, a destination table, and
    how to read that table's rows back."""

    loader: TableLoader
    store: BlobStore
    bucket: str
    table: TableRef
    rows: Callable[[], Rows]
    create_table: Callable[[TableRef, Any], None]

    def stage(self, name: str, rows: Rows, tail: bytes = b"") -> str:
        self.store.put(self.bucket, name, "".join(json.dumps(row) + "\n" for row in rows).encode() + tail)
        return object_uri(self.bucket, name)


IMPLEMENTATIONS = [
    pytest.param("memory", id="memory"),
    pytest.param("bigquery", id="bigquery-emulator", marks=pytest.mark.integration),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "memory":
        store = MemoryBlobStore("staging")
        loader = MemoryTableLoader(store, datasets={"proj.pypi"})
        table = TableRef("proj", "pypi", "file_downloads")
        yield Target(loader, store, "staging", table, lambda: loader.rows(table), loader.create_table)
        return
    admin = request.getfixturevalue("bigquery_admin")
    table = request.getfixturevalue("downloads_table")
    yield Target(
        request.getfixturevalue("table_loader"),
        request.getfixturevalue("blob_store"),
        request.getfixturevalue("bucket"),
        table,
        lambda: admin.query(f"SELECT * FROM `{table}`"),
        admin.create_table,
    )


def _job_id() -> str:
    return f"load-{uuid.uuid4().hex}"


def test_a_load_appends_exactly_the_rows_of_its_files(target: Target, downloads: Rows) -> None:
    uris = [target.stage("staged/1.json", downloads[:25]), target.stage("staged/2.json", downloads[25:])]
    identifier = _job_id()

    target.loader.start_load(identifier, uris, target.table, SCHEMA)
    job = target.loader.wait(identifier, timeout=60)

    assert job.succeeded, job.error
    assert (job.job_id, job.output_rows) == (identifier, len(downloads))
    assert Counter(map(canonical_row, target.rows())) == Counter(map(canonical_row, downloads))


def test_job_states_by_id(target: Target, downloads: Rows) -> None:
    identifier = _job_id()
    assert target.loader.job(identifier) is None
    with pytest.raises(LookupError):
        target.loader.wait(identifier, timeout=1)

    target.loader.start_load(identifier, [target.stage("a.json", downloads[:3])], target.table, SCHEMA)
    target.loader.wait(identifier, timeout=60)

    job = target.loader.job(identifier)
    assert job is not None
    assert (job.state, job.succeeded, job.output_rows) == ("DONE", True, 3)


def test_a_job_id_is_never_reused(target: Target, downloads: Rows) -> None:
    uris = [target.stage("a.json", downloads[:4])]
    identifier = _job_id()
    target.loader.start_load(identifier, uris, target.table, SCHEMA)
    target.loader.wait(identifier, timeout=60)

    with pytest.raises(JobExistsError, match=identifier):
        target.loader.start_load(identifier, uris, target.table, SCHEMA)

    assert len(target.rows()) == 4


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(b'{"timestamp": "2021-01-07T20:54:54Z", "url": \n', id="malformed JSON"),
        pytest.param(b'{"timestamp": "yesterday", "url": "/x"}\n', id="not a timestamp"),
        pytest.param(
            b'{"timestamp": "2021-01-07T20:54:54Z", "url": "/x", "file": "x.whl"}\n', id="not a record"
        ),
    ],
)
def test_a_failed_load_says_why_and_loads_nothing(target: Target, downloads: Rows, broken: bytes) -> None:
    first = _job_id()
    target.loader.start_load(first, [target.stage("ok.json", downloads[:2])], target.table, SCHEMA)
    target.loader.wait(first, timeout=60)
    uris = [target.stage("more.json", downloads[2:6]), target.stage("broken.json", downloads[6:9], broken)]
    second = _job_id()

    target.loader.start_load(second, uris, target.table, SCHEMA)
    job = target.loader.wait(second, timeout=60)

    assert job.failed
    assert job.output_rows is None
    assert job.error
    assert len(target.rows()) == 2


def test_a_load_of_a_missing_file_fails(target: Target, downloads: Rows) -> None:
    identifier = _job_id()
    uris = [target.stage("here.json", downloads[:2]), object_uri(target.bucket, "not-here.json")]

    target.loader.start_load(identifier, uris, target.table, SCHEMA)
    job = target.loader.wait(identifier, timeout=60)

    assert job.failed
    assert target.rows() == []


def test_a_failed_load_names_the_file_at_fault(target: Target, downloads: Rows) -> None:
    uris = [
        target.stage("good-1.json", downloads[:2]),
        target.stage("good-2.json", downloads[2:4]),
        target.stage("bad.json", downloads[4:6], b'{"timestamp": "yesterday", "url": "/x"}\n'),
        target.stage("good-3.json", downloads[6:8]),
    ]
    identifier = _job_id()

    target.loader.start_load(identifier, uris, target.table, SCHEMA)
    job = target.loader.wait(identifier, timeout=60)

    assert job.failed
    assert {error.location for error in job.errors} - {None} == {uris[2]}
    assert all(error.reason == "invalid" for error in job.errors)


def _fails_naming_no_file(job: LoadJob, reason: str) -> None:
    assert job.failed
    assert reason in {error.reason for error in job.errors}, job.errors
    assert all(error.location is None for error in job.errors), job.errors


def test_a_missing_file_is_not_found_and_names_no_file(target: Target, downloads: Rows) -> None:
    identifier = _job_id()
    uris = [target.stage("here.json", downloads[:2]), object_uri(target.bucket, "not-here.json")]

    target.loader.start_load(identifier, uris, target.table, SCHEMA)

    _fails_naming_no_file(target.loader.wait(identifier, timeout=60), "notFound")


def test_a_missing_dataset_is_not_found_and_names_no_file(target: Target, downloads: Rows) -> None:
    identifier = _job_id()
    elsewhere = TableRef(target.table.project, f"missing_{uuid.uuid4().hex[:8]}", "file_downloads")

    target.loader.start_load(identifier, [target.stage("a.json", downloads[:2])], elsewhere, SCHEMA)

    _fails_naming_no_file(target.loader.wait(identifier, timeout=60), "notFound")


def test_a_table_of_another_schema_refuses_the_load_naming_no_file(target: Target, downloads: Rows) -> None:
    other = TableRef(target.table.project, target.table.dataset, f"older_{uuid.uuid4().hex[:8]}")
    older = [dict(field) for field in SCHEMA if field["name"] != "tls_cipher"]  # a column short
    target.create_table(other, older)
    identifier = _job_id()

    target.loader.start_load(identifier, [target.stage("a.json", downloads[:2])], other, SCHEMA)

    job = target.loader.wait(identifier, timeout=60)
    _fails_naming_no_file(job, "invalid")
    assert "Provided Schema does not match" in (job.error or "")
