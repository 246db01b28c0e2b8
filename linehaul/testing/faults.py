"""Seeded faults for the pipeline's ports: any BlobStore or TableLoader made to fail now and then, as the real
services do, for tests of what the pipeline does about it (yours too, like :mod:`linehaul.testing.memory`).

    faults = Faults(seed=7, before=0.05, after=0.05, timeout=0.02)
    store = FlakyBlobStore(MemoryBlobStore(), faults)
    loader = FlakyTableLoader(MemoryTableLoader(store.inner), faults)

Every call of a port method may get a :class:`Fault`:

* ``BEFORE``: it fails without acting (StorageError, or TableLoaderError for the loader): a 503 before the
  backend was reached;
* ``AFTER``: it acts, then fails: the answer was lost. The caller gets either the transient error or what
  the client library's own retry would have got after the first attempt landed: a conditional write fails
  its own precondition (PreconditionFailedError), a delete finds nothing (returns False), a job insert
  finds its job (JobExistsError). A read "acts" harmlessly: a listing stops part-way, a stream after some
  reads;
* ``TIMEOUT``: TimeoutError, the call having acted or not.

Which call gets which fault follows from the seed and the call itself (method, object or job, and how many
times that same call was made before), never from the order in which threads make their calls: the same
seed replays the same faults, whatever the scheduling. ``Faults.injected`` counts what was injected.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, BinaryIO, TypeVar, cast

from linehaul.pipeline.naming import object_uri
from linehaul.pipeline.ports import (
    BlobInfo,
    BlobStore,
    JobExistsError,
    LoadJob,
    PendingObject,
    PreconditionFailedError,
    Schema,
    StorageError,
    TableLoader,
    TableLoaderError,
    TableRef,
)

__all__ = ["Fault", "Faults", "FlakyBlobStore", "FlakyTableLoader"]

_T = TypeVar("_T")


class Fault(StrEnum):
    """How a call fails on purpose, in every fake of :mod:`linehaul.testing` (see the module docstring)."""

    BEFORE = "before"
    """The call fails without reaching the service (a 503 before it acted)."""
    AFTER = "after"
    """The service acted, and its answer was lost (or, for a read, breaks off part-way)."""
    TIMEOUT = "timeout"
    """The call times out, having acted or not (the ports only)."""
    CUT = "cut"
    """An HTTP answer broken off after some bytes of its body (:class:`~linehaul.testing.proxy.FlakyProxy`
    only)."""


@dataclass(frozen=True, slots=True)
class _Fate:
    """What one call does: its fault (None: it works), whether it acts, whether it fails as the library's
    retry would (``echo``), and after how many reads a read fails."""

    fault: Fault | None
    acts: bool
    echo: bool
    reads: int


class Faults:
    """The seeded source of faults that wrappers share; ``before``, ``after`` and ``timeout`` are the
    probabilities of each for every call."""

    def __init__(self, seed: int, *, before: float = 0.0, after: float = 0.0, timeout: float = 0.0) -> None:
        if min(before, after, timeout) < 0 or before + after + timeout > 1:
            raise ValueError(f"before={before}, after={after}, timeout={timeout} are not probabilities")
        self.seed, self.before, self.after, self.timeout = seed, before, after, timeout
        self.injected: Counter[tuple[str, Fault]] = Counter()
        self._calls: Counter[tuple[str, ...]] = Counter()
        self._lock = threading.Lock()

    def fate(self, method: str, *key: str) -> _Fate:
        """The fate of this call of ``method`` on ``key`` (an object or a job)."""
        with self._lock:
            call = (method, *key)
            number = self._calls[call]
            self._calls[call] += 1
        chance = random.Random(f"{self.seed}|{'|'.join(call)}|{number}")
        roll = chance.random()
        fault = None
        if roll < self.before:
            fault = Fault.BEFORE
        elif roll < self.before + self.after:
            fault = Fault.AFTER
        elif roll < self.before + self.after + self.timeout:
            fault = Fault.TIMEOUT
        if fault is not None:
            with self._lock:
                self.injected[(method, fault)] += 1
        acts = fault is not Fault.BEFORE and (fault is not Fault.TIMEOUT or chance.random() < 0.5)
        return _Fate(fault, acts, echo=chance.random() < 0.5, reads=chance.randrange(3))

    def total(self) -> int:
        """Faults injected so far."""
        with self._lock:
            return sum(self.injected.values())


def _act(
    fate: _Fate,
    action: Callable[[], _T],
    failure: Callable[[str], Exception],
    echo: Callable[[], _T] | None = None,
) -> _T:
    """Run ``action`` as ``fate`` says: work, fail before it, act then fail (or echo), or time out.
    ``failure(what)`` makes the port's error for the call."""
    if fate.fault is None:
        return action()
    if fate.fault is Fault.BEFORE:
        raise failure("failed before reaching the service (injected)")
    if fate.acts:
        action()
    if fate.fault is Fault.TIMEOUT:
        raise TimeoutError(str(failure("timed out (injected)")))
    if echo is not None and fate.echo:
        return echo()
    raise failure("the service acted, its answer was lost (injected)")


