"""What the commands that read logs share: input arguments, the check of the inputs, opening them, errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from linehaul.cli.progress import Progress
from linehaul.logs.files import LogFileError
from linehaul.logs.paths import expand_paths

if TYPE_CHECKING:  # they need the analysis extra: imported when a command runs
    from linehaul.analysis.database import Database
    from linehaul.analysis.stats import TimeWindow

__all__ = [
    "add_input_arguments",
    "add_window_arguments",
    "input_paths",
    "open_logs",
    "positive_int",
    "report_missing_extra",
    "time_window",
    "whole_number",
]


def whole_number(lowest: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``lowest`` (``meaning``: what that lowest one means)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest}{meaning}, not {value}")
        return value

    return parse


positive_int = whole_number(1)
"""An argparse type: a whole number of at least 1."""


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE..., --jobs and --quiet."""
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="log files (.log, .log.gz, gzip recognised by content), quoted globs ('logs/*.gz'), - for stdin",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="convert on N processes, over files and over blocks of a big file (default 1)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line on a terminal (there is none when piped)"
    )


def input_paths(command: str, patterns: Sequence[str]) -> list[str] | None:
    """The files to read, or None after naming on stderr every pattern or file that is not readable."""
    paths: list[str] = []
    problems: list[LogFileError] = []
    for pattern in patterns:
        try:
            found = expand_paths([pattern])
        except LogFileError as error:
            problems.append(error)
            continue
        paths += [path for path in found if path not in paths]
    for problem in problems:
        print(f"linehaul {command}: {problem}", file=sys.stderr)
    return None if problems else paths


def report_missing_extra(command: str, error: ImportError) -> int:
    """Say which extra to install; the exit status for it."""
    print(f"linehaul {command}: {error}", file=sys.stderr)
    return 1


def open_logs(command: str, args: argparse.Namespace) -> Database | int:
    """The database over ``args.files`` (with a progress line on a terminal), or the exit status after
    saying on stderr what went wrong. Damaged files are named on stderr; their readable rows are kept."""
    paths = input_paths(command, args.files)
    if paths is None:
        return 2
    from linehaul.analysis.errors import MissingExtraError

    progress = Progress.on_terminal(files=len(paths), quiet=args.quiet)
    try:
        from linehaul.analysis.database import open_database

        database = open_database(paths, jobs=args.jobs, keep_going=True, progress=progress.update)
    except MissingExtraError as error:
        return report_missing_extra(command, error)
    finally:
        progress.finish()
    for failure in database.failures:
        print(f"linehaul {command}: {failure} (its lines before the damage are counted)", file=sys.stderr)
    return database


def parse_day(text: str) -> date:
    """An argparse type: a UTC day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """--since and --until."""
    parser.add_argument("--since", type=parse_day, metavar="DATE", help="from this UTC day on (YYYY-MM-DD)")
    parser.add_argument("--until", type=parse_day, metavar="DATE", help="up to this UTC day, included")


def time_window(command: str, args: argparse.Namespace) -> TimeWindow | None:
    """The window of --since and --until, or None after saying why it is empty."""
    from linehaul.analysis.stats import TimeWindow

    try:
        return TimeWindow(args.since, args.until)
    except ValueError as error:
        print(f"linehaul {command}: --since/--until: {error}", file=sys.stderr)
        return None
