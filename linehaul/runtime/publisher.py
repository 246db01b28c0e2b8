"""Cloud Function ``load_processed_files_into_bigquery``: publish staged NDJSON into BigQuery, exactly once.

Trigger: ``google.cloud.pubsub.topic.v1.messagePublished``, from Cloud Scheduler every 15 minutes.
Message attributes: ``partition=YYYYMMDD`` and ``continue_publishing=true|false`` (both optional).

Each run logs one JSON line. A run that could not publish (a load failure no staged file caused, such as
a missing dataset or a table of another schema; a failure of Cloud Storage or BigQuery that outlasted the
retries; a configuration error) is reported as one ERROR line (:func:`linehaul.runtime.entry.log_error`,
which Error Reporting groups) and answers 503, so that monitoring sees it and Pub/Sub delivers the message
again; a bad message is reported and acknowledged (a retry would not help).
Configuration (environment, read on the first event): ``GCP_PROJECT``, ``RESULT_BUCKET``,
``BIGQUERY_DATASET``, ``BIGQUERY_DOWNLOAD_TABLE``, ``BIGQUERY_SIMPLE_TABLE``, ``MAX_BLOBS_PER_RUN``,
``PUBLISH_TIME_BUDGET``, ``LOCK_SECONDS``, ``DAILY_DAYS_PER_RUN``, ``DAILY_GRACE_SECONDS``; see
:class:`linehaul.pipeline.settings.PublishSettings`. Each run also keeps the daily tables in step
(:mod:`linehaul.pipeline.daily`).
``functions/publisher/main.py`` deploys it (docs/pipeline.md, "Deploying"); ``linehaul local`` serves this
very file. Needs the ``gcp`` extra and functions-framework.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import functions_framework
from cloudevents.http import CloudEvent
from werkzeug.exceptions import ServiceUnavailable

from linehaul.gcp import BigQueryTableLoader, GcsBlobStore, bigquery_client, storage_client
from linehaul.gcp.daily import BigQueryAggregator
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest, RequestError
from linehaul.pipeline.settings import PublishSettings
from linehaul.runtime.entry import Lazy, failing_event, log_error, log_outcome, message_attributes

__all__ = ["load_processed_files_into_bigquery", "publisher_function"]


def _set_up() -> tuple[PublishSettings, GcsBlobStore, BigQueryTableLoader, BigQueryAggregator]:
    settings = PublishSettings.from_env(os.environ)
    store = GcsBlobStore(storage_client(settings.project))
    client = bigquery_client(settings.project)
    return settings, store, BigQueryTableLoader(client), BigQueryAggregator(client)  # issue 29: daily tables


def publisher_function() -> Callable[[CloudEvent], None]:
    """A new ``load_processed_files_into_bigquery``, which reads its configuration on its first event and
    keeps it: one per deployment (see :func:`linehaul.runtime.ingestor.ingestor_function`)."""
    runtime = Lazy(_set_up)

    @functions_framework.cloud_event
    def load_processed_files_into_bigquery(cloud_event: CloudEvent) -> None:
        try:
            request = PublishRequest.from_attributes(message_attributes(cloud_event.data))
        except RequestError as error:  # a bad message: retrying it would not help
            log_error(f"ignored a publish request: {error}")
            return
        # A configuration error fails too: a redeploy fixes it, and the retries then work.
        with failing_event("the publisher run failed", partition=request.partition):
            settings, store, loader, aggregator = runtime.get()
            report = publish(store, loader, settings, request, aggregator=aggregator)
        log_outcome(report.log_record())
        if report.publishing_stopped:  # said in that ERROR line; the 503 makes Pub/Sub deliver it again
            raise ServiceUnavailable("publishing is stopped: " + report.message())

    return load_processed_files_into_bigquery


load_processed_files_into_bigquery = publisher_function()
