"""BigQuery: the :class:`~linehaul.pipeline.ports.TableLoader` port, and the admin work around it.

Tables are laid out the same way whoever creates them (:meth:`BigQueryAdmin.create_table`, or a load job
into a missing table): partitioned by day on :data:`PARTITION_FIELD`, clustered on
:data:`CLUSTERING_FIELDS`. Schemas travel in their JSON form, the content of ``schemas/*.json``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, cast

import requests
from google.api_core.exceptions import Conflict, GoogleAPICallError, GoogleAPIError, NotFound
from google.auth.exceptions import TransportError
from google.cloud import bigquery

from linehaul.gcp.clients import bigquery_retry
from linehaul.pipeline.ports import JobExistsError, LoadError, LoadJob, Schema, TableLoaderError, TableRef

__all__ = [
    "CLUSTERING_FIELDS",
    "PARTITION_FIELD",
    "BigQueryAdmin",
    "BigQueryAdminError",
    "BigQueryTableLoader",
    "schema_fields",
    "schema_json",
]

PARTITION_FIELD = "timestamp"
"""Both tables are partitioned by the day of this column."""

CLUSTERING_FIELDS = ("project",)
"""Both tables are clustered on these columns: most queries ask about one project."""

_FIRST_POLL = 0.05  # seconds before the first look at a running job; doubled up to _LAST_POLL
_LAST_POLL = 2.0

_JobState = Literal["PENDING", "RUNNING", "DONE"]

_FAILURES = (GoogleAPIError, requests.RequestException, TransportError, ConnectionError, TimeoutError)
"""What a request fails with once the client library's retries are spent: API errors (RetryError too),
timeouts and failed connections."""


class BigQueryAdminError(Exception):
    """BigQuery refused or failed an admin operation (create, schema change, query); the message says why."""


def schema_fields(schema: Schema) -> list[bigquery.SchemaField]:
    """The client's fields for a JSON schema: nested RECORDs, modes and descriptions included."""
    return [bigquery.SchemaField.from_api_repr(dict(field)) for field in schema]


def schema_json(fields: Sequence[bigquery.SchemaField]) -> list[dict[str, Any]]:
    """The JSON form of the client's fields, with the keys ``schemas/*.json`` uses and nothing else."""
    result = []
    for field in fields:
        item: dict[str, Any] = {"name": field.name, "type": field.field_type, "mode": field.mode}
        if field.description:
            item["description"] = field.description
        if field.fields:
            item["fields"] = schema_json(field.fields)
        result.append(item)
    return result


def _table_layout(partition_field: str = PARTITION_FIELD) -> dict[str, Any]:
    return {
        "time_partitioning": bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=partition_field
        ),
        "clustering_fields": list(CLUSTERING_FIELDS),
    }


class BigQueryTableLoader:
    """Load jobs appending newline-delimited JSON from Cloud Storage to a table.

    Jobs are never retried under another id: ``start_load`` with an id that BigQuery knows raises
    JobExistsError, so a caller that lost track of a job finds it again by its id instead of loading the
    same files twice. The client library retries every request on a transient failure (for up to 10
    minutes), the job insert included: a retry of an insert that landed gets 409, JobExistsError, our own
    job. Other failures raise TableLoaderError (they are transient or a configuration fault, not a property
    of the job: a job's own failure is in its state).
    """

    def __init__(self, client: bigquery.Client, *, location: str | None = None, retry: Any = None) -> None:
        """``retry``: how the client library retries each request (a ``google.api_core.retry.Retry``; None:
        the library's default, whose deadline is 10 minutes)."""
        self._client = client
        self._location = location
        self._retry = retry or bigquery_retry()

    def start_load(self, job_id: str, uris: Sequence[str], table: TableRef, schema: Schema) -> None:
        """Submit a load job appending ``uris`` (``gs://bucket/name``) to ``table``, typed by ``schema``.

        A missing table is created by the job, laid out like :meth:`BigQueryAdmin.create_table` does.
        JobExistsError if a job with ``job_id`` was ever submitted.
        """
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
            schema=schema_fields(schema),
            **_table_layout(),
        )
        try:
            self._client.load_table_from_uri(
                list(uris),
                str(table),
                job_id=job_id,
                job_config=config,
                location=self._location,
                retry=self._retry,
            )
        except Conflict as error:
            raise JobExistsError(f"load job {job_id!r} was submitted before") from error
        except _FAILURES as error:
            raise TableLoaderError(f"submit load job {job_id}: {error}") from error

    def job(self, job_id: str) -> LoadJob | None:
        """The job's current state, or None if no job has this id."""
        found = self._get_job(job_id)
        return None if found is None else _load_job(found)

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        """Block until the job is done (or ``timeout`` seconds pass) and return its state.

        A failed job is returned (``error`` says why), not raised. LookupError if no job has this id.
        """
        deadline = time.monotonic() + timeout
        found = self._get_job(job_id)
        if found is None:
            raise LookupError(f"no job has the id {job_id!r}")
        delay = _FIRST_POLL
        while found.state != "DONE":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _LAST_POLL)
            try:
                found.reload(retry=self._retry)
            except _FAILURES as error:
                raise TableLoaderError(f"look up load job {job_id}: {error}") from error
        return _load_job(found)

    def _get_job(self, job_id: str) -> Any:
        try:
            return self._client.get_job(job_id, location=self._location, retry=self._retry)
        except NotFound:
            return None
        except _FAILURES as error:
            raise TableLoaderError(f"look up load job {job_id}: {error}") from error


