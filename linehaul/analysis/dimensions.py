"""The dimensions analysts count by (the fields of ``--by``), each defined once for both SQL dialects
linehaul speaks: DuckDB and BigQuery.

A :class:`Dimension` is a name, the tables it applies to, how its values sort, and its SQL expression, built
from a small :class:`Dialect` (the handful of functions whose spelling differs between DuckDB and
GoogleSQL: first regex match, days and months of a timestamp, a version's sort key, PEP 503 names, list
membership). So ``linehaul stats --by python`` on log files and on BigQuery count the same thing: the
expression is written once, in terms of the dialect, and cannot drift. Values never enter the SQL text:
an expression that needs one (the list of mirror installers) asks the :class:`Parameters` for a named
placeholder, and the engine passes the value beside the query.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from linehaul.analysis.errors import UnknownFieldError
from linehaul.tables import Table

__all__ = [
    "BIGQUERY",
    "DIMENSIONS",
    "DUCKDB",
    "MIRROR_INSTALLERS",
    "Dialect",
    "Dimension",
    "Parameter",
    "Parameters",
    "Sort",
    "check_dimensions",
    "mirror_condition",
]

MIRROR_INSTALLERS = ("bandersnatch", "z3c.pypimirror", "Artifactory", "devpi", "Nexus", "pep381client")
"""Installers that mirror PyPI (the names linehaul's user-agent rules give them): their downloads are
copies for a mirror, not installs. A row without an installer is not a mirror."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """A value passed beside a query: its name, its BigQuery type (``STRING``, ``DATE``, ``TIMESTAMP``,
    ``INT64``, ``ARRAY<STRING>``) and the value (a Python str, date, aware datetime, int, or tuple)."""

    name: str
    type: str
    value: Any


@dataclass(slots=True)
class Parameters:
    """The parameters of one query, in the order they were added; ``add`` returns the placeholder."""

    dialect: Dialect
    values: dict[str, Parameter] = field(default_factory=dict)

    def add(self, name: str, type: str, value: Any) -> str:
        """The placeholder for ``value`` under ``name`` (the same name must always get the same value)."""
        known = self.values.get(name)
        if known is not None and known != Parameter(name, type, value):
            raise ValueError(f"parameter {name!r} given two values")
        self.values[name] = Parameter(name, type, value)
        return self.dialect.placeholder(name)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one SQL engine spells the few functions whose names or semantics differ (see the module doc)."""

    name: str
    is_bigquery: bool

    def placeholder(self, name: str) -> str:
        """A named query parameter: ``$name`` (DuckDB), ``@name`` (BigQuery)."""
        return f"@{name}" if self.is_bigquery else f"${name}"

    def first_match(self, expression: str, pattern: str) -> str:
        """The first match of the regular expression ``pattern`` (a constant of this module), NULL if none."""
        if self.is_bigquery:
            return f"REGEXP_EXTRACT({expression}, r'{pattern}')"
        return f"nullif(regexp_extract({expression}, '{pattern}'), '')"  # DuckDB gives '' for no match

    def day(self, timestamp: str) -> str:
        """The UTC day of a timestamp, as a DATE (DuckDB's session time zone is UTC)."""
        return f"DATE({timestamp})" if self.is_bigquery else f"CAST({timestamp} AS DATE)"

    def month(self, timestamp: str) -> str:
        """``YYYY-MM`` of a timestamp (UTC)."""
        if self.is_bigquery:
            return f"FORMAT_TIMESTAMP('%Y-%m', {timestamp})"
        return f"strftime({timestamp}, '%Y-%m')"

    def week(self, timestamp: str) -> str:
        """The ISO 8601 week of a timestamp (UTC), ``2026-W44``: its ISO year and its number."""
        if self.is_bigquery:
            return f"FORMAT_TIMESTAMP('%G-W%V', {timestamp})"
        return f"strftime({timestamp}, '%G-W%V')"

    def year(self, timestamp: str) -> str:
        """The year of a timestamp (UTC), an integer."""
        return f"EXTRACT(YEAR FROM {timestamp})"

    def truncate(self, timestamp: str, unit: str) -> str:
        """The timestamp cut to the start of its ``unit`` (``hour`` or ``day``), in UTC."""
        if unit not in ("hour", "day"):
            raise ValueError(f"no such unit: {unit!r}")
        if self.is_bigquery:
            return f"TIMESTAMP_TRUNC({timestamp}, {unit.upper()})"
        return f"date_trunc('{unit}', {timestamp})"

    def version_key(self, expression: str) -> str:
        """Text that sorts as versions do: every run of digits padded to ten (3.8 before 3.10)."""
        # Prefix every number with ten zeros, then keep its last ten digits (longer numbers stay whole).
        if self.is_bigquery:
            padded = f"REGEXP_REPLACE({expression}, r'([0-9]+)', r'0000000000\\1')"
            return f"REGEXP_REPLACE({padded}, r'0*([0-9]{{10}})', r'\\1')"
        padded = f"regexp_replace({expression}, '([0-9]+)', '0000000000\\1', 'g')"
        return f"regexp_replace({padded}, '0*([0-9]{{10}})', '\\1', 'g')"

    def normalised_name(self, expression: str) -> str:
        """A project name as PEP 503 normalises it (``packaging.utils.canonicalize_name``, to which
        tests/analysis/test_selection.py holds this SQL): runs of ``-_.`` become one ``-``, in lower case."""
        if self.is_bigquery:
            return f"LOWER(REGEXP_REPLACE({expression}, r'[-_.]+', '-'))"
        # The same result as the regular expression, ten times faster on DuckDB: most names have no run.
        dashed = f"lower(replace(replace({expression}, '_', '-'), '.', '-'))"
        collapsed = f"regexp_replace({dashed}, '-+', '-', 'g')"
        return f"CASE WHEN contains({dashed}, '--') THEN {collapsed} ELSE {dashed} END"

    def is_in(self, expression: str, array: str) -> str:
        """Whether ``expression`` is in the array parameter ``array``: FALSE (never NULL) when it is NULL."""
        if self.is_bigquery:
            return f"COALESCE({expression} IN UNNEST({array}), FALSE)"
        return f"COALESCE(list_contains({array}, {expression}), FALSE)"


DUCKDB = Dialect("DuckDB", is_bigquery=False)
BIGQUERY = Dialect("BigQuery", is_bigquery=True)


class Sort(enum.Enum):
    """How a field's values are put in order (``--order value``, and the columns of ``--pivot``)."""

    TEXT = "text"
    """by their text (code points), false before true"""
    VERSION = "version"
    """as versions: numbers compared as numbers, so 3.8 comes before 3.10"""
    TIME = "time"
    """in time order; these fields are listed in time order by default, not by count"""


Expression = Callable[[Dialect, Parameters], str]


@dataclass(frozen=True, slots=True)
class Dimension:
    """A field of ``--by``: its ``name``, what it is, its SQL ``expression`` in a dialect, how it sorts,
    and the tables that have it."""

    name: str
    description: str
    expression: Expression
    sort: Sort = Sort.TEXT
    tables: frozenset[Table] = frozenset(Table)

    def sql(self, dialect: Dialect, parameters: Parameters) -> str:
        """The field's SQL expression in ``dialect``, its values added to ``parameters``."""
        return self.expression(dialect, parameters)

    def sort_key(self, dialect: Dialect, column: str) -> list[str]:
        """ORDER BY terms that put values of this field (in ``column``) in order, NULL last."""
        if self.sort is Sort.VERSION:
            return [f"{dialect.version_key(column)} NULLS LAST", f"{column} NULLS LAST"]
        return [f"{column} NULLS LAST"]


def _column(path: str) -> Expression:
    return lambda dialect, parameters: path


def mirror_condition(dialect: Dialect, parameters: Parameters) -> str:
    """TRUE for a row whose installer is one of :data:`MIRROR_INSTALLERS`; FALSE otherwise, also when the
    row has no installer (so ``NOT`` of it keeps those rows)."""
    installers = parameters.add("mirror_installers", "ARRAY<STRING>", MIRROR_INSTALLERS)
    return dialect.is_in("details.installer.name", installers)


_PYTHON_MINOR = r"^[0-9]+\.[0-9]+"
_PYTHON_MAJOR = r"^[0-9]+"
_DOWNLOADS = frozenset({Table.FILE_DOWNLOADS})


def _python(pattern: str) -> Expression:
    # as people ask about Python versions (3.12, not 3.12.4); any other text as it is
    return lambda d, _: f"COALESCE({d.first_match('details.python', pattern)}, details.python)"


_DIMENSIONS = (
    Dimension("project", "the project, as logged", _column("project")),
    Dimension(
        "version", "the file's version (downloads only)", _column("file.version"), Sort.VERSION, _DOWNLOADS
    ),
    Dimension("file_type", "sdist, bdist_wheel, … (downloads only)", _column("file.type"), tables=_DOWNLOADS),
    Dimension("installer", "pip, uv, poetry, Browser, OS, …", _column("details.installer.name")),
    Dimension(
        "installer_version", "the installer's version", _column("details.installer.version"), Sort.VERSION
    ),
    Dimension("python", "major.minor: 3.12; other text as it is", _python(_PYTHON_MINOR), Sort.VERSION),
    Dimension("python_major", "3, 2, …", _python(_PYTHON_MAJOR), Sort.VERSION),
    Dimension("implementation", "CPython, PyPy, …", _column("details.implementation.name")),
    Dimension(
        "implementation_version",
        "the implementation's version",
        _column("details.implementation.version"),
        Sort.VERSION,
    ),
    Dimension("system", "Linux, Darwin, Windows, …", _column("details.system.name")),
    Dimension("system_release", "the kernel or OS release", _column("details.system.release"), Sort.VERSION),
    Dimension("distro", "Ubuntu, macOS, …", _column("details.distro.name")),
    Dimension("distro_version", "the distro's version", _column("details.distro.version"), Sort.VERSION),
    Dimension("libc", "glibc, musl, …", _column("details.distro.libc.lib")),
    Dimension("libc_version", "the libc's version", _column("details.distro.libc.version"), Sort.VERSION),
    Dimension("cpu", "x86_64, arm64, AMD64, …", _column("details.cpu")),
    Dimension("openssl", "the OpenSSL version text", _column("details.openssl_version"), Sort.VERSION),
    Dimension("ci", "true, or none: pip and uv say ci true or nothing", _column("details.ci")),
    Dimension("mirror", "true for mirroring tools, else false", mirror_condition),
    Dimension("country", "ISO country code", _column("country_code")),
    Dimension("tls_protocol", "TLSv1.3, …", _column("tls_protocol")),
    Dimension("day", "the UTC day", lambda d, _: d.day("timestamp"), Sort.TIME),
    Dimension("week", "ISO week, 2026-W44 (Monday-Sunday, UTC)", lambda d, _: d.week("timestamp"), Sort.TIME),
    Dimension("month", "YYYY-MM, UTC", lambda d, _: d.month("timestamp"), Sort.TIME),
    Dimension("year", "the year, UTC", lambda d, _: d.year("timestamp"), Sort.TIME),
)

DIMENSIONS: dict[str, Dimension] = {item.name: item for item in _DIMENSIONS}
"""Every field ``--by`` and ``--pivot`` know, by name, in the order the help lists them."""


def check_dimensions(names: Sequence[str], table: Table = Table.FILE_DOWNLOADS) -> tuple[Dimension, ...]:
    """The fields called ``names``, or :class:`UnknownFieldError` (listing the valid ones) for a name that
    is not one, or is not a field of ``table``."""
    found = []
    for name in names:
        if name not in DIMENSIONS:
            raise UnknownFieldError(name, list(DIMENSIONS))
        if table not in DIMENSIONS[name].tables:
            valid = [item.name for item in _DIMENSIONS if table in item.tables]
            raise UnknownFieldError(name, valid, why="simple requests have no file, so no")
        found.append(DIMENSIONS[name])
    return tuple(found)
