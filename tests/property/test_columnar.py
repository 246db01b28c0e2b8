"""The columnar path gives exactly what the line converter gives, on generated and mutated lines; and the
pieces of its rule (one regular expression, run by Arrow) are the field rules of linehaul._fields."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from linehaul._fields import NULL, plain, plain_nullable, usual_timestamp
from linehaul._grammar import PACKAGE_TYPES
from linehaul.columnar import _rules
from linehaul.columnar.converter import ColumnarConverter
from linehaul.convert import Converter
from linehaul.events import simple_project
from tests.columnar.reference import columnar_outcome, library_outcome, line_outcome
from tests.property.strategies import lines as odd_lines

# -- well-formed lines, then mutated ----------------------------------------------------------------------

_AGENTS = [
    'pip/24.0 {"installer":{"name":"pip","version":"24.0"},"python":"3.12.4","ci":true}',
    'pip/23.3 {"installer":{"name":"pip","version":"23.3"},"distro":{"name":"Ubuntu","libc":{"lib":"c"}}}',
    'uv/0.5.11 {"installer":{"name":"uv","version":"0.5.11","subcommand":["pip","install"]},"cpu":"x86_64"}',
    'pip/20.0 {"installer":5}',
    "curl/8.5.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
    "Go-http-client/1.1",
    "Datadog Agent/7.52.0",
    "(null)",
    "twine/5.1.1 CPython/3.12.4",
    "poetry/1.8.3 CPython/3.12.4 Linux/6.8.0",
    "",
    "bandersnatch/6.5.0 (CPython 3.11.9-final0, Linux x86_64)",
]
_days = st.builds(
    "{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT".format,
    st.sampled_from(["Thu", "Mon", "xyz"]),
    st.one_of(st.integers(1, 28), st.integers(0, 32)),
    st.sampled_from(["Jan", "Feb", "Apr", "Dec", "jan", "Foo"]),
    st.one_of(st.just(2021), st.integers(0, 9999)),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
)
_words = st.text(st.sampled_from("abcXYZ019.-_~+/"), min_size=1, max_size=10)
_nullable = st.one_of(st.just(NULL), st.sampled_from(["TLSv1.3", "TLS_AES_128_GCM_SHA256"]), _words)


@st.composite
def good_lines(draw: st.DrawFn) -> str:
    """A line as the CDN writes it: a download or a simple request with ordinary fields."""
    date = draw(_days)
    country = draw(st.sampled_from(["US", "DE", "", "(null)", "a b"]))
    tls = f"{draw(_nullable)}|{draw(_nullable)}"
    agent = draw(st.one_of(st.sampled_from(_AGENTS), st.text(max_size=20)))
    if draw(st.booleans()):
        project = draw(st.sampled_from(["requests", "numpy", "zope.interface"]))
        return f"simple|{date}|{country}|/simple/{project}/|{tls}||||{agent}"
    project, version = draw(_words), draw(st.one_of(_words, st.just(NULL)))
    package_type = draw(st.sampled_from([*PACKAGE_TYPES, NULL]))
    url = draw(st.sampled_from([f"/packages/ab/cd/{project}-{version}.tar.gz", f"{project}.whl", "/x/y/"]))
    return f"download|{date}|{country}|{url}|{tls}|{project}|{version}|{package_type}|{agent}"


_ODD = [
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\t",
    "\r",
    "é",
    "\u2028",
    "\U0001f600",
    '"',
    "\\",
    "@",
    "(",
    "(null)",
    "|",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A good line changed one to three times: a field's case, spaces, separators, a cut, odd characters,
    invalid UTF-8, broken agent JSON."""
    line = draw(good_lines())
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(line)))
        how = draw(st.integers(0, 8))
        if how == 0:  # a field's case
            fields = line.split("|")
            index = draw(st.integers(0, len(fields) - 1))
            fields[index] = draw(st.sampled_from([str.upper, str.lower, str.swapcase]))(fields[index])
            line = "|".join(fields)
        elif how == 1:  # spaces, at a separator or anywhere
            pipes = [match.start() for match in re.finditer(r"\|", line)] or [position]
            at = draw(st.sampled_from([*pipes, position]))
            line = line[:at] + draw(st.sampled_from([" ", "  ", "\t"])) + line[at:]
        elif how == 2:  # a separator dropped, doubled or replaced
            pipes = [match.start() for match in re.finditer(r"\|", line)]
            if pipes:
                at = draw(st.sampled_from(pipes))
                line = line[:at] + draw(st.sampled_from(["", "||", ",", ";", "| |"])) + line[at + 1 :]
        elif how == 3:  # cut
            line = line[:position]
        elif how == 4:  # an odd character
            line = line[:position] + draw(st.sampled_from(_ODD)) + line[position:]
        elif how == 5:  # broken agent JSON
            at = line.find("{")
            if at >= 0:
                cut = draw(st.integers(at, len(line)))
                line = line[:cut] + draw(st.sampled_from(["", '"', "}", ":5", "]"])) + line[cut + 1 :]
        elif how == 6:  # leading or trailing whitespace on the line
            line = draw(st.sampled_from([" ", "\t", ""])) + line + draw(st.sampled_from([" ", "\r", ""]))
        elif how == 7:  # a field replaced by an odd word
            fields = line.split("|")
            index = draw(st.integers(0, len(fields) - 1))
            fields[index] = draw(st.sampled_from(["", " ", NULL, "(null)x", "(x)", "a@b", 'a"b', "a\\b"]))
            line = "|".join(fields)
        else:  # an invalid UTF-8 byte, returned at once
            raw = line.encode()
            return raw[:position] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80"])) + raw[position:]
    return line.encode()


