"""Cloud Function ``load_processed_files_into_bigquery``: publish staged NDJSON into BigQuery, exactly once.

Trigger: ``google.cloud.pubsub.topic.v1.messagePublished``, from Cloud Scheduler every 15 minutes.
Message attributes: ``partition=YYYYMMDD`` and ``continue_publishing=true|false`` (both optional).
Configuration (environment, read on the first event): ``GCP_PROJECT``, ``RESULT_BUCKET``,
``BIGQUERY_DATASET``, ``BIGQUERY_DOWNLOAD_TABLE``, ``BIGQUERY_SIMPLE_TABLE``, ``MAX_BLOBS_PER_RUN``,
``PUBLISH_TIME_BUDGET``, ``LOCK_SECONDS``; see ``linehaul.pipeline.settings.PublishSettings``.
Deployment: docs/pipeline.md, "Deploying".
"""

from __future__ import annotations

import os

import functions_framework
from cloudevents.http import CloudEvent

from linehaul.gcp import BigQueryTableLoader, GcsBlobStore, bigquery_client, storage_client
from linehaul.pipeline.entry import Lazy, log_json, message_attributes
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest, RequestError
from linehaul.pipeline.settings import PublishSettings


def _set_up() -> tuple[PublishSettings, GcsBlobStore, BigQueryTableLoader]:
    settings = PublishSettings.from_env(os.environ)
    store = GcsBlobStore(storage_client(settings.project))
    return settings, store, BigQueryTableLoader(bigquery_client(settings.project))


_runtime = Lazy(_set_up)


@functions_framework.cloud_event
def load_processed_files_into_bigquery(cloud_event: CloudEvent) -> None:
    settings, store, loader = _runtime.get()
    try:
        request = PublishRequest.from_attributes(message_attributes(cloud_event.data))
    except RequestError as error:  # a bad message: retrying it would not help
        log_json({"severity": "ERROR", "message": f"ignored a publish request: {error}"})
        return
    log_json(publish(store, loader, settings, request).log_record())
