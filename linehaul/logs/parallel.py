"""Converting many log files block by block, on one process or several, with results in input order.

:func:`convert_files` reads the files in order (gzip or plain, ``-`` for stdin) in blocks of whole lines
and converts each block with the columnar path (:mod:`linehaul.columnar`, where pyarrow is installed and
the codec takes its rows) or a :class:`~linehaul.convert.Converter` (the same rows, line by line), then
hands its rows to a :class:`RowCodec` that turns them into what the caller writes (NDJSON bytes, an Arrow
table, ...). Results come in input order: what is written from them is the same whatever ``jobs``.

With ``jobs > 1``, ``jobs`` worker processes each read every file themselves (decompressing is cheap next
to converting) and convert every ``jobs``-th block, keeping their own converter (and caches) for their
life: one big file keeps every worker busy, and so do many files. Workers append the encoded rows of a
block to spool files of their own and send the caller only where they are, with the block's counts and
its rejected and ignored lines; the caller reads the rows back in block order. Moving rows through
files rather than pipes and pickles is what makes the extra processes pay off. Stdin can be read only
once, so input that includes ``-`` is converted in this process.

A file that cannot be read to its end gives its blocks up to the damage, then its
:class:`~linehaul.logs.files.LogFileError` as an item of the stream, and the next file follows.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import tempfile
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, TypeVar

from linehaul import columnar
from linehaul.convert import Converted, Converter, RejectedLine
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import BLOCK_SIZE, STDIN, LogFileError, read_blocks
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.columnar.converter import ColumnarConverter, TableRows

__all__ = [
    "LINE_NDJSON",
    "NDJSON",
    "BlockConverter",
    "BlockResult",
    "RowCodec",
    "block_converter",
    "convert_block",
    "convert_columnar_block",
    "convert_files",
    "encode_ndjson",
]

Rows = TypeVar("Rows")
_POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class RowCodec(Generic[Rows]):
    """How the rows of a block become what the caller writes, and how they travel from a worker.

    ``to_rows(table, lines)`` turns a block's NDJSON lines for ``table`` into ``Rows``; ``to_bytes`` and
    ``from_bytes(table, data)`` carry them through a spool file; ``from_columnar(table, rows)``, if given,
    makes ``Rows`` from the columnar path's rows (:class:`~linehaul.columnar.converter.TableRows`), which
    is then used where it can run (:func:`linehaul.columnar.available`) for blocks of at least
    ``columnar_from`` bytes (smaller ones go to the line converter). All must be module-level functions
    (workers receive them by name).
    """

    to_rows: Callable[[Table, list[str]], Rows]
    to_bytes: Callable[[Rows], bytes]
    from_bytes: Callable[[Table, bytes], Rows]
    from_columnar: Callable[[Table, TableRows], Rows] | None = None
    columnar_from: int = 0


def encode_ndjson(table: Table, lines: list[str]) -> bytes:
    """The rows as the bytes of an NDJSON file (one row a line, each ending with a newline)."""
    del table  # the same encoding for both tables
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _same_bytes(data: bytes) -> bytes:
    return data


def _table_bytes(table: Table, data: bytes) -> bytes:
    del table
    return data


def _columnar_ndjson(table: Table, rows: TableRows) -> bytes:
    del table
    return rows.ndjson()


NDJSON = RowCodec(encode_ndjson, _same_bytes, _table_bytes, _columnar_ndjson, columnar_from=1 << 20)
"""Rows as NDJSON bytes, ready to append to a ``.ndjson`` file: by the columnar path where it runs, for
blocks of 1 MiB or more (on smaller ones it is slower: benchmarks/README.md), else by the line converter."""

LINE_NDJSON = RowCodec(encode_ndjson, _same_bytes, _table_bytes)
"""The same NDJSON bytes, always by the line converter: what tests and benchmarks compare NDJSON with."""


@dataclass(frozen=True, slots=True)
class BlockResult(Generic[Rows]):
    """What one block of a file became: rows per table, rejected lines (numbered within the block) and
    ignored lines, and the counts of all of them."""

    path: str
    counts: ReadCounts
    downloads: Rows
    simple: Rows
    rejected: tuple[RejectedLine, ...]
    ignored: tuple[bytes, ...]
    earliest: str | None = None
    """The smallest row timestamp of the block (RFC 3339 text), if it has rows."""

    def rows(self, table: Table) -> Rows:
        """The rows of ``table``."""
        return self.downloads if table is Table.FILE_DOWNLOADS else self.simple


def convert_block(
    converter: Converter, path: str, block: bytes, to_rows: Callable[[Table, list[str]], Rows]
) -> BlockResult[Rows]:
    """Convert one block of ``path`` with ``converter``; ``to_rows`` makes each table's rows."""
    out = Converted()
    converter.convert_block(block, out)
    return BlockResult(
        path=path,
        counts=ReadCounts.of(out),
        downloads=to_rows(Table.FILE_DOWNLOADS, out.downloads),
        simple=to_rows(Table.SIMPLE_REQUESTS, out.simple),
        rejected=tuple(out.unprocessed),
        ignored=tuple(out.ignored),
        earliest=out.earliest,
    )


