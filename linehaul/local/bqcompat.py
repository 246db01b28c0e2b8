"""Make the BigQuery emulator (bqemulator 1.4.0, pinned) behave like BigQuery where linehaul relies on it.

linehaul loads each staged file exactly once by giving every load job a deterministic id, and evolves its
tables by adding NULLABLE columns. bqemulator 1.4.0 differs from BigQuery on exactly those points:

================================  ===================================  ===================================
What                              BigQuery                             bqemulator 1.4.0 upstream
================================  ===================================  ===================================
jobs.insert with a known job id   409 Conflict, reason ``duplicate``   runs the job again (rows twice)
a load job failing on one file    no row loaded, table unchanged       rows of earlier files stay; a
                                                                       WRITE_TRUNCATE empties the table
a failed load that would create   no table                             leaves the new, empty table
  its destination
``statistics.load.outputRows``    rows loaded by this job              rows in the whole table
tables.patch adding a column      the column exists, can be queried    only the catalog changes: queries
                                  and loaded                           and loads fail (Binder Error)
tables.patch dropping or          400 "Provided Schema does not        accepted
  retyping a column,              match Table"
  NULLABLE→REQUIRED, or adding
  a REQUIRED column
a dry run's bytes processed       its estimate                         0
a query job over its              fails: bytesBilledLimitExceeded,     runs
  ``maximumBytesBilled``          "… NEEDED or higher required."
``TIMESTAMP_TRUNC``,              the week's first day: Sunday for     WEEK on a timestamp: Monday;
  ``DATE_TRUNC``,                   WEEK, Monday for ISOWEEK, the      ISOWEEK: an error; WEEK(MONDAY):
  ``DATETIME_TRUNC`` to a week      day named for WEEK(<day>)          Sunday on a date, an error else
a load job that fails            its errors' reasons, and the         ``invalid`` at the first file's
                                  location of the file at fault only   URI, whatever the cause; loads
                                  (:mod:`linehaul.local.bqloads`)      into a table of another schema
a TIMESTAMP in NDJSON written     the instant, as for ``…+00:00``      the load fails: "Unknown
  ``2026-12-05 00:00:00 +00:00``                                       TimeZone '+00:00'", or "invalid
  (production linehaul's form),   (:mod:`linehaul.local.bqtimestamps`) timestamp field format"
  or ``… -5:00``
================================  ===================================  ===================================

How: :func:`apply` replaces a few private functions of bqemulator, in the process that runs the
emulator, before it serves requests (:mod:`linehaul.local.servers` does that in both of its modes). A
proxy in front of the emulator could answer the 409, but not make a load atomic or alter DuckDB tables.

- duplicate ids: the four job handlers that ``api.routes.jobs.insert_job`` looks up as module globals
  at call time are wrapped; a known id (in the catalog, or running right now) raises AlreadyExistsError
  (HTTP 409). Dry runs create no job and are left alone.
- atomic loads and per-job counts: ``execute_load_job`` (in ``jobs.executor``, and in the two route
  modules that imported it by name) is replaced by a copy of the 1.4.0 function that runs the
  write-disposition step and every file in one DuckDB transaction, drops a destination it created when
  the job fails, and reports the rows this job added.
- bytes processed and billed: ``api.routes.jobs._handle_query_job`` is wrapped by
  :func:`linehaul.local.bqbilling.pricing_query_jobs` (an estimate: see that module), inside the refusal
  of known job ids, as BigQuery looks at the id first.
- timestamps: ``jobs.executor._load_path_into_target`` (which every load calls, for each file) is wrapped
  by :func:`linehaul.local.bqtimestamps.reading_bigquery_timestamps`: a JSON file whose TIMESTAMP fields
  hold text that BigQuery reads but DuckDB does not is loaded from a copy with that text rewritten (the
  same instant); other files (the ingestor's own), and other formats, are loaded as they are.
- schema evolution: ``api.routes.tables._rest_to_table_meta`` (used by tables.patch/update) rejects what
  BigQuery rejects, and the catalogs' ``update_table`` adds new fields to the DuckDB table with
  ``ALTER TABLE ... ADD COLUMN`` (nested fields too, but not inside REPEATED RECORDs).
- weeks: ``sql.translator.SQLTranslator.translate`` is wrapped by
  :func:`linehaul.local.bqweeks.truncating_weeks_as_bigquery`, which rewrites, in the GoogleSQL it is
  given, each truncation to a week into a truncation to the day less the days since the week's first day
  (``DAYOFWEEK``, which the emulator gets right).
- load errors: :mod:`linehaul.local.bqloads` replaces ``_handle_load_job_with_async_envelope`` and is
  called by the atomic load (its table has each case).
- speed, not behaviour: sqlglot's ``Dialect.parse`` is wrapped by
  :func:`linehaul.local.bqparse.remembering_parses` (the emulator parses a job's SQL about twenty times;
  later parses of a text are copies of the first).
- query jobs writing a table's partition, and when each partition was written:
  :mod:`linehaul.local.bqdestinations` (its table has each case); the atomic load records the partitions
  it wrote there.

Still different from BigQuery with the patches: ``load_table_from_file`` ignores the job id; REQUIRED is not
enforced and unknown keys are dropped on load; a TIMESTAMP written as a date alone is accepted.

Every patched function must be re-read before the pin moves: :func:`apply` refuses other versions.
``tests/integration/test_bqcompat.py`` proves each row of the table; with ``LINEHAUL_BQ_COMPAT=0`` the same
tests run against the unpatched emulator, and fail.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import bqemulator
from bqemulator.api.dependencies import AppContext
from bqemulator.catalog.models import JobMeta, TableFieldSchema, TableMeta
from bqemulator.domain.errors import AlreadyExistsError, ErrorDetail, UnsupportedFeatureError, ValidationError

from linehaul.local._processes import LocalStackError
from linehaul.schema import type_name

__all__ = ["PINNED_VERSION", "apply", "is_applied", "require_pinned_version"]

PINNED_VERSION = "1.4.0"
"""The only bqemulator version these patches (and the offline start patch) are written for."""

_lock = threading.Lock()
_applied = False
_running: set[tuple[int, str, str]] = set()  # (id of the server's catalog, project, job id) being run

_Handler = Callable[..., Awaitable[Any]]


def require_pinned_version() -> None:
    """LocalStackError unless the installed bqemulator is :data:`PINNED_VERSION`."""
    if bqemulator.__version__ != PINNED_VERSION:
        raise LocalStackError(
            f"linehaul.local patches bqemulator {PINNED_VERSION}, but {bqemulator.__version__} is installed: "
            f"install the `local` extra (bqemulator=={PINNED_VERSION}), or re-check every patched "
            "function in linehaul/local/bqcompat.py and linehaul/local/bqoffline.py before moving the pin"
        )


def is_applied() -> bool:
    """Whether this process's bqemulator is patched (patches cannot be taken back)."""
    return _applied


