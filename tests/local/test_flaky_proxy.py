"""The flaky proxy: what fails fails as Google's APIs do, what passes passes intact, streams included."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.local import LocalStack
from linehaul.testing import FlakyProxy
from tests.cloud import FAILING_REQUESTS

pytestmark = [pytest.mark.integration, *FAILING_REQUESTS]


@contextmanager
def proxied_store(stack: LocalStack, proxy: FlakyProxy) -> Iterator[GcsBlobStore]:
    """A store talking through ``proxy``, in chunks of 256 KiB; its connections closed at the end."""
    client = storage_client(stack.project, endpoint=proxy.url)
    try:
        yield GcsBlobStore(client, chunk_size=256 * 1024)
    finally:
        client.close()


def upload(url: str, bucket: str, name: str) -> tuple[int, dict[str, object]]:
    """A simple media upload, straight over HTTP: (status, JSON answer)."""
    request = urllib.request.Request(
        f"{url}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={name}", data=b"payload", method="POST"
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_streams_pass_through_intact(local_stack: LocalStack, bucket: str) -> None:
    parts, whole = os.urandom(3_000_000), os.urandom(9_000_000)
    with FlakyProxy(local_stack.gcs_url) as proxy, proxied_store(local_stack, proxy) as store:
        with store.open_writer(bucket, "parts") as stream:  # a resumable upload, in chunks of 256 KiB
            for start in range(0, len(parts), 250_000):
                stream.write(parts[start : start + 250_000])
        store.put(bucket, "whole", whole)  # over 8 MiB: a resumable upload session, its URL rewritten
        with store.open_reader(bucket, "parts") as stream:  # one streamed download
            assert stream.read() == parts
        counts = proxy.counts()
    direct = local_stack.blob_store()
    assert direct.get(bucket, "parts")[0] == parts
    assert direct.get(bucket, "whole")[0] == whole
    assert counts.requests > 15  # the chunks, the sessions, the download
    assert counts.failed == 0


def test_a_request_failed_before_never_reaches_the_backend(local_stack: LocalStack, bucket: str) -> None:
    with FlakyProxy(local_stack.gcs_url, fail_before=1.0) as proxy:
        status, answer = upload(proxy.url, bucket, "before")
        counts = proxy.counts()
    assert status == 503
    assert answer["error"]["errors"][0]["reason"] == "backendError"  # type: ignore[index]
    assert local_stack.blob_store().stat(bucket, "before") is None
    assert (counts.requests, counts.failed_before, counts.failed_after) == (1, 1, 0)


def test_a_request_failed_after_was_done_all_the_same(local_stack: LocalStack, bucket: str) -> None:
    with FlakyProxy(local_stack.gcs_url, fail_after=1.0) as proxy:
        status, _ = upload(proxy.url, bucket, "after")
        counts = proxy.counts()
    assert status == 503
    assert local_stack.blob_store().get(bucket, "after")[0] == b"payload"
    assert (counts.requests, counts.failed_before, counts.failed_after) == (1, 0, 1)


def test_the_client_library_gets_through_a_flaky_proxy(local_stack: LocalStack, bucket: str) -> None:
    payloads = {f"object-{number}": os.urandom(1000 + number) for number in range(4)}
    # seed 33: failures before and after the backend acted, never two in a row (quick backoffs)
    flaky = FlakyProxy(local_stack.gcs_url, fail_before=0.2, fail_after=0.2, seed=33)
    with flaky as proxy, proxied_store(local_stack, proxy) as store:
        for name, data in payloads.items():
            store.put(bucket, name, data)
        read = {name: store.get(bucket, name)[0] for name in payloads}
        counts = proxy.counts()
    assert read == payloads
    assert counts.failed_before > 0
    assert counts.failed_after > 0


def test_scripted_failures_come_first(local_stack: LocalStack, bucket: str) -> None:
    with FlakyProxy(local_stack.gcs_url) as proxy:
        proxy.fail_next(2, after=True)
        statuses = [upload(proxy.url, bucket, f"o{number}")[0] for number in range(3)]
        counts = proxy.counts()
    assert statuses == [503, 503, 200]
    assert sorted(info.name for info in local_stack.blob_store().list(bucket, "o")) == ["o0", "o1", "o2"]
    assert (counts.requests, counts.failed_after) == (3, 2)
