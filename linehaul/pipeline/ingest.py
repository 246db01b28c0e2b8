"""Ingest one CDN log: stream it, parse it, stage its rows as NDJSON, keep every other line, then delete it.

:func:`ingest_log` does, for ``gs://<bucket>/<dir>/<name>.log.gz``:

1. read the log once quickly for the days of its events (:mod:`linehaul.pipeline.days`), to name the
   outputs after the UTC day of its earliest event (see :mod:`linehaul.pipeline.naming`);
2. stream the log (one block of lines at a time: memory stays flat) through the converter (the columnar
   path where pyarrow is installed), writing each output under its final name as it goes (streamed
   uploads, in a background thread), except a
   staged file whose ``loaded/`` marker says the publisher already loaded it. When the first look cannot
   be sure of the days (a date field with odd spacing), the outputs go to ``ingesting/<name>/`` and are
   copied to their final names at the end, named after the earliest row;
3. delete the log (only the generation that was read), or, if it could not be read to its end (corrupt or
   truncated gzip), move it to ``quarantine/`` in its bucket (or in QUARANTINE_BUCKET), the reason in its
   metadata, after its readable lines went through 1-2. A backfill (``keep_source``) deletes nothing: it
   copies a damaged log to quarantine and leaves every log where it was.

An event is a download or simple line with a valid date, valid otherwise or not: its day names the
partition, as production's minimum timestamp does for every log whose earliest line is a valid one.
Every name is derived from the log, so a duplicate delivery, or a crash at any step followed by a
redelivery, writes the same objects again; and a staged file that was already loaded is not staged again.
An event for a log that no longer exists (already ingested) does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal

from linehaul.convert import Converter, reason_records
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError, stream_blocks
from linehaul.logs.parallel import NDJSON, BlockResult, block_converter
from linehaul.pipeline.background import BackgroundWriter
from linehaul.pipeline.days import event_days
from linehaul.pipeline.naming import (
    is_quarantined,
    loaded_marker,
    log_name,
    object_uri,
    partition_of,
    partition_of_timestamp,
    quarantine_name,
    spool_name,
    staged_names,
)
from linehaul.pipeline.ports import BlobNotFoundError, BlobStore, PreconditionFailedError
from linehaul.pipeline.settings import IngestSettings
from linehaul.tables import Output

__all__ = ["IngestReport", "ingest_log"]


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What ingesting one log did: ``ingested``, ``quarantined``, ``missing`` or ``skipped`` (no-ops)."""

    source: str
    outcome: Literal["ingested", "quarantined", "missing", "skipped"]
    counts: ReadCounts = field(default_factory=ReadCounts)
    partition: str | None = None
    staged: tuple[str, ...] = ()
    already_loaded: tuple[str, ...] = ()
    damage: str | None = None
    quarantined_as: str | None = None
    seconds: float = 0.0

    def log_record(self) -> dict[str, Any]:
        """One structured log line for Cloud Logging (the counts as top-level keys)."""
        if self.outcome == "missing":
            message = f"{self.source} is gone (already ingested?): nothing to do"
        elif self.outcome == "skipped":
            message = f"{self.source} is a quarantined log: not ingested again"
        else:
            counts = self.counts
            message = (
                f"{self.outcome} {self.source}: {counts.lines} lines, "
                f"{counts.file_downloads} file_downloads, {counts.simple_requests} simple_requests, "
                f"{counts.unprocessed} unprocessed, {counts.ignored} ignored"
            )
        severity = "WARNING" if self.outcome == "quarantined" else "INFO"
        record = {name: value for name, value in asdict(self).items() if name != "counts"}
        counts_record = {name: value for name, value in asdict(self.counts).items() if name != "files"}
        return {"severity": severity, "message": message, **record, **counts_record}


@dataclass(slots=True)
class _Outputs:
    """The outputs of one log, written (in the background) while it is read, each opened on first use.

    ``names`` says where each output goes; an output in ``skip`` is counted but not written (its staged
    file was already loaded into BigQuery).
    """

    store: BlobStore
    bucket: str
    names: dict[Output, str]
    stack: ExitStack
    background: BackgroundWriter
    skip: frozenset[Output] = frozenset()
    writers: dict[Output, BinaryIO] = field(default_factory=dict)
    counts: ReadCounts = field(default_factory=ReadCounts)

    def write(self, output: Output, data: bytes) -> None:
        if output in self.skip:
            return
        writer = self.writers.get(output)
        if writer is None:
            opened = self.store.open_writer(self.bucket, self.names[output])
            writer = self.writers[output] = self.stack.enter_context(opened)
        self.background.write(writer, data)

    def add(self, converted: BlockResult[bytes], lines_before: int) -> None:
        self.counts += converted.counts
        if converted.downloads:
            self.write(Output.DOWNLOADS, converted.downloads)
        if converted.simple:
            self.write(Output.SIMPLE, converted.simple)
        if converted.rejected:
            self.write(Output.UNPROCESSED, b"".join(line.raw + b"\n" for line in converted.rejected))
            self.write(Output.REASONS, reason_records(converted.rejected, lines_before))
        if converted.ignored:
            self.write(Output.IGNORED, b"".join(raw + b"\n" for raw in converted.ignored))


@dataclass(frozen=True, slots=True)
class _Reading:
    """The real pass over a log: where it stopped (``damage``), its earliest row, what was written."""

    damage: str | None
    earliest: str | None
    outputs: _Outputs


