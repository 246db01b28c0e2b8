"""Cloud Function ``process_fastly_log``: ingest one CDN log when it lands in the log bucket.

Trigger: ``google.cloud.storage.object.v1.finalized`` on the log bucket. Configuration (environment,
read on the first event): ``RESULT_BUCKET`` (required), ``QUARANTINE_BUCKET``, ``UPLOAD_CHUNK_MB``; see
:class:`linehaul.pipeline.settings.IngestSettings`. A delivery that fails (a configuration error, a
failure of Cloud Storage that outlasted the retries, a bug) is reported as one ERROR line
(:func:`linehaul.runtime.entry.failing_event`) and answers 503, so that Eventarc delivers it again; from
:data:`~linehaul.pipeline.quarantine.DEAD_LETTER_AFTER` after the log was written, the log is moved to
quarantine instead (a dead letter, :mod:`linehaul.pipeline.quarantine`). An event that names no object is
reported and acknowledged. ``functions/ingestor/main.py`` deploys it
(docs/pipeline.md, "Deploying"); ``linehaul local`` serves this very file. Needs the ``gcp`` extra and
functions-framework.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

import functions_framework
from cloudevents.http import CloudEvent

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.pipeline.ingest import KeptConverters, ingest_log
from linehaul.pipeline.naming import object_uri
from linehaul.pipeline.quarantine import DEAD_LETTER_AFTER, dead_letter_due, move_to_quarantine
from linehaul.pipeline.settings import IngestSettings
from linehaul.runtime.entry import EventError, Lazy, StorageObject, failing_event, log_error, log_outcome
from linehaul.runtime.heap import map_large_buffers

__all__ = ["ingestor_function", "process_fastly_log"]

_REASON_CHARACTERS = 1000  # of a dead-lettered log's reason, in its metadata


def _set_up() -> tuple[IngestSettings, GcsBlobStore]:
    settings = IngestSettings.from_env(os.environ)
    map_large_buffers()  # freed upload buffers go back to the system: memory stays flat
    return settings, GcsBlobStore(storage_client(), chunk_size=settings.upload_chunk_mb << 20)


def _dead_letter(store: GcsBlobStore, log: StorageObject, settings: IngestSettings, error: Exception) -> None:
    """The event has failed for most of the retry window: move the log to quarantine (with why) and say
    so, instead of failing until the event is dropped with the log left behind (a dead letter). If that
    fails too, the original failure is reported and the event fails as before."""
    source = object_uri(log.bucket, log.name)
    hours = DEAD_LETTER_AFTER.total_seconds() / 3600
    written = log.created.isoformat() if log.created else "?"
    reason = (
        f"its ingestion failed for {hours:g} hours after it was written ({written}): "
        f"{type(error).__name__}: {error}"
    )
    try:
        quarantined = move_to_quarantine(
            store,
            log.bucket,
            log.name,
            log.generation,
            settings.quarantine_bucket,
            reason[:_REASON_CHARACTERS],
        )
    except Exception as failure:
        error.add_note(f"and it could not be moved to quarantine: {type(failure).__name__}: {failure}")
        raise error from None
    log_error(
        f"{source} moved to {quarantined}: {reason}; re-drive it once the cause is fixed",
        error,
        source=source,
        generation=log.generation,
        outcome="dead-lettered",
        quarantined_as=quarantined,
    )


def ingestor_function() -> Callable[[CloudEvent], None]:
    """A new ``process_fastly_log``, which reads its configuration on its first event and keeps it: one per
    deployment (a module that serves it makes its own, so each loading of it reads the environment anew).
    Its converters are kept from event to event (:class:`~linehaul.pipeline.ingest.KeptConverters`): a warm
    instance does not classify again the agents of the logs it has already read."""
    runtime, converters = Lazy(_set_up), KeptConverters()

    @functions_framework.cloud_event
    def process_fastly_log(cloud_event: CloudEvent) -> None:
        try:
            log = StorageObject.from_event(cloud_event["type"], cloud_event.data)
        except EventError as error:  # a retry would not help: acknowledged, and said once
            log_error(f"ignored a storage event that names no object: {error}")
            return
        source = object_uri(log.bucket, log.name)
        # A configuration error fails too: a redeploy fixes it, and the retries then work.
        with failing_event(f"ingesting {source} failed", source=source, generation=log.generation):
            settings, store = runtime.get()
            try:
                report = ingest_log(
                    store,
                    log.bucket,
                    log.name,
                    settings,
                    generation=log.generation,
                    created=log.created,
                    converters=converters,
                )
            except Exception as error:
                if not dead_letter_due(log.created, datetime.now(UTC)):
                    raise
                _dead_letter(store, log, settings, error)
                return
        log_outcome(report.log_record())

    return process_fastly_log


process_fastly_log = ingestor_function()
