"""Which daily tables there are, their columns and their layout: the one place that says so.

Eleven narrow tables (docs/pipeline.md, "The daily tables", says why narrow ones and not one long table):
``downloads_daily`` counts the downloads per day and project, and ``downloads_by_<field>_daily`` per day,
project and value of one field of ``linehaul stats`` (version, file_type, installer, python, implementation,
system, distro, cpu, country, ci). Each row holds two counts: ``downloads`` (every row of
``file_downloads``) and ``downloads_without_mirrors`` (the rows whose installer is not a mirroring tool:
the rule of ``stats --exclude-mirrors``, :func:`~linehaul.analysis.dimensions.mirror_condition`). A field's
value is its ``--by`` expression (:data:`~linehaul.analysis.dimensions.DIMENSIONS`), so ``python`` holds
``3.12``.

Their columns are ``schemas/<name>.json`` (package data, the reviewed artifact, as for the two tables of
rows); every table is partitioned by day on ``date`` and clustered on ``project``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from linehaul.analysis.dimensions import DIMENSIONS, Dimension

__all__ = [
    "CLUSTERING_FIELDS",
    "COUNTS",
    "DAILY_TABLES",
    "DOWNLOADS",
    "OVERALL",
    "PARTITION_FIELD",
    "WITHOUT_MIRRORS",
    "DailyTable",
    "daily_table_of",
]

PARTITION_FIELD = "date"
"""The daily tables are partitioned by day on this DATE column."""
CLUSTERING_FIELDS = ("project",)
"""...and clustered on these: most questions are about one project."""
DOWNLOADS = "downloads"
"""The column of every download's count."""
WITHOUT_MIRRORS = "downloads_without_mirrors"
"""The column of the count of downloads whose installer is not a mirroring tool."""
COUNTS = (DOWNLOADS, WITHOUT_MIRRORS)


@dataclass(frozen=True, slots=True)
class DailyTable:
    """One daily table: its ``name``, and the field of ``linehaul stats`` it counts by (None: downloads per
    day and project alone). ``source`` is the column of ``file_downloads`` that the field's expression
    reads: reading a row of the table back as a row of ``file_downloads``, the value goes there (the
    expression of every such field gives its own values back unchanged)."""

    name: str
    field: str | None = None
    source: str | None = None

    @property
    def definition(self) -> Dimension | None:
        """The field's definition (its SQL in either dialect), None for the overall table."""
        return None if self.field is None else DIMENSIONS[self.field]

    @property
    def keys(self) -> tuple[str, ...]:
        """The columns a row is one of: ``date``, ``project`` and the field's column."""
        return (PARTITION_FIELD, "project", *((self.field,) if self.field else ()))

    @property
    def schema(self) -> tuple[Mapping[str, Any], ...]:
        """Its columns, from ``schemas/<name>.json``."""
        return _schema(self.name)


def _by(field: str, source: str) -> DailyTable:
    return DailyTable(f"downloads_by_{field}_daily", field, source)


OVERALL = DailyTable("downloads_daily")
"""Downloads per day and project."""

DAILY_TABLES: tuple[DailyTable, ...] = (
    OVERALL,
    _by("version", "file.version"),
    _by("file_type", "file.type"),
    _by("installer", "details.installer.name"),
    _by("python", "details.python"),
    _by("implementation", "details.implementation.name"),
    _by("system", "details.system.name"),
    _by("distro", "details.distro.name"),
    _by("cpu", "details.cpu"),
    _by("country", "country_code"),
    _by("ci", "details.ci"),
)
"""Every daily table, the overall one first."""

_BY_FIELD = {table.field: table for table in DAILY_TABLES if table.field}


def daily_table_of(field: str | None) -> DailyTable | None:
    """The daily table of a field of ``linehaul stats`` (None: the overall table); None if it has none."""
    return OVERALL if field is None else _BY_FIELD.get(field)


def daily_tables_named(names: Sequence[str]) -> tuple[DailyTable, ...]:
    """The daily tables called ``names``; ValueError naming the valid ones otherwise."""
    known = {table.name: table for table in DAILY_TABLES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"no daily table {unknown[0]!r}: expected one of {', '.join(known)}")
    return tuple(known[name] for name in names)


@cache
def _schema(name: str) -> tuple[Mapping[str, Any], ...]:
    # package data beside the package, as linehaul.schema reads the tables of rows
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "schemas", f"{name}.json")
    with open(path, encoding="utf-8") as file:
        return tuple(json.load(file))
