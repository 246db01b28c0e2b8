"""The publisher's lease: one object in the staging bucket that lets one run at a time publish.

``publisher.lock`` holds JSON ``{"owner", "expires", "batch"}`` (and ``"released": true`` once given up):
``owner`` is the token of the run that holds it (random, one per run). A run takes the lease by creating the
object only if it does not exist (``if_generation_match=0``), or by replacing a lease whose ``expires`` has
passed only if it is still that generation. Every later write is a compare-and-swap on the generation the run
last wrote, so a run that lost its lease learns it (:class:`LeaseLostError`) before it submits anything more.

**Know what you wrote.** A write can land and still fail: the answer is lost, the client library retries,
and the retry fails its own precondition (or times out). So after any failed or ambiguous write the run
reads the lease back: its own token means the lease is still the run's (the write landed if the content is
what it wrote, else it tries again on the generation it read); another token, or no lease, means it was
really taken over.

``batch`` records the staged files a run is loading before it submits their load jobs: a run that takes
over the lease finishes that batch first, with the same job ids, so nothing loads twice. A run that ends,
well or by an exception, *releases* the lease (:meth:`Lease.release`): rewrites it as expired, with the
batch in flight if any, so the next run takes it over at once instead of waiting ``LOCK_SECONDS``; a run
that stopped on a load failure no file caused keeps that failure in the batch (``"failed"``, see
:class:`linehaul.pipeline.failures.LoadFailure`), for the next runs to wait before they try again. Only a
run that dies without running its error handling (its instance killed) leaves a live lease behind: the run
that takes it over once it expires says so (:attr:`Lease.taken_over`).
:func:`read_lease` reads it as it is (``linehaul status`` shows it), :func:`is_held` says whether a live
lease is there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from linehaul.pipeline.naming import LOCK, object_uri
from linehaul.pipeline.ports import BlobNotFoundError, BlobStore, PreconditionFailedError
from linehaul.pipeline.retries import DEFAULT_RETRIES, Retries

__all__ = ["Lease", "LeaseLostError", "LeaseRecord", "is_held", "read_lease"]


class LeaseLostError(Exception):
    """Another run took the lease (this run overran it): stop before doing anything more."""


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The lease as read: its bytes, its generation and what they say: the ``owner`` (the token of the run
    that holds or last held it), when it ``expires`` (a released lease has expired), the ``batch`` in
    flight (None: nothing)."""

    data: bytes
    generation: int
    owner: str
    expires: datetime
    batch: dict[str, Any] | None
    released: bool = False
    """Given up by its run (:meth:`Lease.release`), rather than left to expire by a run that died."""

    def held(self, now: datetime) -> bool:
        """Whether a run holds it at ``now`` (or died holding it)."""
        return self.expires > now


