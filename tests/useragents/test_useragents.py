"""User-agent classification against the fixtures in tests/data/useragents/."""

from __future__ import annotations

from typing import Any

import pytest

from linehaul.useragents import (
    DEFAULT_RULES,
    UNKNOWN,
    CachingClassifier,
    Classifier,
    Ignored,
    RegexRule,
    Unusable,
    UserAgent,
    classify,
)
from linehaul.useragents.rule_types import LazyPattern, UnknownAgentOsRule
from tests.fixtures import fixture_id, pruned, user_agent_fixtures

FIXTURES = user_agent_fixtures()
IDS = [f"{stem}:{fixture_id(entry, 'agent')}" for stem, entry in FIXTURES]


@pytest.mark.parametrize(("stem", "entry"), FIXTURES, ids=IDS)
def test_classification(stem: str, entry: dict[str, Any]) -> None:
    found = Classifier()(entry["agent"])
    if entry.get("ignored"):
        assert isinstance(found, Ignored)
    elif entry.get("unknown"):
        assert found == UNKNOWN
    elif "unusable" in entry:
        assert isinstance(found, Unusable)
        assert entry["unusable"] in found.reason
    else:
        assert isinstance(found, UserAgent), found
        assert pruned(found.to_dict()) == entry["details"]


@pytest.mark.parametrize(
    ("stem", "entry"), [f for f in FIXTURES if "rule" in f[1]], ids=lambda v: str(v)[:60]
)
def test_the_named_rule_answers(stem: str, entry: dict[str, Any]) -> None:
    assert Classifier().rule_for(entry["agent"]) == entry["rule"]


def test_no_fixture_is_claimed_by_two_rules() -> None:
    """Order decides only where two rules overlap: no fixture may depend on it.

    The last rule (the operating system of any agent with a comment) is a fallback by design and is left out.
    """
    rules = [rule for rule in DEFAULT_RULES if not isinstance(rule, UnknownAgentOsRule)]
    for _, entry in FIXTURES:
        claimants = [rule.name for rule in rules if rule(entry["agent"]) is not None]
        assert len(claimants) <= 1, (entry["agent"], claimants)


def test_every_rule_has_a_fixture() -> None:
    named = {entry["rule"] for _, entry in FIXTURES if "rule" in entry}
    assert {rule.name for rule in DEFAULT_RULES} - named <= {"ignore list"}  # ignore fixtures name no rule


def test_a_classifier_from_custom_rules() -> None:
    first = RegexRule("first", (LazyPattern("^tool/"),), lambda m: UserAgent(python="1"))
    second = RegexRule("second", (LazyPattern("tool"),), lambda m: UserAgent(python="2"))
    assert Classifier([first, second])("tool/1") == UserAgent(python="1")
    assert Classifier([second, first])("tool/1") == UserAgent(python="2")
    assert Classifier([first])("other") == UNKNOWN


def test_a_rule_can_give_an_agent_back() -> None:
    declines = RegexRule("declines", (LazyPattern("x"),), lambda m: None)
    accepts = RegexRule("accepts", (LazyPattern("x"),), lambda m: UserAgent(cpu="y"))
    assert Classifier([declines, accepts])("x") == UserAgent(cpu="y")


def test_needs_text_skips_rules_but_not_answers() -> None:
    rule = RegexRule("needs", (LazyPattern("abc"),), lambda m: UserAgent(cpu="abc"), needs="zzz")
    assert Classifier([rule])("abc") == UNKNOWN
    assert Classifier([rule])("abc zzz") == UserAgent(cpu="abc")


def test_the_caching_classifier_answers_like_the_rules_and_stays_bounded() -> None:
    calls: list[str] = []

    def counting(agent: str) -> UserAgent:
        calls.append(agent)
        return UserAgent(python=agent)

    cached = CachingClassifier(counting, size=4)
    agents = [f"a{i}" for i in range(10)]
    for agent in agents + agents[-2:]:
        assert cached(agent) == UserAgent(python=agent)
    assert len(calls) == 10  # the two most recent were cached
    assert len(cached.cache.entries) <= 4


def test_the_shared_classify_is_cached() -> None:
    agent = "pip/24.0 {}"
    assert classify(agent) is classify(agent)


def test_ua_parser_is_given_only_the_head_of_a_long_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its rules are quadratic on some long agents (a 220 KB one took 30-44 s): a stranger's agent must not
    hold a log up, and every real platform comment comes early."""
    from linehaul.useragents import _os

    given: list[str] = []
    real = _os._os_resolver()

    def resolve(agent: str) -> object:
        given.append(agent)
        return real(agent)

    monkeypatch.setattr(_os, "_resolver", resolve)
    long_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + "Linux " * 40_000
    assert _os.operating_system(long_agent) == _os.operating_system(long_agent[: _os.LOOKED_AT])
    assert {len(agent) for agent in given} == {_os.LOOKED_AT}
