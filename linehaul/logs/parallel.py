"""Converting many log files block by block, on one process or several, with results in input order.

:func:`convert_files` reads the files in order (gzip or plain, ``-`` for stdin) in blocks of whole lines
and converts each block (:mod:`linehaul.logs.blocks`: the columnar path where pyarrow is installed and the
codec takes its rows, else a :class:`~linehaul.convert.Converter`, the same rows line by line), then hands
its rows to a :class:`RowCodec` that turns them into what the caller writes (NDJSON bytes, an Arrow table,
...). Results come in input order, so everything written from them is the same byte for byte whatever
``jobs``.

With ``jobs > 1``, ``jobs`` worker processes each read every file themselves (decompressing is cheap next
to converting) and convert every ``jobs``-th block, keeping their own converter (and caches) for their
life: one big file keeps every worker busy, and so do many files. Workers append the encoded rows of a
block to spool files of their own and send the caller only where they are, with the block's counts and
its unprocessed and ignored lines; the caller reads the rows back in block order. Moving rows through
files rather than pipes and pickles is what makes the extra processes pay off. Stdin can be read only
once, so input that includes ``-`` is converted in this process.

For a question about some projects, a :class:`~linehaul.logs.narrow.ProjectLines` leaves out every line
that cannot hold one of their rows before converting (in this process: what is left is little).

A file that cannot be read to its end gives its blocks up to the damage, then its
:class:`~linehaul.logs.files.LogFileError` as an item of the stream, and the next file follows.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import tempfile
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from linehaul.logs.blocks import BlockResult, RowCodec, block_converter
from linehaul.logs.files import STDIN, LogFileError, read_blocks
from linehaul.logs.narrow import ProjectLines, count_lines
from linehaul.tables import Table

__all__ = ["convert_files"]

Rows = TypeVar("Rows")
_POLL_SECONDS = 0.5
_SEARCHED_BLOCK_SIZE = 4 << 20
"""The blocks searched for a narrowed read: few calls a file, the memory of a few blocks."""
_NARROWED_LINES_A_RESULT = 200_000
"""A narrowed read gives a result at least every so many lines read, however few it kept: progress shows."""


def _blocks(paths: Sequence[str], size: int) -> Iterator[tuple[str, bytes] | LogFileError]:
    """Every block of every file in order; a file that fails gives its error after its blocks."""
    for path in paths:
        try:
            for block in read_blocks(path, size):
                yield path, block
        except LogFileError as failure:
            yield failure


def convert_files(
    paths: Sequence[str], codec: RowCodec[Rows], *, jobs: int = 1, narrow: ProjectLines | None = None
) -> Iterator[BlockResult[Rows] | LogFileError]:
    """The blocks of ``paths`` converted, in input order, on ``jobs`` processes (see the module).

    With ``narrow``, only the lines it keeps are converted (see :func:`_narrowed_blocks`), in this
    process whatever ``jobs``: what is left to convert is little, and each worker would search every block."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if narrow is not None:
        yield from _narrowed(paths, codec, narrow)
        return
    if jobs == 1 or STDIN in paths:
        converter = block_converter(codec)
        for item in _blocks(paths, converter.block_size):
            yield item if isinstance(item, LogFileError) else converter.convert(*item)
        return
    with tempfile.TemporaryDirectory(prefix="linehaul-spool-") as spool:
        yield from _Workers(paths, codec, jobs, Path(spool)).results()


def _narrowed(
    paths: Sequence[str], codec: RowCodec[Rows], narrow: ProjectLines
) -> Iterator[BlockResult[Rows] | LogFileError]:
    """The lines that ``narrow`` keeps of each file, converted in blocks of about the converter's block
    size, the lines kept of many blocks joined (a converter pays a fixed cost a block, the columnar path
    most). The lines left out count as lines read and nowhere else; the results give no unprocessed or
    ignored lines (their places in the file are lost)."""
    converter = block_converter(codec)
    for item in _narrowed_blocks(paths, converter.block_size, narrow):
        if isinstance(item, LogFileError):
            yield item
            continue
        path, kept, lines = item
        result = converter.convert(path, kept)
        yield replace(result, counts=replace(result.counts, lines=lines), unprocessed=(), ignored=())


def _narrowed_blocks(
    paths: Sequence[str], size: int, narrow: ProjectLines
) -> Iterator[tuple[str, bytes, int] | LogFileError]:
    """The lines ``narrow`` keeps of each file, in blocks of about ``size`` bytes (never two files in
    one), each with the number of lines read for it; a file that fails gives its error after its lines."""
    for path in paths:
        kept: list[bytes] = []
        held = lines = 0
        try:
            for block in read_blocks(path, max(size, _SEARCHED_BLOCK_SIZE)):
                piece = narrow.keep(block)
                kept.append(piece)
                held, lines = held + len(piece), lines + count_lines(block)
                if held >= size or lines >= _NARROWED_LINES_A_RESULT:
                    yield path, b"".join(kept), lines
                    kept, held, lines = [], 0, 0
        except LogFileError as failure:
            if lines:
                yield path, b"".join(kept), lines
            yield failure
            continue
        if lines:
            yield path, b"".join(kept), lines


Span = tuple[int, int]
"""Where a block's rows of one table are in a worker's spool file: (offset, length)."""


@dataclass(frozen=True, slots=True)
class _Spooled:
    """A worker converted block ``index``; its rows are at the result's spans in the worker's spool files."""

    index: int
    worker: int
    result: BlockResult[Span]


