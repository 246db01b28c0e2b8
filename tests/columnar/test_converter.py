"""The columnar path against the line converter on whole corpora: the edge cases, a generated log, the same
log with lines mutated at random, cut into blocks in many ways; and what it leaves to the line converter."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from linehaul.columnar.converter import ColumnarConverter
from linehaul.convert import Converter
from linehaul.logs.sample import sample_lines
from linehaul.tables import Table
from tests.columnar.reference import columnar_outcome, library_outcome, line_outcome

EDGE_CASES = Path(__file__).parents[1] / "data" / "edge-cases.log"
SAMPLE = [line.encode() for line in sample_lines(20_000, seed=5)]


def _blocks(lines: list[bytes], sizes: random.Random) -> list[bytes]:
    """``lines`` cut into blocks of 1 to 2,000 lines (each line with its newline)."""
    blocks, start = [], 0
    while start < len(lines):
        end = start + sizes.randint(1, 2000)
        blocks.append(b"".join(line + b"\n" for line in lines[start:end]))
        start = end
    return blocks


def _assert_same(lines: list[bytes], seed: int) -> None:
    """One converter of each kind over the same blocks: equal outcomes block by block, and the rows of
    the whole equal to parse_line's."""
    line_converter, columnar = Converter(), ColumnarConverter()
    rows = dict.fromkeys(Table, b"")
    unprocessed: list[bytes] = []
    ignored: list[bytes] = []
    for block in _blocks(lines, random.Random(seed)):
        expected = line_outcome(block, line_converter)
        got = columnar_outcome(block, columnar)
        assert got == expected
        for table in Table:
            rows[table] += got.rows[table]
        unprocessed += [raw for _, raw, _, _ in got.unprocessed]
        ignored += got.ignored
    library = library_outcome(lines)
    assert rows == library.rows
    assert unprocessed == [raw for _, raw, _, _ in library.unprocessed]
    assert ignored == library.ignored


def test_the_edge_cases_as_the_line_converter_gives_them() -> None:
    lines = EDGE_CASES.read_bytes().split(b"\n")[:-1]
    assert len(lines) == 970
    for seed in range(5):
        _assert_same(lines, seed)
    whole = b"".join(line + b"\n" for line in lines)
    assert columnar_outcome(whole) == line_outcome(whole)


@pytest.mark.slow
def test_a_generated_log_as_the_line_converter_gives_it() -> None:
    _assert_same(SAMPLE, seed=1)


_ODD = ["\x00", "\x1f", "\x7f", "\t", "\r", " ", "é", "\u2028", "@", '"', "\\", "(", "(null)", "|", "||"]


def _mutated(line: bytes, rng: random.Random) -> bytes:
    """``line`` with one random change: a field's case, a space, a separator, a cut, an odd character,
    an invalid UTF-8 byte, or its agent's JSON broken."""
    text = line.decode()
    at = rng.randrange(len(text) + 1)
    change = rng.randrange(7)
    if change == 0:
        fields = text.split("|")
        index = rng.randrange(len(fields))
        fields[index] = rng.choice([str.upper, str.lower, str.swapcase])(fields[index])
        text = "|".join(fields)
    elif change == 1:
        pipes = [index for index, char in enumerate(text) if char == "|"] or [at]
        at = rng.choice(pipes) + rng.choice([0, 1])
        text = text[:at] + rng.choice([" ", "  ", "\t"]) + text[at:]
    elif change == 2:
        text = text.replace("|", rng.choice(["", "||", ";", " | "]), 1 + rng.randrange(9))
    elif change == 3:
        text = text[:at]
    elif change == 4:
        text = text[:at] + rng.choice(_ODD) + text[at:]
    elif change == 5:
        raw = text.encode()
        return raw[:at] + rng.choice([b"\xff", b"\xc3", b"\xe2\x80"]) + raw[at:]
    else:
        brace = text.find("{")
        if brace >= 0:
            cut = rng.randrange(brace, len(text))
            text = text[:cut] + rng.choice(["", '"', "}", ",", ":5", "[", "null"]) + text[cut + 1 :]
    return text.encode()


@pytest.mark.slow
def test_mutated_lines_as_the_line_converter_gives_them() -> None:
    rng = random.Random(16)
    lines = [_mutated(line, rng) if line and rng.random() < 0.3 else line for line in SAMPLE]
    _assert_same(lines, seed=2)


def test_lines_the_columnar_path_is_not_sure_of_go_to_the_line_converter() -> None:
    usual = (
        "download|Thu, 07 Jan 2021 20:54:54 GMT|US|/packages/ab/cd/x-1.0.tar.gz|TLSv1.3|TLS_AES|x|1.0|sdist|"
        'pip/24.0 {"installer":{"name":"pip","version":"24.0"}}'
    )
    unusual = [
        usual.replace("Thu, 07 Jan 2021 20:54:54 GMT", "Thu, 7 jan 2021 1:2:3 GMT"),  # strptime's form
        usual.replace("|US|", "||"),  # no country: still the columnar path's
        usual.replace("/x-1.0.tar.gz", '/x"1.0.tar.gz'),  # a quote to escape
        usual.replace("|TLSv1.3|", "|(null)x|"),  # the grammar's to judge
        usual.replace("07 Jan", "31 Feb"),  # the usual form, not a day
        usual + "\t",
    ]
    block = "\n".join([usual, *unusual]).encode() + b"\n"
    out = ColumnarConverter().convert_block(block)
    downloads = out.rows[Table.FILE_DOWNLOADS]
    assert downloads.count == 2  # the usual line and the one without a country
    assert [position for position, _ in downloads.others] == [1, 3, 6]
    assert [line.number for line in out.unprocessed] == [5, 6]
    assert columnar_outcome(block) == line_outcome(block)
