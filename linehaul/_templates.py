"""Private: the fast converter's row templates, generated from a table's :class:`~linehaul.rows.RowFormat`.

The converter does not build events: it fills a row's JSON text from pieces of the line, each checked and
encoded once per distinct value and cached. Three columns come from single fields of the line
(:data:`LINE_COLUMNS`: the date, the country, the agent); every other column is a *request column*, filled
from the fields between the country and the agent (URL, TLS, project, version, package type), which
repeat together, so each run of consecutive request columns is one cached text. A column the converter has
no value for is ``null``, as :meth:`~linehaul.rows.RowFormat.to_row` makes it.

The template of ``file_downloads`` comes out as (``<run 0>`` is ``,"url":..,"project":..,"file":..``,
``<run 1>`` is ``,"tls_protocol":..,"tls_cipher":..``)::

    {"timestamp":<t>,"country_code":<c><run 0>,"details":<d><run 1>}

and is compiled once into a function of the four pieces (an f-string, the fastest way Python has to join
them; generated like ``dataclasses`` generates ``__init__``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from linehaul.rows import RowFormat

__all__ = ["LINE_COLUMNS", "RowTemplate", "row_template"]

LINE_COLUMNS = {"timestamp": "t", "country_code": "c", "details": "d"}
"""The columns filled from one field of the line each (date, country, agent), and their slot names."""

RowFunction = Callable[[str, str, tuple[str, ...], str], str]
"""``row(timestamp JSON, country JSON, request runs, details JSON)`` → the row's JSON text."""


@dataclass(frozen=True, slots=True)
class RowTemplate:
    """A table's row as a function of its pieces, and the request columns of each run, in order."""

    row: RowFunction
    runs: tuple[tuple[tuple[str, str], ...], ...]
    """Per run: (the column's key text, with its comma; its name) for each request column."""
    encoders: Mapping[str, Callable[[Any], str]]
    """Each request column's JSON encoder."""

    def request_texts(self, values: Mapping[str, Any]) -> tuple[str, ...]:
        """The text of each run for the request columns' ``values`` (a missing one is no value)."""
        encoders = self.encoders
        return tuple(
            "".join([key + encoders[name](values.get(name)) for key, name in run]) for run in self.runs
        )


def row_template(row_format: RowFormat) -> RowTemplate:
    """The template of ``row_format``'s rows (see the module)."""
    encoders = row_format.json_encoders()
    literal: list[str] = []  # the f-string's source, piece by piece
    runs: list[tuple[tuple[str, str], ...]] = []
    run: list[tuple[str, str]] = []
    for index, name in enumerate(row_format.names()):
        key = ("{" if index == 0 else ",") + json.dumps(name) + ":"
        if name in LINE_COLUMNS:
            if run:
                literal.append(f"{{m[{len(runs)}]}}")
                runs.append(tuple(run))
                run = []
            literal.append(_escaped(key) + "{" + LINE_COLUMNS[name] + "}")
        else:
            run.append((key, name))
    if run:
        literal.append(f"{{m[{len(runs)}]}}")
        runs.append(tuple(run))
    literal.append("}}" if row_format.columns else "{{}}")
    source = "lambda t, c, m, d: f" + repr("".join(literal))
    row = cast(RowFunction, eval(source, {"__builtins__": {}}))  # our own source, from column names
    request = {name: encoders[name] for run_columns in runs for _, name in run_columns}
    return RowTemplate(row, tuple(runs), request)


def _escaped(text: str) -> str:
    """Literal text for an f-string: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")
