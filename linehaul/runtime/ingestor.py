"""Cloud Function ``process_fastly_log``: ingest one CDN log when it lands in the log bucket.

Trigger: ``google.cloud.storage.object.v1.finalized`` on the log bucket. Configuration (environment,
read on the first event): ``RESULT_BUCKET`` (required), ``QUARANTINE_BUCKET``, ``UPLOAD_CHUNK_MB``; see
:class:`linehaul.pipeline.settings.IngestSettings`. ``functions/ingestor/main.py`` deploys it
(docs/pipeline.md, "Deploying"); ``linehaul local`` serves this very file. Needs the ``gcp`` extra and
functions-framework.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import functions_framework
from cloudevents.http import CloudEvent

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.pipeline.ingest import KeptConverters, ingest_log
from linehaul.pipeline.settings import IngestSettings
from linehaul.runtime.entry import EventError, Lazy, StorageObject, log_json
from linehaul.runtime.heap import map_large_buffers

__all__ = ["ingestor_function", "process_fastly_log"]


def _set_up() -> tuple[IngestSettings, GcsBlobStore]:
    settings = IngestSettings.from_env(os.environ)
    map_large_buffers()  # freed upload buffers go back to the system: memory stays flat
    return settings, GcsBlobStore(storage_client(), chunk_size=settings.upload_chunk_mb << 20)


def ingestor_function() -> Callable[[CloudEvent], None]:
    """A new ``process_fastly_log``, which reads its configuration on its first event and keeps it: one per
    deployment (a module that serves it makes its own, so each loading of it reads the environment anew).
    Its converters are kept from event to event (:class:`~linehaul.pipeline.ingest.KeptConverters`): a warm
    instance does not classify again the agents of the logs it has already read."""
    runtime, converters = Lazy(_set_up), KeptConverters()

    @functions_framework.cloud_event
    def process_fastly_log(cloud_event: CloudEvent) -> None:
        settings, store = (
            runtime.get()
        )  # a configuration error raises: a redeploy fixes it, retries then work
        try:
            log = StorageObject.from_event(cloud_event["type"], cloud_event.data)
        except EventError as error:  # a retry would not help: acknowledged, and said once
            log_json(
                {"severity": "ERROR", "message": f"ignored a storage event that names no object: {error}"}
            )
            return
        report = ingest_log(
            store,
            log.bucket,
            log.name,
            settings,
            generation=log.generation,
            created=log.created,
            converters=converters,
        )
        log_json(report.log_record())

    return process_fastly_log


process_fastly_log = ingestor_function()
