"""Cloud Function ``process_fastly_log``: ingest one CDN log when it lands in the log bucket.

Trigger: ``google.cloud.storage.object.v1.finalized`` on the log bucket. Configuration (environment,
read on the first event): ``RESULT_BUCKET`` (required), ``QUARANTINE_BUCKET``, ``UPLOAD_CHUNK_MB``; see
``linehaul.pipeline.settings.IngestSettings``. Deployment: docs/pipeline.md, "Deploying".
"""

from __future__ import annotations

import os

import functions_framework
from cloudevents.http import CloudEvent

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.pipeline.entry import Lazy, StorageObject, log_json
from linehaul.pipeline.heap import map_large_buffers
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.settings import IngestSettings


def _set_up() -> tuple[IngestSettings, GcsBlobStore]:
    settings = IngestSettings.from_env(os.environ)
    map_large_buffers()  # freed upload parts go back to the system: memory stays flat
    return settings, GcsBlobStore(storage_client(), chunk_size=settings.upload_chunk_mb << 20)


_runtime = Lazy(_set_up)


@functions_framework.cloud_event
def process_fastly_log(cloud_event: CloudEvent) -> None:
    settings, store = _runtime.get()
    log = StorageObject.from_event_data(cloud_event.data)
    report = ingest_log(store, log.bucket, log.name, settings, generation=log.generation, created=log.created)
    log_json(report.log_record())
