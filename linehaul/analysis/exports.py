"""Results of SQL written out at DuckDB's own speed: CSV and NDJSON by DuckDB's ``COPY``, streamed into a
file descriptor (standard output), so the first rows leave at once and memory stays bounded whatever the
number of rows.

``COPY`` writes into a pipe of ours (``/dev/fd/N``), which a loop of this process empties into the
target as it fills: the target may be a terminal, a pipe (``| head`` ends the copy as soon as it closes),
or a file opened by the shell (even for appending, which a ``COPY`` to ``/dev/stdout`` would truncate).
The copy runs on one DuckDB thread: with several, DuckDB keeps the batches that finish early in memory
until their turn comes (rows stay in order), so memory grows with the result (1 GB for 870,000 rows of
``file_downloads``, against 150 MB on one thread, which was also faster on two cores: benchmarks/).
In CSV, records are flattened into a column per field with dotted names (``details.installer.name``), and
lists and maps are JSON text; NDJSON keeps records as objects.
"""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from linehaul.analysis.errors import QueryError

__all__ = ["Export", "export", "flat_columns", "write_to"]

_CHUNK = 1 << 16


class Export(enum.Enum):
    """What to write: CSV with a header line, or one JSON object a line."""

    CSV = "csv"
    NDJSON = "ndjson"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def flat_columns(names: Sequence[str], types: Sequence[Any], source: str = "q") -> list[str]:
    """SELECT terms over ``source`` that give a column per field of each record (``a.b.c``), lists, maps
    and unions as JSON text, and the other columns as they are (``types`` are DuckDB's types)."""
    terms: list[str] = []

    def add(path: list[str], kind: Any) -> None:
        expression = ".".join([source, *map(_quoted, path)])
        if kind.id == "struct":
            for child, child_kind in kind.children:
                add([*path, child], child_kind)
        elif kind.id in ("list", "map", "array", "union"):
            terms.append(f"to_json({expression}) AS {_quoted('.'.join(path))}")
        else:
            terms.append(f"{expression} AS {_quoted('.'.join(path))}")

    for name, kind in zip(names, types, strict=True):
        add([name], kind)
    return terms


def _statement(connection: Any, sql: str, form: Export, target: str) -> str:
    """The COPY statement that writes the result of ``sql`` to ``target``."""
    query = sql.strip().rstrip(";").strip()
    if form is Export.NDJSON:
        return f"COPY ({query}) TO '{target}' (FORMAT json)"
    relation = connection.sql(query)
    if relation is None:
        raise QueryError("this SQL gives no rows to write: give a query (SELECT ...)")
    select = ", ".join(flat_columns(relation.columns, relation.types))
    return f"COPY (SELECT {select} FROM ({query}) AS q) TO '{target}' (FORMAT csv, HEADER true)"


def write_to(fd: int) -> Callable[[bytes], None]:
    """A writer of bytes to the file descriptor ``fd``, every byte (a pipe may take part of a chunk)."""

    def write(chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]

    return write


def export(connection: Any, sql: str, form: Export, write: Callable[[bytes], None]) -> None:
    """Give the rows of ``sql`` (a query) in ``form`` to ``write`` (:func:`write_to` standard output),
    streamed, a chunk at a time.

    :class:`QueryError` with DuckDB's message when it refuses the query; BrokenPipeError, after the copy
    stopped, when ``write`` raises it (the reader of a pipe went away: ``| head -1``)."""
    import duckdb

    reading, writing = os.pipe()
    try:
        statement = _statement(connection, sql, form, f"/dev/fd/{writing}")
    except duckdb.Error as error:
        os.close(reading)
        os.close(writing)
        raise QueryError(str(error)) from None
    except BaseException:
        os.close(reading)
        os.close(writing)
        raise
    failures: list[BaseException] = []
    threads = connection.execute("SELECT current_setting('threads')").fetchall()[0][0]

    def copy() -> None:
        try:
            connection.execute("SET threads = 1")  # in order, and as fast as we read: memory stays flat
            connection.execute(statement)
        except BaseException as error:  # kept for the caller, who reads what was written first
            failures.append(error)
        finally:
            os.close(writing)
            connection.execute(f"SET threads = {int(threads)}")

    worker = threading.Thread(target=copy, name="linehaul-copy", daemon=True)
    worker.start()
    try:
        while chunk := os.read(reading, _CHUNK):
            write(chunk)
    except BrokenPipeError:
        connection.interrupt()  # the reader left: stop the copy, which may wait on our pipe
        raise
    finally:
        os.close(reading)  # a copy still writing gets EPIPE and stops
        worker.join()
    if failures:
        failure = failures[0]
        if isinstance(failure, duckdb.Error):
            raise QueryError(str(failure)) from None
        raise failure
