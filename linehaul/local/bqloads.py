"""How a failed load job reports its errors in the BigQuery emulator, as BigQuery reports them (part of
:mod:`linehaul.local.bqcompat`, which applies it).

The publisher blames a staged file only when BigQuery does: an ``invalid`` error whose ``location`` is the
file's URI. Anything else (a missing dataset, a table whose schema or layout does not match, access, quota)
stops publishing instead (docs/pipeline.md, "Systemic failures"). bqemulator 1.4.0 answers every failed load
with ``invalid`` at the *first* file's URI, whatever the cause, and loads into a table of another schema:

===================================  ===================================  ================================
A load job                           BigQuery                             bqemulator 1.4.0 upstream
===================================  ===================================  ================================
into a missing dataset               ``notFound``, no location            ``invalid`` at the first file
into a missing table, CREATE_NEVER   ``notFound``, no location            ``invalid`` at the first file
of a missing file                    ``notFound``, no location            ``invalid`` at the first file
whose schema differs from the        ``invalid`` "Provided Schema does    loads (columns matched by name)
  table's (no schemaUpdateOptions)     not match Table ...", no location
whose partitioning or clustering     ``invalid`` "Incompatible table      loads
  differs from the table's             partitioning specification ..."
with a bad row in its third file     ``invalid`` at the third file        ``invalid`` at the first file
creating its table                   the table has the load's             no partitioning, no clustering
                                       partitioning and clustering
===================================  ===================================  ================================

How: :func:`reporting_load_errors` replaces ``api.routes.jobs._handle_load_job_with_async_envelope``
(which turned every engine error into ``invalid`` at the first URI); the atomic load of
:mod:`linehaul.local.bqcompat` calls :func:`refuse_incompatible_load` before it touches the table,
:func:`lay_out_created_table` after creating one, and loads through :func:`load_sources`, which names the
file that failed. ``tests/local/test_bqcompat.py`` proves each row.
"""

from __future__ import annotations

import glob
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bqemulator.api.dependencies import AppContext
from bqemulator.catalog.models import JobMeta, TableFieldSchema, TableMeta
from bqemulator.domain.errors import (
    DomainError,
    InvalidQueryError,
    UnsupportedFeatureError,
    ValidationError,
)

from linehaul.schema import type_name

__all__ = ["lay_out_created_table", "load_sources", "refuse_incompatible_load", "reporting_load_errors"]

_Handler = Callable[..., Awaitable[Any]]
_ADDITION, _RELAXATION = "ALLOW_FIELD_ADDITION", "ALLOW_FIELD_RELAXATION"


class _LoadFailedError(Exception):
    """A load job's failure as BigQuery reports it: its reason, message and location (a file, or none)."""

    def __init__(self, reason: str, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.location = reason, message, location

    def error_result(self) -> dict[str, Any]:
        result = {"reason": self.reason, "message": self.message}
        return result if self.location is None else {**result, "location": self.location}


def reporting_load_errors(_: _Handler) -> _Handler:
    """The handler of load jobs, reporting a failure with BigQuery's reason and location (see the module)."""

    async def handle(project_id: str, job_id: str, config: dict[str, Any], ctx: AppContext) -> JobMeta:
        from bqemulator.api.routes import jobs as job_routes

        try:  # looked up at call time, as upstream: bqcompat replaces it with its atomic load
            execute_load_job = job_routes.execute_load_job  # type: ignore[attr-defined]
            result: JobMeta = await execute_load_job(project_id, job_id, config, ctx)
            return result
        except _LoadFailedError as failure:
            error_result = failure.error_result()
        except (UnsupportedFeatureError, InvalidQueryError, ValidationError):
            raise  # a request BigQuery refuses outright (HTTP 400), as upstream
        except DomainError as error:  # a missing dataset (notFound), access denied, ...: no file's fault
            error_result = {"reason": error.bq_reason, "message": error.message}
        except Exception as error:  # an engine error that no file was found to cause
            message = f"Error while reading data, error message: {error}"
            error_result = {"reason": "invalid", "message": message}
        return job_routes._failed_job_meta(
            project_id=project_id,
            job_id=job_id,
            job_type="LOAD",
            config=config,
            error_result=error_result,
            now=ctx.clock.now(),
        )

    return handle


def load_sources(job: Any, paths: Sequence[str], ctx: AppContext) -> None:
    """Load each file of ``job`` (its local ``paths``); a failure names the file (``invalid`` at its URI),
    a missing file is ``notFound``."""
    from bqemulator.jobs import executor

    for uri, path in zip(job.source_uris, paths, strict=True):
        if not glob.glob(path):
            raise _LoadFailedError("notFound", f"Not found: URI {uri}")
        try:
            executor._load_path_into_target(path, job, ctx)
        except Exception as error:
            message = f"Error while reading data, error message: {error} File: {uri}"
            raise _LoadFailedError("invalid", message, uri) from error


def refuse_incompatible_load(job: Any, ctx: AppContext) -> None:
    """Fail ``job`` as BigQuery does when its destination is missing (CREATE_NEVER) or does not take it:
    a schema other than the table's (beyond what its ``schemaUpdateOptions`` allow), or another
    partitioning or clustering."""
    table = ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id)
    name = f"{job.project_id}:{job.dataset_id}.{job.table_id}"
    if table is None:
        if ctx.catalog.get_dataset(job.project_id, job.dataset_id) is None:
            raise _LoadFailedError("notFound", f"Not found: Dataset {job.project_id}:{job.dataset_id}")
        if job.create_disposition == "CREATE_NEVER":
            raise _LoadFailedError("notFound", f"Not found: Table {name}")
        return
    config = job.raw_config
    fields = (config.get("schema") or {}).get("fields")
    if fields:
        from bqemulator.api.routes.tables import _parse_schema_fields

        options = set(config.get("schemaUpdateOptions") or ())
        problem = _schema_problem(table.schema_.fields, _parse_schema_fields(fields), options)
        if problem is not None:
            raise _LoadFailedError("invalid", f"Provided Schema does not match Table {name}. {problem}")
    expected, given = _layout(table), _layout_of_config(config, table)
    if expected != given:
        raise _LoadFailedError(
            "invalid",
            f"Incompatible table partitioning specification. Expects partitioning specification {expected}, "
            f"but input partitioning specification is {given}",
        )


