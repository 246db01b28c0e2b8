"""Hypothesis strategies for log lines: mostly well-formed, with every oddity the grammar cares about."""

from __future__ import annotations

from hypothesis import strategies as st

from linehaul._grammar import PACKAGE_TYPES

ODD = [" ", "\t", "\r", "\n", "@", "|", "(null)", "é", "\x01", "\x7f", "\u2028", '"', "\\"]
texts = st.lists(st.sampled_from([*"aZ09./-_:,+", *ODD]), max_size=8).map("".join)
dates = st.one_of(
    st.sampled_from(
        ["Thu, 07 Jan 2021 20:54:54 GMT", "Fri, 29 Feb 2020 00:00:00 GMT", "Sat, 7 jan 2021 1:2:3 UTC"]
    ),
    st.builds(
        "{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} GMT".format,
        st.sampled_from(["Thu", "Mon"]),
        st.integers(0, 32),
        st.sampled_from(["Jan", "Feb", "Apr", "Dec", "jan", "Foo"]),
        st.integers(0, 9999),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ),
    texts,
)
nullable = st.one_of(st.sampled_from(["(null)", "TLSv1.2", "requests", "1.0", ""]), texts)
package_types = st.one_of(st.sampled_from([*PACKAGE_TYPES, "(null)", "wheel"]), texts)
agents = st.one_of(
    st.sampled_from(
        [
            'pip/24.0 {"installer":{"name":"pip","version":"24.0"},"python":"3.12.4","ci":true}',
            'uv/0.5.11 {"installer":{"name":"uv","version":"0.5.11","subcommand":["pip","install"]}}',
            "curl/8.5.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
            "Go-http-client/1.1",
            "(null)",
            'pip/20.0 {"installer":5}',
            "",
        ]
    ),
    st.text(max_size=30),
)


@st.composite
def lines(draw: st.DrawFn) -> str:
    """A log line: a download, a simple request or something else, fields possibly odd."""
    kind = draw(st.sampled_from(["download", "simple", "simple", " download", "upload", ""]))
    date, country, url = (
        draw(dates),
        draw(st.one_of(st.just("US"), texts)),
        draw(st.one_of(st.just("/p/x.whl"), texts)),
    )
    protocol, cipher = draw(nullable), draw(nullable)
    if kind.strip() == "simple":
        middle = draw(st.one_of(st.just(["", "", ""]), st.lists(texts, min_size=3, max_size=3)))
        url = draw(st.one_of(st.just("/simple/x/"), st.just(url)))
    else:
        middle = [draw(nullable), draw(nullable), draw(package_types)]
    fields = [kind, date, country, url, protocol, cipher, *middle, draw(agents)]
    separator = draw(st.sampled_from(["|", "|", "|", " |", "| "]))
    line = (
        separator.join(fields)
        if separator == "|"
        else "|".join(fields[:3]) + separator + "|".join(fields[3:])
    )
    return draw(st.one_of(st.just(line), st.just(line + draw(st.sampled_from(["\n", "\r\n", " ", "\t"])))))
