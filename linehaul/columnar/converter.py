"""The columnar converter: a block of log lines → rows per table, a whole block at a time, with Arrow.

For a block, :class:`ColumnarConverter` (each step one Arrow kernel over every line, none in Python):

1. splits the block into lines; a line that is not UTF-8 goes to the line converter;
2. keeps the lines whose head matches :mod:`linehaul.columnar._rules` (the field rules, as one regular
   expression) and whose agent has no tab; every other line goes to the line converter;
3. splits the kept lines of each kind into fields, cuts the file name out of a download's URL and the project
   out of a simple request's, and makes the nullable fields null;
4. classifies each *distinct* agent of the block once, in Python, through the line converter's own cached
   classification (:meth:`linehaul.convert.Converter.agent_details`), and each distinct day once
   (:func:`linehaul._fields.day_text`), and joins the answers back by dictionary index: a line whose agent is
   ignored is kept as ignored, one whose agent or day the converter must judge goes to it;
5. leaves the rows columnar (:class:`TableRows`): NDJSON bytes or an Arrow record batch, on demand, both
   assembled from the table's column list (:mod:`linehaul.columnar._rows`).

Lines sent to the line converter (:class:`linehaul.convert.Converter`) go one at a time, and their rows
join the others at their place: every line's outcome, reason and row are exactly the line converter's.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as compute
import pyarrow.json as pa_json

from linehaul._fields import NULL, day_text, json_text
from linehaul.columnar._details import DetailsRecords
from linehaul.columnar._rows import (
    Array,
    Coded,
    Details,
    Record,
    Text,
    Timestamp,
    Value,
    arrow_rows,
    ndjson_rows,
    values_of,
)
from linehaul.columnar._rules import DATE_AT, DOWNLOAD_HEAD, SIMPLE_HEAD
from linehaul.columnar.arrow_schema import arrow_schema_of
from linehaul.convert import Converter
from linehaul.converted import Converted, UnprocessedLine
from linehaul.rows import RowFormat
from linehaul.tables import Table

pc: Any = compute  # pyarrow-stubs' overloads refuse the Python scalars that Arrow's functions take

__all__ = ["ColumnarBlock", "ColumnarConverter", "TableRows"]

_HEAD = f"(?:{DOWNLOAD_HEAD})|(?:{SIMPLE_HEAD})"
_ROW, _IGNORED, _SLOW = 0, 1, 2  # what a distinct agent gives a line of the fast path
_INT32 = struct.Struct("<ii")
_INT32_ONE = struct.Struct("<i")


@dataclass(slots=True)
class TableRows:
    """The rows of one table from one block, in input order: those the columnar path made (``values``
    of ``count`` rows, from the lines at ``positions``) and those the line converter made (``others``:
    ``(position, NDJSON line)``)."""

    row_format: RowFormat
    count: int = 0
    values: Mapping[str, Value] = field(default_factory=dict)
    positions: Array | None = None
    others: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return self.count + len(self.others)

    def _order(self) -> Array | None:
        """Where each row goes among the columnar rows followed by the others; None if already in order."""
        if not self.others:
            return None
        others = pa.array([position for position, _ in self.others], pa.int64())
        positions = others if self.positions is None else pa.concat_arrays([self.positions, others])
        order: Array = pc.sort_indices(positions)
        return order

    def ndjson_array(self) -> Array:
        """Each row's NDJSON line with its newline, as a string array."""
        columns = self.row_format.columns
        texts = [ndjson_rows(columns, self.values, self.count)] if self.count else []
        if self.others:
            texts.append(pa.array([line + "\n" for _, line in self.others], pa.string()))
        if not texts:
            return pa.array([], pa.string())
        joined = texts[0] if len(texts) == 1 else pa.concat_arrays(texts)
        order = self._order()
        return joined if order is None else joined.take(order)

    def ndjson(self) -> bytes:
        """The rows as the bytes of an NDJSON file, exactly as the line converter's rows joined."""
        rows = self.ndjson_array()
        if not len(rows):
            return b""
        _, offsets, data = rows.buffers()
        if offsets is None or data is None:
            return b""
        (start,) = _INT32_ONE.unpack_from(offsets, 4 * rows.offset)
        (end,) = _INT32_ONE.unpack_from(offsets, 4 * (rows.offset + len(rows)))
        return data[start:end].to_pybytes()

    def arrow(self) -> pa.Table:
        """The rows as an Arrow table with the schema of the table's columns, in one chunk."""
        columns = self.row_format.columns
        schema = arrow_schema_of(columns)
        tables = (
            [pa.Table.from_batches([arrow_rows(columns, self.values, self.count, schema)])]
            if self.count
            else []
        )
        if self.others:
            data = "".join(line + "\n" for _, line in self.others).encode()
            read = pa_json.read_json(
                io.BytesIO(data),
                read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
                parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
            )
            tables.append(pa.Table.from_arrays(read.columns, schema=schema))  # the schema's own fields
        if not tables:
            return schema.empty_table()
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
        order = self._order()
        return table if order is None else table.take(order)


