"""The types of user-agent rule, and what they share: a rule is a callable ``rule(agent)`` with a ``name``
and two quick tests (:class:`Rule`); :mod:`linehaul.useragents.rules` lists the rules themselves, in order.

* :class:`RegexRule`: a regular expression, and a function that makes the details of its match;
* :class:`JsonAgentRule`, :class:`HatchRule`: the JSON that pip >= 6, uv and hatch put in their agent;
* :class:`IgnoreRule`: agents production drops on purpose (:class:`Ignored`);
* :class:`UnknownAgentOsRule`: the operating system, from ua-parser, of an agent nobody claimed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from json.scanner import make_scanner
from typing import Any, Protocol

from linehaul.useragents._agent_json import (
    AgentJsonError,
    may_escape_surrogates,
    user_agent_from_json,
    without_lone_surrogates,
)
from linehaul.useragents._os import operating_system
from linehaul.useragents._versions import in_range
from linehaul.useragents.model import Classification, Ignored, Unusable, UserAgent

__all__ = [
    "Build",
    "HatchRule",
    "IgnoreRule",
    "JsonAgentRule",
    "LazyPattern",
    "RegexRule",
    "Rule",
    "Searcher",
    "UnknownAgentOsRule",
    "with_operating_system",
]


class Rule(Protocol):
    """One way of recognising agents. Returns ``None`` for an agent it does not claim.

    Two quick tests let the classifier skip a rule without calling it: every agent the rule claims starts
    with one of ``starts`` (unless it is empty) and contains ``needs``.
    """

    @property
    def name(self) -> str: ...

    @property
    def starts(self) -> tuple[str, ...]: ...

    @property
    def needs(self) -> str: ...

    def __call__(self, agent: str, /) -> Classification | None: ...


Build = Callable[["re.Match[str]"], UserAgent | None]


class Searcher(Protocol):
    """What a rule needs of a regular expression: ``re.Pattern`` or :class:`LazyPattern`."""

    def search(self, text: str, /) -> re.Match[str] | None: ...


class LazyPattern:
    """A regular expression compiled on first use.

    Compiling every rule's expressions costs more than classifying a small log, and with their ``needs``
    text most rules never run their expressions at all.
    """

    __slots__ = ("_compiled", "flags", "source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self.source, self.flags = source, flags
        self._compiled: re.Pattern[str] | None = None

    def search(self, text: str, /) -> re.Match[str] | None:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self.source, self.flags)
        return compiled.search(text)

    def __repr__(self) -> str:
        return f"LazyPattern({self.source!r})"


@dataclass(frozen=True)
class RegexRule:
    """Claims an agent one of ``patterns`` finds (``re.search``); ``build`` makes the details.

    ``build`` may return ``None`` to give the agent back (production's version checks do that): the next
    *rule* is tried, not the next pattern. ``starts`` and ``needs`` are the quick tests of :class:`Rule`.
    """

    name: str
    patterns: tuple[Searcher, ...]
    build: Build
    starts: tuple[str, ...] = ()
    needs: str = ""

    def __call__(self, agent: str, /) -> Classification | None:
        for pattern in self.patterns:
            match = pattern.search(agent)
            if match is not None:
                return self.build(match)
        return None


@dataclass(frozen=True)
class JsonAgentRule:
    """``<prefix><version> <JSON>`` agents (pip >= 6, uv >= 0.1.22), read as production reads them.

    The agent is claimed when it starts with ``prefix``, its version is at least ``lowest`` and the rest
    decodes as JSON. A claimed agent whose JSON has the wrong shape is :class:`Unusable` (production
    drops the line) when ``strict``, and given back otherwise.
    """

    name: str
    prefix: str
    lowest: str
    strict: bool = True

    needs = ""

    @property
    def starts(self) -> tuple[str, ...]:
        return (self.prefix,)

    def __call__(self, agent: str, /) -> Classification | None:
        if not agent.startswith(self.prefix):
            return None
        words = agent.split(maxsplit=1)
        if not in_range(words[0].split("/", 1)[1], self.lowest) or len(words) < 2:
            return None
        return _read_json(words[1], self.strict)


_HATCH = LazyPattern(r"^Hatch/\S+ (\{.*\}) HTTPX/\S+$")


@dataclass(frozen=True)
class HatchRule:
    """``Hatch/<version> <JSON> HTTPX/<version>``, sent by ``hatch publish`` since hatch 1.15."""

    name: str = "hatch"
    pattern: Searcher = _HATCH
    starts: tuple[str, ...] = ("Hatch/",)
    needs: str = ""

    def __call__(self, agent: str, /) -> Classification | None:
        match = self.pattern.search(agent)
        return None if match is None else _read_json(match.group(1), strict=False)


# the scanner json.loads runs; typeshed declares make_scanner as a class taking itself, hence the ignore
_scan_json: Callable[[str, int], tuple[Any, int]] = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def _loads(text: str) -> Any:
    """``json.loads(text)`` for text that does not start with whitespace, without the wrapper's overhead."""
    if text.startswith("\ufeff"):
        raise ValueError("a byte order mark")
    try:
        data, end = _scan_json(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    if text[end:].strip(" \t\n\r"):
        raise ValueError("extra data after the JSON")
    return data


MAX_NESTING = 200
"""The deepest JSON an agent may hold: deeper, it is taken as not JSON (the rule gives the agent back), as
production takes JSON too deep for its decoder. Decoding and reading JSON recurse once a level, so without
a bound the answer would depend on how deep the caller's stack already is (details on one path, none or a
rejected line on another); production's does (its decoder fails from about 980 levels). Real agents nest 3
deep."""


def _read_json(text: str, strict: bool) -> Classification | None:
    if (text.count("[") + text.count("{") > MAX_NESTING) and _nesting_depth(text) > MAX_NESTING:
        return None  # not JSON we read: see MAX_NESTING
    try:
        data = _loads(text)
    except (ValueError, RecursionError):
        return None
    try:
        details = user_agent_from_json(data)
    except (AgentJsonError, RecursionError) as error:
        return Unusable(f"unusable JSON: {error}") if strict else None
    # a lone surrogate escape decodes to a code point that is not text: U+FFFD in its place (_agent_json)
    return without_lone_surrogates(details) if may_escape_surrogates(text) else details


def _nesting_depth(text: str) -> int:
    """How deep the arrays and objects of JSON ``text`` nest (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@dataclass(frozen=True)
class IgnoreRule:
    """Agents production deliberately drops: a match of any of ``patterns`` gives :class:`Ignored`."""

    name: str
    patterns: tuple[Searcher, ...]
    starts: tuple[str, ...] = ()
    needs: str = ""

    def __call__(self, agent: str, /) -> Classification | None:
        for pattern in self.patterns:
            match = pattern.search(agent)
            if match is not None:
                return Ignored(rule=f"{self.name}: {match.group(0).strip()!r}")
        return None


@dataclass(frozen=True)
class UnknownAgentOsRule:
    """Last resort: an agent nobody claimed still gets its operating system, when ua-parser knows it.

    Agents that claim pip's or uv's JSON format but break it are left unknown: ua-parser would read a
    platform out of broken JSON, and trying its few hundred rules on each of the many distinct broken
    agents of a log costs more than everything else.
    """

    name: str = "operating system"
    starts: tuple[str, ...] = ()
    needs: str = "("  # see operating_system()

    def __call__(self, agent: str, /) -> Classification | None:
        if agent.startswith(("pip/", "uv/")):
            return None
        system = operating_system(agent)
        return None if system is None else UserAgent(system=system)


def with_operating_system(details: UserAgent, agent: str) -> UserAgent:
    """``details`` with ``system`` from ua-parser, where the details have none and ua-parser knows it."""
    if details.system is not None:
        return details
    system = operating_system(agent)
    return details if system is None else replace(details, system=system)
