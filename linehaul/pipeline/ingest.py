"""Ingest one CDN log: stream it, parse it, stage its rows as NDJSON, keep every other line, then delete it.

:func:`ingest_log` does, for ``gs://<bucket>/<dir>/<name>.log.gz``:

1. stream the object (one block of lines at a time: memory stays flat) through the fast converter, writing
   each output as it goes to ``ingesting/<name>/<output>`` in the staging bucket (streamed uploads);
2. once the whole log is read, name the outputs after the UTC day of its earliest event (see
   :mod:`linehaul.pipeline.naming`) and copy them there, server-side, skipping a staged file whose
   ``loaded/`` marker says the publisher already loaded it; then delete the ``ingesting/`` copies;
3. delete the log (only the generation that was read), or, if it could not be read to its end (corrupt or
   truncated gzip), move it to ``quarantine/`` in its bucket (or in QUARANTINE_BUCKET), the reason in its
   metadata, after its readable lines went through 1-2.

Every name is derived from the log, so a duplicate delivery, or a crash at any step followed by a
redelivery, writes the same objects again; and a staged file that was already loaded is not staged again.
An event for a log that no longer exists (already ingested) does nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, BinaryIO, Literal

from linehaul.convert import Converted, Converter
from linehaul.logfiles import LogFileError, stream_blocks
from linehaul.pipeline.naming import (
    loaded_marker,
    log_name,
    partition_of,
    quarantine_name,
    spool_name,
    staged_names,
)
from linehaul.pipeline.ports import BlobNotFoundError, BlobStore, PreconditionFailedError
from linehaul.pipeline.settings import IngestSettings

__all__ = ["IngestReport", "ingest_log"]

_OUTPUTS = ("downloads", "simple", "unprocessed", "reasons", "ignored")
_LOADED_KINDS = ("downloads", "simple")


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What ingesting one log did: ``ingested``, ``quarantined``, ``missing`` or ``skipped`` (no-ops)."""

    source: str
    outcome: Literal["ingested", "quarantined", "missing", "skipped"]
    lines: int = 0
    file_downloads: int = 0
    simple_requests: int = 0
    unprocessed: int = 0
    ignored: int = 0
    partition: str | None = None
    staged: tuple[str, ...] = ()
    already_loaded: tuple[str, ...] = ()
    damage: str | None = None
    quarantined_as: str | None = None
    seconds: float = 0.0

    def log_record(self) -> dict[str, Any]:
        """One structured log line for Cloud Logging."""
        if self.outcome == "missing":
            message = f"{self.source} is gone (already ingested?): nothing to do"
        elif self.outcome == "skipped":
            message = f"{self.source} is a quarantined log: not ingested again"
        else:
            message = (
                f"{self.outcome} {self.source}: {self.lines} lines, {self.file_downloads} file_downloads, "
                f"{self.simple_requests} simple_requests, {self.unprocessed} unprocessed, "
                f"{self.ignored} ignored"
            )
        severity = "WARNING" if self.outcome == "quarantined" else "INFO"
        return {"severity": severity, "message": message, **asdict(self)}


@dataclass(slots=True)
class _Spool:
    """The outputs of one log, written while it is read, opened on first use."""

    store: BlobStore
    bucket: str
    log: str
    stack: ExitStack
    writers: dict[str, BinaryIO] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OUTPUTS, 0))

    def write(self, output: str, data: bytes, count: int) -> None:
        writer = self.writers.get(output)
        if writer is None:
            name = spool_name(self.log, output)
            writer = self.writers[output] = self.stack.enter_context(
                self.store.open_writer(self.bucket, name)
            )
        writer.write(data)
        self.counts[output] += count

    def add(self, converted: Converted, first_line: int) -> None:
        if converted.downloads:
            self.write(
                "downloads", ("\n".join(converted.downloads) + "\n").encode(), len(converted.downloads)
            )
        if converted.simple:
            self.write("simple", ("\n".join(converted.simple) + "\n").encode(), len(converted.simple))
        if converted.unprocessed:
            lines = b"".join(raw + b"\n" for _, raw, _ in converted.unprocessed)
            self.write("unprocessed", lines, len(converted.unprocessed))
            reasons = (
                json.dumps({"line": first_line + number - 1, "field": error.field, "reason": error.reason})
                for number, _, error in converted.unprocessed
            )
            self.write("reasons", ("\n".join(reasons) + "\n").encode(), len(converted.unprocessed))
        if converted.ignored:
            self.write("ignored", b"".join(raw + b"\n" for raw in converted.ignored), len(converted.ignored))