def apply() -> None:
    """Patch bqemulator in this process to behave like BigQuery (idempotent). Call before it serves."""
    global _applied
    require_pinned_version()
    with _lock:
        if _applied:
            return
        from bqemulator.api.routes import jobs as job_routes
        from bqemulator.api.routes import tables as table_routes
        from bqemulator.api.routes import upload as upload_routes
        from bqemulator.catalog.duckdb_repository import DuckDBCatalogRepository
        from bqemulator.catalog.memory_repository import MemoryCatalogRepository
        from bqemulator.jobs import executor
        from bqemulator.sql.translator import SQLTranslator
        from bqemulator.storage import partition_state

        from linehaul.local.bqbilling import pricing_query_jobs
        from linehaul.local.bqdestinations import listing_partition_writes, writing_query_destinations
        from linehaul.local.bqloads import reporting_load_errors

        _replace_attribute(job_routes, "_handle_query_job", writing_query_destinations)
        _replace_attribute(job_routes, "_handle_query_job", pricing_query_jobs)
        _replace_attribute(job_routes, "_handle_load_job_with_async_envelope", reporting_load_errors)
        for name in (
            "_handle_query_job",
            "_handle_load_job_with_async_envelope",
            "execute_extract_job",
            "execute_copy_job",
        ):
            _replace_attribute(job_routes, name, _refusing_known_job_ids)
        for module in (executor, job_routes, upload_routes):
            _replace_attribute(module, "execute_load_job", lambda _: _execute_load_job_atomically)
        _replace_attribute(table_routes, "_rest_to_table_meta", _refusing_incompatible_schemas)
        for repository in (MemoryCatalogRepository, DuckDBCatalogRepository):
            _replace_attribute(repository, "update_table", _altering_tables)
        from linehaul.local.bqweeks import truncating_weeks_as_bigquery

        _replace_attribute(SQLTranslator, "translate", truncating_weeks_as_bigquery)
        _replace_attribute(partition_state, "list_partitions_for_table", listing_partition_writes)

        from linehaul.local.bqtimestamps import reading_bigquery_timestamps

        _replace_attribute(executor, "_load_path_into_target", reading_bigquery_timestamps)
        from sqlglot.dialects.dialect import Dialect

        from linehaul.local.bqparse import remembering_parses

        _replace_attribute(Dialect, "parse", remembering_parses)
        _applied = True


