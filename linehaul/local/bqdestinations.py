"""Query jobs that write their rows into a table's partition, and per-partition write times, in the BigQuery
emulator as in BigQuery (part of :mod:`linehaul.local.bqcompat`, which applies it).

The publisher keeps the daily tables with query jobs whose destination is one day's partition
(``downloads_daily$20261101``, ``WRITE_TRUNCATE``), and tells the days in step by each partition's
``last_modified_time`` in ``INFORMATION_SCHEMA.PARTITIONS`` (:mod:`linehaul.daily.freshness`).
bqemulator 1.4.0 does neither:

===================================  ===================================  ================================
What                                 BigQuery                             bqemulator 1.4.0 upstream
===================================  ===================================  ================================
a query job with a                   writes its rows there (WRITE_        writes nothing: the rows are
  ``destinationTable``                 TRUNCATE: replaces them), creating   only the job's result
                                       a missing table (CREATE_IF_NEEDED)
                                       with the job's partitioning and
                                       clustering
a destination ``table$YYYYMMDD``     replaces that partition alone;       (nothing written)
  (a partition decorator)              a row of another day fails the
                                       job (``invalid``)
``last_modified_time`` of a          when data was last written to        the table's, for every partition
  partition                            that partition
===================================  ===================================  ================================

How: :func:`writing_query_destinations` wraps ``api.routes.jobs._handle_query_job``: after the query ran
(its rows are the job's result), they are written into the destination in one DuckDB transaction
(created if needed, as a load creates its table; the partition's old rows deleted for ``WRITE_TRUNCATE``),
or the job fails as BigQuery fails it. Every write a job makes (these, and the loads of
:mod:`linehaul.local.bqcompat`, :func:`note_written_partitions`) records, in the same transaction, when
each partition it changed was written, in the table ``_linehaul_compat.partition_writes`` of the
emulator's own database (so a persistent emulator keeps them); :func:`listing_partition_writes` wraps
``storage.partition_state.list_partitions_for_table`` to report them. A partition no job recorded keeps
the table's time, as upstream (written by SQL DML, say). ``tests/local/test_bqdestinations.py`` proves it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bqemulator.api.dependencies import AppContext
from bqemulator.catalog.models import PartitionMeta, TableMeta

from linehaul.pipeline.naming import PARTITION_FORMAT

__all__ = [
    "last_written",
    "listing_partition_writes",
    "note_written_partitions",
    "partition_rows",
    "writing_query_destinations",
]

_WRITES = '"_linehaul_compat"."partition_writes"'
_Handler = Callable[..., Awaitable[Any]]


class _RefusedError(Exception):
    """The write a job asked for, refused as BigQuery refuses it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True, slots=True)
class _Destination:
    project: str
    dataset: str
    table: str
    partition: str | None  # the decorator's YYYYMMDD, if any

    @classmethod
    def of(cls, reference: Mapping[str, str], project: str) -> _Destination:
        table, _, partition = reference.get("tableId", "").partition("$")
        owner, dataset = reference.get("projectId") or project, reference.get("datasetId", "")
        return cls(owner, dataset, table, partition or None)

    @property
    def name(self) -> str:
        return f"{self.project}:{self.dataset}.{self.table}"


# -- partitions written ----------------------------------------------------------------------------------


def _ensure_writes(ctx: AppContext) -> None:
    ctx.engine.execute('CREATE SCHEMA IF NOT EXISTS "_linehaul_compat"')
    ctx.engine.execute(
        f"CREATE TABLE IF NOT EXISTS {_WRITES} (project VARCHAR, dataset VARCHAR, table_name VARCHAR, "
        "partition_id VARCHAR, modified TIMESTAMPTZ, "
        "PRIMARY KEY (project, dataset, table_name, partition_id))"
    )


def _has_writes(engine: Any) -> bool:
    found = engine.execute(
        "SELECT COUNT(*) FROM duckdb_tables() WHERE schema_name = '_linehaul_compat' "
        "AND table_name = 'partition_writes'"
    ).fetchall()
    return bool(found and found[0][0])


def last_written(ctx: AppContext, project: str, dataset: str, table: str) -> datetime | None:
    """When a job last wrote the table (any partition), None if none did (or none is recorded)."""
    if not _has_writes(ctx.engine):
        return None
    found = ctx.engine.execute(
        f"SELECT MAX(modified) FROM {_WRITES} WHERE project = ? AND dataset = ? AND table_name = ?",
        [project, dataset, table],
    ).fetchall()
    return found[0][0] if found else None


def partition_rows(ctx: AppContext, project: str, dataset: str, table: str) -> dict[str, int]:
    """The rows of each partition of the table as it is now (none: not partitioned, or missing)."""
    from bqemulator.storage.partition_state import list_partitions_for_table

    meta = ctx.catalog.get_table(project, dataset, table)
    if meta is None or meta.time_partitioning is None:
        return {}
    return {found.partition_id: found.total_rows for found in list_partitions_for_table(ctx.engine, meta)}


