"""``linehaul backfill``: stage many logs with the ingestor's per-file processing, on Apache Beam."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

__all__ = ["register"]

_DESCRIPTION = """\
Stage every log the --input patterns match (local globs or gs://BUCKET/PATH/*.log.gz) into --staging
(a local directory or gs://BUCKET), exactly as the ingestor stages one log: processed/YYYYMMDD/,
unprocessed/YYYYMMDD/, ignored/YYYYMMDD/, and quarantine/ for a damaged log (copied: no log is deleted or
moved). A staged file the publisher already loaded (its loaded/ marker exists) is not staged again. Then
the publisher loads the staged files into BigQuery, exactly once, as usual.

Locally, it runs on Beam's FnApiRunner with one worker process per core (--workers N to change it) and
each worker prints one line per log. Any other runner takes Beam's own options after --, for example:

  linehaul backfill --input 'gs://LOGS/2021/**.log.gz' --staging gs://STAGING --runner DataflowRunner \\
      -- --project PROJECT --region REGION --temp_location gs://TEMP/beam \\
         --extra_package dist/linehaul-0.1.0-py3-none-any.whl

It ends with a summary line: files, lines, rows per table, unprocessed, ignored, quarantined, seconds.
Exit status: 0 when every log was staged whole, 1 when a log was damaged (quarantined, its readable lines
staged) or gone, or linehaul failed on a line (a bug: that line is kept as unprocessed, field "internal";
stderr says so), 2 when nothing started: a usage error, a pattern that matches nothing, two logs with the
same base name (their staged files would have the same names), options that cannot work.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "backfill",
        help="stage many logs on Apache Beam (locally, or on Dataflow)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input",
        action="extend",
        nargs="+",
        required=True,
        metavar="PATTERN",
        help="logs to stage: local paths or globs, gs://BUCKET/PATH globs (* within a directory, ** across)",
    )
    parser.add_argument(
        "--staging", required=True, metavar="DIR_OR_GS_URI", help="a local directory, or gs://BUCKET"
    )
    parser.add_argument("--runner", help="a Beam runner (default: FnApiRunner, locally, multi-processing)")
    parser.add_argument("--workers", type=int, help="worker processes of a local run (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no line per log, only the summary")
    parser.add_argument(
        "beam_args", nargs="*", metavar="-- BEAM_OPTION", help="more Beam pipeline options, after --"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from linehaul.beam import LOCAL_RUNNER, BackfillError, is_local_runner, pipeline_options, run_backfill
    except ImportError as error:
        print(f"linehaul backfill needs Apache Beam: pip install 'linehaul[beam]' ({error})", file=sys.stderr)
        return 2
    try:
        options = pipeline_options(args.beam_args, runner=args.runner, workers=args.workers)
    except BackfillError as error:
        print(f"linehaul backfill: {error}", file=sys.stderr)
        return 2
    except SystemExit:  # Beam's own option parser said what is wrong
        return 2
    local = is_local_runner(args.runner or LOCAL_RUNNER)
    _quiet_beam_logging(local)
    try:
        summary = run_backfill(args.input, args.staging, options=options, echo=local and not args.quiet)
    except BackfillError as error:
        print(f"linehaul backfill: {error}", file=sys.stderr)
        return 2
    for log in summary.quarantined_logs:
        print(f"linehaul backfill: quarantined (damaged; its readable lines staged): {log}", file=sys.stderr)
    for clash in summary.conflicting_logs:
        print(f"linehaul backfill: {clash}", file=sys.stderr)
    if summary.missing:
        print(f"linehaul backfill: {summary.missing} logs were gone when their turn came", file=sys.stderr)
    internal = summary.counts.internal_errors_message()
    if internal is not None:
        print(f"linehaul backfill: {internal}", file=sys.stderr)
    print(summary.line())
    return 0 if summary.complete and internal is None else 1


def _quiet_beam_logging(local: bool) -> None:
    """Locally, Beam's workers relay start-up warnings that mean nothing here; elsewhere, show the runner's
    progress (on Dataflow: the job's id and console URL, its state changes)."""
    if local:
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
    else:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
