"""One word per thing, one owner per rule: tables, outputs, object names and partitions are values of their
own types, and the functions' variables and entry points are named in one module each.

The names of tables and outputs are compared nowhere but in ``linehaul/tables.py`` (code compares
:class:`~linehaul.tables.Table` and :class:`~linehaul.tables.Output` values); object names are built, and
partitions written and read, only by ``linehaul/pipeline/naming.py``; the functions' environment variables
are named only by ``linehaul/pipeline/settings.py``, their entry points only by
``linehaul/runtime/entry_points.py``; and nothing the package runs imports ``linehaul.testing``. These tests
read the library's source: a typo in a table name can no longer route rows to the other table silently, and
a second owner of a rule fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from linehaul.pipeline.naming import PARTITION_PATTERN
from linehaul.pipeline.settings import Setting
from linehaul.runtime.entry_points import ENTRY_POINTS
from linehaul.tables import Output, Table

LIBRARY = Path(__file__).parents[1] / "linehaul"
WORDS = {table.value for table in Table} | {output.value for output in Output} | {"download"}
NAME_PREFIXES = (
    "processed/",
    "unprocessed/",
    "ignored/",
    "loaded/",
    "quarantine/",
    "_linehaul_parts/",
    "gs://",
)


def _modules(*skip: str) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(LIBRARY.rglob("*.py")):
        relative = path.relative_to(LIBRARY.parent).as_posix()
        if relative not in skip:
            yield relative, ast.parse(path.read_text(), relative)


def _words_compared(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """String constants that are compared (``==``, ``!=``, ``in``, ``not in``, ``is``) or matched."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand in operands:
                items = operand.elts if isinstance(operand, ast.Tuple | ast.List | ast.Set) else [operand]
                for item in items:
                    if isinstance(item, ast.Constant) and item.value in WORDS:
                        yield node.lineno, item.value
        elif (
            isinstance(node, ast.MatchValue)
            and isinstance(node.value, ast.Constant)
            and node.value.value in WORDS
        ):
            yield node.lineno, node.value.value


def test_table_and_output_names_are_compared_only_as_values() -> None:
    found = [
        f"{module}:{line}: compares {word!r}"
        for module, tree in _modules("linehaul/tables.py")
        for line, word in _words_compared(tree)
    ]
    assert found == [], "compare Table/Output values, not their names:\n" + "\n".join(found)