def lay_out_created_table(job: Any, ctx: AppContext) -> None:
    """Give a table that a load job just created the job's ``timePartitioning`` and ``clustering``."""
    from bqemulator.api.routes.tables import _rest_to_clustering, _rest_to_time_partitioning

    table = ctx.catalog.get_table(job.project_id, job.dataset_id, job.table_id)
    if table is None:
        return
    config = job.raw_config
    partitioning = _rest_to_time_partitioning(config.get("timePartitioning"), None)
    clustering = _rest_to_clustering(config.get("clustering"), None)
    layout = {"time_partitioning": partitioning, "clustering": clustering}
    ctx.catalog.update_table(table.model_copy(update=layout))


def _type(field: TableFieldSchema) -> str:
    return type_name(field.type)


def _mode(field: TableFieldSchema) -> str:
    return (field.mode or "NULLABLE").upper()


def _schema_problem(
    table: Sequence[TableFieldSchema], load: Sequence[TableFieldSchema], options: set[str], path: str = ""
) -> str | None:
    """What BigQuery says of a load with schema ``load`` into a table of schema ``table``; None if it fits."""
    given = {field.name.lower(): field for field in load}
    for before in table:
        name, after = path + before.name, given.get(before.name.lower())
        if after is None:
            return f"Field {name} is missing in new schema"
        if _type(before) != _type(after):
            return f"Field {name} has changed type from {before.type} to {after.type}"
        relaxed = (_mode(before), _mode(after)) == ("REQUIRED", "NULLABLE") and _RELAXATION in options
        if _mode(before) != _mode(after) and not relaxed:
            return f"Field {name} has changed mode from {_mode(before)} to {_mode(after)}"
        inner = _schema_problem(before.fields, after.fields, options, f"{name}.")
        if inner is not None:
            return inner
    known = {field.name.lower() for field in table}
    for added in load:
        if added.name.lower() in known:
            continue
        if _ADDITION not in options:
            return f"Cannot add fields (field: {path}{added.name})"
        if _mode(added) == "REQUIRED":
            return f"Cannot add required fields to an existing schema. (field: {path}{added.name})"
    return None


def _layout(table: TableMeta) -> str:
    """A table's partitioning and clustering, written as BigQuery's error messages write them."""
    text = "none"
    if table.time_partitioning is not None:
        field = table.time_partitioning.field or "_PARTITIONTIME"
        text = f"interval(type:{table.time_partitioning.type.lower()},field:{field})"
    if table.clustering is not None and table.clustering.fields:
        text += f" clustering({','.join(table.clustering.fields)})"
    return text


def _layout_of_config(config: dict[str, Any], table: TableMeta) -> str:
    """The layout a load asks for: the table's own for whatever the load does not say."""
    from bqemulator.api.routes.tables import _rest_to_clustering, _rest_to_time_partitioning

    partitioning = _rest_to_time_partitioning(config.get("timePartitioning"), table)
    clustering = _rest_to_clustering(config.get("clustering"), table)
    return _layout(table.model_copy(update={"time_partitioning": partitioning, "clustering": clustering}))