def note_written_partitions(
    ctx: AppContext,
    project: str,
    dataset: str,
    table: str,
    before: Mapping[str, int],
    at: datetime,
    written: Iterable[str] = (),
) -> None:
    """Record ``at`` as the write time of each partition whose rows differ from ``before``
    (:func:`partition_rows` before the write), and of the partitions ``written`` (replaced, perhaps by as
    many rows). Call it inside the write's transaction."""
    after = partition_rows(ctx, project, dataset, table)
    changed = {day for day in set(before) | set(after) if before.get(day) != after.get(day)}
    changed |= set(written)
    if not changed:
        return
    _ensure_writes(ctx)
    for partition in changed:
        values = [project, dataset, table, partition, at]
        ctx.engine.execute(f"INSERT OR REPLACE INTO {_WRITES} VALUES (?, ?, ?, ?, ?)", values)


def listing_partition_writes(
    original: Callable[[Any, TableMeta], tuple[PartitionMeta, ...]],
) -> Callable[[Any, TableMeta], tuple[PartitionMeta, ...]]:
    """``list_partitions_for_table`` giving each partition the time a job last wrote it (see the module)."""

    @functools.wraps(original)
    def listing(engine: Any, table: TableMeta) -> tuple[PartitionMeta, ...]:
        found = original(engine, table)
        if not _has_writes(engine):  # no job recorded a write yet (a failed query would abort a transaction)
            return found
        rows = engine.execute(
            f"SELECT partition_id, modified FROM {_WRITES} "
            "WHERE project = ? AND dataset = ? AND table_name = ?",
            [table.project_id, table.dataset_id, table.table_id],
        ).fetchall()
        written = {str(partition): modified for partition, modified in rows}
        return tuple(
            item.model_copy(update={"last_modified_time": written[item.partition_id]})
            if item.partition_id in written
            else item
            for item in found
        )

    return listing


# -- query jobs with a destination -----------------------------------------------------------------------


