"""The ``linehaul`` command line: one module per command, registered here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from linehaul.cli import (
    backfill_command,
    local_command,
    parse_command,
    query_command,
    report_command,
    sample_command,
    schema_command,
    stats_command,
)

__all__ = ["main"]

_COMMANDS = (
    parse_command,
    stats_command,
    query_command,
    report_command,
    sample_command,
    schema_command,
    local_command,
    backfill_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linehaul",
        description="Turn PyPI CDN download logs into BigQuery rows (file_downloads, simple_requests), "
        "and answer questions about them offline (stats, query, report).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (0 ok, 1 some input failed, 2 usage error)."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except KeyboardInterrupt:
        print("linehaul: interrupted", file=sys.stderr)
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
