"""Ingest one CDN log: stream it once, parse it, stage its rows as NDJSON, keep every other line, delete it.

:func:`ingest_log` does, for ``gs://<bucket>/<dir>/<name>.log.gz``:

1. stream the log (one block of lines at a time: memory stays flat) through the fast converter, writing
   each output as it goes, in the background, into a pending object of the staging bucket (on Cloud Storage
   held in memory, or past UPLOAD_CHUNK_MB a resumable upload; a hidden file in a directory; a buffer in
   memory) whose name does not depend on the log's dates (:func:`~linehaul.pipeline.naming.pending_key`);
   what crashed runs of the same log left there is removed first;
2. when the log has been read, name the outputs after the UTC day of the earliest row (production's
   minimum timestamp; the object's creation day for a log without one, see
   :mod:`linehaul.pipeline.naming`) and finish each pending object under its name: uploaded under it, or
   the resumable upload composed into it; the file renamed to it. Objects appear whole or not at all. A
   staged file whose ``loaded/`` marker says the publisher already loaded it is not staged again;
3. delete the log (only the generation that was read), or, if it could not be read to its end (corrupt or
   truncated gzip), move it to ``quarantine/`` in its bucket (or in QUARANTINE_BUCKET), the reason in its
   metadata, after its readable lines went through 1-2. A backfill (``keep_source``) deletes nothing: it
   copies a damaged log to quarantine and leaves every log where it was.

Every name is derived from the log, so a duplicate delivery, or a crash at any step followed by a
redelivery, writes the same objects again. An event for a log that no longer exists (already ingested)
does nothing; a storage error of the staging bucket propagates (the event is retried).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO, Literal

from linehaul.convert import Converter
from linehaul.converted import Converted, reason_records
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError, stream_blocks
from linehaul.pipeline.background import BackgroundWriter
from linehaul.pipeline.naming import (
    Partition,
    is_quarantined,
    loaded_marker,
    log_name,
    object_uri,
    pending_key,
    pending_prefix,
    staged_names,
)
from linehaul.pipeline.ports import (
    BlobNotFoundError,
    BlobStore,
    PendingObject,
    PreconditionFailedError,
)
from linehaul.pipeline.quarantine import quarantine_log
from linehaul.pipeline.settings import IngestSettings
from linehaul.tables import Output

__all__ = ["IngestReport", "KeptConverters", "ingest_log"]

_BLOCK_SIZE = 512 << 10
"""Bytes of log per block: a block's rows are held three times (rows, joined, encoded) and queued for the
writer, so the ingestor's blocks are half the usual size (parse's): Cloud Functions bills its memory."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What ingesting one log did: ``ingested``, ``quarantined``, ``missing`` or ``skipped`` (no-ops)."""

    source: str
    outcome: Literal["ingested", "quarantined", "missing", "skipped"]
    counts: ReadCounts = field(default_factory=ReadCounts)
    partition: Partition | None = None
    staged: tuple[str, ...] = ()
    already_loaded: tuple[str, ...] = ()
    damage: str | None = None
    quarantined_as: str | None = None
    seconds: float = 0.0

    def log_record(self) -> dict[str, Any]:
        """One structured log line for Cloud Logging (the counts as top-level keys); severity ERROR when
        linehaul failed on some lines (``internal_errors``: kept as unprocessed, a bug to fix)."""
        if self.outcome == "missing":
            message = f"{self.source} is gone (already ingested?): nothing to do"
        elif self.outcome == "skipped":
            message = f"{self.source} is a quarantined log: not ingested again"
        else:
            message = f"{self.outcome} {self.source}: {self.counts.in_words()}"
        severity = "WARNING" if self.outcome == "quarantined" else "INFO"
        internal = self.counts.internal_errors_message()
        if internal is not None:  # a bug of linehaul's: every line is kept, and it must be seen
            message, severity = f"{message}; {internal}", "ERROR"
        record = {name: value for name, value in asdict(self).items() if name != "counts"}
        counts_record = {name: getattr(self.counts, name) for name in ReadCounts.line_names()}
        return {"severity": severity, "message": message, **record, **counts_record}