class FlakyBlobStore:
    """A :class:`~linehaul.pipeline.ports.BlobStore` failing now and then, else doing what ``inner`` does."""

    def __init__(self, inner: BlobStore, faults: Faults) -> None:
        self.inner, self.faults = inner, faults

    def open_reader(
        self, bucket: str, name: str, generation: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        return self._reader(bucket, name, generation)

    @contextmanager
    def _reader(self, bucket: str, name: str, generation: int | None) -> Iterator[BinaryIO]:
        where = object_uri(bucket, name)
        fate = self.faults.fate("open_reader", bucket, name)
        if fate.fault is not None and fate.fault is not Fault.AFTER:
            _act(fate, lambda: None, _storage(where))
        with self.inner.open_reader(bucket, name, generation) as stream:
            yield cast(BinaryIO, _FailingStream(stream, where, fate)) if fate.fault else stream

    def open_writer(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> AbstractContextManager[BinaryIO]:
        return self._writer(bucket, name, content_type, metadata)

    @contextmanager
    def _writer(
        self, bucket: str, name: str, content_type: str, metadata: Mapping[str, str] | None
    ) -> Iterator[BinaryIO]:
        where = object_uri(bucket, name)
        fate = self.faults.fate("open_writer", bucket, name)
        if fate.fault is Fault.BEFORE:
            _act(fate, lambda: None, _storage(where))
        with self.inner.open_writer(bucket, name, content_type=content_type, metadata=metadata) as stream:
            yield stream
            if fate.fault is not None and not fate.acts:  # abandon the object: the write never lands
                raise TimeoutError(f"{where}: timed out (injected)")
        if fate.fault is not None:  # it landed
            _act(fate, lambda: None, _storage(where))

    def open_pending(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream"
    ) -> AbstractContextManager[PendingObject]:
        return self._pending(bucket, key, content_type)

    @contextmanager
    def _pending(self, bucket: str, key: str, content_type: str) -> Iterator[PendingObject]:
        fate = self.faults.fate("open_pending", bucket, key)
        if fate.fault is not None and fate.fault is not Fault.AFTER:  # the first part's upload failed
            _act(fate, lambda: None, _storage(object_uri(bucket, key)))
        with self.inner.open_pending(bucket, key, content_type=content_type) as pending:
            yield _FlakyPending(pending, bucket, self.faults)

    def remove_pending(self, bucket: str, key: str) -> None:
        fate = self.faults.fate("remove_pending", bucket, key)
        _act(fate, lambda: self.inner.remove_pending(bucket, key), _storage(object_uri(bucket, key)))

    def put(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        if_generation_match: int | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str = "application/octet-stream",
    ) -> int:
        where = object_uri(bucket, name)

        def put() -> int:
            return self.inner.put(
                bucket, name, data, if_generation_match=if_generation_match, metadata=metadata,
                content_type=content_type,
            )  # fmt: skip

        def precondition_failed() -> int:
            raise PreconditionFailedError(f"{where}: generation precondition failed (a retry, injected)")

        conditional = if_generation_match is not None
        fate = self.faults.fate("put", bucket, name)
        return _act(fate, put, _storage(where), precondition_failed if conditional else None)

    def get(self, bucket: str, name: str) -> tuple[bytes, BlobInfo]:
        fate = self.faults.fate("get", bucket, name)
        return _act(fate, lambda: self.inner.get(bucket, name), _storage(object_uri(bucket, name)))

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        fate = self.faults.fate("stat", bucket, name)
        return _act(fate, lambda: self.inner.stat(bucket, name), _storage(object_uri(bucket, name)))

    def copy(
        self,
        bucket: str,
        name: str,
        to_bucket: str,
        to_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        fate = self.faults.fate("copy", bucket, name, to_bucket, to_name)
        _act(
            fate,
            lambda: self.inner.copy(bucket, name, to_bucket, to_name, metadata=metadata),
            _storage(object_uri(to_bucket, to_name)),
        )

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        fate = self.faults.fate("delete", bucket, name)
        return _act(
            fate,
            lambda: self.inner.delete(bucket, name, if_generation_match=if_generation_match),
            _storage(object_uri(bucket, name)),
            lambda: False,  # the retry of a delete that landed finds nothing
        )

    def list(self, bucket: str, prefix: str, *, limit: int | None = None) -> Iterator[BlobInfo]:
        fate = self.faults.fate("list", bucket, prefix)
        where = object_uri(bucket, prefix) + "*"
        if fate.fault is not None and fate.fault is not Fault.AFTER:
            _act(fate, lambda: None, _storage(where))
        for number, info in enumerate(self.inner.list(bucket, prefix, limit=limit)):
            if fate.fault is Fault.AFTER and number == fate.reads:
                raise StorageError(f"{where}: the listing failed part-way (injected)")
            yield info

    def folders(self, bucket: str, prefix: str) -> Iterator[str]:
        fate = self.faults.fate("folders", bucket, prefix)
        where = object_uri(bucket, prefix) + "*/"
        if fate.fault is not None and fate.fault is not Fault.AFTER:
            _act(fate, lambda: None, _storage(where))
        for number, folder in enumerate(self.inner.folders(bucket, prefix)):
            if fate.fault is Fault.AFTER and number == fate.reads:
                raise StorageError(f"{where}: the listing failed part-way (injected)")
            yield folder


class _FlakyPending:
    """A pending object whose ``finish`` (the compose, or the rename) may fail, before or after acting."""

    def __init__(self, inner: PendingObject, bucket: str, faults: Faults) -> None:
        self._inner, self._bucket, self._faults = inner, bucket, faults

    def write(self, data: bytes, /) -> int:
        return self._inner.write(data)

    def finish(self, name: str, *, metadata: Mapping[str, str] | None = None) -> None:
        fate = self._faults.fate("finish", self._bucket, name)
        where = object_uri(self._bucket, name)
        _act(fate, lambda: self._inner.finish(name, metadata=metadata), _storage(where))


class _FailingStream:
    """A read stream that fails after ``fate.reads`` reads (a dropped connection part-way)."""

    def __init__(self, inner: BinaryIO, where: str, fate: _Fate) -> None:
        self._inner, self._where, self._reads = inner, where, fate.reads

    def read(self, size: int = -1) -> bytes:
        if self._reads <= 0:
            raise StorageError(f"{self._where}: the download failed part-way (injected)")
        self._reads -= 1
        return self._inner.read(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class FlakyTableLoader:
    """A :class:`~linehaul.pipeline.ports.TableLoader` failing now and then, else as ``inner`` does."""

    def __init__(self, inner: TableLoader, faults: Faults) -> None:
        self.inner, self.faults = inner, faults

    def start_load(self, job_id: str, uris: Sequence[str], table: TableRef, schema: Schema) -> None:
        def job_exists() -> None:
            raise JobExistsError(f"load job {job_id!r} was submitted before (a retry, injected)")

        fate = self.faults.fate("start_load", job_id)
        _act(fate, lambda: self.inner.start_load(job_id, uris, table, schema), _loader(job_id), job_exists)

    def job(self, job_id: str) -> LoadJob | None:
        return _act(self.faults.fate("job", job_id), lambda: self.inner.job(job_id), _loader(job_id))

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        fate = self.faults.fate("wait", job_id)
        return _act(fate, lambda: self.inner.wait(job_id, timeout), _loader(job_id))


def _storage(where: str) -> Callable[[str], Exception]:
    return lambda what: StorageError(f"{where}: {what}")


def _loader(job_id: str) -> Callable[[str], Exception]:
    return lambda what: TableLoaderError(f"load job {job_id}: {what}")
