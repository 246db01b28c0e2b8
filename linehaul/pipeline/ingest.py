"""Ingest one CDN log: stream it, parse it, stage its rows as NDJSON, keep every other line, then delete it.

:func:`ingest_log` does, for ``gs://<bucket>/<dir>/<name>.log.gz``:

1. read the log once quickly for the days of its events (:mod:`linehaul.pipeline.days`), to name the
   outputs after the UTC day of its earliest event (see :mod:`linehaul.pipeline.naming`);
2. stream the log (one block of lines at a time: memory stays flat) through the fast converter, writing
   each output under its final name as it goes (streamed uploads, in a background thread), except a
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

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal

from linehaul.convert import Converted, Converter
from linehaul.logfiles import LogFileError, stream_blocks
from linehaul.pipeline.background import BackgroundWriter
from linehaul.pipeline.days import event_days
from linehaul.pipeline.locations import object_uri
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
class _Outputs:
    """The outputs of one log, written (in the background) while it is read, each opened on first use.

    ``names`` says where each output goes; an output in ``skip`` is counted but not written (its staged
    file was already loaded into BigQuery).
    """

    store: BlobStore
    bucket: str
    names: dict[str, str]
    stack: ExitStack
    background: BackgroundWriter
    skip: frozenset[str] = frozenset()
    writers: dict[str, BinaryIO] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OUTPUTS, 0))

    def write(self, output: str, data: bytes, count: int) -> None:
        self.counts[output] += count
        if output in self.skip:
            return
        writer = self.writers.get(output)
        if writer is None:
            opened = self.store.open_writer(self.bucket, self.names[output])
            writer = self.writers[output] = self.stack.enter_context(opened)
        self.background.write(writer, data)

    def add(self, converted: Converted, first_line: int) -> None:
        if converted.downloads:
            rows = ("\n".join(converted.downloads) + "\n").encode()
            self.write("downloads", rows, len(converted.downloads))
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
    keep_source: bool = False,
) -> IngestReport:
    """Ingest ``gs://bucket/name`` (that ``generation``, if given) into ``settings.result_bucket``.

    ``created`` (the object's creation time) names the partition of a log with no valid event; today
    (UTC) if not given. With ``keep_source`` the log is neither deleted nor moved (a damaged one is copied
    to quarantine). Storage errors other than a missing log propagate: the event is then retried.
    """
    started, source, log = time.perf_counter(), object_uri(bucket, name), log_name(name)
    quarantine_bucket = settings.quarantine_bucket or bucket
    if bucket == quarantine_bucket and name.startswith("quarantine/"):
        return IngestReport(source, "skipped")  # the event of its own quarantining: ingesting it would loop
    staging = settings.result_bucket
    fallback = partition_of((created or datetime.now(UTC)).date())
    try:
        with store.open_reader(bucket, name, generation) as stream:
            days = event_days(_until_damage(stream_blocks(stream, source)))
        if days is not None:  # the usual case: the partition, so the final names, are known before writing
            partition = min(days, default=fallback)
            names = staged_names(partition, log).by_output()
            loaded = {kind for kind in _LOADED_KINDS if store.stat(staging, loaded_marker(names[kind]))}
        else:  # an unusual date somewhere: write under temporary names, decide the partition at the end
            names, loaded = {output: spool_name(log, output) for output in _OUTPUTS}, set()
        read = _convert(store, bucket, name, generation, source, staging, names, loaded, converter)
        lines, damage, earliest, outputs = read
    except BlobNotFoundError:
        return IngestReport(source, "missing", seconds=time.perf_counter() - started)
    if days is None:
        partition = earliest[:10].replace("-", "") if earliest else fallback
    staged, already_loaded = _place(store, staging, outputs, staged_names(partition, log).by_output())

    quarantined_as = None
    if damage is not None:
        quarantined_as = quarantine_name(bucket, name, elsewhere=quarantine_bucket != bucket)
        reason = {"linehaul-damage": damage, "linehaul-source": source}
        store.copy(bucket, name, quarantine_bucket, quarantined_as, metadata=reason)
        quarantined_as = object_uri(quarantine_bucket, quarantined_as)
    if not keep_source:
        with suppress(PreconditionFailedError):  # a newer upload under the same name: it has its own event
            store.delete(bucket, name, if_generation_match=generation)
    counts = outputs.counts
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


def _until_damage(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """The blocks before the damage, if any: the real pass reads exactly these too, and handles the damage."""
    with suppress(LogFileError):
        yield from blocks


def _convert(
    store: BlobStore,
    bucket: str,
    name: str,
    generation: int | None,
    source: str,
    staging: str,
    names: dict[str, str],
    loaded: set[str],
    converter: Callable[[], Converter],
) -> tuple[int, str | None, str | None, _Outputs]:
    """The real pass: (lines read, damage, earliest row timestamp, the outputs written)."""
    lines, damage, earliest = 0, None, None
    with ExitStack() as stack:
        stream = stack.enter_context(store.open_reader(bucket, name, generation))
        background = BackgroundWriter()
        outputs = _Outputs(store, staging, names, stack, background, frozenset(loaded))
        convert = converter()
        try:
            for block in stream_blocks(stream, source):
                converted = Converted(earliest=earliest)
                convert.convert_block(block, converted)
                outputs.add(converted, lines + 1)
                lines, earliest = lines + converted.lines, converted.earliest
        except LogFileError as error:
            damage = error.reason
        finally:
            background.close()  # everything written before the writers close (and uploads finish)
    return lines, damage, earliest, outputs


def _place(
    store: BlobStore, bucket: str, outputs: _Outputs, final: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Move written outputs to their ``final`` names if they are not there; returns (staged, already loaded).

    A staged file of rows whose marker says it was loaded is not staged again.
    """
    staged = [final[output] for output in _OUTPUTS if output in outputs.writers]
    already_loaded = [final[output] for output in _OUTPUTS if output in outputs.skip]
    for output in outputs.writers:
        written = outputs.names[output]
        if written == final[output]:
            continue
        if output in _LOADED_KINDS and store.stat(bucket, loaded_marker(final[output])) is not None:
            staged.remove(final[output])
            already_loaded.append(final[output])
        else:
            store.copy(bucket, written, bucket, final[output])
        store.delete(bucket, written)
    return staged, already_loaded
