"""The resumable-upload front of fake GCS (linehaul/local/resumable.py): chunks are kept at the offsets
their Content-Range gives and answered as Cloud Storage answers them; the object appears once, whole, when
the last byte is in. Driven straight over HTTP (the protocol), and by the client library (the use)."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from google.cloud.storage.retry import DEFAULT_RETRY

from linehaul.gcp import storage_client
from linehaul.local import LocalStack
from linehaul.testing import FlakyProxy
from tests.cloud import FAILING_REQUESTS

pytestmark = pytest.mark.integration

CHUNK = 256 * 1024


class Session:
    """A resumable upload session opened on the local stack, driven request by request."""

    def __init__(self, url: str, bucket: str, name: str) -> None:
        address = urlsplit(url)
        self.connection = http.client.HTTPConnection(address.hostname or "", address.port)
        body = json.dumps({"name": name, "contentType": "text/plain", "metadata": {"k": "v"}})
        status, headers, _ = self.send("POST", f"/upload/storage/v1/b/{bucket}/o?uploadType=resumable", body,
                                       {"Content-Type": "application/json"})  # fmt: skip
        assert status == 200
        self.path = urlsplit(headers["location"]).path + "?" + urlsplit(headers["location"]).query

    def send(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        answer = response.read()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, answer

    def chunk(self, data: bytes, first: int, total: int | None) -> tuple[int, dict[str, str], bytes]:
        size = "*" if total is None else str(total)
        where = f"bytes {first}-{first + len(data) - 1}/{size}" if data else f"bytes */{size}"
        return self.send("PUT", self.path, data, {"Content-Range": where})


@pytest.fixture
def session(local_stack: LocalStack, bucket: str) -> Iterator[Session]:
    opened = Session(local_stack.gcs_url, bucket, "out.txt")
    yield opened
    opened.connection.close()


def test_chunks_are_acknowledged_and_the_object_appears_when_complete(
    local_stack: LocalStack, bucket: str, session: Session
) -> None:
    data, store = os.urandom(2 * CHUNK + 10), local_stack.blob_store()

    first = session.chunk(data[:CHUNK], 0, None)
    status_query = session.chunk(b"", 0, None)
    assert store.stat(bucket, "out.txt") is None  # nothing shows before the last byte
    last = session.chunk(data[CHUNK:], CHUNK, len(data))

    assert (first[0], first[1]["range"]) == (308, f"bytes=0-{CHUNK - 1}")
    assert (status_query[0], status_query[1]["range"]) == (308, f"bytes=0-{CHUNK - 1}")
    assert last[0] == 200
    assert json.loads(last[2])["size"] == str(len(data))
    stored, info = store.get(bucket, "out.txt")
    assert (stored, info.metadata) == (data, {"k": "v"})


def test_a_chunk_sent_again_is_kept_once(local_stack: LocalStack, bucket: str, session: Session) -> None:
    data = os.urandom(2 * CHUNK)

    session.chunk(data[:CHUNK], 0, None)
    again = session.chunk(data[:CHUNK], 0, None)  # a retry whose first answer was lost
    last = session.chunk(data[CHUNK:], CHUNK, len(data))
    repeated = session.chunk(data[CHUNK:], CHUNK, len(data))  # the last one's retry: the same answer

    assert again[1]["range"] == f"bytes=0-{CHUNK - 1}"
    assert last[0] == repeated[0] == 200
    assert json.loads(last[2])["generation"] == json.loads(repeated[2])["generation"]
    assert local_stack.blob_store().get(bucket, "out.txt")[0] == data


def test_a_gap_is_refused_and_an_empty_object_is_one_request(
    local_stack: LocalStack, bucket: str, session: Session
) -> None:
    gap = session.chunk(b"x" * CHUNK, CHUNK, None)
    empty = session.chunk(b"", 0, 0)

    assert gap[0] == 400
    assert empty[0] == 200
    assert local_stack.blob_store().get(bucket, "out.txt")[0] == b""


def test_a_cancelled_session_leaves_nothing(local_stack: LocalStack, bucket: str, session: Session) -> None:
    session.chunk(b"x" * CHUNK, 0, None)
    session.send("DELETE", session.path)
    assert local_stack.blob_store().stat(bucket, "out.txt") is None


@pytest.mark.parametrize("lost", ["none", "a chunk", "the last chunk"])
@FAILING_REQUESTS[0]
@FAILING_REQUESTS[1]
def test_the_client_library_uploads_in_chunks_through_lost_answers(
    local_stack: LocalStack, bucket: str, lost: str
) -> None:
    data = os.urandom(3 * CHUNK + 5)  # three chunks sent while writing, the last one when closing
    with FlakyProxy(local_stack.gcs_url) as proxy:
        client = storage_client(local_stack.project, endpoint=proxy.url)
        try:
            blob = client.bucket(bucket).blob("chunked")
            with blob.open("wb", chunk_size=CHUNK, retry=DEFAULT_RETRY) as out:
                if lost == "a chunk":  # it lands, its answer is lost: the library sends it again
                    proxy.fail_next(after=True, method="PUT")
                out.write(data)
                if lost == "the last chunk":
                    proxy.fail_next(after=True, method="PUT")
        finally:
            client.close()
        counts = proxy.counts()
    assert local_stack.blob_store().get(bucket, "chunked")[0] == data
    assert counts.failed_after == (0 if lost == "none" else 1)