class KeptConverters:
    """Converters kept from one log to the next: each log borrows an idle one (:meth:`lend`), or a new one
    when every one is busy, and gives it back when read. Pass it to :func:`ingest_log`.

    A converter's caches (agents classified, dates and requests read) hold answers of pure functions, so a
    log's outputs are the same whatever was converted before it; but consecutive logs share most of their
    agents and requests, which a kept converter then works out once per instance instead of once per log.
    There are never more converters than logs read at once, and their caches are bounded: a warm instance
    holds no more than that many long logs' conversions do.
    """

    def __init__(self) -> None:
        self._idle: list[Converter] = []
        self._lock = threading.Lock()

    @contextmanager
    def lend(self) -> Iterator[Converter]:
        """An idle converter (the most recently used) or a new one, kept again when done."""
        with self._lock:
            converter = self._idle.pop() if self._idle else None
        if converter is None:
            converter = Converter()
        try:
            yield converter
        finally:
            with self._lock:
                self._idle.append(converter)

    @property
    def idle(self) -> int:
        """How many converters are kept and not lent."""
        return len(self._idle)


class _LogGoneError(Exception):
    """The log (that generation of it) is not there to read: ingested already, or replaced."""


@dataclass(slots=True)
class _Outputs:
    """The outputs of one log: pending objects of the staging bucket, each opened on first use and written
    in the background, finished under their names once the log has been read."""

    store: BlobStore
    bucket: str
    log: str
    run: str
    stack: ExitStack
    background: BackgroundWriter
    pending: dict[Output, PendingObject] = field(default_factory=dict)
    counts: ReadCounts = field(default_factory=ReadCounts)

    def write(self, output: Output, data: bytes) -> None:
        writer = self.pending.get(output)
        if writer is None:
            opened = self.store.open_pending(self.bucket, pending_key(self.log, self.run, output))
            writer = self.pending[output] = self.stack.enter_context(opened)
        self.background.write(writer, data)

    def add(self, converted: Converted, encoded: dict[Output, bytes]) -> None:
        self.counts += ReadCounts.of(converted)
        for output, data in encoded.items():
            self.write(output, data)

    def finish(self, partition: Partition) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Name every output after ``partition``; returns (staged, already loaded). An output of rows whose
        staged file was loaded already is left unfinished (discarded)."""
        names = staged_names(partition, self.log)
        staged: list[str] = []
        loaded: list[str] = []
        for output, writer in self.pending.items():
            name = names[output]
            if output.table is not None and self.store.stat(self.bucket, loaded_marker(name)) is not None:
                loaded.append(name)
            else:
                writer.finish(name)
                staged.append(name)
        return tuple(staged), tuple(loaded)


def _encoded(converted: Converted, lines_before: int) -> dict[Output, bytes]:
    """The bytes each output gets from one converted block (none for an empty one)."""
    encoded = {}
    for output, rows in ((Output.DOWNLOADS, converted.downloads), (Output.SIMPLE, converted.simple)):
        if rows:  # the last row's newline joined in: the block's text is not copied once more
            encoded[output] = "\n".join([*rows, ""]).encode()
    if converted.unprocessed:
        encoded[Output.UNPROCESSED] = b"".join(line.raw + b"\n" for line in converted.unprocessed)
        encoded[Output.REASONS] = reason_records(converted.unprocessed, lines_before)
    if converted.ignored:
        encoded[Output.IGNORED] = b"".join(raw + b"\n" for raw in converted.ignored)
    return encoded


@dataclass(frozen=True, slots=True)
class _Reading:
    """What reading a log did: its outputs' counts, where they were staged, and where it broke off."""

    counts: ReadCounts
    partition: Partition
    staged: tuple[str, ...]
    already_loaded: tuple[str, ...]
    damage: str | None