@dataclass(frozen=True, slots=True)
class _FileFailed:
    """A file could not be read to its end; ``before`` is the index of the block after its last one."""

    before: int
    failure: LogFileError


@dataclass(frozen=True, slots=True)
class _WorkerDone:
    """A worker went through every file: ``blocks`` is the number of blocks in all of them."""

    worker: int
    blocks: int


@dataclass(frozen=True, slots=True)
class _WorkerCrashed:
    worker: int
    trace: str


_Message = _Spooled | _FileFailed | _WorkerDone | _WorkerCrashed


def _work(
    number: int, jobs: int, paths: Sequence[str], codec: RowCodec[Any], spool: Path, messages: Any
) -> None:
    """A worker: convert every ``jobs``-th block from the ``number``-th, append rows to the spool files."""
    try:
        with ExitStack() as stack:
            files = {
                table: stack.enter_context(open(spool / f"{number}.{table.value}", "ab")) for table in Table
            }
            _spool_blocks(number, jobs, paths, codec, files, messages)
    except KeyboardInterrupt:
        pass  # the caller was interrupted too and says so
    except BaseException:
        messages.put(_WorkerCrashed(number, traceback.format_exc()))


def _spool_blocks(
    number: int,
    jobs: int,
    paths: Sequence[str],
    codec: RowCodec[Any],
    files: Mapping[Table, BinaryIO],
    messages: Any,
) -> None:
    converter = block_converter(codec)
    index = 0
    for item in _blocks(paths, converter.block_size):
        if isinstance(item, LogFileError):
            if number == 0:  # every worker meets it at the same place: one tells
                messages.put(_FileFailed(index, item))
            continue
        if index % jobs == number:
            result = converter.convert(*item)
            spans: dict[Table, Span] = {}
            for table in Table:
                data = codec.to_bytes(result.rows(table))
                spans[table] = (files[table].tell(), len(data))
                files[table].write(data)
                files[table].flush()
            spooled = replace(
                result, downloads=spans[Table.FILE_DOWNLOADS], simple=spans[Table.SIMPLE_REQUESTS]
            )
            messages.put(_Spooled(index, number, spooled))
        index += 1
    messages.put(_WorkerDone(number, index))


class _Workers(Generic[Rows]):
    """Runs the worker processes and gives their results back in block order."""

    def __init__(self, paths: Sequence[str], codec: RowCodec[Rows], jobs: int, spool: Path) -> None:
        self._paths, self._codec, self._jobs, self._spool = list(paths), codec, jobs, spool
        # spawn, not fork: the caller may hold threads (Arrow's, DuckDB's) that a fork would copy mid-work
        self._context = multiprocessing.get_context("spawn")
        self._messages: Any = self._context.Queue()

    def results(self) -> Iterator[BlockResult[Rows] | LogFileError]:
        processes: list[BaseProcess] = []
        readers: dict[tuple[int, Table], int] = {}
        try:
            for number in range(self._jobs):
                for table in Table:
                    path = self._spool / f"{number}.{table.value}"
                    path.touch()
                    readers[number, table] = os.open(path, os.O_RDONLY)
                process: BaseProcess = self._context.Process(
                    target=_work,
                    args=(number, self._jobs, self._paths, self._codec, self._spool, self._messages),
                    name=f"linehaul-worker-{number}",
                    daemon=True,
                )
                process.start()
                processes.append(process)
            for item in self._in_order(processes):
                if isinstance(item, LogFileError):
                    yield item
                    continue
                spooled = item.result
                yield BlockResult(
                    path=spooled.path,
                    counts=spooled.counts,
                    downloads=self._read(readers, item.worker, Table.FILE_DOWNLOADS, spooled.downloads),
                    simple=self._read(readers, item.worker, Table.SIMPLE_REQUESTS, spooled.simple),
                    unprocessed=spooled.unprocessed,
                    ignored=spooled.ignored,
                    earliest=spooled.earliest,
                )
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join()
            for descriptor in readers.values():
                os.close(descriptor)
            self._messages.close()

    def _read(self, readers: dict[tuple[int, Table], int], worker: int, table: Table, span: Span) -> Rows:
        offset, length = span
        return self._codec.from_bytes(
            table, os.pread(readers[worker, table], length, offset) if length else b""
        )

    def _in_order(self, processes: list[BaseProcess]) -> Iterator[_Spooled | LogFileError]:
        arrived: dict[int, _Spooled] = {}
        failures: list[_FileFailed] = []
        finished: dict[int, int] = {}  # worker → number of blocks in all the files
        index = 0
        while True:
            while failures and failures[0].before <= index:
                yield failures.pop(0).failure
            if index in arrived:
                yield arrived.pop(index)
                index += 1
                continue
            if len(finished) == self._jobs and index >= max(finished.values()):
                yield from (failed.failure for failed in failures)
                return
            message = self._next_message(processes)
            if isinstance(message, _Spooled):
                arrived[message.index] = message
            elif isinstance(message, _FileFailed):
                failures.append(message)
            elif isinstance(message, _WorkerDone):
                finished[message.worker] = message.blocks
            else:
                raise RuntimeError(f"linehaul worker {message.worker} failed:\n{message.trace}")

    def _next_message(self, processes: list[BaseProcess]) -> _Message:
        while True:
            try:
                message: _Message = self._messages.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                dead = [process for process in processes if process.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"{dead[0].name} died (exit code {dead[0].exitcode})") from None
                continue
            return message
