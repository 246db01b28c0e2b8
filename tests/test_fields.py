"""The field rules of linehaul._fields: each rule once, and its one-pass forms equal to it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from linehaul._fields import NULL, json_text, nullable_fields, plain, plain_fields, usual_timestamp

# Fields as the fast paths meet them: mostly printable ASCII, with the characters that matter to the
# rules (spaces at either end, '@', tabs, control and non-ASCII characters, "(null)" and what starts like it).
fields = st.one_of(
    st.sampled_from(
        ["", " ", "x", " x", "x ", "a b", "@", "x@y", "\t", "é", "\x00", NULL, NULL + "x", "(nul"]
    ),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=300, exclude_characters="|"), max_size=6),
)
heads = st.lists(fields, min_size=1, max_size=8).map("|".join)


@given(heads)
@settings(max_examples=settings().max_examples * 15)
def test_plain_fields_is_plain_for_every_field_that_is_not_empty(head: str) -> None:
    assert plain_fields(head) == all(plain(field) for field in head.split("|") if field)


@given(heads)
@settings(max_examples=settings().max_examples * 15)
def test_nullable_fields_is_the_null_rule_for_every_field_after_the_first(head: str) -> None:
    expected = all(field == NULL or not field.startswith(NULL) for field in head.split("|")[1:])
    assert nullable_fields(head) == expected


def test_plain_examples() -> None:
    assert plain("TLSv1.3")
    assert plain("a b")
    assert not any(map(plain, ["", " a", "a ", "a@b", "a\tb", "é", "a\x7f"]))


def test_the_usual_date_and_what_is_not_it() -> None:
    assert usual_timestamp("Thu, 07 Jan 2021 20:54:54 GMT") == "2021-01-07T20:54:54Z"
    assert usual_timestamp("Thu, 31 Feb 2021 20:54:54 GMT") is None  # not a day: strptime decides
    assert usual_timestamp("Thu, 7 Jan 2021 20:54:54 GMT") is None  # one digit: strptime's leniency
    assert usual_timestamp("Thu, 07 Jan 2021 24:00:00 GMT") is None


def test_json_text_is_json_dumps_without_ascii_escapes() -> None:
    assert json_text(None) == "null"
    assert json_text('a"é\n') == '"a\\"é\\n"'
