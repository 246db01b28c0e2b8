"""Where a log goes that cannot be ingested: ``quarantine/``, with the reason in its metadata.

Two kinds of logs end there (docs/pipeline.md, "The ingestor", and docs/operations.md, "Re-driving a
quarantined log"):

* a **damaged** log (corrupt or truncated gzip): its readable lines are staged, the log is kept for a look
  (:func:`linehaul.pipeline.ingest.ingest_log`);
* a log whose event has **kept failing** (a dead letter): Eventarc delivers the event of a 2nd gen function
  deployed with ``--retry`` again and again for :data:`RETRY_WINDOW`, then drops it, and the log would stay
  in the log bucket with nothing left to ingest it. From :data:`DEAD_LETTER_AFTER` after the log was
  written, the ingestor moves a log whose ingestion fails to quarantine instead of failing once more, and
  says so; an operator re-drives it once the cause is fixed.

A quarantined log is copied to ``quarantine/<name>`` in its own bucket (``quarantine/<bucket>/<name>`` in
``QUARANTINE_BUCKET`` when set) with :data:`REASON_METADATA` and :data:`SOURCE_METADATA`; the ingestor
ignores the events of its own quarantine.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

from linehaul.pipeline.naming import object_uri, quarantine_name
from linehaul.pipeline.ports import BlobStore, PreconditionFailedError

__all__ = [
    "DEAD_LETTER_AFTER",
    "REASON_METADATA",
    "RETRY_WINDOW",
    "SOURCE_METADATA",
    "dead_letter_due",
    "move_to_quarantine",
    "quarantine_log",
]

REASON_METADATA = "linehaul-damage"
"""The metadata key of a quarantined log's reason (``linehaul status`` shows it)."""
SOURCE_METADATA = "linehaul-source"
"""The metadata key of a quarantined log's original ``gs://`` URI."""

RETRY_WINDOW = timedelta(hours=24)
"""How long Eventarc delivers a failing event again to a 2nd gen function deployed with ``--retry``
(exponential backoff from 10 s to 600 s), after which the event is dropped."""
DEAD_LETTER_AFTER = RETRY_WINDOW - timedelta(hours=1)
"""From this long after a log was written, a failure to ingest it moves it to quarantine: the last hour of
the window leaves room for the several deliveries (600 s apart at most) that may still come."""


def dead_letter_due(created: datetime | None, now: datetime) -> bool:
    """Whether a log written at ``created`` has failed for long enough to be quarantined (never without a
    creation time)."""
    return created is not None and now - created >= DEAD_LETTER_AFTER


def quarantine_log(
    store: BlobStore, bucket: str, name: str, quarantine_bucket: str | None, reason: str
) -> str:
    """Copy ``gs://bucket/name`` to its quarantine (in ``quarantine_bucket``, or its own bucket) with
    ``reason``; the copy's ``gs://`` URI. The log itself is left in place."""
    elsewhere = quarantine_bucket is not None and quarantine_bucket != bucket
    target_bucket = quarantine_bucket if quarantine_bucket is not None else bucket
    target = quarantine_name(bucket, name, elsewhere=elsewhere)
    metadata = {REASON_METADATA: reason, SOURCE_METADATA: object_uri(bucket, name)}
    store.copy(bucket, name, target_bucket, target, metadata=metadata)
    return object_uri(target_bucket, target)


def move_to_quarantine(
    store: BlobStore,
    bucket: str,
    name: str,
    generation: int | None,
    quarantine_bucket: str | None,
    reason: str,
) -> str:
    """:func:`quarantine_log`, then delete the log (that ``generation`` only: a newer upload under the same
    name has its own event); the copy's ``gs://`` URI."""
    quarantined = quarantine_log(store, bucket, name, quarantine_bucket, reason)
    with suppress(PreconditionFailedError):
        store.delete(bucket, name, if_generation_match=generation)
    return quarantined
