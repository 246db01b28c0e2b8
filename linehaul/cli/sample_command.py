"""``linehaul sample``: write a deterministic, realistic sample CDN log to try linehaul on."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from linehaul.cli.inputs import parse_day, positive_int
from linehaul.logs.sample import DEFAULT_START, write_sample

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "sample",
        help="write a sample CDN log",
        description="Write a deterministic sample CDN log (gzip if FILE ends in .gz): downloads and simple "
        "requests spread evenly over --days days from --start, from pip, uv and the other clients linehaul "
        "recognises, with a few malformed lines. The same options always give the same file.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="where to write, e.g. sample.log.gz")
    parser.add_argument("--lines", type=positive_int, default=10_000, help="number of lines (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--start",
        type=parse_day,
        default=DEFAULT_START.date(),
        metavar="DATE",
        help=f"the first UTC day (YYYY-MM-DD, default {DEFAULT_START.date()})",
    )
    parser.add_argument("--days", type=positive_int, default=1, metavar="N", help="days spanned (default 1)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    start = datetime.combine(args.start, time(), UTC)
    write_sample(args.file, lines=args.lines, seed=args.seed, start=start, days=args.days)
    days = f"{args.days} days" if args.days > 1 else "1 day"
    print(f"wrote {args.lines} lines to {args.file} ({days} from {args.start})")
    return 0
