"""Clients for Google Cloud, or for local emulators of Cloud Storage and BigQuery.

An emulator is used when its endpoint is given, or when its environment variable is set
(:data:`STORAGE_EMULATOR_HOST`, :data:`BIGQUERY_EMULATOR_HOST`, the names the Google libraries and the
emulators agree on). Emulators get anonymous credentials; Google Cloud gets the application default
credentials.

Storage clients are made without google-cloud-storage's bucket-metadata probe (3.11 and later): for tracing,
the library asks for each bucket's metadata (``storage.buckets.get``) on a background thread the first time
a client touches an object in it, and asks again whether the bucket exists after a 404. The pipeline needs
objects only: its service accounts lack that permission (each probe is a denied request in the audit logs,
googleapis/google-cloud-python#17650), the probe is one more request per bucket and client, and its thread
outlives the call that started it, retrying for up to two minutes if the server has gone.

How the client libraries retry a request is set here too (:data:`STORAGE_RETRY`, :func:`bigquery_retry`):
the adapters take these as their defaults (a run's own retries are :mod:`linehaul.pipeline.retries`').
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeAlias

import google.cloud.storage as storage
import google.cloud.storage.retry as storage_retry
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials, Credentials

from linehaul.pipeline.settings import Setting

if TYPE_CHECKING:  # imported where used: the ingestor does not pay for it
    from google.cloud import bigquery

__all__ = [
    "BIGQUERY_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "BigQueryClient",
    "StorageClient",
    "bigquery_client",
    "storage_client",
]

StorageClient: TypeAlias = storage.Client
BigQueryClient: TypeAlias = "bigquery.Client"

STORAGE_EMULATOR_HOST = "STORAGE_EMULATOR_HOST"
"""Environment variable with the URL of a Cloud Storage emulator, e.g. ``http://127.0.0.1:4443``."""

BIGQUERY_EMULATOR_HOST = "BIGQUERY_EMULATOR_HOST"
"""Environment variable with the URL of a BigQuery emulator, e.g. ``http://127.0.0.1:9050``."""

STORAGE_RETRY = storage_retry.DEFAULT_RETRY
"""How google-cloud-storage retries a request: its default (429, 5xx, timeouts and dropped connections,
for up to 120 s; conditional writes only with a generation precondition)."""


def bigquery_retry() -> Retry:
    """How google-cloud-bigquery retries a request: its default (for up to 10 minutes)."""
    from google.cloud import bigquery

    retry: Retry = bigquery.DEFAULT_RETRY
    return retry


def storage_client(
    project: str | None = None, *, endpoint: str | None = None, environ: Mapping[str, str] | None = None
) -> storage.Client:
    """A Cloud Storage client for ``project``: of the emulator at ``endpoint`` or $STORAGE_EMULATOR_HOST,
    else of Google Cloud. Without a project: $GOOGLE_CLOUD_PROJECT or $GCP_PROJECT, else a placeholder
    (reading and writing objects needs none)."""
    env = os.environ if environ is None else environ
    project = project or env.get("GOOGLE_CLOUD_PROJECT") or env.get(Setting.GCP_PROJECT) or "_"
    url = _emulator_url(endpoint, STORAGE_EMULATOR_HOST, environ)
    if url is None:
        return _without_bucket_probe(storage.Client(project=project))
    client = storage.Client(project=project, credentials=_anonymous(), client_options={"api_endpoint": url})
    return _without_bucket_probe(client)


def bigquery_client(
    project: str | None, *, endpoint: str | None = None, environ: Mapping[str, str] | None = None
) -> bigquery.Client:
    """A BigQuery client for ``project``: of the emulator at ``endpoint`` or $BIGQUERY_EMULATOR_HOST,
    else of Google Cloud. Without a project: Google Cloud's is the application default credentials' one;
    the emulator's is $GOOGLE_CLOUD_PROJECT, else a placeholder."""
    from google.cloud import bigquery

    url = _emulator_url(endpoint, BIGQUERY_EMULATOR_HOST, environ)
    if url is None:
        return bigquery.Client(project=project)
    env = os.environ if environ is None else environ
    project = project or env.get("GOOGLE_CLOUD_PROJECT") or "_"
    return bigquery.Client(project=project, credentials=_anonymous(), client_options={"api_endpoint": url})


def _emulator_url(endpoint: str | None, variable: str, environ: Mapping[str, str] | None) -> str | None:
    url = endpoint or (os.environ if environ is None else environ).get(variable) or None
    if url is None:
        return None
    # The emulators' conventions allow a bare host:port; the clients need a scheme.
    return url if "://" in url else f"http://{url}"


def _without_bucket_probe(client: storage.Client) -> storage.Client:
    """``client`` without the bucket-metadata probe (see the module's docstring). The library's switch,
    $DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA, is process-wide and still probes after a 404; every
    use of the cache is guarded by ``client._bucket_metadata_cache`` being set, so unsetting it is the
    one switch per client (the maintainers discuss a public one in googleapis/google-cloud-python#18203)."""
    if getattr(client, "_bucket_metadata_cache", None) is not None:
        client._bucket_metadata_cache = None
    return client


def _anonymous() -> Credentials:
    return AnonymousCredentials()  # type: ignore[no-untyped-call]  # google-auth leaves __init__ unannotated
