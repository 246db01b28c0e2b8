"""linehaul's questions asked of BigQuery: query jobs with parameters, a bytes limit, dry runs.

:class:`BigQueryEngine` is an :class:`~linehaul.analysis.engine.Engine` over a dataset whose tables have
the schema of ``schemas/`` (PyPI's public ``bigquery-public-data.pypi`` by default): ``count_by`` and the
report build their SQL in BigQuery's dialect from the same field definitions as on DuckDB, and this
module runs it. Every job carries its values as query parameters and ``maximum_bytes_billed``; with
``dry_run=True`` nothing is run: each query is only priced (BigQuery's estimate of the bytes it would
process) and kept in :attr:`BigQueryEngine.dry_runs`. The partition metadata that windows of days are
counted from (``INFORMATION_SCHEMA.PARTITIONS``) is read for real, dry run or not: it costs the minimum.

Credentials are Google's application default ones (``gcloud auth application-default login``, or a
service account); with ``BIGQUERY_EMULATOR_HOST`` set, the emulator is used, as everywhere in linehaul.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from google.api_core.exceptions import GoogleAPICallError
from google.auth.exceptions import GoogleAuthError
from google.cloud import bigquery

from linehaul.analysis.dimensions import BIGQUERY, Dialect, Parameter
from linehaul.analysis.engine import DataSpan, SqlQuery
from linehaul.analysis.errors import QueryError
from linehaul.analysis.selection import TimeWindow
from linehaul.daily.freshness import Partitions
from linehaul.daily.shape import DAILY_TABLES, DailyTable
from linehaul.gcp.clients import bigquery_client
from linehaul.gcp.costs import DEFAULT_DATASET, DEFAULT_MAX_BYTES_BILLED, human_bytes
from linehaul.gcp.daily import partition_states, partitions_sql
from linehaul.pipeline.naming import PARTITION_PATTERN, Partition
from linehaul.tables import Table

__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_MAX_BYTES_BILLED",
    "BigQueryEngine",
    "BytesLimitError",
    "DryRun",
    "QueryOutcome",
    "split_dataset",
]

DEFAULT_WINDOW_DAYS = 30
"""Without a window, a question is about the last 30 days in the table: nothing scans all of it."""

_NAME = re.compile(r"[A-Za-z0-9_\-]+")
_TABLE_NAME = re.compile(r"[\w\-$]+")
_LIMIT_EXCEEDED = re.compile(r"limit for bytes billed: (\d+)\. (\d+) or higher required")


class BytesLimitError(QueryError):
    """BigQuery refused a query that would bill more than ``limit`` bytes: it needs ``needed``."""

    def __init__(self, needed: int, limit: int) -> None:
        super().__init__(
            f"BigQuery refused the query: it would bill {needed:,} bytes ({human_bytes(needed)}), above the "
            f"limit of {limit:,} bytes ({human_bytes(limit)}); raise the maximum bytes billed to run it"
        )
        self.needed, self.limit = needed, limit


@dataclass(frozen=True, slots=True)
class DryRun:
    """A query that was priced, not run: the bytes BigQuery says it would process; ``alternative``: a query
    that would not run either way, priced for comparison (a question from ``file_downloads`` alone, when
    the daily tables answer it)."""

    query: SqlQuery
    bytes_processed: int
    alternative: bool = False


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """The result of SQL typed by a person: column names, rows (plain Python values), bytes billed."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    bytes_processed: int | None = None


def _parameter(parameter: Parameter) -> bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter:
    if parameter.type.startswith("ARRAY<"):
        return bigquery.ArrayQueryParameter(parameter.name, parameter.type[6:-1], list(parameter.value))
    return bigquery.ScalarQueryParameter(parameter.name, parameter.type, parameter.value)