def _texts(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """String constants, the literal pieces of f-strings (their format specifications too), but no
    docstring (docstrings describe names and formats, they build none) and not ``__all__``'s names (the
    module's own Python names)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    exported = {
        id(item)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [target.id for target in node.targets if isinstance(target, ast.Name)] == ["__all__"]
        and isinstance(node.value, ast.List | ast.Tuple)
        for item in node.value.elts
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings | exported
        ):
            yield node.lineno, node.value


def _names_built(tree: ast.Module, prefix: str) -> Iterator[tuple[int, str]]:
    """String constants, and the literal starts of f-strings, that begin an object name or URI with
    ``prefix``, but the texts that show users a form to type (``gs://BUCKET``)."""
    for line, text in _texts(tree):
        if text.startswith(prefix) and not _is_user_form(text):
            yield line, text


@pytest.mark.parametrize("prefix", NAME_PREFIXES)
def test_object_names_are_built_only_by_naming(prefix: str) -> None:
    found = [
        f"{module}:{line}: {text[:60]!r}"
        for module, tree in _modules("linehaul/pipeline/naming.py")
        for line, text in _names_built(tree, prefix)
    ]
    assert found == [], f"build {prefix!r} names with linehaul.pipeline.naming:\n" + "\n".join(found)


PARTITION_FORMS = ("%Y%m%d", "%Y/%m/%d", PARTITION_PATTERN)
"""How a partition (or the day folders of a log's object name) is written or read as text."""


def _partition_forms(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for line, text in _texts(tree):
        yield from ((line, form) for form in PARTITION_FORMS if form in text)


def test_partitions_are_written_and_read_only_by_naming() -> None:
    found = [
        f"{module}:{line}: {form!r}"
        for module, tree in _modules("linehaul/pipeline/naming.py")
        for line, form in _partition_forms(tree)
    ]
    assert found == [], "make and read partitions with linehaul.pipeline.naming.Partition:\n" + "\n".join(
        found
    )


def test_the_guard_finds_a_partition_written_by_hand() -> None:
    tree = ast.parse('"""%Y%m%d in a docstring"""\npart = f"{day:%Y%m%d}"\nsql = "r\'^[0-9]{8}$\'"\n')
    assert sorted(form for _, form in _partition_forms(tree)) == ["%Y%m%d", PARTITION_PATTERN]


def _is_user_form(text: str) -> bool:
    """Text that shows a user what to type (``gs://BUCKET``), not a name the code builds."""
    return "BUCKET" in text or text.startswith("gs://…") or text in ("gs:", "gs://")


def test_the_guard_finds_a_name_built_by_hand() -> None:
    tree = ast.parse('"""processed/ in a docstring"""\nname = f"processed/{day}/x"\nhelp = "gs://BUCKET"\n')
    assert [text for _, text in _names_built(tree, "processed/")] == ["processed/"]
    assert list(_names_built(tree, "gs://")) == []


def test_the_guard_finds_a_string_comparison() -> None:
    tree = ast.parse('if table == "file_downloads" or kind in ("simple", "x"):\n    pass\n')
    assert [word for _, word in _words_compared(tree)] == ["file_downloads", "simple"]


def _imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """The modules a module imports (``import x``, ``from x import y``; relative imports are not used)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module


def test_nothing_the_package_runs_imports_the_test_fakes() -> None:
    """``linehaul.testing`` is for tests and benchmarks: the functions, the CLI and the backfills run
    without it."""
    found = [
        f"{module}:{line}: imports {name}"
        for module, tree in _modules()
        if not module.startswith("linehaul/testing/")
        for line, name in _imported(tree)
        if name == "linehaul.testing" or name.startswith("linehaul.testing.")
    ]
    assert found == [], "only tests and benchmarks import linehaul.testing:\n" + "\n".join(found)


def _words_of(tree: ast.Module, words: set[str]) -> Iterator[tuple[int, str]]:
    """Texts (no docstring) that are one of ``words``, whole: a name used, not a name in a sentence."""
    yield from ((line, text) for line, text in _texts(tree) if text in words)


def test_the_functions_variables_are_named_only_by_their_settings() -> None:
    """The functions' environment is read and written by ``linehaul/pipeline/settings.py`` alone
    (``from_env``, ``to_env``, :class:`Setting`): no other module spells a variable's name."""
    names = {str(setting) for setting in Setting}
    found = [
        f"{module}:{line}: {text!r}"
        for module, tree in _modules("linehaul/pipeline/settings.py")
        for line, text in _words_of(tree, names)
    ]
    assert found == [], "name the functions' variables with linehaul.pipeline.settings:\n" + "\n".join(found)


def test_the_guard_finds_a_variable_named_by_hand() -> None:
    tree = ast.parse(
        '"""RESULT_BUCKET in a docstring"""\nenv = {"RESULT_BUCKET": "b", "X": "set RESULT_BUCKET"}\n'
    )
    assert [text for _, text in _words_of(tree, {"RESULT_BUCKET"})] == ["RESULT_BUCKET"]


def test_the_entry_points_are_named_only_by_their_module() -> None:
    """The functions' entry points and modules are spelled in ``linehaul/runtime/entry_points.py`` alone
    (the names that define them are held to it by ``tests/runtime/test_entry_points.py``)."""
    names = {entry.name for entry in ENTRY_POINTS} | {entry.module for entry in ENTRY_POINTS}
    found = [
        f"{module}:{line}: {text!r}"
        for module, tree in _modules("linehaul/runtime/entry_points.py")
        for line, text in _words_of(tree, names)
    ]
    assert found == [], "name the functions with linehaul.runtime.entry_points:\n" + "\n".join(found)