@dataclass(slots=True)
class ColumnarBlock:
    """What one block of lines became (see :class:`linehaul.converted.Converted`): ``rows`` per table,
    ``unprocessed`` (numbered from 1 within the block), ``ignored`` lines, the earliest row timestamp."""

    lines: int
    rows: dict[Table, TableRows]
    unprocessed: list[UnprocessedLine] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)
    earliest: str | None = None


class ColumnarConverter:
    """Converts blocks of log lines with Arrow, and the lines it is not sure of with ``converter`` (a
    :class:`~linehaul.convert.Converter`, whose row formats and agent cache it shares). Not thread-safe."""

    def __init__(self, converter: Converter | None = None) -> None:
        self._line = converter if converter is not None else Converter()
        self._formats = self._line.formats
        details = self._formats[Table.FILE_DOWNLOADS].column("details")
        self._records = None if details is None else DetailsRecords(arrow_schema_of([details]).field(0).type)

    @property
    def formats(self) -> Mapping[Table, RowFormat]:
        """The row format of each table (the line converter's)."""
        return self._formats

    @property
    def line_converter(self) -> Converter:
        """The line converter that takes the lines this one is not sure of."""
        return self._line

    def convert_block(self, block: bytes) -> ColumnarBlock:
        """Convert every line of ``block`` (lines end with ``\\n``; the last one may not)."""
        rows = {table: TableRows(self._formats[table]) for table in Table}
        if not block:
            return ColumnarBlock(0, rows)
        data = block[:-1] if block.endswith(b"\n") else block
        lines, broken = _lines(data)
        out = ColumnarBlock(len(lines), rows)
        texts = lines.view(pa.string())
        fast = pc.match_substring_regex(texts, _HEAD)  # RE2 reads bytes: no harm from a line not UTF-8
        if broken:
            fast = pc.and_(fast, pc.invert(_mask(len(lines), broken)))
        if b"\t" in data:
            fast = pc.and_(fast, pc.invert(pc.match_substring(texts, "\t")))
        downloads = pc.starts_with(texts, "d")
        slow: list[Array] = [pc.indices_nonzero(pc.invert(fast)).cast(pa.int64())]
        ignored: list[Array] = []
        earliest: list[str] = []
        for table, chosen in (
            (Table.FILE_DOWNLOADS, downloads),
            (Table.SIMPLE_REQUESTS, pc.invert(downloads)),
        ):
            selected = pc.and_(fast, chosen)
            positions = pc.indices_nonzero(selected).cast(pa.int64())
            if len(positions):
                self._fast_rows(table, texts.filter(selected), positions, out, slow, ignored, earliest)
        ignored_positions = self._slow_lines(lines, broken, pa.concat_arrays(slow), out, earliest)
        for positions in ignored:
            ignored_positions += values_of(positions)
        if ignored_positions:
            ignored_positions.sort()
            out.ignored = values_of(lines.take(pa.array(ignored_positions, pa.int64())))
        out.earliest = min(earliest, default=None)
        return out

    def _fast_rows(
        self,
        table: Table,
        lines: Array,
        positions: Array,
        out: ColumnarBlock,
        slow: list[Array],
        ignored: list[Array],
        earliest: list[str],
    ) -> None:
        """The rows of the lines of ``table`` that matched the rules (at ``positions`` in the block)."""
        parts = pc.split_pattern(lines, "|", max_splits=9)
        agents = pc.list_element(parts, 9).dictionary_encode()
        texts, outcomes = self._agents(agents.dictionary)
        at = DATE_AT[table.kind]  # the date is 'Thu, 07 Jan 2021 20:54:54 GMT', after '<kind>|'
        raw = lines.view(pa.binary())  # the head is ASCII: its bytes are its characters
        days = pc.binary_slice(raw, at + 5, at + 16).view(pa.string()).dictionary_encode()
        iso_days = [day_text(day) for day in values_of(days.dictionary)]
        time = pc.binary_slice(raw, at + 17, at + 25).view(pa.string())
        agent_indices, day_indices, keep = agents.indices, days.indices, None
        if outcomes is not None or None in iso_days:
            outcome = pc.take(outcomes, agent_indices) if outcomes is not None else _all_rows(len(lines))
            valid_day = pc.is_valid(pc.take(pa.array(iso_days, pa.string()), day_indices))
            keep = pc.and_(pc.equal(outcome, _ROW), valid_day)
            slow.append(pc.filter(positions, pc.or_(pc.equal(outcome, _SLOW), pc.invert(valid_day))))
            ignored.append(pc.filter(positions, pc.and_(pc.equal(outcome, _IGNORED), valid_day)))
            if not pc.any(keep).as_py():
                return
            agent_indices, day_indices = agent_indices.filter(keep), day_indices.filter(keep)
            positions, time = positions.filter(keep), time.filter(keep)

        def field(index: int) -> Array:
            values: Array = pc.list_element(parts, index)
            return values if keep is None else values.filter(keep)

        def coded(index: int, null: str | None = None) -> Coded:
            encoded = pc.list_element(parts, index).dictionary_encode()
            distinct = [None if value == null else value for value in values_of(encoded.dictionary)]
            indices = encoded.indices if keep is None else encoded.indices.filter(keep)
            return Coded(indices, [json_text(value) for value in distinct], pa.array(distinct, pa.string()))

        day = Coded(day_indices, [day or "" for day in iso_days], pa.array(iso_days, pa.string()))
        earliest.append(_earliest(day, time))
        url = field(3)
        values: dict[str, Value] = {
            "timestamp": Timestamp(day, time),
            "country_code": coded(2, ""),
            "url": Text(url),
            "tls_protocol": coded(4, NULL),
            "tls_cipher": coded(5, NULL),
            "details": Details(
                Coded(agent_indices, texts, agents.dictionary),
                lambda: self._details(texts, agent_indices),
            ),
        }
        if table is Table.FILE_DOWNLOADS:
            project = Text(field(6))
            filename = pc.list_element(pc.split_pattern(url, "/", max_splits=1, reverse=True), 1)
            values["project"] = project
            values["file"] = Record(
                {"filename": Text(filename), "project": project, "version": Text(field(7)), "type": coded(8)}
            )
        else:
            values["project"] = Text(pc.list_element(pc.split_pattern(url, "/", max_splits=3), 2))
        rows = out.rows[table]
        rows.count, rows.values, rows.positions = len(positions), values, positions

    def _agents(self, agents: Array) -> tuple[list[str], Array | None]:
        """Each distinct agent's details JSON text (``null`` but for rows) and outcome (_ROW, _IGNORED,
        _SLOW), or None for the outcomes when every one gives a row."""
        found = self._line.agents_details(values_of(agents))
        if all(type(details) is str for details in found):
            return found, None  # type: ignore[return-value]
        texts = [details if type(details) is str else "null" for details in found]
        outcomes = [
            _ROW if type(details) is str else _SLOW if details is None else _IGNORED for details in found
        ]
        return texts, pa.array(outcomes, pa.int8())

    def _details(self, texts: list[str], indices: Array) -> Array:
        """The details records of rows as Arrow (``texts`` as :meth:`_agents` gives them)."""
        if self._records is None:
            return pa.nulls(len(indices))
        return self._records.records(texts, indices)

    def _slow_lines(
        self,
        lines: Array,
        broken: dict[int, bytes],
        positions: Array,
        out: ColumnarBlock,
        earliest: list[str],
    ) -> list[int]:
        """The line converter's outcome for each line at ``positions``, put in its place; returns the
        positions of the lines it ignored."""
        convert, ignored = self._line.convert_lines, []
        for position in sorted(values_of(positions)):
            line: str | bytes = broken[position] if position in broken else lines[position].as_py().decode()
            converted = Converted(lines=position)
            convert([line], converted)
            for table in Table:
                out.rows[table].others += ((position, row) for row in converted.rows(table))
            out.unprocessed += converted.unprocessed
            if converted.ignored:
                ignored.append(position)
            if converted.earliest is not None:
                earliest.append(converted.earliest)
        return ignored


