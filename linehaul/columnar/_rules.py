"""Private: the field rules of :mod:`linehaul._fields`, as one regular expression over a whole line.

The columnar path (:mod:`linehaul.columnar`) keeps a line when its head (every field before the agent) is
of the plainest kind, which Arrow's RE2 checks for a whole block in one pass. Each piece is one rule of
:mod:`linehaul._fields` or :mod:`linehaul._grammar`, made stricter where that keeps the row simple:

* a **plain** field (:func:`linehaul._fields.plain`: printable ASCII, no ``@``, no space at either end),
  here also without ``"`` or ``\\`` (so its JSON text is ``"`` + field + ``"``) nor ``|``;
* a **nullable** field is ``(null)`` or a plain field that does not start with ``(``
  (:func:`linehaul._fields.plain_nullable` leaves ``(null)x`` to the grammar; the columnar path leaves every
  field that starts with ``(`` to the converter);
* the download's project and version are plain fields that do not start with ``(`` (never ``(null)``);
* the download's URL holds a ``/`` (the file's name is what follows the last one:
  :func:`linehaul.events.file_of`); the simple request's URL holds at least two ``/`` (it names a project:
  :func:`linehaul.events.simple_project`);
* the **usual date** is :func:`linehaul._fields.usual_timestamp`'s own pattern (whether its day is a real day
  is checked per distinct day, by :func:`linehaul._fields.day_text`);
* the package type is one of :data:`linehaul._grammar.PACKAGE_TYPES`; the country is plain or empty.

A line that does not match goes to the line-by-line converter, which decides. ``tests/columnar`` holds every
piece to its rule of :mod:`linehaul._fields` on generated fields, and the whole path to the converter.
"""

from __future__ import annotations

import re

from linehaul._fields import _USUAL_DATE
from linehaul._grammar import DOWNLOAD, PACKAGE_TYPES, SIMPLE

__all__ = [
    "DATE_AT",
    "DOWNLOAD_HEAD",
    "FIELD",
    "NULLABLE",
    "PATH",
    "SIMPLE_HEAD",
    "SIMPLE_URL",
    "STRICT_FIELD",
    "USUAL_DATE",
]

_EDGE = r"!#-')-?A-\[\]-{}~"
"""Printable ASCII but space, ``"``, ``(``, ``@``, ``\\`` and ``|`` (as RE2 class ranges)."""
_INNER = r" !#-?A-\[\]-{}~"
"""Printable ASCII but ``"``, ``@``, ``\\`` and ``|``: space, and parentheses, may be inside a field."""
_END = r"!#-?A-\[\]-{}~"
"""What a field may end (or start) with: an inner character but space."""

FIELD = f"[{_END}](?:[{_INNER}]*[{_END}])?"
"""A plain field (:func:`~linehaul._fields.plain`) without ``"`` or ``\\``."""
STRICT_FIELD = f"[{_EDGE}](?:[{_INNER}]*[{_END}])?"
"""A :data:`FIELD` that does not start with ``(``: never ``(null)``, nor anything the grammar reads apart."""
NULLABLE = rf"\(null\)|{STRICT_FIELD}"
"""A TLS field: ``(null)`` (no value) or a :data:`STRICT_FIELD`."""
PATH = f"(?:[{_END}][{_INNER}]*)?/(?:[{_INNER}]*[{_END}])?"
"""A :data:`FIELD` with a ``/``: a download's URL (the file's name follows its last ``/``)."""
SIMPLE_URL = f"(?:[{_END}][{_INNER}]*)?/[{_INNER}]*/(?:[{_INNER}]*[{_END}])?"
"""A :data:`FIELD` with at least two ``/``: a simple request's URL that names a project."""
USUAL_DATE = _USUAL_DATE.pattern
"""The usual date, ``Thu, 07 Jan 2021 20:54:54 GMT``: :func:`linehaul._fields.usual_timestamp`'s pattern."""

_TYPES = "|".join(re.escape(name) for name in PACKAGE_TYPES)
_REQUEST = rf"\|(?:{USUAL_DATE})\|(?:{FIELD})?\|"  # '|' date '|' country (plain or empty) '|'

DOWNLOAD_HEAD = (
    rf"^{DOWNLOAD}{_REQUEST}(?:{PATH})\|(?:{NULLABLE})\|(?:{NULLABLE})\|(?:{STRICT_FIELD})\|"
    rf"(?:{STRICT_FIELD})\|(?:{_TYPES})\|"
)
"""The head of a download line the columnar path converts: every field before the agent."""
SIMPLE_HEAD = rf"^{SIMPLE}{_REQUEST}(?:{SIMPLE_URL})\|(?:{NULLABLE})\|(?:{NULLABLE})\|\|\|\|"
"""The head of a simple line the columnar path converts."""

DATE_AT = {table_kind: len(table_kind) + 1 for table_kind in (DOWNLOAD, SIMPLE)}
"""Where the date starts in a line of each kind that matches its head: right after ``<kind>|``."""