def ingest_log(
    store: BlobStore,
    bucket: str,
    name: str,
    settings: IngestSettings,
    *,
    generation: int | None = None,
    created: datetime | None = None,
    converters: KeptConverters | None = None,
    keep_source: bool = False,
) -> IngestReport:
    """Ingest ``gs://bucket/name`` (that ``generation``, if given) into ``settings.staging_bucket``.

    ``created`` (the object's creation time) names the partition of a log with no row; today (UTC) if not
    given. With ``keep_source`` the log is neither deleted nor moved (a damaged one is copied to
    quarantine). Storage errors other than a missing log propagate: the event is then retried.
    ``converters`` lends the log a converter kept from earlier logs (as the functions and backfills do: the
    outputs are the same, the work less); without it the log gets a new one.
    """
    started, source = time.perf_counter(), object_uri(bucket, name)
    quarantine_bucket = settings.quarantine_bucket or bucket
    if bucket == quarantine_bucket and is_quarantined(name):
        return IngestReport(source, "skipped")  # the event of its own quarantining: ingesting it would loop
    fallback = Partition.of_day((created or datetime.now(UTC)).date())
    try:
        with (KeptConverters() if converters is None else converters).lend() as converter:
            reading = _read(store, bucket, name, generation, settings.staging_bucket, fallback, converter)
    except _LogGoneError:
        return IngestReport(source, "missing", seconds=time.perf_counter() - started)

    quarantined_as = None
    if reading.damage is not None:
        quarantined_as = quarantine_log(store, bucket, name, quarantine_bucket, reading.damage)
    if not keep_source:
        with suppress(PreconditionFailedError):  # a newer upload under the same name: it has its own event
            store.delete(bucket, name, if_generation_match=generation)
    return IngestReport(
        source=source,
        outcome="ingested" if reading.damage is None else "quarantined",
        counts=reading.counts.plus(files=1),
        partition=reading.partition,
        staged=reading.staged,
        already_loaded=reading.already_loaded,
        damage=reading.damage,
        quarantined_as=quarantined_as,
        seconds=time.perf_counter() - started,
    )


def _read(
    store: BlobStore,
    bucket: str,
    name: str,
    generation: int | None,
    staging: str,
    fallback: Partition,
    convert: Converter,
) -> _Reading:
    """The one pass over the log, after removing what crashed runs of it left: convert it, write its outputs
    and name them."""
    source, log = object_uri(bucket, name), log_name(name)
    damage, earliest = None, None
    with ExitStack() as stack:
        try:
            stream = stack.enter_context(store.open_reader(bucket, name, generation))
        except BlobNotFoundError as error:
            raise _LogGoneError(str(error)) from error
        # A run of this log that is still going loses its parts too: it fails and is retried (the log is
        # gone by then, or it starts again); never the other way round, so two runs cannot keep failing.
        store.remove_pending(staging, pending_prefix(log))
        outputs = _Outputs(store, staging, log, uuid.uuid4().hex[:12], stack, BackgroundWriter())
        try:
            for block in _blocks(stream, source):
                encode = partial(_encoded, lines_before=outputs.counts.lines)
                converted, encoded = convert.convert_encoded(block, encode)
                outputs.add(converted, encoded)
                if converted.earliest is not None and (earliest is None or converted.earliest < earliest):
                    earliest = converted.earliest
        except LogFileError as error:
            damage = error.reason
        finally:
            outputs.background.close()  # every write done before the outputs are named
        partition = Partition.of_timestamp(earliest) if earliest else fallback
        staged, already_loaded = outputs.finish(partition)
    return _Reading(outputs.counts, partition, staged, already_loaded, damage)


def _blocks(stream: BinaryIO, source: str) -> Iterator[bytes]:
    """The log's blocks of lines; the log's own disappearance (its generation replaced or deleted while it is
    read) is :class:`_LogGoneError`, which no storage error of the staging bucket can be taken for."""
    try:
        yield from stream_blocks(stream, source, _BLOCK_SIZE)
    except BlobNotFoundError as error:
        raise _LogGoneError(str(error)) from error