def _replace_attribute(owner: object, name: str, replace: Callable[[Any], Any]) -> None:
    """Set ``owner.name`` to ``replace(owner.name)``: how every patch of this package is installed."""
    setattr(owner, name, replace(getattr(owner, name)))


# -- Duplicate job ids -------------------------------------------------------------------------------------


def _refusing_known_job_ids(handler: _Handler) -> _Handler:
    @functools.wraps(handler)
    async def refusing(
        project_id: str, job_id: str, config: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        if kwargs.get("dry_run"):  # a dry run creates no job
            return await handler(project_id, job_id, config, *args, **kwargs)
        ctx: AppContext = kwargs["ctx"] if "ctx" in kwargs else args[-1]
        key = (id(ctx.catalog), project_id, job_id)
        if key in _running or ctx.catalog.get_job(project_id, job_id) is not None:
            message = f"Already Exists: Job {project_id}:{job_id}"
            raise AlreadyExistsError(message, details=[ErrorDetail(reason="duplicate", message=message)])
        _running.add(key)
        try:
            # insert_job records the job right after this returns, with no await in between: a second
            # request for the id cannot slip through between the end of the run and the record.
            return await handler(project_id, job_id, config, *args, **kwargs)
        finally:
            _running.discard(key)

    return refusing


# -- Atomic load jobs ----------------------------------------------------------------------------------------


async def _execute_load_job_atomically(
    project_id: str, job_id: str, config: dict[str, Any], ctx: AppContext
) -> JobMeta:
    """bqemulator 1.4.0's ``jobs.executor.execute_load_job``, all-or-nothing, counting this job's rows."""
    from bqemulator.catalog.etag import generate_etag
    from bqemulator.jobs import executor as ex

    from linehaul.local.bqdestinations import note_written_partitions, partition_rows
    from linehaul.local.bqloads import lay_out_created_table, load_sources, refuse_incompatible_load

    now = ctx.clock.now()
    job = ex._parse_load_job_config(project_id, config)
    refuse_incompatible_load(job, ctx)
    created_here = False
    if (
        job.create_disposition == "CREATE_IF_NEEDED"
        and ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id) is None
    ):
        ex._maybe_create_load_destination(
            dest_project=job.project_id,
            dest_dataset=job.dataset_id,
            dest_table_id=job.table_id,
            load_config=job.raw_config,
            now=now,
            ctx=ctx,
        )
        created_here = ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id) is not None
        lay_out_created_table(job, ctx)
    try:
        paths = [ex._resolve_uri(uri, ctx) for uri in job.source_uris]
        for path in paths:
            ex._validate_local_path(path)
        async with ctx.engine.write_lock():
            # No await between BEGIN and COMMIT/ROLLBACK: no other coroutine of the server's event loop
            # can put a statement into this transaction on the shared connection.
            before = 0 if job.write_disposition == "WRITE_TRUNCATE" else ex._refresh_load_row_count(job, ctx)
            partitions = partition_rows(ctx, job.project_id, job.dataset_id, job.table_id)
            ctx.engine.execute("BEGIN TRANSACTION")
            try:
                ex._apply_load_write_disposition(job, ctx)
                load_sources(job, paths, ctx)
                note_written_partitions(ctx, job.project_id, job.dataset_id, job.table_id, partitions, now)
            except BaseException:
                ctx.engine.execute("ROLLBACK")
                raise
            ctx.engine.execute("COMMIT")
    except BaseException:
        if created_here:  # BigQuery does not create the destination of a failed load
            async with ctx.engine.write_lock():
                ctx.engine.execute(f"DROP TABLE IF EXISTS {job.target_ref}")
                ctx.catalog.delete_table(job.project_id, job.dataset_id, job.table_id)
        raise

    after = ex._refresh_load_row_count(job, ctx)
    table = ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id)
    if table is not None:
        ctx.catalog.update_table(table.model_copy(update={"num_rows": after}))
        async with ctx.engine.write_lock():
            ctx.snapshots.record_change(job.project_id, job.dataset_id, job.table_id)
    return JobMeta(
        project_id=project_id,
        job_id=job_id,
        job_type="LOAD",
        state="DONE",
        configuration=config,
        statistics={"load": {"outputRows": str(after - before), "inputFiles": str(len(paths))}},
        creation_time=now,
        start_time=now,
        end_time=ctx.clock.now(),
        etag=generate_etag(project_id, job_id, str(now)),
    )


