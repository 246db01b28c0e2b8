"""storage_request_kind: Cloud Storage JSON API requests named by what they do (pure), and counted by a
proxy between the real client and fake-gcs-server."""

from __future__ import annotations

import pytest

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.local import LocalStack
from linehaul.testing import FlakyProxy, StorageRequest, storage_request_kind

OBJECT = "/storage/v1/b/staging/o/processed%2F20261101%2Fsimple-a.json"


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", f"{OBJECT}?alt=media&generation=7", StorageRequest.DOWNLOAD),
        ("GET", "/download/storage/v1/b/logs/o/a.log.gz?alt=media", StorageRequest.DOWNLOAD),
        ("GET", f"{OBJECT}?projection=noAcl", StorageRequest.METADATA),
        ("GET", "/storage/v1/b/staging/o?prefix=loaded%2F&maxResults=1", StorageRequest.LIST),
        ("POST", "/upload/storage/v1/b/staging/o?uploadType=multipart", StorageRequest.UPLOAD),
        ("POST", "/upload/storage/v1/b/staging/o?uploadType=media&name=a", StorageRequest.UPLOAD),
        ("POST", "/upload/storage/v1/b/staging/o?uploadType=resumable", StorageRequest.RESUMABLE_START),
        ("PUT", "/upload/storage/v1/b/staging/o?uploadType=resumable&upload_id=x1",
         StorageRequest.RESUMABLE_CHUNK),
        ("DELETE", "/upload/storage/v1/b/staging/o?uploadType=resumable&upload_id=x1",
         StorageRequest.RESUMABLE_CANCEL),
        ("POST", f"{OBJECT}/compose", StorageRequest.COMPOSE),
        ("POST", f"{OBJECT}/rewriteTo/b/logs/o/quarantine%2Fa.log.gz", StorageRequest.COPY),
        ("POST", f"{OBJECT}/copyTo/b/logs/o/b", StorageRequest.COPY),
        ("PATCH", OBJECT, StorageRequest.UPDATE),
        ("DELETE", f"{OBJECT}?ifGenerationMatch=3", StorageRequest.DELETE),
        ("POST", "/storage/v1/b?project=p", StorageRequest.BUCKET),
        ("GET", "/storage/v1/b/staging", StorageRequest.BUCKET),
        ("POST", "/batch/storage/v1", StorageRequest.OTHER),
        ("GET", "/_internal/healthcheck", StorageRequest.OTHER),
    ],
)  # fmt: skip
def test_requests_are_named_by_what_they_do(method: str, path: str, kind: StorageRequest) -> None:
    assert storage_request_kind(method, path) is kind


@pytest.mark.integration
def test_a_proxy_counts_a_clients_requests_by_kind(local_stack: LocalStack, bucket: str) -> None:
    with FlakyProxy(local_stack.gcs_url, classify=storage_request_kind) as proxy:
        client = storage_client(local_stack.project, endpoint=proxy.url)
        try:
            store = GcsBlobStore(client)
            store.put(bucket, "a.json", b"{}")
            store.get(bucket, "a.json")  # its generation, then its bytes
            list(store.list(bucket, "a"))
            store.copy(bucket, "a.json", bucket, "b.json")  # its generation, then the copy
            store.delete(bucket, "a.json")
        finally:
            client.close()
        counts = proxy.counts()
    assert counts.kinds == {"upload": 1, "metadata": 2, "download": 1, "list": 1, "copy": 1, "delete": 1}
    assert counts.requests == sum(counts.kinds.values())
