"""The quick paths give exactly what the general ones give."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet

from linehaul._fields import timestamp_text
from linehaul.events import parse_timestamp, timestamp_text_of
from linehaul.useragents._agent_json import AgentJsonError, _common, _general
from linehaul.useragents._versions import in_range
from linehaul.useragents.rule_types import _loads
from tests.property.strategies import dates

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)
record_keys = st.sampled_from(["name", "version", "subcommand", "lib", "libc", "id", "release", "x"])
records = (
    st.none()
    | json_values
    | st.dictionaries(record_keys, json_values | st.dictionaries(record_keys, json_values))
)
agent_documents = st.dictionaries(
    st.sampled_from(
        ["installer", "python", "implementation", "distro", "system", "cpu", "ci", "openssl_version"]
    ),
    records,
)


@given(dates)
@settings(max_examples=settings().max_examples * 30)
def test_quick_timestamps_match_strptime(text: str) -> None:
    try:
        expected: object = timestamp_text(
            datetime.strptime(text[5:-4], "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)
        )
    except ValueError:
        expected = ValueError
    for quick in (lambda t: timestamp_text(parse_timestamp(t)), timestamp_text_of):
        try:
            got: object = quick(text)
        except ValueError:
            got = ValueError
        assert got == expected


versions = st.one_of(
    st.from_regex(
        r"[0-9]{1,2}(\.[0-9]{1,2}){0,3}((a|b|rc)[0-9]|\.dev[0-9]|\.post[0-9]|\+local)?", fullmatch=True
    ),
    st.text(max_size=6),
)


@given(versions, st.sampled_from([("6", None), ("0.1.22", None), ("1.4", "6")]))
@settings(max_examples=settings().max_examples * 20)
def test_version_ranges_match_packaging(version: str, bounds: tuple[str, str | None]) -> None:
    lowest, below = bounds
    spec = SpecifierSet(f">={lowest}" + (f",<{below}" if below else ""), prereleases=True)
    try:
        expected = version in spec
    except Exception:  # older packaging raises on an invalid version: never in range
        expected = False
    assert in_range(version, lowest, below) == expected


@given(agent_documents)
@settings(max_examples=settings().max_examples * 20)
def test_the_common_reading_of_agent_json_matches_the_general_one(document: dict[str, Any]) -> None:
    document = json.loads(json.dumps(document))  # only what JSON can hold
    common = _common(document)
    if common is None:
        return
    try:
        general: object = _general(document)
    except AgentJsonError:
        general = AgentJsonError
    assert common == general


@given(agent_documents)
@settings(max_examples=settings().max_examples * 10)
def test_details_json_is_the_json_of_the_details_record(document: dict[str, Any]) -> None:
    document = json.loads(json.dumps(document))
    try:
        details = _general(document)
    except AgentJsonError:
        return
    assert details.to_json() == json.dumps(details.to_dict(), ensure_ascii=False, separators=(",", ":"))


@given(
    st.one_of(
        st.from_regex(r"\A[\[{\"0-9tfnNI-][ -~]{0,20}\Z"), json_values.map(json.dumps).map(lambda t: t + " ")
    )
)
@settings(max_examples=settings().max_examples * 30)
def test_the_quick_json_decoder_is_json_loads(text: str) -> None:
    def outcome(decode: Any) -> object:
        try:
            return ("ok", decode(text))
        except (ValueError, RecursionError):
            return "error"

    assert repr(outcome(_loads)) == repr(outcome(json.loads))  # repr: NaN != NaN


@given(dates)
@settings(max_examples=settings().max_examples * 30)
def test_the_converters_quick_dates_match_the_general_path(text: str) -> None:
    from linehaul._fields import plain, usual_timestamp
    from linehaul.convert import _SLOW, _unusual_date_text

    try:
        expected: object = timestamp_text_of(text) if plain(text) else _SLOW
    except ValueError:
        expected = _SLOW
    assert (usual_timestamp(text) or _unusual_date_text(text)) == expected