def writing_query_destinations(handler: _Handler) -> _Handler:
    """Wrap ``api.routes.jobs._handle_query_job`` (see the module doc)."""

    @functools.wraps(handler)
    async def handle(project_id: str, job_id: str, config: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        from bqemulator.api.routes import jobs as job_routes

        query = config.get("query") or {}
        reference = query.get("destinationTable")
        if kwargs.get("dry_run") or not isinstance(reference, dict):
            return await handler(project_id, job_id, config, *args, **kwargs)
        ctx: AppContext = kwargs["ctx"]
        destination = _Destination.of(reference, project_id)

        def failed(reason: str, message: str) -> Any:
            error = {"reason": reason, "message": message}
            return job_routes._failed_job_meta(
                project_id=project_id, job_id=job_id, job_type="QUERY", config=config, error_result=error,
                now=ctx.clock.now(),
            )  # fmt: skip

        try:
            _check(destination, query, ctx)
        except _RefusedError as refused:
            return failed(refused.reason, refused.message)
        asked = {**config, "query": {**query, "createDisposition": "CREATE_IF_NEEDED"}}  # checked above
        result = await handler(project_id, job_id, asked, *args, **kwargs)
        if getattr(result, "error_result", None) is not None:
            return result.model_copy(update={"configuration": config})
        try:
            async with ctx.engine.write_lock():
                _write(destination, query, job_id, ctx)
        except _RefusedError as refused:
            return failed(refused.reason, refused.message)
        return result.model_copy(update={"configuration": config})

    return handle


def _check(destination: _Destination, query: Mapping[str, Any], ctx: AppContext) -> None:
    """What BigQuery refuses before it runs the query: a missing dataset, a missing table it may not
    create, a partition decorator on a table that is not partitioned by day."""
    if ctx.catalog.get_dataset(destination.project, destination.dataset) is None:
        raise _RefusedError("notFound", f"Not found: Dataset {destination.project}:{destination.dataset}")
    table = ctx.catalog.get_table(destination.project, destination.dataset, destination.table)
    if table is None and query.get("createDisposition") == "CREATE_NEVER":
        raise _RefusedError("notFound", f"Not found: Table {destination.name}")
    partitioning = table.time_partitioning if table is not None else None
    if table is None and isinstance(query.get("timePartitioning"), dict):
        partitioning_type = query["timePartitioning"].get("type", "DAY")
    else:
        partitioning_type = None if partitioning is None else partitioning.type
    if destination.partition is not None and partitioning_type != "DAY":
        raise _RefusedError(
            "invalid", f"Cannot write to partition {destination.partition} of {destination.name}: it is not "
            "partitioned by day"
        )  # fmt: skip


def _write(destination: _Destination, query: Mapping[str, Any], job_id: str, ctx: AppContext) -> None:
    """Write the job's rows into its destination, in one transaction (see the module doc)."""
    from bqemulator.jobs import executor as ex
    from bqemulator.storage.sql_identifiers import quoted_table_ref

    from linehaul.local.bqloads import lay_out_created_table

    rows, fields = ex.JOB_RESULTS[job_id], ex.JOB_SCHEMAS.get(job_id, [])
    project, dataset, name = destination.project, destination.dataset, destination.table
    created = ctx.catalog.get_table(project, dataset, name) is None
    if created:
        layout = {key: query[key] for key in ("timePartitioning", "clustering") if key in query}
        config = {"schema": {"fields": fields}, **layout}
        ex._maybe_create_load_destination(
            dest_project=project, dest_dataset=dataset, dest_table_id=name, load_config=config,
            now=ctx.clock.now(), ctx=ctx,
        )  # fmt: skip
        lay_out_created_table(_LaidOut(project, dataset, name, config), ctx)
    table = ctx.catalog.get_table(project, dataset, name)
    assert table is not None
    ref = quoted_table_ref(project, dataset, name)
    try:
        _fits(destination, table, rows, ctx)
        before = partition_rows(ctx, project, dataset, name)
        ctx.engine.execute("BEGIN TRANSACTION")
        try:
            _replace(destination, table, query.get("writeDisposition") or "WRITE_EMPTY", ref, ctx)
            columns = ", ".join('"' + column.replace('"', '""') + '"' for column in rows.schema.names)
            ctx.engine.connection.register("_linehaul_query_rows", rows)
            try:
                ctx.engine.execute(
                    f"INSERT INTO {ref} ({columns}) SELECT {columns} FROM _linehaul_query_rows"
                )
            finally:
                ctx.engine.connection.unregister("_linehaul_query_rows")
            replaced = (
                [destination.partition]
                if destination.partition
                else partition_rows(ctx, project, dataset, name)
            )
            note_written_partitions(ctx, project, dataset, name, before, ctx.clock.now(), replaced)
        except BaseException:
            ctx.engine.execute("ROLLBACK")
            raise
        ctx.engine.execute("COMMIT")
    except BaseException:
        if created:  # BigQuery does not create the destination of a failed job
            ctx.engine.execute(f"DROP TABLE IF EXISTS {ref}")
            ctx.catalog.delete_table(project, dataset, name)
        raise
    count = ctx.engine.execute(f"SELECT COUNT(*) FROM {ref}").fetchall()
    now = ctx.clock.now()
    updated = {"num_rows": count[0][0] if count else 0, "last_modified_time": now}
    ctx.catalog.update_table(table.model_copy(update=updated))
    ctx.snapshots.record_change(project, dataset, name)


@dataclass(frozen=True, slots=True)
class _LaidOut:
    """What :func:`linehaul.local.bqloads.lay_out_created_table` reads of a job."""

    project_id: str
    dataset_id: str
    table_id: str
    raw_config: dict[str, Any]


def _fits(destination: _Destination, table: TableMeta, rows: Any, ctx: AppContext) -> None:
    """The rows' columns are the table's, and with a partition decorator, every row is of that partition."""
    have = {field.name.lower() for field in table.schema_.fields}
    given = {name.lower() for name in rows.schema.names}
    if have != given:
        missing, extra = sorted(have - given), sorted(given - have)
        problem = f"Field {missing[0]} is missing in new schema" if missing else ""
        if extra:
            problem = f"Cannot add fields (field: {extra[0]})"
        raise _RefusedError("invalid", f"Provided Schema does not match Table {destination.name}. {problem}")
    partitioning = table.time_partitioning
    if destination.partition is None or partitioning is None or partitioning.field is None:
        return
    if not rows.num_rows:
        return
    column = '"' + partitioning.field.replace('"', '""') + '"'
    ctx.engine.connection.register("_linehaul_query_rows", rows)
    try:
        other = ctx.engine.execute(
            "SELECT COUNT(*) FROM _linehaul_query_rows "
            f"WHERE {column} IS NULL OR strftime({column}, '{PARTITION_FORMAT}') <> ?",
            [destination.partition],
        ).fetchall()
    finally:
        ctx.engine.connection.unregister("_linehaul_query_rows")
    if other and other[0][0]:
        raise _RefusedError(
            "invalid",
            "Some rows belong to different partitions rather than destination partition "
            f"{destination.partition}",
        )


def _replace(
    destination: _Destination, table: TableMeta, disposition: str, ref: str, ctx: AppContext
) -> None:
    """Empty what ``WRITE_TRUNCATE`` replaces (the partition, or the table); refuse ``WRITE_EMPTY`` into
    rows."""
    where = ""
    partitioning = table.time_partitioning
    if destination.partition is not None and partitioning is not None and partitioning.field is not None:
        column = '"' + partitioning.field.replace('"', '""') + '"'
        where = f" WHERE strftime({column}, '{PARTITION_FORMAT}') = '{int(destination.partition):08d}'"
    if disposition == "WRITE_TRUNCATE":
        ctx.engine.execute(f"DELETE FROM {ref}{where}")
    elif disposition == "WRITE_EMPTY":
        found = ctx.engine.execute(f"SELECT COUNT(*) FROM {ref}{where}").fetchall()
        if found and found[0][0]:
            raise _RefusedError("duplicate", f"Already Exists: Table {destination.name}")
