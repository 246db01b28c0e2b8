"""The columnar path: blocks of log lines converted with Apache Arrow, a whole block per step.

It gives, for every line, exactly what :class:`linehaul.convert.Converter` gives (outcome, reason, row
bytes), by sending every line it is not sure of to that converter, and gives rows either as NDJSON bytes
or as Arrow record batches with the schema of ``schemas/`` (no NDJSON detour). Arrow rows
(:data:`linehaul.analysis.arrow.ARROW`) it makes about twice as fast as the line converter and Arrow's
JSON reader; NDJSON (:data:`linehaul.logs.blocks.NDJSON`, ``linehaul parse``) 7-19% faster on large logs
at 2.4 times the memory, and slower on blocks under 1 MiB, which that codec leaves to the line converter;
the ingestor stays on the line converter (benchmarks/README.md).
It needs pyarrow (the ``columnar`` extra, also part of ``analysis``): :func:`available` says whether it can
run; without it, the line converter serves. See docs/columnar.md.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache

__all__ = ["BLOCK_SIZE", "DISABLE", "available", "installed"]

BLOCK_SIZE = 4 << 20
"""The size of the blocks of lines the columnar path is given (about 9,000 lines of a CDN log): each block
costs a fixed number of Arrow calls and one Python look-up per distinct agent, which larger blocks share
among more lines (1 MiB blocks, the line converter's, made it no faster than that converter)."""

DISABLE = "LINEHAUL_COLUMNAR"
"""The environment variable that turns the columnar path off when set to ``0`` (to compare, or to rule
it out): the line converter then serves everywhere."""


def available() -> bool:
    """True when the columnar path can run here (pyarrow is installed) and is not turned off."""
    return os.environ.get(DISABLE, "1") != "0" and _importable()


def installed() -> bool:
    """:func:`available`, as far as can be told without importing pyarrow (which takes a few tenths of a
    second): not turned off, and pyarrow is found."""
    if os.environ.get(DISABLE, "1") == "0":
        return False
    try:
        return importlib.util.find_spec("pyarrow") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules names it with no spec (as tests block it)
        return False


@cache
def _importable() -> bool:
    try:
        import pyarrow.compute
        import pyarrow.json  # noqa: F401
    except ImportError:
        return False
    return True
