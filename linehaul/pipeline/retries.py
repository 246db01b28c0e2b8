"""How a run retries a port call that failed although the client library had retried it already.

The Google client libraries retry what they can (see docs/pipeline.md, "Failures and retries"): an error
that reaches the pipeline outlasted those retries, or came from a call they do not retry. A run tries such
a call a few more times (:class:`Retries`), pausing in between, before it gives up and fails (the next run,
or the function's retry, continues). Only *transient* errors are retried: :func:`is_transient` says which.

Retrying is safe for the calls the pipeline makes this way: reads, and writes whose repetition changes
nothing (a marker written twice, an object deleted twice, a copy made twice from the same source, a load
job submitted twice under its deterministic id: BigQuery refuses the second). A conditional write is not
retried blindly: its caller reads back what is there (see :mod:`linehaul.pipeline.lease`).

Every retry policy of linehaul is in two places: this module (:data:`DEFAULT_RETRIES`, the runs' own, and
:meth:`Retries.patient` for the lease's calls) and :mod:`linehaul.gcp.clients` (the client libraries' own,
:data:`~linehaul.gcp.clients.STORAGE_RETRY` and :func:`~linehaul.gcp.clients.bigquery_retry`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

from linehaul.pipeline.ports import (
    BlobInfo,
    BlobNotFoundError,
    JobExistsError,
    PreconditionFailedError,
    StorageError,
    TableLoaderError,
)

__all__ = ["DEFAULT_RETRIES", "Retries", "is_transient"]

_T = TypeVar("_T")

_TRANSIENT = (StorageError, TableLoaderError, TimeoutError, ConnectionError)
_ANSWERS = (BlobNotFoundError, PreconditionFailedError, JobExistsError)


def is_transient(error: BaseException) -> bool:
    """True for a failure that may pass (the service failed, timed out, or was not reached), False for an
    answer (missing, precondition failed, job exists) and for anything else (a bug, a bad request)."""
    return isinstance(error, _TRANSIENT) and not isinstance(error, _ANSWERS)


@dataclass(frozen=True, slots=True)
class Retries:
    """``attempts`` tries of a call that fails transiently, ``pause`` seconds before the second, doubling up
    to ``max_pause``. ``noticed`` hears of every failure that is tried again (or resolved by reading back)."""

    attempts: int = 3
    pause: float = 1.0
    max_pause: float = 8.0
    sleep: Callable[[float], None] = time.sleep
    noticed: Callable[[BaseException], None] = lambda error: None

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.pause < 0:
            raise ValueError(
                f"attempts must be 1 or more and pause 0 or more, not {self.attempts}, {self.pause}"
            )

    def call(self, action: Callable[[], _T]) -> _T:
        """``action()``, tried again after a transient error; the last error if every attempt failed."""
        attempt = 1
        while True:
            try:
                return action()
            except Exception as error:
                if attempt >= self.attempts or not is_transient(error):
                    raise
                self.noticed(error)
            self.after_failure(attempt)
            attempt += 1

    def patient(self, factor: int = 3) -> Retries:
        """These retries with ``factor`` times the attempts: for the calls that other runs wait on."""
        return replace(self, attempts=self.attempts * factor)

    def survive(self, error: Exception, attempt: int) -> Exception:
        """After the ``attempt``-th failure of a call its caller resolves itself (by reading back): raise
        ``error`` again unless it is transient, else hear of it, pause, and give it back (to raise if no
        attempt succeeds)."""
        if not is_transient(error):
            raise error
        self.noticed(error)
        self.after_failure(attempt)
        return error

    def after_failure(self, attempt: int) -> None:
        """Pause after the ``attempt``-th (1-based) failed attempt."""
        if self.pause > 0:
            self.sleep(min(self.pause * 2 ** (attempt - 1), self.max_pause))

    def listing(self, list_objects: Callable[[], Iterable[BlobInfo]]) -> Iterator[BlobInfo]:
        """The objects ``list_objects()`` lists, in name order; a listing that fails on the way is started
        again and resumes after the last object given out."""
        last: str | None = None
        for attempt in itertools.count(1):
            try:
                for info in list_objects():
                    if last is None or info.name > last:
                        last = info.name
                        yield info
                return
            except Exception as error:
                if attempt >= self.attempts or not is_transient(error):
                    raise
                self.noticed(error)
            self.after_failure(attempt)


DEFAULT_RETRIES = Retries()
"""How a run tries a port call again unless told otherwise: 3 attempts, 1 s then 2 s apart."""
