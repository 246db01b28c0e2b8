"""The columnar path: blocks of log lines converted with Apache Arrow, a whole block per step.

It gives, for every line, exactly what :class:`linehaul.convert.Converter` gives (outcome, reason, row
bytes), by sending every line it is not sure of to that converter, and gives rows either as NDJSON bytes
or as Arrow record batches with the schema of ``schemas/`` (no NDJSON detour). Only the second is used
(:data:`linehaul.analysis.arrow.ARROW`): Arrow rows it makes about twice as fast as the line converter and
Arrow's JSON reader; NDJSON no faster than the line converter in whole runs (benchmarks/README.md).
It needs pyarrow (the ``columnar`` extra, also part of ``analysis``): :func:`available` says whether it can
run; without it, the line converter serves. See docs/columnar.md.
"""

from __future__ import annotations

import os
from functools import cache

__all__ = ["BLOCK_SIZE", "DISABLE", "available"]

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


@cache
def _importable() -> bool:
    try:
        import pyarrow.compute
        import pyarrow.json  # noqa: F401
    except ImportError:
        return False
    return True