# -- Schema evolution ----------------------------------------------------------------------------------------


def _type(field: TableFieldSchema) -> str:
    return type_name(field.type)


def _check_schema_change(
    old: Sequence[TableFieldSchema], new: Sequence[TableFieldSchema], table: str, path: str = ""
) -> None:
    """ValidationError (HTTP 400) for a change BigQuery refuses; a REQUIRED field may become NULLABLE."""
    refused = f"Provided Schema does not match Table {table}."
    by_name = {field.name.lower(): field for field in new}
    for before in old:
        name = path + before.name
        after = by_name.get(before.name.lower())
        if after is None:
            raise ValidationError(f"{refused} Field {name} is missing in new schema")
        if _type(before) != _type(after):
            raise ValidationError(
                f"{refused} Field {name} has changed type from {before.type} to {after.type}"
            )
        if before.mode != after.mode and (before.mode, after.mode) != ("REQUIRED", "NULLABLE"):
            raise ValidationError(
                f"{refused} Field {name} has changed mode from {before.mode} to {after.mode}"
            )
        _check_schema_change(before.fields, after.fields, table, f"{name}.")
    known = {field.name.lower() for field in old}
    for added in new:
        if added.name.lower() not in known and added.mode == "REQUIRED":
            raise ValidationError(
                f"{refused} Cannot add required fields to an existing schema. ({path}{added.name})"
            )


def _added_fields(
    old: Sequence[TableFieldSchema], new: Sequence[TableFieldSchema], path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], TableFieldSchema]]:
    """The fields of ``new`` that ``old`` lacks, with their paths, nested ones included."""
    by_name = {field.name.lower(): field for field in old}
    added: list[tuple[tuple[str, ...], TableFieldSchema]] = []
    for field in new:
        before = by_name.get(field.name.lower())
        if before is None:
            added.append(((*path, field.name), field))
        elif field.fields and _type(field) == _type(before) == "RECORD":
            inner = _added_fields(before.fields, field.fields, (*path, field.name))
            if inner and field.mode == "REPEATED":
                raise UnsupportedFeatureError(f"bqcompat cannot add fields inside the REPEATED {field.name}")
            added += inner
    return added


def _refusing_incompatible_schemas(original: Callable[..., TableMeta]) -> Callable[..., TableMeta]:
    @functools.wraps(original)
    def refusing(
        project_id: str, dataset_id: str, body: dict[str, Any], clock: Any, existing: TableMeta | None = None
    ) -> TableMeta:
        updated = original(project_id, dataset_id, body, clock, existing)
        if existing is not None and existing.table_type == "TABLE" and body.get("schema", {}).get("fields"):
            table = f"{project_id}:{dataset_id}.{updated.table_id}"
            _check_schema_change(existing.schema_.fields, updated.schema_.fields, table)
        return updated

    return refusing


def _altering_tables(
    original: Callable[[Any, TableMeta], TableMeta],
) -> Callable[[Any, TableMeta], TableMeta]:
    @functools.wraps(original)
    def altering(repository: Any, table: TableMeta) -> TableMeta:
        engine = getattr(repository, "_engine", None)  # None for the cache inside the DuckDB catalog
        old = repository.get_table(table.project_id, table.dataset_id, table.table_id)
        if engine is not None and old is not None and table.table_type == "TABLE":
            from bqemulator.api.routes.tables import _field_to_rest
            from bqemulator.storage.sql_identifiers import quoted_table_ref
            from bqemulator.storage.type_map import bq_schema_to_duckdb_columns

            ref = quoted_table_ref(table.project_id, table.dataset_id, table.table_id)
            for path, field in _added_fields(old.schema_.fields, table.schema_.fields):
                ((_, duckdb_type),) = bq_schema_to_duckdb_columns([_field_to_rest(field)])
                column = ".".join('"' + part.replace('"', '""') + '"' for part in path)
                try:  # synchronous, on the server's event loop: nothing interleaves
                    engine.execute(f"ALTER TABLE {ref} ADD COLUMN {column} {duckdb_type}")
                except Exception as error:  # an SQL "ALTER TABLE" job added it already, then updates us
                    if "already exists" not in str(error):
                        raise
        return original(repository, table)

    return altering
