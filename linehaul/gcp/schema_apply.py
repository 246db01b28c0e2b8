"""Create or evolve the BigQuery tables from ``schemas/``: for ``linehaul schema apply`` and local runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from linehaul.daily.shape import DAILY_TABLES, PARTITION_FIELD
from linehaul.pipeline.ports import Schema, TableRef
from linehaul.schema import load_schema, plan_schema_change
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.gcp.bigquery import BigQueryAdmin

__all__ = ["TableOutcome", "apply_schemas"]


@dataclass(frozen=True, slots=True)
class TableOutcome:
    """What ``apply`` did to one table: ``created``, ``updated``, ``unchanged`` or ``refused``."""

    table: TableRef
    action: str
    details: tuple[str, ...] = ()

    def line(self) -> str:
        detail = f": {'; '.join(self.details)}" if self.details else ""
        return f"{self.table}: {self.action}{detail}"


def apply_schemas(
    admin: BigQueryAdmin, project: str, dataset: str, tables: Mapping[Table, str], *, daily: bool = True
) -> list[TableOutcome]:
    """Create or evolve each table (linehaul's table → its name there) of ``project.dataset``, and with
    ``daily`` the daily tables (:data:`linehaul.daily.DAILY_TABLES`, partitioned on ``date``); all checked
    first.

    Every table is checked before any is changed, so a refused change leaves all tables as they were.
    """
    admin.ensure_dataset(project, dataset)
    wanted: list[tuple[TableRef, Schema, str | None]] = [
        (TableRef(project, dataset, name), load_schema(kind), None) for kind, name in tables.items()
    ]
    if daily:  # issue 29: the daily tables beside the rows
        wanted += [
            (TableRef(project, dataset, item.name), item.schema, PARTITION_FIELD) for item in DAILY_TABLES
        ]
    plans = []
    partitioned = {table: field for table, _, field in wanted}
    for table, desired, _ in wanted:
        existing = admin.table_schema(table)
        plans.append(
            (table, desired, existing, None if existing is None else plan_schema_change(existing, desired))
        )
    refused = [
        TableOutcome(table, "refused", plan.problems)
        for table, _, _, plan in plans
        if plan and not plan.compatible
    ]
    if refused:
        return refused
    outcomes = []
    for table, desired, existing, plan in plans:
        if existing is None:
            field = partitioned[table]
            admin.create_table(table, desired, **({} if field is None else {"partition_field": field}))
            outcomes.append(TableOutcome(table, "created"))
        elif plan is not None and plan.changes:
            admin.update_schema(table, desired)
            details = tuple(f"added {name}" for name in plan.added) + tuple(
                f"relaxed {n}" for n in plan.relaxed
            )
            outcomes.append(TableOutcome(table, "updated", details))
        else:
            outcomes.append(TableOutcome(table, "unchanged"))
    return outcomes
