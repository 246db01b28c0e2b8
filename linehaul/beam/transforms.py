"""The backfill as Beam transforms: match logs by pattern, shuffle them, stage each one with the ingestor's
per-file function (:func:`linehaul.pipeline.ingest.ingest_log`).

A gzip log cannot be split, so a log is the unit of work: :class:`StageLogs` keys every matched log by its
base name (the name its staged files take) and groups by it, which spreads the logs over the workers and
finds two logs that would stage under the same names. Each log is read as a stream, as the ingestor reads
it, so a worker's memory does not grow with the size of its logs.

Every output name follows from the log, so a retried bundle (Dataflow retries failed work items) writes the
same objects again, and a staged file whose ``loaded/`` marker says the publisher loaded it is not staged
again. Logs are never deleted or moved: a damaged one is copied to ``quarantine/`` in the staging area.

The counts of the run are Beam metrics in the namespace :data:`NAMESPACE` (see
:func:`linehaul.beam.backfill.summary_of`).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import FileMetadata
from apache_beam.metrics.metric import Metrics

from linehaul.beam.emulator import skip_credentials_for_emulator
from linehaul.logs.counts import ReadCounts
from linehaul.pipeline.ingest import IngestReport, KeptConverters, ingest_log
from linehaul.pipeline.naming import log_name
from linehaul.pipeline.ports import BlobStore
from linehaul.pipeline.settings import DEFAULT_UPLOAD_CHUNK_MB, IngestSettings
from linehaul.runtime.heap import map_large_buffers
from linehaul.stores.locations import Location, LocationStore, staging_bucket

__all__ = ["COUNTS", "NAMESPACE", "FoundLog", "StageLog", "StageLogs"]

NAMESPACE = "linehaul.backfill"
_LINE_COUNTS = ReadCounts.line_names()
"""The counts of ReadCounts but files (counted apart: missing ones too)."""
COUNTS = ("files", *_LINE_COUNTS, "quarantined", "missing", "already_loaded", "conflicts")
"""The counters of a backfill; ``quarantined`` and ``conflicts`` also name their logs in string sets."""

_LOGGER = logging.getLogger(__name__)
_LEVELS = {"ERROR": logging.ERROR, "WARNING": logging.WARNING}

skip_credentials_for_emulator()  # here: every worker imports this module to run the transforms

FoundLog = tuple[str, float]
"""A matched log: its location (``gs://…`` or a local path) and when it was last updated (epoch seconds)."""


class StageLogs(beam.PTransform):  # type: ignore[type-arg]  # Beam's PTransform generics are not enforced
    """Every log matched by ``patterns`` (``gs://bucket/dir/*.log.gz`` or local globs), staged into
    ``staging`` (``gs://bucket`` or a local directory). Its output: one IngestReport per staged log."""

    def __init__(
        self,
        patterns: Sequence[str],
        staging: str,
        *,
        echo: bool = False,
        chunk_mb: int = DEFAULT_UPLOAD_CHUNK_MB,
    ):
        super().__init__()
        self._patterns = list(patterns)
        self._stage = StageLog(staging_bucket(staging), echo=echo, chunk_mb=chunk_mb)

    def expand(self, begin: Any) -> Any:
        return (
            begin
            | "Patterns" >> beam.Create(self._patterns)
            | "Match" >> fileio.MatchAll()
            | "Key by log name" >> beam.Map(_keyed)
            | "Spread over workers" >> beam.GroupByKey()
            | "Stage" >> beam.ParDo(self._stage)
        )


def _keyed(found: FileMetadata) -> tuple[str, FoundLog]:
    return log_name(found.path), (found.path, float(found.last_updated_in_seconds or 0.0))


class StageLog(beam.DoFn):
    """Stages one log (a ``(log name, [found logs])`` group) as the ingestor does, without deleting it.

    Two logs with the same base name would stage under the same names: neither is staged, both are
    counted and named as conflicts.
    """

    def __init__(self, staging: str, *, echo: bool = False, chunk_mb: int = DEFAULT_UPLOAD_CHUNK_MB) -> None:
        super().__init__()
        self._settings = IngestSettings(
            staging_bucket=staging, quarantine_bucket=staging, upload_chunk_mb=chunk_mb
        )
        self._echo = echo
        self._store: BlobStore | None = None
        self._converters: KeptConverters | None = None
        self._counters: dict[str, Any] = {}

    def setup(self) -> None:
        """On the worker: storage clients cannot be pickled, so they are made here (Cloud Storage lazily),
        and the converters, kept from log to log as the ingestor keeps them."""
        chunk = self._settings.upload_chunk_mb << 20
        map_large_buffers()  # as the ingestor does: freed upload buffers go back to the system
        self._store = LocationStore(lambda: _cloud_store(chunk))
        self._converters = KeptConverters()
        self._counters = {name: Metrics.counter(NAMESPACE, name) for name in COUNTS}

    def process(self, element: tuple[str, Iterable[FoundLog]]) -> Iterator[IngestReport]:
        assert self._store is not None, "setup() runs before process()"
        assert self._converters is not None, "setup() runs before process()"
        name, found = element[0], sorted(element[1])
        if len(found) > 1:
            self._conflict(name, [uri for uri, _ in found])
            return
        uri, updated = found[0]
        where = Location.of(uri)
        created = datetime.fromtimestamp(updated, UTC) if updated > 0 else None
        report = ingest_log(
            self._store,
            where.bucket,
            where.name,
            self._settings,
            created=created,
            keep_source=True,
            converters=self._converters,
        )
        self._count(report)
        record = report.log_record()
        _LOGGER.log(_LEVELS.get(record["severity"], logging.INFO), json.dumps(record, default=str))
        if self._echo:
            _echo(_describe(report))
        yield report

    def _count(self, report: IngestReport) -> None:
        counters = self._counters
        counters["files"].inc()
        if report.outcome == "missing":
            counters["missing"].inc()
            return
        for count in _LINE_COUNTS:
            counters[count].inc(getattr(report.counts, count))
        counters["already_loaded"].inc(len(report.already_loaded))
        if report.outcome == "quarantined":
            counters["quarantined"].inc()
            Metrics.string_set(NAMESPACE, "quarantined_logs").add(f"{report.source}: {report.damage}")

    def _conflict(self, name: str, uris: list[str]) -> None:
        self._counters["files"].inc(len(uris))
        self._counters["conflicts"].inc(len(uris))
        message = f"not staged: {', '.join(uris)} would all stage as {name!r} (logs need distinct base names)"
        Metrics.string_set(NAMESPACE, "conflicting_logs").add(message)
        _LOGGER.error(message)
        if self._echo:
            _echo(message)


def _cloud_store(chunk_size: int) -> BlobStore:
    from linehaul.gcp import GcsBlobStore, storage_client

    return GcsBlobStore(storage_client(), chunk_size=chunk_size)


def _describe(report: IngestReport) -> str:
    if report.outcome == "missing":
        return f"missing {report.source}: gone since it was matched"
    counts = report.counts
    described = f"staged {report.source} -> {report.partition}: {counts.in_words()} ({report.seconds:.1f} s)"
    internal = counts.internal_errors_message()
    if internal is not None:
        described += f"; {internal}"
    if report.already_loaded:
        described += f"; already loaded, not staged again: {', '.join(report.already_loaded)}"
    if report.outcome == "quarantined":
        described += f"; DAMAGED ({report.damage}), copied to {report.quarantined_as}"
    return described


def _echo(message: str) -> None:
    """A line on the worker's stderr: a local run's progress (workers share the terminal)."""
    sys.stderr.write(f"linehaul backfill: {message}\n")
    sys.stderr.flush()
