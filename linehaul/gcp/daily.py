"""BigQuery's side of the daily tables: the :class:`~linehaul.pipeline.daily_ports.Aggregator` port.

A day's aggregates are one query job per daily table: the SQL of :func:`linehaul.daily.sql.aggregate_sql`
over that day of ``file_downloads`` (its values as query parameters), written to the partition decorator
``<table>$YYYYMMDD`` with ``WRITE_TRUNCATE``: BigQuery replaces that partition, whole and atomically, and
refuses a row of another day. With ``CREATE_IF_NEEDED`` and the job's partitioning and clustering, a
missing daily table is created laid out as ``linehaul schema apply`` lays it out. The job reads the
columns it counts by in that day's partition only (partition pruning on ``timestamp``).

Which days are in step comes from ``INFORMATION_SCHEMA.PARTITIONS`` (partition metadata: no table data
is read): each partition's rows and when data was last written to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date
from typing import Any

from google.api_core.exceptions import Conflict
from google.cloud import bigquery

from linehaul.analysis.dimensions import BIGQUERY, Parameter, Parameters
from linehaul.daily.check import check_sql
from linehaul.daily.freshness import Partitions, PartitionState
from linehaul.daily.shape import CLUSTERING_FIELDS, DAILY_TABLES, PARTITION_FIELD, DailyTable
from linehaul.daily.sql import aggregate_sql
from linehaul.gcp.bigquery import _FAILURES, BigQueryTableLoader
from linehaul.pipeline.naming import PARTITION_PATTERN, Partition
from linehaul.pipeline.ports import JobExistsError, LoadJob, TableLoaderError, TableRef

__all__ = [
    "BigQueryAggregator",
    "check_daily_tables",
    "partition_decorator",
    "partition_states",
    "partitions_sql",
]


def partition_decorator(table: TableRef, day: date) -> str:
    """``project.dataset.table$YYYYMMDD``: one day's partition, as a job's destination."""
    return f"{table}${Partition.of_day(day)}"


def partitions_sql(project: str, dataset: str) -> str:
    """The day partitions of the tables of ``project.dataset`` named in ``@table_names`` (ARRAY<STRING>):
    each one's rows and when data was last written to it (partition metadata: no table data is read)."""
    return (
        "SELECT table_name, partition_id, total_rows, last_modified_time\n"
        f"FROM `{project}.{dataset}.INFORMATION_SCHEMA.PARTITIONS`\n"
        "WHERE table_name IN UNNEST(@table_names)\n"
        f"  AND REGEXP_CONTAINS(partition_id, r'^{PARTITION_PATTERN}$')"
    )


def partition_states(rows: Iterable[Any], names: Sequence[str]) -> dict[str, Partitions]:
    """The partitions of each table of ``names`` (none for a table without one), from the rows of
    :func:`partitions_sql`."""
    found: dict[str, dict[date, PartitionState]] = {name: {} for name in names}
    for name, partition, count, modified in (tuple(row.values()) for row in rows):
        state = PartitionState(int(count or 0), modified.astimezone(UTC))
        found.setdefault(str(name), {})[Partition(str(partition)).day] = state
    return dict(found)


def _parameter(parameter: Parameter) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    if parameter.type.startswith("ARRAY<"):
        return bigquery.ArrayQueryParameter(parameter.name, parameter.type[6:-1], list(parameter.value))
    return bigquery.ScalarQueryParameter(parameter.name, parameter.type, parameter.value)


class BigQueryAggregator:
    """The :class:`~linehaul.pipeline.daily_ports.Aggregator` of BigQuery (see the module doc).

    As :class:`~linehaul.gcp.bigquery.BigQueryTableLoader` does for loads: the client library retries
    every request on a transient failure (the job insert too: a retry that lands on our own job gets 409,
    JobExistsError); what still fails raises TableLoaderError.
    """

    def __init__(self, client: bigquery.Client, *, location: str | None = None, retry: Any = None) -> None:
        self._client = client
        self._location = location
        self._retry = retry or bigquery.DEFAULT_RETRY
        self._jobs = BigQueryTableLoader(client, location=location, retry=self._retry)

    def partitions(self, source: TableRef, tables: Sequence[str]) -> Mapping[str, Partitions]:
        names = [source.table, *tables]
        sql = partitions_sql(source.project, source.dataset)
        config = bigquery.QueryJobConfig(
            query_parameters=[bigquery.ArrayQueryParameter("table_names", "STRING", names)]
        )
        try:
            job = self._client.query(sql, job_config=config, location=self._location, retry=self._retry)
            rows = list(job.result(retry=self._retry))
        except _FAILURES as error:
            where = f"{source.project}.{source.dataset}"
            raise TableLoaderError(f"read the partitions of {where}: {error}") from error
        return partition_states(rows, names)

    def start_aggregate(self, job_id: str, source: TableRef, table: DailyTable, day: date) -> None:
        parameters = Parameters(BIGQUERY)
        sql = aggregate_sql(table, BIGQUERY, parameters, f"`{source}`", day)
        destination = TableRef(source.project, source.dataset, table.name)
        config = bigquery.QueryJobConfig(
            destination=partition_decorator(destination, day),
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
            time_partitioning=bigquery.TimePartitioning(
                type_=bigquery.TimePartitioningType.DAY, field=PARTITION_FIELD
            ),
            clustering_fields=list(CLUSTERING_FIELDS),
            query_parameters=[_parameter(parameter) for parameter in parameters.values.values()],
            use_legacy_sql=False,
        )
        try:
            self._client.query(  # job_retry None: a failed job is never run again under its own id
                sql,
                job_config=config,
                job_id=job_id,
                location=self._location,
                retry=self._retry,
                job_retry=None,
            )
        except Conflict as error:
            raise JobExistsError(f"query job {job_id!r} was submitted before") from error
        except _FAILURES as error:
            raise TableLoaderError(f"submit query job {job_id}: {error}") from error

    def job(self, job_id: str) -> LoadJob | None:
        return self._jobs.job(job_id)

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        return self._jobs.wait(job_id, timeout)


def check_daily_tables(client: bigquery.Client, source: TableRef) -> tuple[int, int, int]:
    """(days held, rows held, rows that differ) of the daily tables of ``source``'s dataset, each compared
    with the aggregation of ``source`` made afresh (:func:`linehaul.daily.check.check_sql`: it reads the
    rows of every day held; for the local cloud and benchmarks)."""
    days = held = differing = 0
    for table in DAILY_TABLES:
        parameters = Parameters(BIGQUERY)
        daily = f"`{source.project}.{source.dataset}.{table.name}`"
        sql = check_sql(table, BIGQUERY, parameters, f"`{source}`", daily)
        config = bigquery.QueryJobConfig(
            query_parameters=[_parameter(item) for item in parameters.values.values()]
        )
        (row,) = client.query(sql, job_config=config).result()
        days, held, differing = max(days, row["days"]), held + row["held"], differing + row["differing"]
    return days, held, differing
