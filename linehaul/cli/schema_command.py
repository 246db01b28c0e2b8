"""``linehaul schema apply``: create the dataset and both tables from schemas/, or evolve them safely."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from linehaul.pipeline.ports import TableRef
from linehaul.schema import TABLES, load_schema, plan_schema_change

if TYPE_CHECKING:
    from linehaul.gcp import BigQueryAdmin

__all__ = ["TableOutcome", "apply_schemas", "register"]

_DESCRIPTION = """\
Create DATASET and the tables file_downloads and simple_requests from schemas/ (partitioned by day on
timestamp, clustered on project), or bring existing tables up to date. Only compatible changes are made:
new NULLABLE columns and REQUIRED columns relaxed to NULLABLE. A removed column, a type change or any
other mode change is refused with a precise message and nothing is changed.

Set BIGQUERY_EMULATOR_HOST (e.g. http://127.0.0.1:9050) to work on a local emulator.
Exit status: 0 when every table matches the schemas, 1 when a change was refused or failed.
"""


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
    admin: BigQueryAdmin, project: str, dataset: str, tables: dict[str, str]
) -> list[TableOutcome]:
    """Create or evolve each table (``schema name -> table name``) of ``project.dataset``; all checked first.

    Every table is checked before any is changed, so a refused change leaves all tables as they were.
    """
    admin.ensure_dataset(project, dataset)
    plans = []
    for schema_name, table_name in tables.items():
        table = TableRef(project, dataset, table_name)
        existing = admin.table_schema(table)
        desired = load_schema(schema_name)
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


def register(commands: Any) -> None:
    schema = commands.add_parser("schema", help="create or evolve the BigQuery tables")
    actions = schema.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = actions.add_parser(
        "apply",
        help="create the dataset and tables, or apply compatible schema changes",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    apply.add_argument("--project", required=True, help="the Google Cloud project")
    apply.add_argument("--dataset", required=True, help="the dataset (created if missing)")
    apply.add_argument("--downloads-table", default=TABLES[0], help="default: file_downloads")
    apply.add_argument("--simple-table", default=TABLES[1], help="default: simple_requests")
    apply.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from linehaul.gcp import BigQueryAdmin, BigQueryAdminError, bigquery_client
    except ImportError:
        print("linehaul schema: needs the gcp extra: pip install 'linehaul[gcp]'", file=sys.stderr)
        return 1
    admin = BigQueryAdmin(bigquery_client(args.project))
    tables = {TABLES[0]: args.downloads_table, TABLES[1]: args.simple_table}
    try:
        outcomes = apply_schemas(admin, args.project, args.dataset, tables)
    except BigQueryAdminError as error:
        print(f"linehaul schema: {error}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(outcome.line(), file=sys.stderr if outcome.action == "refused" else sys.stdout)
    return 1 if any(outcome.action == "refused" for outcome in outcomes) else 0
