"""``linehaul local``: the pipeline's cloud on this machine. ``linehaul local up`` runs it until Ctrl-C.

Each action is a sub-command of ``local`` (see :func:`register`); they share :data:`LOGS_BUCKET`,
:data:`STAGING_BUCKET`, :data:`DATASET` and :func:`provision`, which sets the cloud up the way the
pipeline expects it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from linehaul.rows import FILE_DOWNLOADS, SIMPLE_REQUESTS

if TYPE_CHECKING:
    from linehaul.local import LocalStack

__all__ = ["DATASET", "LOGS_BUCKET", "STAGING_BUCKET", "TABLES", "provision", "register", "schemas_dir"]

LOGS_BUCKET = "linehaul-logs"
"""Where the CDN delivers its gzip log files."""

STAGING_BUCKET = "linehaul-staging"
"""Where the ingestor stages NDJSON files for the publisher to load."""

DATASET = "pypi"
"""The BigQuery dataset holding :data:`TABLES`."""

TABLES = (FILE_DOWNLOADS, SIMPLE_REQUESTS)
"""The tables, each created from ``schemas/<table>.json``."""

_UP_DESCRIPTION = f"""\
Start the local cloud in the foreground: fake GCS and the BigQuery emulator on 127.0.0.1, with the buckets
{LOGS_BUCKET} and {STAGING_BUCKET}, and the dataset {DATASET} holding the tables {", ".join(TABLES)}
(created from schemas/, partitioned by day on timestamp, clustered on project). Prints the environment
variables that point Google's client libraries (and linehaul) at it, then runs until Ctrl-C or SIGTERM.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "local",
        help="run the pipeline's cloud on this machine",
        description="Run the pipeline's cloud (Cloud Storage, BigQuery) on this machine, for development.",
    )
    actions = parser.add_subparsers(dest="local_action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        help="start the local cloud and wait until Ctrl-C",
        description=_UP_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="keep the data in DIR, to find it again next time (default: a temporary directory, removed)",
    )
    up.add_argument("--project", default=None, help="the Google Cloud project id (default: linehaul-local)")
    up.set_defaults(run=_run_up)


def schemas_dir() -> Path:
    """The directory of the tables' JSON schemas: package data if installed so, else the checkout's."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "schemas", package.parent / "schemas"):
        if (candidate / f"{FILE_DOWNLOADS}.json").is_file():
            return candidate
    raise FileNotFoundError(f"no schemas/{FILE_DOWNLOADS}.json next to {package}")


def provision(stack: LocalStack, schemas: Path) -> list[str]:
    """Create what is missing of the buckets, the dataset and the tables; bring table schemas up to date.

    Returns what it did, one line per change (nothing when all was there, from an earlier run).
    """
    done = []
    client = stack.storage_client()
    for bucket in (LOGS_BUCKET, STAGING_BUCKET):
        if client.lookup_bucket(bucket) is None:
            client.create_bucket(bucket)
            done.append(f"created bucket {bucket}")
    admin = stack.bigquery_admin()
    admin.ensure_dataset(stack.project, DATASET)
    from linehaul.pipeline.ports import TableRef

    for name in TABLES:
        table = TableRef(stack.project, DATASET, name)
        schema = json.loads((schemas / f"{name}.json").read_text())
        existing = admin.table_schema(table)
        if existing is None:
            admin.create_table(table, schema)
            done.append(f"created table {table}")
        elif existing != schema:
            admin.update_schema(table, schema)
            done.append(f"updated the schema of {table}")
    return done


def _run_up(args: argparse.Namespace) -> int:
    from linehaul.gcp import BigQueryAdminError
    from linehaul.local import DEFAULT_PROJECT, LocalStack, LocalStackError

    project = args.project or DEFAULT_PROJECT
    data_dir: Path | None = args.data_dir
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _stop_requested() as stop, LocalStack(project=project, data_dir=data_dir) as stack:
            for change in provision(stack, schemas_dir()):
                print(f"# {change}")
            _print_environment(stack, data_dir, sys.stdout)
            while not stop.wait(0.5):  # a timeout keeps the main thread responsive to signals
                pass
            print("# stopping", flush=True)
    except (LocalStackError, BigQueryAdminError, FileNotFoundError) as error:
        print(f"linehaul local up: {error}", file=sys.stderr)
        return 1
    return 0


def _print_environment(stack: LocalStack, data_dir: Path | None, out: TextIO) -> None:
    kept = f"its data stays in {data_dir}" if data_dir else "and removes its data"
    for name, value in stack.env.items():
        print(f"export {name}={value}", file=out)
    print(f"# buckets: {LOGS_BUCKET} (CDN logs), {STAGING_BUCKET} (staged NDJSON)", file=out)
    print(f"# dataset: {stack.project}.{DATASET}, tables: {', '.join(TABLES)}", file=out)
    print(f"# the local cloud is up; Ctrl-C stops it ({kept})", file=out, flush=True)


@contextmanager
def _stop_requested() -> Iterator[threading.Event]:
    """An event set by SIGINT (Ctrl-C) or SIGTERM while the block runs; the old handlers come back after."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in signals}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
