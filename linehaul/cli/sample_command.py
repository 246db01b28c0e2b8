"""``linehaul sample``: write a deterministic, realistic sample CDN log to try linehaul on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from linehaul.cli.inputs import positive_int
from linehaul.logs.sample import write_sample

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "sample",
        help="write a sample CDN log",
        description="Write a deterministic sample CDN log (gzip if FILE ends in .gz): downloads and simple "
        "requests over one day, from pip, uv and the other clients linehaul recognises, with a few "
        "malformed lines. The same --lines and --seed always give the same file.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="where to write, e.g. sample.log.gz")
    parser.add_argument("--lines", type=positive_int, default=10_000, help="number of lines (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    write_sample(args.file, lines=args.lines, seed=args.seed)
    print(f"wrote {args.lines} lines to {args.file}")
    return 0
