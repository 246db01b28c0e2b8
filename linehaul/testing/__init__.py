"""Fakes for testing code that uses linehaul, and linehaul itself (``structlog.testing`` is the model).

Nothing of linehaul's runtime imports this package: the functions, the command line and the backfills run
without it. It holds what tests and benchmarks use, public so that your tests can use it too:

- :class:`MemoryBlobStore`, :class:`MemoryTableLoader`: the pipeline's ports in memory, keeping bytes,
  generations and rows as Cloud Storage and BigQuery do (:mod:`linehaul.testing.memory`);
- :class:`Faults`, :class:`FlakyBlobStore`, :class:`FlakyTableLoader`: any port made to fail now and then,
  seeded and replayable (:mod:`linehaul.testing.faults`);
- :class:`FlakyProxy`: an HTTP proxy in front of either emulator of the local cloud that fails a seeded
  fraction of requests, and counts them (by kind with :func:`storage_request_kind`, what Cloud Storage
  bills per operation) (:mod:`linehaul.testing.proxy`, :mod:`linehaul.testing.storage_requests`);
- :mod:`linehaul.testing.settle`: the whole pipeline played for a day on a flaky local cloud (the local
  extra), to see that it settles with every row loaded once.

One vocabulary for failures made on purpose: a *fault* (:class:`Fault`) is one failure of one call;
``Flaky…`` names what injects faults.
"""

from typing import TYPE_CHECKING

from linehaul._lazy import lazy_attributes

if TYPE_CHECKING:
    from linehaul.testing.faults import Fault, Faults, FlakyBlobStore, FlakyTableLoader
    from linehaul.testing.memory import MemoryBlobStore, MemoryTableLoader
    from linehaul.testing.proxy import FlakyCounts, FlakyProxy
    from linehaul.testing.storage_requests import StorageRequest, storage_request_kind

# Imported on first use, as linehaul's other packages are.
_HOMES = {
    **dict.fromkeys(("Fault", "Faults", "FlakyBlobStore", "FlakyTableLoader"), "faults"),
    **dict.fromkeys(("MemoryBlobStore", "MemoryTableLoader"), "memory"),
    **dict.fromkeys(("FlakyCounts", "FlakyProxy"), "proxy"),
    **dict.fromkeys(("StorageRequest", "storage_request_kind"), "storage_requests"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = [
    "Fault",
    "Faults",
    "FlakyBlobStore",
    "FlakyCounts",
    "FlakyProxy",
    "FlakyTableLoader",
    "MemoryBlobStore",
    "MemoryTableLoader",
    "StorageRequest",
    "storage_request_kind",
]
