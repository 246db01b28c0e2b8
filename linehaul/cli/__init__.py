"""The ``linehaul`` command line: one module per command, registered here.

Only the module of the command being run is imported (all of them for ``linehaul --help``, or a name that
is no command's): ``linehaul stats`` over Parquet needs neither the parsing core nor the local cloud, and
a command's start-up is part of what a person waits for.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = ["main"]

_COMMANDS = {
    "parse": "parse_command",
    "stats": "stats_command",
    "query": "query_command",
    "report": "report_command",
    "aggregate": "aggregate_command",
    "sample": "sample_command",
    "schema": "schema_command",
    "local": "local_command",
    "status": "status_command",
    "backfill": "backfill_command",
}
"""Each command's name, and the module of linehaul.cli that registers it, in the order --help lists them."""


class _CommandParser(argparse.ArgumentParser):
    """A command's parser: a mistake in its arguments is one line that names it, not the whole usage
    (which ``--help`` shows)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} ({self.prog} --help shows every option)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``command`` alone."""
    parser = argparse.ArgumentParser(
        prog="linehaul",
        description="Turn PyPI CDN download logs into BigQuery rows (file_downloads, simple_requests), "
        "and answer questions about them offline (stats, query, report).",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser
    )
    for name, module in _COMMANDS.items():
        if command in (None, name):
            importlib.import_module(f"{__name__}.{module}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (0 ok, 1 some input failed, 2 usage error)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = arguments[0] if arguments and arguments[0] in _COMMANDS else None
    parser = build_parser(command)
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        name = f"linehaul {args.command}"
        print(f"{name}: unrecognized arguments: {' '.join(unknown)} ({name} --help shows every option)",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        status: int = args.run(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("linehaul: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (| head -1): that is not an error. As Python's documentation of SIGPIPE
        # advises, point stdout at devnull so the interpreter's own flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