def ingest_log(
    store: BlobStore,
    bucket: str,
    name: str,
    settings: IngestSettings,
    *,
    generation: int | None = None,
    created: datetime | None = None,
    converter: Callable[[], Converter] = Converter,
    keep_source: bool = False,
) -> IngestReport:
    """Ingest ``gs://bucket/name`` (that ``generation``, if given) into ``settings.result_bucket``.

    ``created`` (the object's creation time) names the partition of a log with no valid event; today
    (UTC) if not given. With ``keep_source`` the log is neither deleted nor moved (a damaged one is copied
    to quarantine). Storage errors other than a missing log propagate: the event is then retried.
    """
    started, source, log = time.perf_counter(), object_uri(bucket, name), log_name(name)
    quarantine_bucket = settings.quarantine_bucket or bucket
    if bucket == quarantine_bucket and is_quarantined(name):
        return IngestReport(source, "skipped")  # the event of its own quarantining: ingesting it would loop
    staging = settings.result_bucket
    fallback = partition_of((created or datetime.now(UTC)).date())
    try:
        with store.open_reader(bucket, name, generation) as stream:
            days = event_days(_until_damage(stream_blocks(stream, source)))
        loaded: set[Output] = set()
        if days is not None:  # the usual case: the partition, so the final names, are known before writing
            names = staged_names(min(days, default=fallback), log).by_output()
            loaded = {out for out in Output.of_rows() if store.stat(staging, loaded_marker(names[out]))}
        else:  # an unusual date somewhere: write under temporary names, decide the partition at the end
            names = {output: spool_name(log, output) for output in Output}
        reading = _convert(
            store, bucket, name, generation, source, _Target(staging, names, loaded), converter
        )
    except BlobNotFoundError:
        return IngestReport(source, "missing", seconds=time.perf_counter() - started)
    if days is not None:
        partition = min(days, default=fallback)
    else:
        partition = partition_of_timestamp(reading.earliest) if reading.earliest else fallback
    outputs = reading.outputs
    staged, already_loaded = _place(store, staging, outputs, staged_names(partition, log).by_output())

    quarantined_as = None
    if reading.damage is not None:
        quarantined_as = quarantine_name(bucket, name, elsewhere=quarantine_bucket != bucket)
        reason = {"linehaul-damage": reading.damage, "linehaul-source": source}
        store.copy(bucket, name, quarantine_bucket, quarantined_as, metadata=reason)
        quarantined_as = object_uri(quarantine_bucket, quarantined_as)
    if not keep_source:
        with suppress(PreconditionFailedError):  # a newer upload under the same name: it has its own event
            store.delete(bucket, name, if_generation_match=generation)
    return IngestReport(
        source=source,
        outcome="ingested" if reading.damage is None else "quarantined",
        counts=outputs.counts.plus(files=1),
        partition=partition,
        staged=tuple(staged),
        already_loaded=tuple(already_loaded),
        damage=reading.damage,
        quarantined_as=quarantined_as,
        seconds=time.perf_counter() - started,
    )


def _until_damage(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The blocks before the damage, if any: the real pass reads exactly these too, and handles the damage."""
    with suppress(LogFileError):
        yield from blocks


@dataclass(frozen=True, slots=True)
class _Target:
    """Where the real pass writes: the staging bucket, each output's name there, outputs already loaded."""

    bucket: str
    names: dict[Output, str]
    loaded: set[Output]


def _convert(
    store: BlobStore,
    bucket: str,
    name: str,
    generation: int | None,
    source: str,
    target: _Target,
    converter: Callable[[], Converter],
) -> _Reading:
    """The real pass: read and convert the log, writing its outputs as it goes."""
    damage, earliest = None, None
    with ExitStack() as stack:
        stream = stack.enter_context(store.open_reader(bucket, name, generation))
        background = BackgroundWriter()
        outputs = _Outputs(store, target.bucket, target.names, stack, background, frozenset(target.loaded))
        convert = block_converter(NDJSON, converter())  # the columnar path where pyarrow is installed
        try:
            for block in stream_blocks(stream, source, convert.block_size):
                lines_before = outputs.counts.lines
                converted = convert.convert(source, block)
                outputs.add(converted, lines_before)
                if converted.earliest is not None and (earliest is None or converted.earliest < earliest):
                    earliest = converted.earliest
        except LogFileError as error:
            damage = error.reason
        finally:
            background.close()  # everything written before the writers close (and uploads finish)
    return _Reading(damage, earliest, outputs)


def _place(
    store: BlobStore, bucket: str, outputs: _Outputs, final: dict[Output, str]
) -> tuple[list[str], list[str]]:
    """Move written outputs to their ``final`` names if they are not there; returns (staged, already loaded).

    A staged file of rows whose marker says it was loaded is not staged again.
    """
    staged = [final[output] for output in Output if output in outputs.writers]
    already_loaded = [final[output] for output in Output if output in outputs.skip]
    for output in outputs.writers:
        written = outputs.names[output]
        if written == final[output]:
            continue
        if output.table is not None and store.stat(bucket, loaded_marker(final[output])) is not None:
            staged.remove(final[output])
            already_loaded.append(final[output])
        else:
            store.copy(bucket, written, bucket, final[output])
        store.delete(bucket, written)
    return staged, already_loaded
