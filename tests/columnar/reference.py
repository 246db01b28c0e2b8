"""The columnar path held to the line converter and to ``dumps_row(to_row(parse_line(line)))``: what each
gives for a block, in one comparable shape."""

from __future__ import annotations

from dataclasses import dataclass

from linehaul import Converted, Converter, Download, Ignored, LineError, dumps_row, parse_line, to_row
from linehaul.columnar.converter import ColumnarBlock, ColumnarConverter
from linehaul.tables import Table


@dataclass(frozen=True)
class Outcome:
    """Everything a block became: rows (NDJSON bytes) per table, rejected lines with their reasons,
    ignored lines, the line count and the earliest row timestamp."""

    lines: int
    rows: dict[Table, bytes]
    unprocessed: list[tuple[int, bytes, str, str]]
    ignored: list[bytes]
    earliest: str | None


def _ndjson(rows: list[str]) -> bytes:
    return ("\n".join(rows) + "\n").encode() if rows else b""


def line_outcome(block: bytes, converter: Converter | None = None) -> Outcome:
    """What the line converter gives for ``block``."""
    out = Converted()
    (converter or Converter()).convert_block(block, out)
    return Outcome(
        lines=out.lines,
        rows={table: _ndjson(out.rows(table)) for table in Table},
        unprocessed=[(line.number, line.raw, line.field, line.reason) for line in out.unprocessed],
        ignored=list(out.ignored),
        earliest=out.earliest,
    )


def columnar_outcome(block: bytes, converter: ColumnarConverter | None = None) -> Outcome:
    """What the columnar converter gives for ``block``."""
    out: ColumnarBlock = (converter or ColumnarConverter()).convert_block(block)
    return Outcome(
        lines=out.lines,
        rows={table: out.rows[table].ndjson() for table in Table},
        unprocessed=[(line.number, line.raw, line.field, line.reason) for line in out.unprocessed],
        ignored=list(out.ignored),
        earliest=out.earliest,
    )


def library_outcome(lines: list[bytes]) -> Outcome:
    """What ``parse_line`` and ``dumps_row(to_row(...))`` give for each line (the earliest left out)."""
    rows: dict[Table, list[str]] = {table: [] for table in Table}
    unprocessed, ignored = [], []
    for number, raw in enumerate(lines, 1):
        try:
            outcome = parse_line(raw)
        except LineError as error:
            unprocessed.append((number, raw, error.field, error.reason))
            continue
        if isinstance(outcome, Ignored):
            ignored.append(raw)
        else:
            table = Table.FILE_DOWNLOADS if isinstance(outcome, Download) else Table.SIMPLE_REQUESTS
            rows[table].append(dumps_row(to_row(outcome)))
    return Outcome(len(lines), {t: _ndjson(r) for t, r in rows.items()}, unprocessed, ignored, None)
