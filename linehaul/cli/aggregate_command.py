"""``linehaul aggregate``: the daily tables from logs or rows, as Parquet files, offline; and the daily
Parquet files as tables of ``linehaul query`` (:func:`split_daily_inputs`, :func:`attach_daily_views`), so
that the SQL people run on BigQuery's daily tables runs on a laptop."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from linehaul.cli.inputs import add_input_arguments, open_logs
from linehaul.daily.shape import DAILY_TABLES, DailyTable
from linehaul.tables import Table

__all__ = ["attach_daily_views", "register", "split_daily_inputs"]

_DESCRIPTION = """\
Write the daily tables of the downloads in log files (or Parquet or NDJSON rows, as stats reads them) into
DIR, one Parquet file each, with the columns of schemas/*_daily.json, the same rows the publisher keeps in
BigQuery beside file_downloads:

  DIR/downloads_daily.parquet               date, project, downloads, downloads_without_mirrors
  DIR/downloads_by_<field>_daily.parquet    date, project, <field>, downloads, downloads_without_mirrors
                                            (field: version, file_type, installer, python, implementation,
                                            system, distro, cpu, country, ci)

downloads counts every row; downloads_without_mirrors those whose installer is not a mirroring tool (the
rule of stats --exclude-mirrors). linehaul query takes DIR, or the files, and runs BigQuery's questions:

  linehaul query DIR "SELECT installer, SUM(downloads) AS downloads FROM downloads_by_installer_daily
      WHERE project = 'requests' GROUP BY installer ORDER BY downloads DESC"

Exit status: 0; 1 when an input was damaged (its lines before the damage still count) or holds neither
rows nor log lines; 2 on a usage error.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "aggregate",
        help="write the daily tables (downloads per day and project, by field) as Parquet",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("-o", "--output-dir", required=True, type=Path, metavar="DIR", help="where to write")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_logs("aggregate", args)
    if isinstance(database, int):
        return database
    import duckdb

    from linehaul.daily.offline import write_daily_parquet

    with database:
        try:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            written = write_daily_parquet(
                database.connection, database.table(Table.FILE_DOWNLOADS), args.output_dir
            )
        except (OSError, duckdb.Error) as error:
            why = getattr(error, "strerror", None) or error
            print(f"linehaul aggregate: cannot write to {args.output_dir}: {why}", file=sys.stderr)
            return 1
        days = database.data_span(Table.FILE_DOWNLOADS)
    for table, rows in written.items():
        print(f"{args.output_dir / (table.name + '.parquet')}: {rows:,} rows")
    covered = f"{days.first} to {days.last}" if days else "no day"
    total = sum(written.values())
    print(f"daily tables: {len(written)} in {args.output_dir}, {total:,} rows; the downloads cover {covered}")
    return 1 if database.failures else 0


def split_daily_inputs(files: Sequence[str]) -> tuple[dict[DailyTable, list[str]], list[str]]:
    """The daily tables' Parquet files among ``files`` (``downloads_daily.parquet``, ..., or those a folder
    holds, as ``linehaul aggregate`` writes them), and the other files (a folder that also holds
    file_downloads or simple_requests stays one of them)."""
    daily: dict[DailyTable, list[str]] = {}
    rest: list[str] = []
    names = {f"{table.name}.parquet": table for table in DAILY_TABLES}
    for given in files:
        if os.path.isdir(given):
            inside = sorted(name for name in os.listdir(given) if name in names)
            for name in inside:
                daily.setdefault(names[name], []).append(os.path.join(given, name))
            rows = [f"{table.value}{suffix}" for table in Table for suffix in (".parquet", ".ndjson")]
            if not inside or any(os.path.isfile(os.path.join(given, name)) for name in rows):
                rest.append(given)
        elif os.path.basename(given) in names:
            daily.setdefault(names[os.path.basename(given)], []).append(given)
        else:
            rest.append(given)
    return daily, rest


def attach_daily_views(connection: Any, daily: dict[DailyTable, list[str]]) -> None:
    """A view of each daily table over its Parquet files, named as in BigQuery (``downloads_daily``, ...)."""
    for table, paths in daily.items():
        files = ", ".join("'" + path.replace("'", "''") + "'" for path in paths)
        connection.execute(f"CREATE VIEW {table.name} AS SELECT * FROM read_parquet([{files}])")
