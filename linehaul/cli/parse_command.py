"""``linehaul parse``: log files → NDJSON per table, plus every line that gives no row, kept verbatim."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from linehaul.convert import Converted, Converter
from linehaul.logfiles import LogFileError, read_blocks

__all__ = ["OUTPUT_FILES", "ParseSummary", "parse_files", "register"]

OUTPUT_FILES = {
    "downloads": "file_downloads.ndjson",
    "simple": "simple_requests.ndjson",
    "unprocessed": "unprocessed.log",
    "ignored": "ignored.log",
    "reasons": "unprocessed.reasons.ndjson",
}

_DESCRIPTION = """\
Parse CDN log files (gzip or plain, recognised by content; - for stdin) and write, in input order:

  DIR/file_downloads.ndjson       one row per file download (BigQuery NDJSON, schemas/file_downloads.json)
  DIR/simple_requests.ndjson      one row per simple-index request (schemas/simple_requests.json)
  DIR/unprocessed.log             every line that is not a valid event, byte for byte as read
  DIR/unprocessed.reasons.ndjson  why, for each of those lines: {"file", "line", "field", "reason"}
  DIR/ignored.log                 valid lines whose user agent production Linehaul drops (bots, monitors)

Every input line lands in exactly one of the four .log/.ndjson outputs. A one-line summary follows.
Exit status: 0 when every file was read to its end, 1 when a file was missing or damaged (the lines
read before the damage are still written), 2 on a usage error.
"""


@dataclass(frozen=True, slots=True)
class ParseSummary:
    """Counts of one ``linehaul parse`` run, and the files that could not be read to their end."""

    lines: int
    file_downloads: int
    simple_requests: int
    unprocessed: int
    ignored: int
    seconds: float
    failures: tuple[LogFileError, ...] = ()

    def line(self) -> str:
        rate = self.lines / self.seconds if self.seconds > 0 else 0.0
        return (
            f"lines={self.lines} file_downloads={self.file_downloads} simple_requests={self.simple_requests} "
            f"unprocessed={self.unprocessed} ignored={self.ignored} seconds={self.seconds:.2f} "
            f"lines_per_second={rate:.0f}"
        )


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "parse",
        help="parse log files into NDJSON rows",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="log files (.log, .log.gz, ...) or - for stdin"
    )
    parser.add_argument("-o", "--output-dir", required=True, type=Path, metavar="DIR", help="where to write")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    missing = [path for path in args.files if path != "-" and not os.path.isfile(path)]
    if missing:
        for path in missing:
            reason = "no such file" if not os.path.exists(path) else "not a regular file"
            print(f"linehaul parse: {path}: {reason}", file=sys.stderr)
        return 2
    try:
        summary = parse_files(args.files, args.output_dir)
    except OSError as error:
        print(
            f"linehaul parse: cannot write to {args.output_dir}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    for failure in summary.failures:
        print(f"linehaul parse: {failure}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.failures else 0


def _write_reasons(out: BinaryIO, path: str, offset: int, converted: Converted) -> None:
    records = (
        json.dumps({"file": path, "line": offset + number, "field": error.field, "reason": error.reason})
        for number, _, error in converted.unprocessed
    )
    out.write(("\n".join(records) + "\n").encode())


def parse_files(paths: Sequence[str], output_dir: Path) -> ParseSummary:
    """Parse ``paths`` in order into the files of :data:`OUTPUT_FILES` under ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    converter = Converter()
    counts = dict.fromkeys(("lines", "downloads", "simple", "unprocessed", "ignored"), 0)
    failures: list[LogFileError] = []
    with ExitStack() as stack:
        outputs = {
            key: stack.enter_context(open(output_dir / name, "wb", buffering=1 << 20))
            for key, name in OUTPUT_FILES.items()
        }
        for path in paths:
            offset = 0
            try:
                for block in read_blocks(path):
                    converted = Converted()
                    converter.convert_block(block, converted)
                    for key in ("downloads", "simple"):
                        rows: list[str] = getattr(converted, key)
                        if rows:
                            outputs[key].write(("\n".join(rows) + "\n").encode())
                        counts[key] += len(rows)
                    if converted.unprocessed:
                        outputs["unprocessed"].write(
                            b"".join(raw + b"\n" for _, raw, _ in converted.unprocessed)
                        )
                        _write_reasons(outputs["reasons"], path, offset, converted)
                    if converted.ignored:
                        outputs["ignored"].write(b"".join(raw + b"\n" for raw in converted.ignored))
                    counts["unprocessed"] += len(converted.unprocessed)
                    counts["ignored"] += len(converted.ignored)
                    offset += converted.lines
            except LogFileError as failure:
                failures.append(failure)
            counts["lines"] += offset
    return ParseSummary(
        lines=counts["lines"],
        file_downloads=counts["downloads"],
        simple_requests=counts["simple"],
        unprocessed=counts["unprocessed"],
        ignored=counts["ignored"],
        seconds=time.perf_counter() - started,
        failures=tuple(failures),
    )