def _load_job(job: Any) -> LoadJob:
    """The port's view of a job: its state, and when it failed, each of its errors (``errorResult`` first,
    then ``errors``, each once) with its reason and location (a source file's URI, or none)."""
    state = cast(_JobState, job.state)
    errors: list[LoadError] = []
    for proto in [job.error_result, *(job.errors or ())] if state == "DONE" and job.error_result else ():
        reason, text = str(proto.get("reason", "")), str(proto.get("message", ""))
        error = LoadError(reason, text, proto.get("location") or None)
        if error not in errors:
            errors.append(error)
    messages = list(dict.fromkeys(error.message for error in errors))
    message = "; ".join(messages) if errors else None
    succeeded = state == "DONE" and message is None
    output_rows = job.output_rows if succeeded and isinstance(job, bigquery.LoadJob) else None
    return LoadJob(job.job_id, state, message, output_rows, tuple(errors))


class BigQueryAdmin:
    """Datasets, tables and schemas: what the command line and the local runner set up before loading."""

    def __init__(self, client: bigquery.Client, *, location: str | None = None) -> None:
        self._client = client
        self._location = location

    def ensure_dataset(self, project: str, dataset: str) -> None:
        """Create the dataset unless it exists."""
        with _admin_errors(f"create dataset {project}.{dataset}"):
            ref = bigquery.DatasetReference(project, dataset)
            created = bigquery.Dataset(ref)
            if self._location is not None:
                created.location = self._location
            self._client.create_dataset(created, exists_ok=True)

    def table_schema(self, table: TableRef) -> list[dict[str, Any]] | None:
        """The table's schema in JSON form, or None if the table does not exist."""
        try:
            found = self._client.get_table(str(table))
        except NotFound:
            return None
        except GoogleAPICallError as error:
            raise BigQueryAdminError(f"read table {table}: {error.message}") from error
        return schema_json(found.schema)

    def create_table(
        self, table: TableRef, schema: Schema, *, partition_field: str = PARTITION_FIELD
    ) -> None:
        """Create the table, partitioned by day on ``partition_field`` (``timestamp``; the daily tables:
        ``date``) and clustered on ``project``.

        BigQueryAdminError if it exists (use :meth:`table_schema` to look first).
        """
        created = bigquery.Table(str(table), schema=schema_fields(schema))
        layout = _table_layout(partition_field)
        created.time_partitioning = layout["time_partitioning"]
        created.clustering_fields = layout["clustering_fields"]
        with _admin_errors(f"create table {table}"):
            self._client.create_table(created)

    def update_schema(self, table: TableRef, schema: Schema) -> None:
        """Replace the table's schema. BigQuery accepts only added NULLABLE fields and relaxed modes."""
        with _admin_errors(f"update the schema of {table}"):
            found = self._client.get_table(str(table))
            found.schema = schema_fields(schema)
            self._client.update_table(found, ["schema"])

    def count_rows(self, table: TableRef) -> int:
        """The number of rows in the table, counted by a query (not the cached table statistics)."""
        rows = self.query(f"SELECT COUNT(*) AS n FROM `{table}`")
        return int(rows[0]["n"])

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Run a query (standard SQL) and return its rows as dicts of column name to value."""
        with _admin_errors("query"):
            result = self._client.query(sql, location=self._location).result()
            return [dict(row.items()) for row in result]


@contextmanager
def _admin_errors(what: str) -> Iterator[None]:
    try:
        yield
    except GoogleAPICallError as error:
        raise BigQueryAdminError(f"{what}: {error.message}") from error
