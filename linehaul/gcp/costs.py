"""What BigQuery queries cost, and the limits linehaul puts on them: plain values, no Google imports
(the command line reads them for its help without loading the BigQuery client).

BigQuery's on-demand pricing bills the bytes a query processes (the columns it reads, in the partitions
it reads), rounded up to the next MB, at least 10 MB per table read. :data:`PRICE_PER_TIB` is the price
of a TiB in the US multi-region: US$6.25, the figure on Google's pricing page since July 2023 as known
when this was written; it could not be re-checked online on 2026-11-29. Set ``--price-per-tib`` for
another region, a newer price, or a discount; the first TiB of each month is free.
"""

from __future__ import annotations

import re

__all__ = [
    "DEFAULT_DATASET",
    "DEFAULT_MAX_BYTES_BILLED",
    "PRICE_CHECKED",
    "PRICE_PER_TIB",
    "cost",
    "human_bytes",
    "parse_byte_size",
]

DEFAULT_DATASET = "bigquery-public-data.pypi"
"""PyPI's own downloads, public: ``file_downloads`` and ``simple_requests``, partitioned by day."""

DEFAULT_MAX_BYTES_BILLED = 10**12
"""1 TB: a query that would bill more is refused by BigQuery, unless the caller raises the limit."""

PRICE_PER_TIB = 6.25
"""US$ per TiB processed, on demand, US multi-region (see the module doc)."""

PRICE_CHECKED = "the US on-demand price since 2023-07, not re-checked online on 2026-11-29"
"""Where :data:`PRICE_PER_TIB` comes from, as --help says it."""

_TIB = 1 << 40
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
          "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40, "PIB": 1 << 50}  # fmt: skip


def human_bytes(size: int) -> str:
    """``1.2 GiB``, ``512 B``."""
    for unit, scale in (
        ("PiB", 1 << 50),
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


def cost(size: int, price_per_tib: float = PRICE_PER_TIB) -> str:
    """What ``size`` bytes processed cost at ``price_per_tib``: ``$0.0123``, ``$1.25``."""
    dollars = size / _TIB * price_per_tib
    return f"${dollars:,.2f}" if dollars >= 0.01 or dollars == 0 else f"${dollars:.6f}"


def parse_byte_size(text: str) -> int:
    """``1000000``, ``500GB``, ``2 TiB``, ``1.5TB`` as bytes; ValueError for anything else."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match[2].upper() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"not a size in bytes (1000000, 500GB, 2TiB): {text!r}")
    size = int(float(match[1]) * _UNITS[unit])
    if size < 1:
        raise ValueError(f"the size must be at least 1 byte: {text!r}")
    return size
