"""Which rows a question is about: projects, a time window, mirrors or not, and any SQL condition.

A :class:`Selection` becomes one SQL condition in either dialect (:meth:`Selection.condition`), with every
value (project names, the window's bounds, the mirror installers) passed as a query parameter, never
written into the SQL text. ``where`` is the exception by design: it *is* SQL, a boolean expression the
person asking writes over the table's columns.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from packaging.utils import canonicalize_name

from linehaul.analysis.dimensions import DIMENSIONS, Dialect, Parameters, Sort, mirror_condition
from linehaul.schema import load_schema
from linehaul.tables import Table

__all__ = ["FILTERS", "Mirrors", "Selection", "TimeWindow", "check_project_name"]

FILTERS = ("installer", "python", "system", "country")
"""The fields that have a filter of their own on the command line (``--installer pip``); any field of
text values can be one of :attr:`Selection.filters`."""

_PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_REQUIREMENT = re.compile(
    r"\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^]]*\])?\s*"
    r"(?P<operator>===|==|!=|<=|>=|~=|<|>|@|;)\s*(?P<version>[^,;\s]*)"
)


def check_project_name(name: str) -> None:
    """ValueError unless ``name`` is a project name (PEP 508: letters and digits, with ``.``, ``_`` and
    ``-`` between them); for a requirement (``setuptools==75.1.0``) the message says how to ask for its
    versions instead."""
    if _PROJECT_NAME.fullmatch(name):
        return
    requirement = _REQUIREMENT.match(name)
    if requirement is not None:
        project, version = requirement["name"], requirement["version"] or "1.0"
        raise ValueError(
            f"{name!r} is a requirement, not a project name: --project {project} --by version counts each "
            f"version, --project {project} --where \"version = '{version}'\" one of them"
        )
    raise ValueError(f"{name!r} is not a project name (letters and digits, with . _ - between them)")


class Mirrors(enum.Enum):
    """Whether to count the downloads of mirroring tools (bandersnatch, devpi, …, see
    :data:`~linehaul.analysis.dimensions.MIRROR_INSTALLERS`)."""

    INCLUDE = "include"
    """every row (the default)"""
    EXCLUDE = "exclude"
    """rows whose installer is not a mirror; rows without an installer are kept"""
    ONLY = "only"
    """rows of mirroring tools only"""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """UTC days to keep: from ``since`` and up to ``until``, both included (None: no limit); or the
    ``days`` days up to the last day in the data (:meth:`resolved` turns those into dates)."""

    since: date | None = None
    until: date | None = None
    days: int | None = None

    def __post_init__(self) -> None:
        if self.days is not None:
            if self.days < 1:
                raise ValueError(f"the window needs at least one day, not {self.days}")
            if self.since is not None or self.until is not None:
                raise ValueError("a number of days cannot be combined with a first or last day")
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"the window ends ({self.until}) before it starts ({self.since})")

    @classmethod
    def of_month(cls, text: str) -> TimeWindow:
        """The days of the month ``YYYY-MM``; ValueError if it is not one."""
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"not a month (YYYY-MM): {text!r}")
        first = date(int(match[1]), int(match[2]), 1)
        following = (first + timedelta(days=31)).replace(day=1)
        return cls(first, following - timedelta(days=1))

    @property
    def is_whole(self) -> bool:
        """Whether the window keeps every row."""
        return self.since is None and self.until is None and self.days is None

    def resolved(self, last_day: date | None) -> TimeWindow:
        """The window as dates: ``days`` counted back from ``last_day`` (the last day in the data; None
        when there is none, and then nothing is kept or left out)."""
        if self.days is None or last_day is None:
            return TimeWindow(self.since, self.until)
        return TimeWindow(last_day - timedelta(days=self.days - 1), last_day)

    def describe(self) -> str:
        """``2026-11-01 to 2026-11-07``, ``from 2026-11-01``, ``up to …``, ``the last 7 days``."""
        if self.days is not None:
            return f"the last {self.days} day{'s' if self.days > 1 else ''} of the data"
        if self.since and self.until:
            return str(self.since) if self.since == self.until else f"{self.since} to {self.until}"
        if self.since:
            return f"from {self.since}"
        return f"up to {self.until}" if self.until else "all the data"

    def condition(self, dialect: Dialect, parameters: Parameters) -> str:
        """A SQL condition on ``timestamp`` (TRUE for no limit); the bounds are parameters."""
        if self.days is not None:
            raise ValueError("resolve a window of days against the data first (TimeWindow.resolved)")
        parts = []
        if self.since is not None:
            start = datetime.combine(self.since, time(), UTC)
            parts.append(f"timestamp >= {parameters.add('window_start', 'TIMESTAMP', start)}")
        if self.until is not None:
            end = datetime.combine(self.until + timedelta(days=1), time(), UTC)
            parts.append(f"timestamp < {parameters.add('window_end', 'TIMESTAMP', end)}")
        return " AND ".join(parts) or "TRUE"


@dataclass(frozen=True, slots=True)
class Selection:
    """The rows to count: of these ``projects`` (any spelling: compared PEP 503-normalised; none: all),
    where ``where`` holds (SQL over the table's columns, in the engine's dialect), with or without
    mirrors, in the time ``window``."""

    projects: tuple[str, ...] = ()
    where: str | None = None
    mirrors: Mirrors = Mirrors.INCLUDE
    window: TimeWindow = TimeWindow()
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(field, values): rows whose field has one of the values, compared in any case (``--installer``)"""

    def __post_init__(self) -> None:
        if isinstance(self.projects, str):  # a name alone, not a sequence of its letters
            object.__setattr__(self, "projects", (self.projects,))
        if self.where is not None and not self.where.strip():
            raise ValueError("the where expression is empty")
        for name, values in self.filters:
            if name not in DIMENSIONS or DIMENSIONS[name].sort is Sort.TIME or name in ("ci", "mirror"):
                raise ValueError(f"no filter on {name!r}: a field of text values is needed")
            if not values:
                raise ValueError(f"no value to keep for {name}")

    def fields_in_where(self, table: Table) -> tuple[str, ...]:
        """The fields of ``--by`` that :attr:`where` names (``installer = 'pip'``) and that are not columns
        of ``table`` already (``project`` is both)."""
        if self.where is None:
            return ()
        columns = {column["name"] for column in load_schema(table)}
        return tuple(
            name
            for name, field in DIMENSIONS.items()
            if name not in columns
            and table in field.tables
            and re.search(rf"(?<![\w.`\"]){name}(?![\w`\"])", self.where)
        )

    def source(self, dialect: Dialect, parameters: Parameters, table: Table, name: str) -> str:
        """What to select the rows from: the table called ``name``, or, when :attr:`where` names fields
        of ``--by``, a subquery of it that adds them as columns (so ``--where "installer = 'pip'"`` reads
        as ``details.installer.name = 'pip'``; the engines read only the columns used)."""
        named = self.fields_in_where(table)
        if not named:
            return name
        columns = ", ".join(f"{DIMENSIONS[field].sql(dialect, parameters)} AS {field}" for field in named)
        return f"(SELECT *, {columns} FROM {name}) AS selected"

    def condition(self, dialect: Dialect, parameters: Parameters, *, timestamp_only: bool = False) -> str:
        """The selection as one SQL condition, its values added to ``parameters`` (``timestamp_only``:
        the window alone)."""
        parts = [self.window.condition(dialect, parameters)]
        if not timestamp_only:
            if self.projects:
                names = tuple(dict.fromkeys(canonicalize_name(name) for name in self.projects))
                placeholder = parameters.add("projects", "ARRAY<STRING>", names)
                parts.append(dialect.is_in(dialect.normalised_name("project"), placeholder))
            for field, values in self.filters:
                lowered = tuple(dict.fromkeys(value.lower() for value in values))
                placeholder = parameters.add(f"{field}_values", "ARRAY<STRING>", lowered)
                parts.append(
                    dialect.is_in(f"LOWER({DIMENSIONS[field].sql(dialect, parameters)})", placeholder)
                )
            if self.mirrors is Mirrors.EXCLUDE:
                parts.append(f"NOT {mirror_condition(dialect, parameters)}")
            elif self.mirrors is Mirrors.ONLY:
                parts.append(mirror_condition(dialect, parameters))
            if self.where is not None:
                parts.append(f"({self.where}\n)")  # a closing comment (-- ...) ends at the newline
        return " AND ".join(part for part in parts if part != "TRUE") or "TRUE"
