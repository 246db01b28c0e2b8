"""The publisher's lease: one object in the staging bucket that lets one run at a time publish.

``publisher.lock`` holds JSON ``{"owner", "expires", "batch"}``. A run takes the lease by creating the object
only if it does not exist (``if_generation_match=0``), or by replacing a lease whose ``expires`` has passed
(a crashed run's) only if it is still that generation. Every later write is a compare-and-swap on the
generation the run last wrote, so a run that lost its lease learns it (:class:`LeaseLostError`) before it
submits anything more.

``batch`` records the staged files a run is loading before it submits their load jobs: a run that takes
over a crashed run's lease finishes that batch first, with the same job ids, so nothing loads twice.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from linehaul.pipeline.naming import LOCK, object_uri
from linehaul.pipeline.ports import BlobNotFoundError, BlobStore, PreconditionFailedError

__all__ = ["Lease", "LeaseLostError"]


class LeaseLostError(Exception):
    """Another run took the lease (this run overran it): stop before doing anything more."""


@dataclass(slots=True)
class Lease:
    """A held lease. ``inherited`` is the batch a crashed run left unfinished, if any."""

    store: BlobStore
    bucket: str
    owner: str
    seconds: float
    generation: int
    inherited: dict[str, Any] | None = None

    @classmethod
    def acquire(
        cls, store: BlobStore, bucket: str, owner: str, seconds: float, now: datetime
    ) -> Lease | None:
        """The lease, or None if another live run holds it."""
        for _ in range(3):  # the holder may release it between our two steps: try again
            body = _body(owner, now, seconds, None)
            try:
                generation = store.put(
                    bucket, LOCK, body, if_generation_match=0, content_type="application/json"
                )
                return cls(store, bucket, owner, seconds, generation)
            except PreconditionFailedError:
                pass
            try:
                data, info = store.get(bucket, LOCK)
            except BlobNotFoundError:
                continue
            held = json.loads(data)
            if datetime.fromisoformat(held["expires"]) > now:
                return None
            body = _body(owner, now, seconds, held.get("batch"))
            try:
                generation = store.put(bucket, LOCK, body, if_generation_match=info.generation)
            except PreconditionFailedError:
                return None  # another run took over first
            return cls(store, bucket, owner, seconds, generation, inherited=held.get("batch"))
        return None

    def record(self, batch: dict[str, Any] | None, now: datetime) -> None:
        """Write down the batch being loaded (None: nothing in flight) and renew the lease."""
        body = _body(self.owner, now, self.seconds, batch)
        try:
            self.generation = self.store.put(self.bucket, LOCK, body, if_generation_match=self.generation)
        except PreconditionFailedError:
            raise LeaseLostError(f"{object_uri(self.bucket, LOCK)} was taken over") from None

    def release(self) -> None:
        """Give the lease up (if it is still ours)."""
        with suppress(PreconditionFailedError):
            self.store.delete(self.bucket, LOCK, if_generation_match=self.generation)


def _body(owner: str, now: datetime, seconds: float, batch: dict[str, Any] | None) -> bytes:
    expires = (now + timedelta(seconds=seconds)).isoformat()
    return json.dumps({"owner": owner, "expires": expires, "batch": batch}).encode()
