"""``linehaul local``: the pipeline's cloud on this machine.

``linehaul local up`` runs it until Ctrl-C; ``linehaul local run [LOG...]`` pushes logs through the real
functions into the local BigQuery and reports what landed where (see :mod:`linehaul.local.runner`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from linehaul.local.resources import DATASET, LOGS_BUCKET, STAGING_BUCKET
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.local import LocalStack

__all__ = ["register"]

_UP_DESCRIPTION = f"""\
Start the local cloud in the foreground: fake GCS and the BigQuery emulator on 127.0.0.1, with the buckets
{LOGS_BUCKET} and {STAGING_BUCKET}, and the dataset {DATASET} holding the tables {", ".join(Table)}
(created from schemas/, partitioned by day on timestamp, clustered on project). Prints the environment
variables that point Google's client libraries (and linehaul) at it, then runs until Ctrl-C or SIGTERM.
"""

_RUN_DESCRIPTION = f"""\
Run the whole pipeline on the local cloud: start it, upload the logs to {LOGS_BUCKET}, deliver one
storage event per log to the ingestor function, then the scheduler's Pub/Sub message to the publisher
function (both served by functions-framework over HTTP, as Cloud Functions does) until every partition
they staged is loaded, whatever dates the logs hold. Then query BigQuery for a short report, and end
with one line:

  lines=N file_downloads=A simple_requests=B unprocessed=C ignored=D

A and B are counted in the BigQuery emulator, C and D in the staging bucket; A+B+C+D = N. A damaged log
(a truncated or corrupt gzip) is quarantined, as the deployed ingestor does, after its readable lines are
ingested (and counted in N); the summary names it. With no LOG, three generated demo logs are used.
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
    run = actions.add_parser(
        "run",
        help="push logs through the whole pipeline on the local cloud",
        description=_RUN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("logs", nargs="*", type=Path, metavar="LOG", help="CDN logs (.log.gz); default: a demo")
    for action in (up, run):
        action.add_argument(
            "--data-dir",
            type=Path,
            metavar="DIR",
            help="keep the cloud's data in DIR, to find it again next time (default: a temporary directory)",
        )
        action.add_argument(
            "--project", default=None, help="the Google Cloud project id (default: linehaul-local)"
        )
    up.set_defaults(run=_run_up)
    run.set_defaults(run=_run_pipeline)


def _run_up(args: argparse.Namespace) -> int:
    from linehaul.gcp import BigQueryAdminError
    from linehaul.local import DEFAULT_PROJECT, LocalStack, LocalStackError
    from linehaul.local.runner import RunError, provision

    project = args.project or DEFAULT_PROJECT
    data_dir: Path | None = args.data_dir
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        with _stop_requested() as stop, LocalStack(project=project, data_dir=data_dir) as stack:
            for change in provision(stack):
                print(f"# {change}")
            _print_environment(stack, data_dir, sys.stdout)
            while not stop.wait(0.5):  # a timeout keeps the main thread responsive to signals
                pass
            print("# stopping", flush=True)
    except (LocalStackError, BigQueryAdminError, RunError) as error:
        print(f"linehaul local up: {error}", file=sys.stderr)
        return 1
    return 0


def _run_pipeline(args: argparse.Namespace) -> int:
    from linehaul.gcp import BigQueryAdminError
    from linehaul.local import DEFAULT_PROJECT, LocalStack, LocalStackError
    from linehaul.local.runner import RunError, demo_logs, provision, report, run_pipeline

    missing = [str(log) for log in args.logs if not log.is_file()]
    if missing:
        print(f"linehaul local run: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="linehaul-demo-") as scratch:
            logs = list(args.logs) or demo_logs(Path(scratch))
            if not args.logs:
                print(f"# no logs given: {len(logs)} demo logs ({', '.join(log.name for log in logs)})")
            with LocalStack(project=args.project or DEFAULT_PROJECT, data_dir=args.data_dir) as stack:
                for change in provision(stack):
                    print(f"# {change}")
                counts = run_pipeline(stack, logs, say=lambda text: print(f"# {text}", flush=True))
                for line in report(stack):
                    print(line)
    except (LocalStackError, BigQueryAdminError, RunError) as error:
        print(f"linehaul local run: {error}", file=sys.stderr)
        return 1
    for item in counts.quarantined_logs + counts.quarantined_files:
        print(f"# quarantined: {item}")
    print(f"# {time.perf_counter() - started:.1f} s")
    print(counts.line())
    return 0


def _print_environment(stack: LocalStack, data_dir: Path | None, out: TextIO) -> None:
    kept = f"its data stays in {data_dir}" if data_dir else "and removes its data"
    for name, value in stack.env.items():
        print(f"export {name}={value}", file=out)
    print(f"# buckets: {LOGS_BUCKET} (CDN logs), {STAGING_BUCKET} (staged NDJSON)", file=out)
    print(f"# dataset: {stack.project}.{DATASET}, tables: {', '.join(Table)}", file=out)
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
