"""Private: the operating system of a browser-like agent, from ua-parser's uap-core rules.

ua-parser is imported on first use, with its pure-Python resolver over lazily compiled builtin rules: a
handful of browser agents per log file need it, and the eager resolvers cost more to start than a whole
small log takes to parse. Results are cached by the classifier, not here.
"""

from __future__ import annotations

from typing import Any

from linehaul.useragents.model import System

__all__ = ["operating_system"]

_resolver: Any = None
LOOKED_AT = 1024
"""Characters of an agent that ua-parser is given: its rules are quadratic in the agent's length on some
agents (a 220 KB ``Mozilla/5.0 (Linux Linux ...`` took 30-44 s, enough to stop a log at the function's
timeout), and every platform comment of a real agent comes within its first few hundred characters."""


def _os_resolver() -> Any:
    global _resolver
    if _resolver is None:
        from ua_parser import BasicResolver, Domain, load_lazy_builtins

        resolver = BasicResolver(load_lazy_builtins())
        domain = Domain.OS
        _resolver = lambda agent: resolver(agent, domain).os  # noqa: E731 - a closure over two locals
    return _resolver


def operating_system(agent: str) -> System | None:
    """``System(name, release)`` for the agent's operating system, or ``None`` if uap-core does not know it.

    ``name`` is uap-core's family (``Windows``, ``Mac OS X``, ``Ubuntu``, ``Linux``, ``iOS``, ...) and
    ``release`` its dotted version where the agent gives one. Only agents with a parenthesised comment
    (``Mozilla/5.0 (Windows NT 10.0; ...)``, ``Wget/1.20.3 (linux-gnu)``) are looked up: the others
    (``curl/8.5.0``) name no platform, and a miss tries every one of uap-core's few hundred rules. Only
    the first :data:`LOOKED_AT` characters are looked at (this is linehaul's enrichment, no value of
    production's depends on it).
    """
    if "(" not in agent:  # browsers and HTTP tools state their platform in a comment: none, nothing to find
        return None
    found = _os_resolver()(agent[:LOOKED_AT])
    if found is None or found.family == "Other":
        return None
    parts = [part for part in (found.major, found.minor, found.patch, found.patch_minor) if part]
    return System(name=found.family, release=".".join(parts) or None)