def convert_columnar_block(
    converter: ColumnarConverter,
    path: str,
    block: bytes,
    from_columnar: Callable[[Table, TableRows], Rows],
) -> BlockResult[Rows]:
    """:func:`convert_block` on the columnar path: the same result, by way of ``from_columnar``."""
    out = converter.convert_block(block)
    downloads, simple = out.rows[Table.FILE_DOWNLOADS], out.rows[Table.SIMPLE_REQUESTS]
    return BlockResult(
        path=path,
        counts=ReadCounts(
            lines=out.lines,
            file_downloads=len(downloads),
            simple_requests=len(simple),
            unprocessed=len(out.unprocessed),
            ignored=len(out.ignored),
        ),
        downloads=from_columnar(Table.FILE_DOWNLOADS, downloads),
        simple=from_columnar(Table.SIMPLE_REQUESTS, simple),
        rejected=tuple(out.unprocessed),
        ignored=tuple(out.ignored),
        earliest=out.earliest,
    )


@dataclass(frozen=True, slots=True)
class BlockConverter(Generic[Rows]):
    """``convert(path, block)`` → the block's :class:`BlockResult`, for blocks of about ``block_size``
    bytes (the size its converter runs best with; any block is converted right)."""

    convert: Callable[[str, bytes], BlockResult[Rows]]
    block_size: int


def block_converter(codec: RowCodec[Rows], converter: Converter | None = None) -> BlockConverter[Rows]:
    """Blocks converted for ``codec`` by one converter that keeps its caches: the columnar path's where it
    can run and the codec takes its rows, else ``converter`` (a new :class:`~linehaul.convert.Converter`
    if None), which the columnar path also uses for the lines it leaves to it. The results are the same
    either way."""
    line = converter if converter is not None else Converter()
    from_columnar, smallest = codec.from_columnar, codec.columnar_from
    if from_columnar is not None and columnar.available():
        from linehaul.columnar.converter import ColumnarConverter

        fast = ColumnarConverter(line)

        def either(path: str, block: bytes) -> BlockResult[Rows]:
            if len(block) < smallest:
                return convert_block(line, path, block, codec.to_rows)
            return convert_columnar_block(fast, path, block, from_columnar)

        return BlockConverter(either, columnar.BLOCK_SIZE)
    return BlockConverter(lambda path, block: convert_block(line, path, block, codec.to_rows), BLOCK_SIZE)


def _blocks(paths: Sequence[str], size: int) -> Iterator[tuple[str, bytes] | LogFileError]:
    """Every block of every file in order; a file that fails gives its error after its blocks."""
    for path in paths:
        try:
            for block in read_blocks(path, size):
                yield path, block
        except LogFileError as failure:
            yield failure


def convert_files(
    paths: Sequence[str], codec: RowCodec[Rows], *, jobs: int = 1
) -> Iterator[BlockResult[Rows] | LogFileError]:
    """The blocks of ``paths`` converted, in input order, on ``jobs`` processes (see the module)."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if jobs == 1 or STDIN in paths:
        converter = block_converter(codec)
        for item in _blocks(paths, converter.block_size):
            yield item if isinstance(item, LogFileError) else converter.convert(*item)
        return
    with tempfile.TemporaryDirectory(prefix="linehaul-spool-") as spool:
        yield from _Workers(paths, codec, jobs, Path(spool)).results()


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
                    rejected=spooled.rejected,
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
