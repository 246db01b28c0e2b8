"""The pipeline's state, as an operator asks for it (``linehaul status``): what is staged per table and
partition (files, bytes, oldest), the publisher's lease (owner, expiry, the batch it records and why that
batch failed, or free), the quarantined logs and staged files with their reasons, the unprocessed and
ignored outputs per partition, upload parts that crashed runs left, and the logs waiting to be ingested.

:func:`read_status` only lists and reads, through the :class:`~linehaul.pipeline.ports.BlobStore` port: it
changes nothing, and needs read access alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from linehaul.pipeline.backlog import OutputTally, Tally, tally_outputs
from linehaul.pipeline.lease import LeaseRecord, read_lease
from linehaul.pipeline.naming import (
    DAMAGE_METADATA,
    LOAD_ERROR_METADATA,
    object_uri,
    parts_prefix,
    quarantine_prefix,
    quarantined_staged_prefix,
)
from linehaul.pipeline.ports import BlobInfo, BlobStore, TableRef
from linehaul.pipeline.retries import DEFAULT_RETRIES, Retries
from linehaul.tables import Output, Table

__all__ = ["PipelineStatus", "Quarantined", "read_status"]

_KEPT = (Output.UNPROCESSED, Output.IGNORED)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An object in quarantine: where, how big, and why it is there."""

    uri: str
    bytes: int
    reason: str
    created: datetime | None = None


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """The state of one staging bucket (and of the log bucket, when given) at ``now``."""

    bucket: str
    now: datetime
    staged: dict[Table, OutputTally]
    kept: dict[Output, OutputTally]
    lease: LeaseRecord | None
    quarantined_logs: tuple[Quarantined, ...]
    quarantined_staged: tuple[Quarantined, ...]
    upload_parts: int
    destinations: dict[Table, tuple[TableRef, ...]] = field(default_factory=dict)
    log_bucket: str | None = None
    logs_waiting: Tally | None = None

    def to_json(self) -> dict[str, Any]:
        """The status as one JSON object (``linehaul status --json``)."""
        staged = {
            table.value: {
                **_tally_json(tally.total),
                "destinations": [str(ref) for ref in self.destinations.get(table, ())],
                "partitions": {part: _tally_json(each) for part, each in tally.partitions.items()},
            }
            for table, tally in self.staged.items()
        }
        kept = {
            output.value: {
                **_tally_json(tally.total),
                "partitions": {part: _tally_json(each) for part, each in tally.partitions.items()},
            }
            for output, tally in self.kept.items()
        }
        return {
            "bucket": object_uri(self.bucket),
            "at": self.now.isoformat(),
            "staged": staged,
            "kept": kept,
            "lease": self.lease_json(),
            "quarantined": {
                "logs": [_quarantined_json(item) for item in self.quarantined_logs],
                "staged": [_quarantined_json(item) for item in self.quarantined_staged],
            },
            "upload_parts": self.upload_parts,
            "logs": None
            if self.logs_waiting is None or self.log_bucket is None
            else {"bucket": object_uri(self.log_bucket), **_tally_json(self.logs_waiting)},
        }

    def lease_json(self) -> dict[str, Any] | None:
        """The lease: ``held`` (by a run now, or by one that died) or ``free``, and whether its last run
        ``released`` it (false for a free lease: that run died holding it); None if never taken."""
        if self.lease is None:
            return None
        batch = self.lease.batch
        return {
            "state": "held" if self.lease.held(self.now) else "free",
            "owner": self.lease.owner,
            "expires": self.lease.expires.isoformat(),
            "released": self.lease.released,
            "batch": None
            if batch is None
            else {
                "kind": batch.get("kind"),
                "files": len(batch.get("names", ())),
                "names": list(batch.get("names", ())),
                "failed": batch.get("failed"),
            },
        }


def read_status(
    store: BlobStore,
    bucket: str,
    now: datetime,
    *,
    log_bucket: str | None = None,
    quarantine_bucket: str | None = None,
    destinations: Mapping[Table, Iterable[TableRef]] | None = None,
    retries: Retries = DEFAULT_RETRIES,
) -> PipelineStatus:
    """The state of staging ``bucket`` (and of ``log_bucket``, the CDN's, when given; ``quarantine_bucket``:
    the ingestor's QUARANTINE_BUCKET, if set). Only reads."""
    tallies = tally_outputs(store, bucket, [*Output.of_rows(), *_KEPT], retries)
    staged = {table: tallies[table.output] for table in Table}
    logs: list[Quarantined] = []  # in the log bucket, QUARANTINE_BUCKET, or a backfill's staging area
    for place in dict.fromkeys(name for name in (log_bucket, quarantine_bucket, bucket) if name):
        found = retries.listing(partial(store.list, place, quarantine_prefix()))
        staged_here = quarantined_staged_prefix() if place == bucket else None
        logs += [
            _item(place, info, DAMAGE_METADATA)
            for info in found
            if staged_here is None or not info.name.startswith(staged_here)
        ]
    waiting = None
    if log_bucket is not None:
        waiting = Tally()
        for info in retries.listing(partial(store.list, log_bucket, "")):
            if not info.name.startswith(quarantine_prefix()):
                waiting.add(info)
    return PipelineStatus(
        bucket=bucket,
        now=now,
        staged=staged,
        kept={output: tallies[output] for output in _KEPT},
        lease=read_lease(store, bucket, retries),
        quarantined_logs=tuple(logs),
        quarantined_staged=tuple(
            _quarantined(store, bucket, quarantined_staged_prefix(), LOAD_ERROR_METADATA, retries)
        ),
        upload_parts=sum(1 for _ in retries.listing(partial(store.list, bucket, parts_prefix()))),
        destinations={table: tuple(refs) for table, refs in (destinations or {}).items()},
        log_bucket=log_bucket,
        logs_waiting=waiting,
    )


def _quarantined(
    store: BlobStore, bucket: str, prefix: str, reason_key: str, retries: Retries
) -> list[Quarantined]:
    return [_item(bucket, info, reason_key) for info in retries.listing(partial(store.list, bucket, prefix))]


def _item(bucket: str, info: BlobInfo, reason_key: str) -> Quarantined:
    reason = info.metadata.get(reason_key) or "(no reason recorded)"
    return Quarantined(object_uri(bucket, info.name), info.size, reason, info.created)


def _tally_json(tally: Tally) -> dict[str, Any]:
    oldest = None if tally.oldest is None else tally.oldest.isoformat()
    return {"files": tally.files, "bytes": tally.bytes, "oldest": oldest}


def _quarantined_json(item: Quarantined) -> dict[str, Any]:
    created = None if item.created is None else item.created.isoformat()
    return {"uri": item.uri, "bytes": item.bytes, "reason": item.reason, "created": created}