def _earliest(day: Coded, time: Array) -> str:
    """The smallest ``{day}T{time}Z`` of rows (as text, which sorts as time does)."""
    used = set(values_of(pc.unique(day.indices)))
    first = min(day.texts[index] for index in used)
    same = [index for index in used if day.texts[index] == first]
    return (
        f"{first}T{pc.min(pc.filter(time, pc.is_in(day.indices, pa.array(same, day.indices.type)))).as_py()}Z"
    )


def _mask(count: int, positions: Iterable[int]) -> Array:
    """``count`` booleans, true at ``positions``."""
    mask = [False] * count
    for position in positions:
        mask[position] = True
    return pa.array(mask, pa.bool_())


def _all_rows(count: int) -> Array:
    """An outcome array of ``count`` rows."""
    rows: Array = pa.nulls(count, pa.int8()).fill_null(_ROW)
    return rows


def _lines(data: bytes) -> tuple[Array, dict[int, bytes]]:
    """The lines of ``data`` (no final newline) as a binary array, and those that are not UTF-8 by
    position (left out of the fast path, whose kernels then only ever see UTF-8 text)."""
    if len(data) >= 1 << 31:
        raise ValueError("a block of lines must be smaller than 2 GiB")
    whole = pa.Array.from_buffers(
        pa.binary(), 1, [None, pa.py_buffer(_INT32.pack(0, len(data))), pa.py_buffer(data)]
    )
    lines = pc.split_pattern(whole, "\n").values
    if data.isascii():
        return lines, {}
    wide = pc.indices_nonzero(pc.invert(pc.string_is_ascii(lines.view(pa.string()))))
    broken: dict[int, bytes] = {}
    for position, raw in zip(values_of(wide), values_of(lines.take(wide)), strict=True):
        try:
            raw.decode()
        except UnicodeDecodeError:
            broken[position] = raw
    return lines, broken