def _block(lines: list[bytes], final_newline: bool) -> tuple[bytes, list[bytes]]:
    """A block of ``lines`` and the lines it holds (one with a newline inside is two, and a newline that
    ends the block ends its last line)."""
    if not lines:
        return b"", []
    block = b"\n".join(lines) + (b"\n" if final_newline else b"")
    return block, (block[:-1] if block.endswith(b"\n") else block).split(b"\n")


@given(
    st.lists(st.one_of(good_lines().map(str.encode), mutated(), odd_lines().map(str.encode)), max_size=40),
    st.booleans(),
)
@settings(max_examples=settings().max_examples * 8)
def test_the_columnar_path_gives_what_the_line_converter_gives(lines: list[bytes], final: bool) -> None:
    block, held = _block(lines, final)
    columnar = columnar_outcome(block)
    assert columnar == line_outcome(block)
    if block:
        library = library_outcome(held)
        assert (columnar.rows, columnar.unprocessed, columnar.ignored) == (
            library.rows,
            library.unprocessed,
            library.ignored,
        )


@given(st.lists(st.lists(st.one_of(good_lines().map(str.encode), mutated()), max_size=15), max_size=4))
@settings(max_examples=settings().max_examples * 3 // 2)
def test_one_columnar_converter_over_many_blocks_is_the_line_converter(blocks: list[list[bytes]]) -> None:
    line, columnar = Converter(), ColumnarConverter()
    for lines in blocks:
        block, _ = _block(lines, True)
        assert columnar_outcome(block, columnar) == line_outcome(block, line)


@given(st.lists(st.one_of(good_lines(), odd_lines()), min_size=1, max_size=30))
@settings(max_examples=settings().max_examples * 3 // 2)
def test_arrow_tables_hold_the_rows_of_the_ndjson(lines: list[str]) -> None:
    from linehaul.analysis.arrow import ndjson_to_arrow
    from linehaul.tables import Table

    block = "\n".join(lines).encode() + b"\n"
    out = ColumnarConverter().convert_block(block)
    for table in Table:
        expected = ndjson_to_arrow(table, out.rows[table].ndjson())
        assert out.rows[table].arrow().equals(expected)


# -- the rule's pieces against linehaul._fields -----------------------------------------------------------

_field_texts = st.one_of(
    st.lists(st.sampled_from([*"aZ09./-_:~ ()", *_ODD, "null", NULL]), max_size=10).map("".join),
    st.sampled_from(["", " ", NULL, "(null)x", "x(null)", "(a)", "a b", " a", "a "]),
)


def _matches(pattern: str, texts: list[str]) -> list[bool]:
    found = pc.match_substring_regex(pa.array(texts, pa.string()), f"^(?:{pattern})$")
    return [bool(value) for value in found.to_pylist()]


@given(st.lists(_field_texts, min_size=1, max_size=20))
@settings(max_examples=settings().max_examples * 10)
def test_each_piece_of_the_rule_is_its_field_rule(texts: list[str]) -> None:
    def plain_json(text: str) -> bool:  # plain, and its JSON text is the field between quotes
        return plain(text) and '"' not in text and "\\" not in text and "|" not in text

    assert _matches(_rules.FIELD, texts) == [plain_json(text) for text in texts]
    assert _matches(_rules.STRICT_FIELD, texts) == [plain_json(t) and not t.startswith("(") for t in texts]
    nullable = _matches(_rules.NULLABLE, texts)
    assert nullable == [t == NULL or (plain_json(t) and not t.startswith("(")) for t in texts]
    assert all(plain_nullable(text) for text, ok in zip(texts, nullable, strict=True) if ok)
    assert _matches(_rules.PATH, texts) == [plain_json(text) and "/" in text for text in texts]


@given(st.lists(st.text(st.sampled_from("/ab c(|@"), max_size=8), min_size=1, max_size=20))
@settings(max_examples=settings().max_examples * 5)
def test_a_simple_url_is_one_that_names_a_project(texts: list[str]) -> None:
    def names_a_project(text: str) -> bool:
        try:
            simple_project(text)
        except ValueError:
            return False
        return True

    expected = [plain(text) and "|" not in text and names_a_project(text) for text in texts]
    assert _matches(_rules.SIMPLE_URL, texts) == expected


@given(st.lists(st.one_of(_days, st.text(max_size=30)), min_size=1, max_size=20))
@settings(max_examples=settings().max_examples * 5)
def test_the_usual_date_is_usual_timestamps_own_form(texts: list[str]) -> None:
    # Arrow's RE2 and Python's re agree on the pattern; whether the day exists is checked per distinct day
    expected = [re.fullmatch(_rules.USUAL_DATE, text) is not None for text in texts]
    assert _matches(_rules.USUAL_DATE, texts) == expected
    assert all(usual_timestamp(text) is None for text, ok in zip(texts, expected, strict=True) if not ok)
