"""Project names that the data does not hold: a typo (``setuptool``) is told apart from a project that has
no rows in a window, and the names closest to it that have rows are found, with their counts.

:func:`missing_projects` asks the engine which of the names asked for have rows in the data (on files: at
all; on BigQuery: in the window's partitions, which is all it may read), then, for those that have none,
which names one edit away from them have rows (one letter left out, added, changed, or two swapped, after
PEP 503 normalisation): a list of a few hundred names passed as a parameter, which BigQuery matches
against its clustering on ``project`` and DuckDB against its column, the same answer on both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from linehaul.analysis.dimensions import Parameters
from linehaul.analysis.engine import Engine, SqlQuery
from linehaul.analysis.selection import Selection, TimeWindow
from linehaul.tables import Table

__all__ = ["MissingProject", "missing_projects", "one_edit_away"]

_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789-"
_SHOWN = 5


@dataclass(frozen=True, slots=True)
class MissingProject:
    """A project name with no row in the data, and the closest names that have rows, most rows first."""

    name: str
    closest: tuple[tuple[str, int], ...]


def one_edit_away(name: str) -> set[str]:
    """The PEP 503 names one edit away from ``name`` (normalised): a character left out, added, changed,
    or two neighbours swapped."""
    word = canonicalize_name(name)
    splits = [(word[:index], word[index:]) for index in range(len(word) + 1)]
    edits = {left + right[1:] for left, right in splits if right}
    edits |= {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    edits |= {left + letter + right[1:] for left, right in splits if right for letter in _LETTERS}
    edits |= {left + letter + right for left, right in splits for letter in _LETTERS}
    names = {canonicalize_name(edit).strip("-") for edit in edits}
    return {edited for edited in names if edited and edited != word}


def _counts(
    engine: Engine, table: Table, window: TimeWindow, names: Iterable[str], purpose: str
) -> dict[str, int]:
    """Rows per project as logged, of the projects whose normalised name is one of ``names``."""
    dialect = engine.dialect
    parameters = Parameters(dialect)
    condition = Selection(window=window).condition(dialect, parameters)
    normalised = dialect.normalised_name("project")
    wanted = parameters.add("names", "ARRAY<STRING>", tuple(sorted(set(names))))
    text = (
        f"SELECT project, COUNT(*) AS n FROM {engine.table(table)}\n"
        f"WHERE {condition} AND {dialect.is_in(normalised, wanted)}\nGROUP BY project"
    )
    return {str(project): int(count) for project, count in engine.run(SqlQuery.of(text, parameters, purpose))}


def missing_projects(engine: Engine, table: Table, selection: Selection) -> tuple[MissingProject, ...]:
    """The projects of ``selection`` that have no row of ``table`` in ``engine`` (its window counts on
    BigQuery only: a file's rows are all read anyway), each with the closest names that have rows.

    An engine with a ``whole()`` method (a :class:`~linehaul.analysis.Database` of some projects' rows)
    looks for the closest names in all the rows, which it reads for that."""
    if not selection.projects:
        return ()
    window = selection.window if not engine.default_window.is_whole else TimeWindow()
    asked = {canonicalize_name(name): name for name in selection.projects}
    found = {
        canonicalize_name(project) for project in _counts(engine, table, window, asked, "projects asked")
    }
    missing = [name for normalised, name in asked.items() if normalised not in found]
    if not missing:
        return ()
    whole = getattr(engine, "whole", None)
    everything: Engine = whole() if callable(whole) else engine
    neighbours = {name: one_edit_away(name) for name in missing}
    near = _counts(everything, table, window, set().union(*neighbours.values()), "names close to those asked")
    return tuple(
        MissingProject(
            name,
            tuple(
                sorted(
                    (
                        (project, count)
                        for project, count in near.items()
                        if canonicalize_name(project) in close
                    ),
                    key=lambda item: (-item[1], item[0]),
                )[:_SHOWN]
            ),
        )
        for name, close in neighbours.items()
    )
