"""Private: the ``details`` records of agents as Arrow, each distinct record read once and remembered.

An agent's details come from the line converter as JSON text (the text its rows carry). For Arrow rows, each
distinct text is read once by Arrow's JSON reader, with the column's Arrow type, into a growing store of
records; a block's rows then take theirs by number. The store is bounded: past ``size`` records it starts
again (as the converter's own caches forget).
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as compute
import pyarrow.json as pa_json

from linehaul.columnar._rows import Array

pc: Any = compute  # pyarrow-stubs' overloads refuse the Python scalars that Arrow's functions take

__all__ = ["DetailsRecords"]

_MOST_CHUNKS = 32


class DetailsRecords:
    """Arrow records of ``record_type`` for details JSON texts (``null`` is no record)."""

    def __init__(self, record_type: pa.DataType, size: int = 65_536) -> None:
        self._type, self._size = record_type, size
        self._schema = pa.schema([pa.field("d", record_type)])
        self._numbers: dict[str, int] = {}
        self._chunks: list[Array] = []

    def records(self, texts: list[str], indices: Array) -> Array:
        """The record of ``texts[i]`` for each ``i`` of ``indices`` (a block's distinct texts, its rows)."""
        numbers = list(map(self._numbers.get, texts))
        if None in numbers:
            if len(self._numbers) + len(texts) > self._size:
                self._numbers, self._chunks = {}, []
                numbers = [None] * len(texts)
            self._add([text for text, number in zip(texts, numbers, strict=True) if number is None])
            numbers = [self._numbers[text] for text in texts]
        if len(self._chunks) > _MOST_CHUNKS:
            self._chunks = [pa.concat_arrays(self._chunks)]
        store = pa.chunked_array(self._chunks, self._type)  # type: ignore[call-overload]
        distinct = pc.take(store, pa.array(numbers, pa.int64())).combine_chunks()
        records: Array = pc.take(distinct, indices)
        return records

    def _add(self, texts: list[str]) -> None:
        new = list(dict.fromkeys(texts))
        data = "".join(f'{{"d":{text}}}\n' for text in new).encode()
        read = pa_json.read_json(
            io.BytesIO(data),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1),
            parse_options=pa_json.ParseOptions(
                explicit_schema=self._schema, unexpected_field_behavior="error"
            ),
        )
        first = len(self._numbers)
        for offset, text in enumerate(new):
            self._numbers[text] = first + offset
        self._chunks.append(read.column(0).combine_chunks())