def _plain(value: Any) -> Any:
    """A value of a BigQuery row as DuckDB gives it: aware datetimes in UTC, records as dicts."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def split_dataset(text: str, default_project: str | None = None) -> tuple[str, str]:
    """``PROJECT.DATASET`` or ``DATASET`` (of ``default_project``) as (project, dataset); ValueError
    for anything else (these names go into SQL text, so only their own characters are allowed)."""
    parts = text.split(".")
    if len(parts) == 1 and default_project:
        parts = [default_project, parts[0]]
    if len(parts) != 2 or not all(_NAME.fullmatch(part) for part in parts):
        raise ValueError(f"not a dataset ([PROJECT.]DATASET): {text!r}")
    return parts[0], parts[1]


class BigQueryEngine:
    """The :class:`~linehaul.analysis.engine.Engine` of a BigQuery dataset (see the module doc)."""

    dialect: Dialect = BIGQUERY
    default_window = TimeWindow(days=DEFAULT_WINDOW_DAYS)
    failures: tuple[Exception, ...] = ()  # as a Database's: inputs that could not be read (none here)

    def __init__(
        self,
        dataset: str = DEFAULT_DATASET,
        *,
        tables: Mapping[Table, str] | None = None,
        billing_project: str | None = None,
        max_bytes_billed: int = DEFAULT_MAX_BYTES_BILLED,
        dry_run: bool = False,
        client: bigquery.Client | None = None,
        daily: bool = True,
    ) -> None:
        self.billing_project = billing_project or (client.project if client is not None else None)
        self.project, self.dataset = split_dataset(dataset, self.billing_project)
        self.tables = {table: table.value for table in Table} | dict(tables or {})
        for name in self.tables.values():
            if not _TABLE_NAME.fullmatch(name):
                raise ValueError(f"not a table name: {name!r}")
        if max_bytes_billed < 1:
            raise ValueError(f"the maximum bytes billed must be at least 1, not {max_bytes_billed}")
        self.max_bytes_billed = max_bytes_billed
        self.dry_run = dry_run
        self.dry_runs: list[DryRun] = []
        self.bytes_processed = 0  # by the queries run so far
        self.metadata_queries = 0  # run so far by data_span (dry run or not)
        self.reads: list[str] = []  # what the queries run so far read (tables and days), for people
        self.daily = daily and not tables  # issue 29: answer from the daily tables where they suffice
        self._spans: dict[Table, DataSpan | None] = {}
        self._daily_partitions: dict[str, Partitions] | None = None
        self._client, self._owns_client = client, client is None

    @property
    def client(self) -> bigquery.Client:
        """The BigQuery client, made on first use (QueryError when there are no credentials)."""
        if self._client is None:
            try:
                self._client = bigquery_client(self.billing_project)
            except (GoogleAuthError, OSError) as error:  # no credentials; no project to bill
                raise QueryError(
                    f"{error} (sign in with gcloud auth application-default login, or set "
                    "GOOGLE_APPLICATION_CREDENTIALS; name the project that pays with --billing-project)"
                ) from None
        return self._client

    def close(self) -> None:
        """Close the client's connections (if this engine made the client)."""
        if self._client is not None and self._owns_client:
            self._client.close()  # type: ignore[no-untyped-call]  # the client leaves it unannotated

    def __enter__(self) -> BigQueryEngine:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        self.close()

    def describe(self) -> str:
        return f"BigQuery {self.project}.{self.dataset}.{self.tables[Table.FILE_DOWNLOADS]}"

    def table(self, table: Table) -> str:
        """``project.dataset.table``, quoted for BigQuery."""
        return f"`{self.project}.{self.dataset}.{self.tables[table]}`"

    def _config(self, query: SqlQuery, *, dry_run: bool, typed: bool = False) -> bigquery.QueryJobConfig:
        """Every job's settings: its parameters and the bytes limit; SQL ``typed`` by a person may name
        the dataset's tables alone (linehaul's own names them in full)."""
        config = bigquery.QueryJobConfig(
            query_parameters=[_parameter(parameter) for parameter in query.parameters],
            maximum_bytes_billed=self.max_bytes_billed,
            dry_run=dry_run,
            use_legacy_sql=False,
        )
        if typed:
            config.default_dataset = f"{self.project}.{self.dataset}"
        return config

    def _job(self, text: str, config: bigquery.QueryJobConfig) -> Any:
        try:
            return self.client.query(text, job_config=config, project=self.billing_project)
        except GoogleAPICallError as error:
            raise self._error(error) from None

    def _error(self, error: GoogleAPICallError) -> QueryError:
        details = [
            item.get("message") for item in getattr(error, "errors", None) or () if isinstance(item, dict)
        ]
        message = str(details[0] if details and details[0] else getattr(error, "message", "") or error)
        refused = _LIMIT_EXCEEDED.search(message)
        if refused is not None:
            return BytesLimitError(needed=int(refused[2]), limit=int(refused[1]))
        return QueryError(message)

    def _rows(self, text: str, config: bigquery.QueryJobConfig) -> tuple[Any, Any]:
        job = self._job(text, config)
        try:
            rows = job.result()
        except GoogleAPICallError as error:
            raise self._error(error) from None
        self.bytes_processed += job.total_bytes_processed or 0
        return job, rows

    def run(self, query: SqlQuery) -> Sequence[tuple[Any, ...]]:
        """The rows of ``query``; with ``dry_run``, none: the query is priced and kept in ``dry_runs``."""
        if self.dry_run:
            job = self._job(query.text, self._config(query, dry_run=True))
            self.dry_runs.append(DryRun(query, int(job.total_bytes_processed or 0)))
            return []
        _, rows = self._rows(query.text, self._config(query, dry_run=False))
        self.reads += [read for read in query.reads if read not in self.reads]
        return [tuple(_plain(value) for value in row.values()) for row in rows]

    def price_alternative(self, query: SqlQuery) -> None:
        """Price ``query`` (run nothing), kept in ``dry_runs`` as an alternative to what would run."""
        job = self._job(query.text, self._config(query, dry_run=True))
        self.dry_runs.append(DryRun(query, int(job.total_bytes_processed or 0), alternative=True))

    def daily_table(self, table: DailyTable) -> str:
        """``project.dataset.<daily table>``, quoted for BigQuery."""
        return f"`{self.project}.{self.dataset}.{table.name}`"

    def daily_partitions(self, table: DailyTable) -> tuple[Partitions, Partitions] | None:
        """The partitions of ``file_downloads`` and of the daily ``table`` (partition metadata, read for real
        even in a dry run, once for every daily table); None when the daily tables are not to be used."""
        if not self.daily:
            return None
        if self._daily_partitions is None:
            names = [self.tables[Table.FILE_DOWNLOADS], *(daily.name for daily in DAILY_TABLES)]
            self._daily_partitions = self._partition_states(names)
        found = self._daily_partitions
        return found.get(self.tables[Table.FILE_DOWNLOADS], {}), found.get(table.name, {})

    def _partition_states(self, names: Sequence[str]) -> dict[str, Partitions]:
        query = SqlQuery(
            partitions_sql(self.project, self.dataset),
            (Parameter("table_names", "ARRAY<STRING>", tuple(names)),),
            "when each day's partitions were written",
        )
        self.metadata_queries += 1
        _, rows = self._rows(query.text, self._config(query, dry_run=False))
        return partition_states(rows, names)

    def data_span(self, table: Table) -> DataSpan | None:
        """The first and last day partitions of ``table`` (partition metadata: no table data is read; asked
        once a table), from the first partition's midnight to the end of the last, or now if that is today's
        (still being loaded)."""
        if table not in self._spans:
            self._spans[table] = self._partitions(table)
        return self._spans[table]

    def _partitions(self, table: Table) -> DataSpan | None:
        query = SqlQuery(
            "SELECT MIN(partition_id), MAX(partition_id)\n"
            f"FROM `{self.project}.{self.dataset}.INFORMATION_SCHEMA.PARTITIONS`\n"
            f"WHERE table_name = @table_name AND REGEXP_CONTAINS(partition_id, r'^{PARTITION_PATTERN}$')",
            (Parameter("table_name", "STRING", self.tables[table]),),
            "the days the table holds",
        )
        self.metadata_queries += 1
        _, rows = self._rows(query.text, self._config(query, dry_run=False))
        first, last = next(iter(rows), (None, None))
        if first is None or last is None:
            return None
        first_day, last_day = Partition(first).day, Partition(last).day
        start = datetime.combine(first_day, time(), UTC)
        end = min(datetime.combine(last_day + timedelta(days=1), time(), UTC), datetime.now(UTC))
        return DataSpan(first_day, last_day, start, end)

    def query(self, sql: str) -> QueryOutcome:
        """Run SQL typed by a person (unqualified table names are the dataset's), with the same bytes
        limit; with ``dry_run``, nothing is run: the outcome has no rows, only the bytes it would process."""
        config = self._config(SqlQuery(sql), dry_run=self.dry_run, typed=True)
        if self.dry_run:
            job = self._job(sql, config)
            self.dry_runs.append(DryRun(SqlQuery(sql), int(job.total_bytes_processed or 0)))
            return QueryOutcome((), (), int(job.total_bytes_processed or 0))
        job, rows = self._rows(sql, config)
        columns = tuple(field.name for field in rows.schema)
        values = tuple(tuple(_plain(value) for value in row.values()) for row in rows)
        return QueryOutcome(columns, values, job.total_bytes_processed)
