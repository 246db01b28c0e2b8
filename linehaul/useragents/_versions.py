"""Private: PEP 440 range checks on installer versions, as production does them with ``packaging``.

Plain release numbers (``24.0``, ``0.1.22``) are compared here directly; anything else (pre-releases,
local versions, invalid strings) goes to ``packaging``, imported on first need because importing it costs
more than classifying thousands of agents.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

__all__ = ["in_range"]

_PLAIN_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*")


def _release(text: str) -> tuple[int, ...]:
    numbers = [int(part) for part in text.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


@cache
def _specifier(spec: str) -> SpecifierSet:
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(spec, prereleases=True)


def in_range(version: str, lowest: str, below: str | None = None) -> bool:
    """True if ``lowest <= version < below`` (``below`` optional), pre-releases included.

    An invalid version is never in range. Same answers as
    ``version in SpecifierSet(">=lowest,<below", prereleases=True)``.
    """
    if _PLAIN_RELEASE.fullmatch(version):
        release = _release(version)
        return release >= _release(lowest) and (below is None or release < _release(below))
    from packaging.version import InvalidVersion

    spec = f">={lowest}" if below is None else f">={lowest},<{below}"
    try:
        return version in _specifier(spec)
    except InvalidVersion:
        return False
