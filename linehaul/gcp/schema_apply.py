"""Create or evolve the BigQuery tables from ``schemas/``: for ``linehaul schema apply`` and local runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from linehaul.pipeline.ports import TableRef
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
    admin: BigQueryAdmin, project: str, dataset: str, tables: Mapping[Table, str]
) -> list[TableOutcome]:
    """Create or evolve each table (linehaul's table → its name there) of ``project.dataset``; all checked
    first.

    Every table is checked before any is changed, so a refused change leaves all tables as they were.
    """
    admin.ensure_dataset(project, dataset)
    plans = []
    for ours, name in tables.items():
        table = TableRef(project, dataset, name)
        existing = admin.table_schema(table)
        desired = load_schema(ours)
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
            admin.create_table(table, desired)
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