@dataclass(slots=True)
class Lease:
    """A held lease. ``batch`` is what it records now; ``inherited`` the batch a failed or crashed run left
    unfinished, if any, when this run took the lease; ``taken_over`` the lease as this run found it when its
    run had died holding it (expired, never released), else None."""

    store: BlobStore
    bucket: str
    owner: str
    seconds: float
    generation: int
    batch: dict[str, Any] | None = None
    inherited: dict[str, Any] | None = None
    retries: Retries = DEFAULT_RETRIES
    taken_over: LeaseRecord | None = None

    @classmethod
    def acquire(
        cls,
        store: BlobStore,
        bucket: str,
        owner: str,
        seconds: float,
        now: datetime,
        retries: Retries = DEFAULT_RETRIES,
    ) -> Lease | None:
        """The lease, or None if another live run holds it. ``owner``: this run's token, unique to it.

        The lease's reads and writes are tried three times as often as other calls (``retries.patient()``):
        every later run waits on them.
        """
        retries = retries.patient()

        def held_by_us(
            generation: int, batch: dict[str, Any] | None, dead: LeaseRecord | None = None
        ) -> Lease:
            return cls(store, bucket, owner, seconds, generation, batch, batch, retries, dead)

        body = _body(owner, now, seconds, None)
        error: Exception | None = None
        for attempt in range(1, retries.attempts + 2):  # a holder may release it between our steps, too
            refused: PreconditionFailedError | None = None
            try:
                return held_by_us(_create(store, bucket, body), None)
            except PreconditionFailedError as failed:
                refused = failed  # there is a lease: maybe ours (a retry after our write landed), read it
            except Exception as failed:
                error = retries.survive(failed, attempt)
            held = _read(store, bucket, retries)
            if held is None:
                continue  # released meanwhile (or our write did not land): create it again
            if held.owner == owner:  # our write landed
                if refused is not None:
                    retries.noticed(refused)
                return held_by_us(held.generation, held.batch)
            if held.expires > now:
                return None
            taken = _body(owner, now, seconds, held.batch)
            try:
                generation = store.put(bucket, LOCK, taken, if_generation_match=held.generation)
                return held_by_us(generation, held.batch, None if held.released else held)
            except PreconditionFailedError as failed:
                refused = failed  # another run took it first, or our own write landed: the next round reads
            except Exception as failed:
                error = retries.survive(failed, attempt)
        if error is not None:
            raise error
        return None

    def record(self, batch: dict[str, Any] | None, now: datetime) -> None:
        """Write down the batch being loaded (None: nothing in flight) and renew the lease."""
        body = _body(self.owner, now, self.seconds, batch)
        self._swap(lambda: body, lambda held: held.data == body)
        self.batch = batch

    def release(self, now: datetime, failure: dict[str, Any] | None = None) -> None:
        """Give the lease up if it is still this run's: rewrite it as expired, with the batch in flight if
        any (for the next run to finish), and with ``failure`` noted in that batch (``"failed"``: why it
        could not be loaded). Does nothing if another run holds it.

        The lease is rewritten, never deleted: a compare-and-swap retried after it landed fails, where a
        delete retried after it landed (after the next run took the lease) would remove the next run's
        lease on any store that ignores a delete's generation precondition, as fake-gcs-server does.
        """

        def released() -> bytes:  # of the batch as last known: a read-back may adopt the lease's
            noted = self.batch if failure is None or self.batch is None else {**self.batch, "failed": failure}
            return _body(self.owner, now, 0.0, noted, released=True)

        with suppress(LeaseLostError):  # not ours any more: leave it alone
            self._swap(released, lambda held: held.expires <= now and held.data == released())

    def _swap(self, body: Callable[[], bytes], landed: Callable[[LeaseRecord], bool]) -> None:
        """Replace the lease with ``body()`` by compare-and-swap on our generation, knowing what we wrote:
        after a failure, the lease is read back; ``landed`` says whether it holds what we wrote."""

        def write() -> None:
            self.generation = self.store.put(self.bucket, LOCK, body(), if_generation_match=self.generation)

        error = None
        for attempt in range(1, self.retries.attempts + 1):
            error = self._attempt(write, attempt)
            if error is None or landed(self._ours()):
                return
        assert error is not None  # there was at least one attempt
        raise error

    def _attempt(self, write: Callable[[], None], attempt: int) -> Exception | None:
        """None if ``write()`` succeeded; the error if it failed in a way that a read-back can resolve."""
        try:
            write()
        except PreconditionFailedError as error:
            self.retries.noticed(error)
            return error
        except Exception as error:
            return self.retries.survive(error, attempt)
        return None

    def _ours(self) -> LeaseRecord:
        """The lease as it is, if it is still ours (its generation and batch adopted); LeaseLostError if
        not (another run's token, or no lease)."""
        held = _read(self.store, self.bucket, self.retries)
        if held is None or held.owner != self.owner:
            raise LeaseLostError(f"{object_uri(self.bucket, LOCK)} was taken over")
        self.generation, self.batch = held.generation, held.batch
        return held


def is_held(store: BlobStore, bucket: str, now: datetime) -> bool:
    """Whether a run holds the lease at ``now`` (or died holding it): it exists and has not expired."""
    held = read_lease(store, bucket)
    return held is not None and held.held(now)


def read_lease(store: BlobStore, bucket: str, retries: Retries = DEFAULT_RETRIES) -> LeaseRecord | None:
    """The lease as it is now (held or released), or None if no run ever took it. Changes nothing."""
    return _read(store, bucket, retries)


def _create(store: BlobStore, bucket: str, body: bytes) -> int:
    return store.put(bucket, LOCK, body, if_generation_match=0, content_type="application/json")


def _read(store: BlobStore, bucket: str, retries: Retries) -> LeaseRecord | None:
    """The lease as it is now, or None if there is none."""
    try:
        data, info = retries.call(lambda: store.get(bucket, LOCK))
    except BlobNotFoundError:
        return None
    held = json.loads(data)
    expires = datetime.fromisoformat(held["expires"])
    owner, released = str(held.get("owner")), held.get("released") is True
    return LeaseRecord(data, info.generation, owner, expires, held["batch"], released)


def _body(
    owner: str, now: datetime, seconds: float, batch: dict[str, Any] | None, *, released: bool = False
) -> bytes:
    expires = (now + timedelta(seconds=seconds)).isoformat()
    body: dict[str, Any] = {"owner": owner, "expires": expires, "batch": batch}
    if released:
        body["released"] = True
    return json.dumps(body).encode()
