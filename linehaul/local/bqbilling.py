"""Make the BigQuery emulator price query jobs, so that dry runs and ``maximumBytesBilled`` mean something.

bqemulator 1.4.0 has no cost model: a dry run says it would process 0 bytes, and a job's
``maximumBytesBilled`` is ignored. linehaul's ``--dry-run`` and ``--max-bytes-billed`` rely on both, so
:func:`apply` (called by :func:`linehaul.local.bqcompat.apply`) wraps the handler of query jobs
(``jobs.insert``; the synchronous ``jobs.query`` endpoint is left as it is) with an estimate:

- **bytes processed**: the size of every table the query reads, whole, measured as the JSON text of its
  rows (the UTF-8 bytes of ``to_json(row)``). BigQuery counts only the columns read, in the partitions
  read, in its own logical sizes: the emulator's figure is of the same order, larger, not BigQuery's.
- **bytes billed**: as BigQuery's on-demand pricing rounds: up to the next MiB, at least 10 MiB per table
  read (no table read, as for ``SELECT 1``: nothing).
- a dry run reports the estimate in ``statistics.query.totalBytesProcessed``; a real job reports both, and
  one whose ``maximumBytesBilled`` is below the bytes billed fails as BigQuery fails it: reason
  ``bytesBilledLimitExceeded``, message ``Query exceeded limit for bytes billed: LIMIT. NEEDED or higher
  required.``; and the job's configuration keeps its ``maximumBytesBilled`` (bqemulator drops it), so
  that ``jobs.get`` shows it as BigQuery's does.

A table's size is measured again only when its rows or the time a job last wrote it changed
(:func:`linehaul.local.bqdestinations.last_written`): measuring reads every row, and the publisher's
aggregation jobs read ``file_downloads`` again and again. Tables are found with sqlglot (bqemulator's own
parser): names in the emulator's catalog, qualified or of the job's ``defaultDataset``; anything else
(CTEs, ``INFORMATION_SCHEMA``, UNNEST) reads nothing here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from typing import Any

from bqemulator.api.dependencies import AppContext

__all__ = ["billed_bytes", "estimate", "pricing_query_jobs"]

_MIB = 1 << 20
_SIZES: dict[tuple[int, str, str, str], tuple[Any, int]] = {}
"""Each table's measured size, with its state then (rows, last write): measuring reads every row."""
_MINIMUM_PER_TABLE = 10 * _MIB


def _tables(sql: str, default: dict[str, str] | None, project: str) -> set[tuple[str, str, str]]:
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
    except sqlglot.errors.ParseError:
        return set()  # the query itself will fail, with the emulator's own message
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    found = set()
    for table in tree.find_all(exp.Table):
        if not table.name or (not table.db and table.name in ctes):
            continue
        dataset = table.db or (default or {}).get("datasetId", "")
        owner = table.catalog or (default or {}).get("projectId") or project
        found.add((owner, dataset, table.name))
    return found


def estimate(
    sql: str, default_dataset: dict[str, str] | None, project: str, ctx: AppContext
) -> tuple[int, int]:
    """(bytes processed, tables read) of ``sql`` in the emulator of ``ctx`` (see the module doc)."""
    from bqemulator.storage.sql_identifiers import quoted_table_ref

    from linehaul.local.bqdestinations import last_written

    processed = tables = 0
    for owner, dataset, name in _tables(sql, default_dataset, project):
        if ctx.catalog.get_table(owner, dataset, name) is None:
            continue
        ref = quoted_table_ref(owner, dataset, name)
        # measured again only when the table changed: its rows, and when a job last wrote it
        rows = ctx.engine.execute(f"SELECT COUNT(*) FROM {ref}").fetchall()[0][0]
        key, state = (id(ctx.engine), owner, dataset, name), (rows, last_written(ctx, owner, dataset, name))
        if _SIZES.get(key, (None, 0))[0] != state:
            size = ctx.engine.execute(
                f"SELECT coalesce(sum(strlen(CAST(to_json(t) AS VARCHAR))), 0) FROM {ref} AS t"
            ).fetchone()
            _SIZES[key] = (state, int(size[0]) if size else 0)
        processed += _SIZES[key][1]
        tables += 1
    return processed, tables


def billed_bytes(processed: int, tables: int) -> int:
    """What on-demand pricing bills for ``processed`` bytes read from ``tables`` tables."""
    if not tables:
        return 0
    return max(math.ceil(processed / _MIB) * _MIB, _MINIMUM_PER_TABLE * tables)


_Handler = Callable[..., Awaitable[Any]]


def pricing_query_jobs(handler: _Handler) -> _Handler:
    """Wrap ``api.routes.jobs._handle_query_job`` (see the module doc)."""

    @functools.wraps(handler)
    async def pricing(project_id: str, job_id: str, config: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        from bqemulator.api.routes import jobs as job_routes

        ctx: AppContext = kwargs["ctx"]
        query = config.get("query", {})
        processed, tables = estimate(query.get("query", ""), query.get("defaultDataset"), project_id, ctx)
        billed = billed_bytes(processed, tables)
        limit = query.get("maximumBytesBilled")
        if not kwargs.get("dry_run") and limit is not None and billed > int(limit):
            message = f"Query exceeded limit for bytes billed: {int(limit)}. {billed} or higher required."
            return job_routes._failed_job_meta(
                project_id=project_id,
                job_id=job_id,
                job_type="QUERY",
                config=config,
                error_result={"reason": "bytesBilledLimitExceeded", "message": message},
                now=kwargs["now"],
            )
        result = await handler(project_id, job_id, config, *args, **kwargs)
        if limit is not None and not isinstance(result, dict):  # jobs.get shows the limit, as BigQuery's does
            result.configuration.setdefault("query", {})["maximumBytesBilled"] = str(limit)
        statistics = result.get("statistics") if isinstance(result, dict) else result.statistics
        if statistics is not None:
            billing = {"totalBytesProcessed": str(processed)}
            if not kwargs.get("dry_run"):
                billing["totalBytesBilled"] = str(billed)
            statistics.setdefault("query", {}).update(billing)
            statistics["totalBytesProcessed"] = str(processed)
        return result

    return pricing
