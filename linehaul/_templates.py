"""Private: the fast converter's row templates, generated from a table's :class:`~linehaul.rows.RowFormat`.

The converter does not build events: it fills a row's JSON text from pieces of the line, each checked and
encoded once per distinct value and cached. Three columns come from single fields of the line
(:data:`LINE_COLUMNS`: the date, the country, the agent); every other column is a *request column*, filled
from the fields between the country and the agent (URL, TLS, project, version, package type), which
repeat together, so each run of consecutive request columns is one cached text. A column the converter has
no value for is ``null``, as :meth:`~linehaul.rows.RowFormat.to_row` makes it.

A row is a sequence of literal text and four kinds of slot: ``t`` (the timestamp, RFC 3339 text without
its quotes), ``c`` (the country's JSON), ``m[i]`` (the JSON of the i-th run, with its keys) and ``d`` (the
details' JSON). Literal text next to a run is folded into it. The template of ``file_downloads`` comes
out as ``{"timestamp":"<t>","country_code":<c><m[0]><d><m[1]>``, with ``<m[0]>`` =
``,"url":..,"project":..,"file":..,"details":`` and ``<m[1]>`` = ``,"tls_protocol":..,"tls_cipher":..}``.

Rows of that shape (both tables' today) are joined by the converter in one f-string
(:attr:`RowTemplate.shape`); any other shape by :attr:`RowTemplate.row`, a function compiled from the
template, as the request runs are (:func:`linehaul._columns.compile_lambda`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from linehaul._columns import column_name, compile_lambda, escaped, json_expression
from linehaul.rows import RowFormat

__all__ = ["LINE_COLUMNS", "RowTemplate", "row_template"]

LINE_COLUMNS = {"timestamp": "t", "country_code": "c", "details": "d"}
"""The columns filled from one field of the line each (date, country, agent), and their slot names."""

RowFunction = Callable[[str, str, tuple[str, ...], str], str]
"""``row(timestamp text, country JSON, request runs, details JSON)`` → the row's JSON text."""

_INLINE = ("t", "c", "m", "d", "m")  # the slots of the shape the converter joins itself


@dataclass(frozen=True, slots=True)
class RowTemplate:
    """A table's row as a function of its pieces, and the texts of its runs of request columns."""

    row: RowFunction
    request_texts: Callable[[Mapping[str, Any]], tuple[str, ...]]
    """The text of each run for the request columns' values, by column name (a missing one is null)."""
    request_columns: tuple[str, ...]
    """The request columns, in order."""
    shape: tuple[str, str] | None
    """For a row ``<head><t><between><c><m[0]><d><m[1]>``: (head, between); None for any other shape."""


def row_template(row_format: RowFormat) -> RowTemplate:
    """The template of ``row_format``'s rows (see the module)."""
    pieces: list[tuple[str, str]] = []  # ("", literal text) or (slot, "") or ("m", the run's f-string)
    names: dict[str, Any] = {}
    for index, column in enumerate(row_format.columns):
        name = column_name(column)
        key = escaped(("{" if index == 0 else ",") + json.dumps(name) + ":")
        if name in LINE_COLUMNS:
            quote = '"' if row_format.column(name) is not None and _is_timestamp(row_format, name) else ""
            pieces += [("", key + quote), (LINE_COLUMNS[name], ""), ("", quote)]
        else:
            names[f"_n{index}"] = name
            expression = json_expression(column, f"v.get(_n{index})", index, names)
            pieces.append(("m", key + "{" + expression + "}"))
    pieces.append(("", "}}" if row_format.columns else "{{}}"))
    pieces = _folded(pieces)
    runs = [text for slot, text in pieces if slot == "m"]
    row, run = [], 0
    for slot, text in pieces:
        if slot == "m":
            row.append(f"{{m[{run}]}}")
            run += 1
        else:
            row.append(text if not slot else "{" + slot + "}")
    slots = tuple(slot for slot, _ in pieces if slot)
    shape = None
    if slots == _INLINE and [slot for slot, _ in pieces[:4]] == ["", "t", "", "c"]:
        shape = (_unescaped(pieces[0][1]), _unescaped(pieces[2][1]))
    request = "(" + "".join(f"f{text!r}, " for text in runs) + ")"
    return RowTemplate(
        row=compile_lambda("lambda t, c, m, d: f" + repr("".join(row)), {}),
        request_texts=compile_lambda(f"lambda v: {request}", names),
        request_columns=tuple(name for name in row_format.names() if name not in LINE_COLUMNS),
        shape=shape,
    )


def _is_timestamp(row_format: RowFormat, name: str) -> bool:
    column = row_format.column(name)
    return column is not None and str(column["type"]).upper() == "TIMESTAMP"


def _folded(pieces: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Adjacent literals joined, and every literal next to a run folded into the run (after it, else
    before it), so that a row is as few pieces as can be."""
    merged: list[tuple[str, str]] = []
    for slot, text in pieces:
        if merged and not slot and not merged[-1][0]:
            merged[-1] = ("", merged[-1][1] + text)
        elif merged and ((not slot and merged[-1][0] == "m") or (slot == "m" and not merged[-1][0])):
            merged[-1] = ("m", merged[-1][1] + text)
        elif slot or text:
            merged.append((slot, text))
    return merged


def _unescaped(text: str) -> str:
    return text.replace("{{", "{").replace("}}", "}")
