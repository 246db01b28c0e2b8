"""Narrowing a block to the lines that may hold some projects' rows: no row of theirs is ever lost, on
generated, mutated and odd lines; lines are kept whole and in order; a common name keeps the block."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from linehaul.convert import Converter
from linehaul.converted import Converted
from linehaul.logs.narrow import ProjectLines, count_lines
from tests.property.strategies import lines as odd_lines
from tests.property.test_columnar import good_lines, mutated

_NAMES = ["numpy", "NumPy", "zope.interface", "Zope__Interface", "requests", "abc", "a-b", "X.y", "x", "0"]
"""Names in several spellings: those of the generated simple requests, and short ones that the generated
download projects (words of ``abcXYZ019.-_~+/``) often are, once normalised."""

_lines = st.one_of(mutated(), good_lines().map(str.encode), odd_lines().map(str.encode))


def _of(names: list[str]) -> ProjectLines | None:
    """The narrowing for ``names`` as a person types them (ProjectLines takes them normalised)."""
    return ProjectLines.of(canonicalize_name(name) for name in names)


def _rows_of(rows: list[str], names: list[str]) -> list[str]:
    wanted = {canonicalize_name(name) for name in names}
    return [row for row in rows if canonicalize_name(json.loads(row)["project"]) in wanted]


@settings(max_examples=settings().max_examples * 4, deadline=None)
@given(
    st.lists(_lines, max_size=16), st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3), st.booleans()
)
def test_the_kept_lines_give_every_row_of_the_projects(
    lines: list[bytes], names: list[str], final_newline: bool
) -> None:
    block = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    narrow = _of(names)
    assert narrow is not None
    kept = narrow.keep(block)
    whole, part = Converted(), Converted()
    Converter().convert_block(block, whole)
    Converter().convert_block(kept, part)
    assert _rows_of(part.downloads, names) == _rows_of(whole.downloads, names)
    assert _rows_of(part.simple, names) == _rows_of(whole.simple, names)
    remaining = iter(_lines_of(block))
    assert all(line in remaining for line in _lines_of(kept))  # whole lines of the block, in its order


def _lines_of(block: bytes) -> list[bytes]:
    if not block:
        return []
    return (block[:-1] if block.endswith(b"\n") else block).split(b"\n")


def test_only_the_lines_naming_a_project_are_kept_in_any_case_and_in_order() -> None:
    """... and the first and the last line of the block, whose times tell the span of the log."""
    block = b"".join(
        [
            b"download|...|/packages/numpy-2.0.whl|numpy|2.0|bdist_wheel|pip/24\n",
            b"download|...|/packages/six-1.16.whl|six|1.16|bdist_wheel|pip/24\n",
            b"simple|...|/simple/NumPy/|||||curl/8\n",
            b"simple|...|/simple/zope-interface/|||||curl/8\n",
            b"download|...|/x/Zope_Interface-6.tar.gz|Zope_Interface|6|sdist|pip/24",
        ]
    )
    numpy = _of(["NUMPY"])
    assert numpy is not None
    lines = block.splitlines()
    assert numpy.keep(block).splitlines() == [lines[0], lines[2], lines[4]]  # and the block's last line
    both = _of(["zope.interface", "numpy"])
    assert both is not None
    assert both.needles == (b"interface", b"numpy")
    kept = both.keep(block)
    assert kept.splitlines() == [line for n, line in enumerate(block.splitlines()) if n != 1]
    assert kept.endswith(b"pip/24")  # the last line had no newline, and has none


def test_no_narrowing_without_names_or_for_a_name_that_is_not_a_project_name() -> None:
    assert _of([]) is None
    for name in ["a b", "-numpy", "numpy.", "num/py", "nümpy", "", "numpy\t"]:
        assert _of(["numpy", name]) is None, name
    assert _of(["A", "a", "a_b.c"]) == ProjectLines((b"a",))  # longest parts, once each


def test_a_name_on_most_lines_keeps_the_whole_block() -> None:
    line = b"download|Thu, 07 Jan 2021 20:54:54 GMT|US|/p/a.whl|TLSv1.3|x|a|1|bdist_wheel|pip/24\n"
    block = line * 200 + b"simple|Thu, 07 Jan 2021 20:54:54 GMT|US|/simple/b/|||||curl\n" * 10
    narrow = _of(["bdist"])
    assert narrow is not None
    assert narrow.keep(block) is block  # nothing searched line by line, nothing lost
    rare = _of(["curl"])
    assert rare is not None
    assert rare.keep(block) == line + block[len(line) * 200 :]  # and the block's first line


@pytest.mark.parametrize(
    "block", [b"", b"\n", b"a", b"a\n", b"a\nb", b"a\n\nb\n", b"\n\n", b"a\xff\nb\n", b"x\r\ny"]
)
def test_lines_are_counted_as_the_converter_counts_them(block: bytes) -> None:
    converted = Converted()
    Converter().convert_block(block, converted)
    assert count_lines(block) == converted.lines
