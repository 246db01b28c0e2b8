"""Classify a user agent with an ordered tuple of rules, and cache the answers.

Agents repeat heavily within a log file (one ``pip install`` fetches many files with one agent), so a
bounded cache in front of the rules pays many times over. The cache is a plain dict that forgets its
older half when full: cheap to hit, and memory stays flat however long the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice
from typing import Any, Generic, TypeVar

from linehaul.useragents.model import UNKNOWN, Classification
from linehaul.useragents.rule_types import Rule
from linehaul.useragents.rules import DEFAULT_RULES

__all__ = ["BoundedCache", "CachingClassifier", "Classifier", "classify"]

_K = TypeVar("_K")
_MISSING: Any = object()
_V = TypeVar("_V")


class Classifier:
    """Tries ``rules`` in order; the first that answers wins; no answer is :data:`UNKNOWN`."""

    def __init__(self, rules: Sequence[Rule] = DEFAULT_RULES) -> None:
        self.rules = tuple(rules)
        self._checks = tuple((rule.starts, rule.needs, rule) for rule in self.rules)

    def __call__(self, agent: str) -> Classification:
        for starts, needs, rule in self._checks:
            if (not starts or agent.startswith(starts)) and needs in agent:
                answer = rule(agent)
                if answer is not None:
                    return answer
        return UNKNOWN

    def rule_for(self, agent: str) -> str | None:
        """The name of the rule that answers for ``agent`` (``None`` if none does): for tests and docs."""
        for starts, needs, rule in self._checks:
            if (not starts or agent.startswith(starts)) and needs in agent and rule(agent) is not None:
                return rule.name
        return None


class BoundedCache(Generic[_K, _V]):
    """``cache.get(key, compute)``: ``compute(key)`` once per key while it stays among the newest entries."""

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError(f"cache size must be at least 2, not {size}")
        self.size = size
        self.entries: dict[_K, _V] = {}

    def get(self, key: _K, compute: Callable[[_K], _V]) -> _V:
        value = self.entries.get(key, _MISSING)
        return self.add(key, compute) if value is _MISSING else value

    def add(self, key: _K, compute: Callable[[_K], _V]) -> _V:
        """``compute(key)``, remembered: for callers that looked ``key`` up in ``entries`` themselves."""
        entries = self.entries
        if len(entries) >= self.size:
            for old in list(islice(entries, self.size // 2)):
                del entries[old]
        value = entries[key] = compute(key)
        return value


class CachingClassifier:
    """A :class:`Classifier` behind a :class:`BoundedCache` of ``size`` agents."""

    def __init__(self, classifier: Callable[[str], Classification] | None = None, size: int = 20_000) -> None:
        self.classifier = classifier if classifier is not None else Classifier()
        self.cache: BoundedCache[str, Classification] = BoundedCache(size)

    def __call__(self, agent: str) -> Classification:
        return self.cache.get(agent, self.classifier)


_default = CachingClassifier()


def classify(agent: str) -> Classification:
    """Classify ``agent`` with the default rules and a shared cache.

    Returns a :class:`UserAgent`, :class:`Ignored`, :data:`UNKNOWN` or :class:`Unusable`; never ``None``.
    """
    return _default(agent)
