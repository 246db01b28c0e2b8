"""``linehaul parse``: log files → NDJSON or Parquet per table, and every line that gives no row, verbatim."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, TypeVar

from linehaul.cli.inputs import add_input_arguments, input_paths, report_missing_extra
from linehaul.cli.progress import Progress
from linehaul.converted import reason_records
from linehaul.logs.blocks import NDJSON, RowCodec
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError
from linehaul.logs.parallel import convert_files
from linehaul.tables import Output, Table

if TYPE_CHECKING:  # the analysis extra: only --format parquet needs it
    from linehaul.analysis.parquet import ParquetTableWriter

__all__ = ["FORMATS", "OUTPUT_FILES", "ParseSummary", "parse_files", "register"]

FORMATS = ("ndjson", "parquet")
Format = Literal["ndjson", "parquet"]
Rows = TypeVar("Rows")
SinkRows = TypeVar("SinkRows", contravariant=True)

OUTPUT_FILES = {
    Output.DOWNLOADS: "file_downloads.ndjson",
    Output.SIMPLE: "simple_requests.ndjson",
    Output.UNPROCESSED: "unprocessed.log",
    Output.IGNORED: "ignored.log",
    Output.REASONS: "unprocessed.reasons.ndjson",
}
"""The file of each output in ``--output-dir`` (rows go to ``.parquet`` files with ``--format parquet``)."""

_DESCRIPTION = """\
Parse CDN log files (gzip or plain, recognised by content; globs; - for stdin) and write, in input order:

  DIR/file_downloads.ndjson       one row per file download (BigQuery NDJSON, schemas/file_downloads.json)
  DIR/simple_requests.ndjson      one row per simple-index request (schemas/simple_requests.json)
                                  (with --format parquet: DIR/file_downloads.parquet and
                                  DIR/simple_requests.parquet, nested columns as in schemas/)
  DIR/unprocessed.log             every line that is not a valid event, byte for byte as read
  DIR/unprocessed.reasons.ndjson  why, for each of those lines: {"file", "line", "field", "reason"}
  DIR/ignored.log                 valid lines whose user agent production Linehaul drops (bots, monitors)

Every input line lands in exactly one of the four outputs. A one-line summary follows. --jobs N converts
on N processes; the outputs are the same byte for byte as with --jobs 1. On a terminal, a progress line
shows lines read and lines/s on stderr (not when piped, nor with --quiet).
Exit status: 0 when every file was read to its end, 1 when a file was missing or damaged (the lines
read before the damage are still written) or linehaul failed on a line (a bug: that line is kept in
unprocessed.log with field "internal", stderr says so, the summary adds internal_errors=N), 2 on a usage
error.
"""


@dataclass(frozen=True, slots=True)
class ParseSummary:
    """Counts of one ``linehaul parse`` run, and the files that could not be read to their end."""

    counts: ReadCounts
    seconds: float
    failures: tuple[LogFileError, ...] = ()

    def line(self) -> str:
        rate = self.counts.lines / self.seconds if self.seconds > 0 else 0.0
        return f"{self.counts.line()} seconds={self.seconds:.2f} lines_per_second={rate:.0f}"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "parse",
        help="parse log files into NDJSON or Parquet rows",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("-o", "--output-dir", required=True, type=Path, metavar="DIR", help="where to write")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="ndjson",
        help="how to write the rows: ndjson (default, what BigQuery loads) or parquet (needs the "
        "analysis extra)",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    paths = input_paths("parse", args.files)
    if paths is None:
        return 2
    progress = Progress.on_terminal(files=len(paths), quiet=args.quiet)
    try:
        summary = parse_files(
            paths, args.output_dir, output_format=args.format, jobs=args.jobs, progress=progress.update
        )
    except ImportError as error:  # pyarrow missing: the analysis extra's MissingExtraError
        if args.format != "parquet":
            raise
        return report_missing_extra("parse", error)
    except OSError as error:
        print(
            f"linehaul parse: cannot write to {args.output_dir}: {error.strerror or error}", file=sys.stderr
        )
        return 1
    finally:
        progress.finish()
    for failure in summary.failures:
        print(f"linehaul parse: {failure}", file=sys.stderr)
    internal = summary.counts.internal_errors_message()
    if internal is not None:
        print(f"linehaul parse: {internal}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.failures or internal is not None else 0


class _RowSink(Protocol[SinkRows]):
    def write(self, rows: SinkRows, /) -> Any: ...


def parse_files(
    paths: Sequence[str],
    output_dir: Path,
    *,
    output_format: Format = "ndjson",
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ParseSummary:
    """Parse ``paths`` in order into the files of :data:`OUTPUT_FILES` under ``output_dir``.

    With ``output_format="parquet"`` the two tables go to ``.parquet`` files instead (pyarrow needed).
    ``jobs`` processes convert in parallel; the outputs do not depend on it. ``progress(lines, file
    number)`` is called after each block.
    """
    if output_format == "parquet":
        from linehaul.analysis.arrow import ARROW
        from linehaul.analysis.parquet import ParquetTableWriter, parquet_path

        def parquet_sinks(stack: ExitStack) -> tuple[ParquetTableWriter, ParquetTableWriter]:
            downloads, simple = (
                stack.enter_context(ParquetTableWriter(parquet_path(output_dir, table), table))
                for table in Table
            )
            return downloads, simple

        return _parse(paths, output_dir, ARROW, parquet_sinks, jobs, progress)

    def ndjson_sinks(stack: ExitStack) -> tuple[BinaryIO, BinaryIO]:
        downloads, simple = (_open(stack, output_dir, output) for output in Output.of_rows())
        return downloads, simple

    return _parse(paths, output_dir, NDJSON, ndjson_sinks, jobs, progress)


def _parse(
    paths: Sequence[str],
    output_dir: Path,
    codec: RowCodec[Rows],
    open_sinks: Callable[[ExitStack], tuple[_RowSink[Rows], _RowSink[Rows]]],
    jobs: int,
    progress: Callable[[int, int], None] | None,
) -> ParseSummary:
    output_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    counts = ReadCounts()
    failures: list[LogFileError] = []
    offsets = dict.fromkeys(paths, 0)  # lines of each file already read: line numbers of the reasons
    file_numbers = {path: number for number, path in enumerate(paths, 1)}
    with ExitStack() as stack:
        downloads, simple = open_sinks(stack)
        unprocessed, reasons, ignored = (
            _open(stack, output_dir, output)
            for output in (Output.UNPROCESSED, Output.REASONS, Output.IGNORED)
        )
        for result in convert_files(paths, codec, jobs=jobs):
            if isinstance(result, LogFileError):
                failures.append(result)
                continue
            downloads.write(result.downloads)
            simple.write(result.simple)
            if result.unprocessed:
                unprocessed.write(b"".join(line.raw + b"\n" for line in result.unprocessed))
                reasons.write(reason_records(result.unprocessed, offsets[result.path], file=result.path))
            if result.ignored:
                ignored.write(b"".join(raw + b"\n" for raw in result.ignored))
            offsets[result.path] += result.counts.lines
            counts += result.counts
            if progress is not None:
                progress(counts.lines, file_numbers[result.path])
    return ParseSummary(counts, time.perf_counter() - started, tuple(failures))


def _open(stack: ExitStack, output_dir: Path, output: Output) -> BinaryIO:
    return stack.enter_context(open(output_dir / OUTPUT_FILES[output], "wb", buffering=1 << 20))
