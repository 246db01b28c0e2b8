"""Converting one block of log lines: the codecs that shape its rows, and the path that converts it.

A :class:`RowCodec` says what a block's rows become (NDJSON bytes, Arrow tables, ...) and how they travel
from a worker process; :func:`block_converter` picks, for a codec, the columnar path
(:mod:`linehaul.columnar`, where pyarrow is installed and the codec takes its rows) or the line converter
(:class:`~linehaul.convert.Converter`); either gives the same :class:`BlockResult`.
:mod:`linehaul.logs.parallel` runs them over many files, on one process or several.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from linehaul import columnar
from linehaul.convert import Converter
from linehaul.converted import Converted, UnprocessedLine
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import BLOCK_SIZE
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.columnar.converter import ColumnarConverter, TableRows

__all__ = [
    "COLUMNAR_NDJSON",
    "NDJSON",
    "BlockConverter",
    "BlockResult",
    "ColumnarPathWarning",
    "RowCodec",
    "block_converter",
    "convert_block",
    "convert_columnar_block",
    "encode_ndjson",
]

Rows = TypeVar("Rows")


class ColumnarPathWarning(RuntimeWarning):
    """The columnar path failed on a block, which the line converter then converted (a bug to report)."""


@dataclass(frozen=True, slots=True)
class RowCodec(Generic[Rows]):
    """How the rows of a block become what the caller writes, and how they travel from a worker.

    ``to_rows(table, lines)`` turns a block's NDJSON lines for ``table`` into ``Rows``; ``to_bytes`` and
    ``from_bytes(table, data)`` carry them through a spool file; ``from_columnar(table, rows)``, if given,
    makes ``Rows`` from the columnar path's rows (:class:`~linehaul.columnar.converter.TableRows`), which
    is then used where it can run (:func:`linehaul.columnar.available`). All must be module-level
    functions (workers receive them by name).
    """

    to_rows: Callable[[Table, list[str]], Rows]
    to_bytes: Callable[[Rows], bytes]
    from_bytes: Callable[[Table, bytes], Rows]
    from_columnar: Callable[[Table, TableRows], Rows] | None = None


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


NDJSON = RowCodec(encode_ndjson, _same_bytes, _table_bytes)
"""Rows as NDJSON bytes, ready to append to a ``.ndjson`` file, made by the line converter. The columnar
path converts blocks to NDJSON with 15-31% less CPU, but whole ``parse`` runs and ingests were no faster on
it (its page faults and set-up eat the saving), at 2.5 times the memory (benchmarks/README.md); it is Arrow
rows that it makes twice as fast."""

COLUMNAR_NDJSON = RowCodec(encode_ndjson, _same_bytes, _table_bytes, _columnar_ndjson)
"""The same NDJSON bytes, made by the columnar path where it can run: what the benchmarks and the
equivalence tests compare with :data:`NDJSON`."""


@dataclass(frozen=True, slots=True)
class BlockResult(Generic[Rows]):
    """What one block of a file became: rows per table, unprocessed lines (numbered within the block) and
    ignored lines, and the counts of all of them."""

    path: str
    counts: ReadCounts
    downloads: Rows
    simple: Rows
    unprocessed: tuple[UnprocessedLine, ...]
    ignored: tuple[bytes, ...]
    earliest: str | None = None
    """The smallest row timestamp of the block (RFC 3339 text), if it has rows."""

    def rows(self, table: Table) -> Rows:
        """The rows of ``table``."""
        return self.downloads if table is Table.FILE_DOWNLOADS else self.simple


def convert_block(
    converter: Converter, path: str, block: bytes, to_rows: Callable[[Table, list[str]], Rows]
) -> BlockResult[Rows]:
    """Convert one block of ``path`` with ``converter``; ``to_rows`` makes each table's rows (a line whose
    rows it fails on is kept as unprocessed: :meth:`~linehaul.convert.Converter.convert_encoded`)."""

    def encode(out: Converted) -> tuple[Rows, Rows]:
        return to_rows(Table.FILE_DOWNLOADS, out.downloads), to_rows(Table.SIMPLE_REQUESTS, out.simple)

    out, (downloads, simple) = converter.convert_encoded(block, encode)
    return BlockResult(
        path=path,
        counts=ReadCounts.of(out),
        downloads=downloads,
        simple=simple,
        unprocessed=tuple(out.unprocessed),
        ignored=tuple(out.ignored),
        earliest=out.earliest,
    )


def convert_columnar_block(
    converter: ColumnarConverter,
    path: str,
    block: bytes,
    codec: RowCodec[Rows],
) -> BlockResult[Rows]:
    """:func:`convert_block` on the columnar path: the same result, by way of ``codec.from_columnar``.

    Should the columnar path raise on a block (a bug), a :class:`ColumnarPathWarning` says so and the
    block is converted by the line converter, which keeps a line it fails on as unprocessed.
    """
    from_columnar = codec.from_columnar
    assert from_columnar is not None  # block_converter takes the columnar path only for such a codec
    try:
        out = converter.convert_block(block)
        downloads, simple = out.rows[Table.FILE_DOWNLOADS], out.rows[Table.SIMPLE_REQUESTS]
        result = BlockResult(
            path=path,
            counts=ReadCounts(
                lines=out.lines,
                file_downloads=len(downloads),
                simple_requests=len(simple),
                unprocessed=len(out.unprocessed),
                ignored=len(out.ignored),
                internal_errors=sum(1 for line in out.unprocessed if line.internal),
            ),
            downloads=from_columnar(Table.FILE_DOWNLOADS, downloads),
            simple=from_columnar(Table.SIMPLE_REQUESTS, simple),
            unprocessed=tuple(out.unprocessed),
            ignored=tuple(out.ignored),
            earliest=out.earliest,
        )
    except MemoryError:
        raise
    except Exception as error:
        message = (
            f"the columnar path failed on a block of {path} ({type(error).__name__}: {error}); "
            "the line converter converted it instead (a bug of linehaul's, please report it)"
        )
        warnings.warn(message, ColumnarPathWarning, stacklevel=2)
        return convert_block(converter.line_converter, path, block, codec.to_rows)
    return result


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
    if codec.from_columnar is not None and columnar.available():
        from linehaul.columnar.converter import ColumnarConverter

        fast = ColumnarConverter(line)
        return BlockConverter(
            lambda path, block: convert_columnar_block(fast, path, block, codec), columnar.BLOCK_SIZE
        )
    return BlockConverter(lambda path, block: convert_block(line, path, block, codec.to_rows), BLOCK_SIZE)