def ingest_log(
    store: BlobStore,
    bucket: str,
    name: str,
    settings: IngestSettings,
    *,
    generation: int | None = None,
    created: datetime | None = None,
    converter: Callable[[], Converter] = Converter,
) -> IngestReport:
    """Ingest ``gs://bucket/name`` (that ``generation``, if given) into ``settings.result_bucket``.

    ``created`` (the object's creation time) names the partition of a log with no valid event; today
    (UTC) if not given. Storage errors other than a missing log propagate: the event is then retried.
    """
    started, source, log = time.perf_counter(), f"gs://{bucket}/{name}", log_name(name)
    quarantine_bucket = settings.quarantine_bucket or bucket
    if bucket == quarantine_bucket and name.startswith("quarantine/"):
        return IngestReport(source, "skipped")  # the event of its own quarantining: ingesting it would loop
    lines, damage, earliest = 0, None, None
    try:
        with ExitStack() as stack:
            spool = _Spool(store, settings.result_bucket, log, stack)
            convert = converter()
            stream = stack.enter_context(store.open_reader(bucket, name, generation))
            try:
                for block in stream_blocks(stream, source):
                    converted = Converted(earliest=earliest)
                    convert.convert_block(block, converted)
                    spool.add(converted, lines + 1)
                    lines, earliest = lines + converted.lines, converted.earliest
            except LogFileError as error:
                damage = error.reason
    except BlobNotFoundError:
        return IngestReport(source, "missing", seconds=time.perf_counter() - started)

    day = date.fromisoformat(earliest[:10]) if earliest else (created or datetime.now(UTC)).date()
    partition = partition_of(day)
    staged, already_loaded = _stage(store, settings.result_bucket, log, partition, spool)

    quarantined_as = None
    if damage is not None:
        quarantined_as = quarantine_name(bucket, name, elsewhere=quarantine_bucket != bucket)
        reason = {"linehaul-damage": damage, "linehaul-source": source}
        store.copy(bucket, name, quarantine_bucket, quarantined_as, metadata=reason)
        quarantined_as = f"gs://{quarantine_bucket}/{quarantined_as}"
    with suppress(PreconditionFailedError):  # a newer upload under the same name: it has its own event
        store.delete(bucket, name, if_generation_match=generation)
    counts = spool.counts
    return IngestReport(
        source=source,
        outcome="ingested" if damage is None else "quarantined",
        lines=lines,
        file_downloads=counts["downloads"],
        simple_requests=counts["simple"],
        unprocessed=counts["unprocessed"],
        ignored=counts["ignored"],
        partition=partition,
        staged=tuple(staged),
        already_loaded=tuple(already_loaded),
        damage=damage,
        quarantined_as=quarantined_as,
        seconds=time.perf_counter() - started,
    )


def _stage(
    store: BlobStore, bucket: str, log: str, partition: str, spool: _Spool
) -> tuple[list[str], list[str]]:
    """Copy the spooled outputs to their staging names; returns (staged, skipped as already loaded)."""
    names = staged_names(partition, log).by_output()
    staged, already_loaded = [], []
    for output in _OUTPUTS:
        if output not in spool.writers:
            continue
        final = names[output]
        if output in _LOADED_KINDS and store.stat(bucket, loaded_marker(final)) is not None:
            already_loaded.append(final)
        else:
            store.copy(bucket, spool_name(log, output), bucket, final)
            staged.append(final)
    for output in spool.writers:
        store.delete(bucket, spool_name(log, output))
    return staged, already_loaded
