"""GcsBlobStore against the real fake-gcs-server, beyond the port's contract (which
tests/pipeline/test_blob_store_contract.py holds): reads in one request, writes held or spilled to resumable
uploads, the requests each one costs, flat memory."""

from __future__ import annotations

import gzip
import os
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from google.cloud.storage.retry import DEFAULT_RETRY

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.local import LocalStack
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.naming import parts_prefix, spilled_name
from linehaul.pipeline.ports import BlobNotFoundError, StorageError
from linehaul.testing import FlakyProxy, storage_request_kind
from tests.cloud import FAILING_REQUESTS

pytestmark = pytest.mark.integration

SMALL_CHUNK = 256 * 1024  # the smallest chunk allowed: many parts per object


@contextmanager
def counted_store(stack: LocalStack, **options: Any) -> Iterator[tuple[GcsBlobStore, FlakyProxy]]:
    """A store (made with ``options``) talking through a proxy that counts its requests by kind."""
    with FlakyProxy(stack.gcs_url, classify=storage_request_kind) as proxy:
        client = storage_client(stack.project, endpoint=proxy.url)
        try:
            yield GcsBlobStore(client, **options), proxy
        finally:
            client.close()


@pytest.fixture(scope="module")
def chunked_store(local_stack: LocalStack) -> GcsBlobStore:
    return GcsBlobStore(local_stack.storage_client(), chunk_size=SMALL_CHUNK)


def test_reader_streams_a_gzip_log_in_one_request(local_stack: LocalStack, bucket: str) -> None:
    lines = [f"{line}\n".encode() for line in sample_lines(30_000)]
    packed = gzip.compress(b"".join(lines))
    assert len(packed) > 2 * SMALL_CHUNK
    local_stack.blob_store().put(bucket, "cdn/1.log.gz", packed)

    with counted_store(local_stack) as (store, proxy):
        with store.open_reader(bucket, "cdn/1.log.gz") as raw, gzip.open(raw) as text:
            read = list(text)
        counts = proxy.counts()

    assert read == lines
    assert counts.kinds == {"download": 1}  # no request for its generation first, no ranges


def test_a_reader_closed_early_stops_its_download(blob_store: GcsBlobStore, bucket: str) -> None:
    blob_store.put(bucket, "big", bytes(range(256)) * (64 << 10))  # 16 MiB: more than is read ahead

    with blob_store.open_reader(bucket, "big") as reader:
        first = reader.read(1000)
        assert _download_threads()

    assert first == bytes(range(256)) * 3 + bytes(range(232))
    assert not _download_threads()  # the download stopped


@FAILING_REQUESTS[0]
@FAILING_REQUESTS[1]
def test_a_download_that_breaks_off_resumes_where_it_stopped(local_stack: LocalStack, bucket: str) -> None:
    data = os.urandom(3 << 20)
    local_stack.blob_store().put(bucket, "log", data)

    with counted_store(local_stack) as (store, proxy):
        proxy.cut_next(1 << 20, method="GET")
        with store.open_reader(bucket, "log") as reader:
            read = reader.read()
        counts = proxy.counts()

    assert read == data
    assert (counts.cut, counts.kinds) == (1, {"download": 2})  # the rest asked for from where it broke off


@FAILING_REQUESTS[0]
@FAILING_REQUESTS[1]
def test_a_read_never_mixes_two_generations(local_stack: LocalStack, bucket: str) -> None:
    size = 32 << 20  # far more than the reader and the connections hold ahead of what was read
    local_stack.blob_store().put(bucket, "big", b"a" * size)

    with counted_store(local_stack) as (store, proxy):
        with store.open_reader(bucket, "big") as reader:  # the answer is under way: it is read whole
            store.put(bucket, "big", b"b" * size)
            assert reader.read() == b"a" * size
        proxy.cut_next(size - (2 << 20), method="GET")
        with store.open_reader(bucket, "big") as reader:
            store.put(bucket, "big", b"c" * size)
            with pytest.raises(BlobNotFoundError):
                reader.read()  # resumed on its generation, which is gone: an error, never b"bbb...ccc"


def test_large_streamed_write_keeps_memory_flat(chunked_store: GcsBlobStore, bucket: str) -> None:
    piece = bytes(range(256)) * 256  # 64 KiB
    pieces = 160  # 10 MiB in all, in 40 chunks

    tracemalloc.start()
    try:
        with chunked_store.open_writer(bucket, "staged/big.ndjson", content_type="application/json") as out:
            for _ in range(pieces):
                out.write(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    data, info = chunked_store.get(bucket, "staged/big.ndjson")
    assert info.size == len(piece) * pieces
    assert data == piece * pieces
    assert peak < 8 * SMALL_CHUNK, f"peak {peak} bytes: the writer buffers the object"
    assert list(chunked_store.list(bucket, parts_prefix())) == []  # the object was the upload's own


def test_writer_through_gzip(blob_store: GcsBlobStore, bucket: str) -> None:
    with blob_store.open_writer(bucket, "out.gz") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as packed:
        packed.write(b"row\n" * 1000)
        packed.flush()  # wrappers flush; a resumable upload must not fail on it

    assert gzip.decompress(blob_store.get(bucket, "out.gz")[0]) == b"row\n" * 1000


def test_writer_error_leaves_the_object_unchanged(chunked_store: GcsBlobStore, bucket: str) -> None:
    chunked_store.put(bucket, "kept", b"before")

    def write_then_fail(name: str, data: bytes) -> None:
        with chunked_store.open_writer(bucket, name) as out:
            out.write(data)
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        write_then_fail("kept", b"x" * (2 * SMALL_CHUNK + 1))  # some chunks were sent already
    with pytest.raises(RuntimeError, match="stop"):
        write_then_fail("never", b"partial")

    assert chunked_store.get(bucket, "kept")[0] == b"before"
    assert chunked_store.stat(bucket, "never") is None
    assert list(chunked_store.list(bucket, parts_prefix())) == []


@pytest.mark.parametrize("size", [10, 3 * SMALL_CHUNK + 5])
def test_writer_with_metadata(chunked_store: GcsBlobStore, bucket: str, size: int) -> None:
    with chunked_store.open_writer(bucket, "quarantine/a.log.gz", metadata={"linehaul-damage": "cut"}) as out:
        out.write(b"x" * size)  # one simple upload, or a resumable one

    data, info = chunked_store.get(bucket, "quarantine/a.log.gz")
    assert (len(data), info.metadata) == (size, {"linehaul-damage": "cut"})


@pytest.mark.parametrize(
    ("sizes", "requests"),
    [
        ([100_000], {"upload": 1}),  # held: one request under the name
        ([9 << 20], {"resumable start": 1, "resumable chunk": 1}),  # held, too large for one request
        ([SMALL_CHUNK, SMALL_CHUNK, SMALL_CHUNK, 5],  # spilled: 2 chunks, 1, then the last 5 bytes
         {"resumable start": 1, "resumable chunk": 3, "compose": 1, "delete": 1}),
    ],
    ids=["small", "held", "spilled"],
)  # fmt: skip
def test_what_a_pending_object_costs(
    local_stack: LocalStack, bucket: str, sizes: list[int], requests: dict[str, int]
) -> None:
    written = [bytes([n]) * size for n, size in enumerate(sizes)]
    with counted_store(local_stack, chunk_size=SMALL_CHUNK if len(sizes) > 1 else 16 << 20) as (store, proxy):
        with store.open_pending(bucket, "ingest/cdn-a/run/downloads") as pending:
            for data in written:
                pending.write(data)
            pending.finish("processed/20261101/downloads-cdn-a.json")
        counts = proxy.counts()

    direct = local_stack.blob_store()
    assert counts.kinds == requests
    assert direct.get(bucket, "processed/20261101/downloads-cdn-a.json")[0] == b"".join(written)
    assert [info.name for info in direct.list(bucket, "")] == ["processed/20261101/downloads-cdn-a.json"]


@FAILING_REQUESTS[0]
@FAILING_REQUESTS[1]
def test_a_chunk_whose_answer_was_lost_is_kept_once(local_stack: LocalStack, bucket: str) -> None:
    data = os.urandom(3 * SMALL_CHUNK + 5)
    with counted_store(local_stack, chunk_size=SMALL_CHUNK) as (store, proxy):
        with store.open_writer(bucket, "out") as out:
            out.write(data[:SMALL_CHUNK])
            proxy.fail_next(after=True, method="PUT")  # the first chunk lands; its answer is lost
            out.write(data[SMALL_CHUNK:])
        counts = proxy.counts()

    assert counts.failed_after == 1
    assert local_stack.blob_store().get(bucket, "out")[0] == data


def test_a_spilled_object_left_by_a_crash_is_removed_by_the_next_run(
    local_stack: LocalStack, bucket: str
) -> None:
    quick = DEFAULT_RETRY.with_timeout(0.5)
    with counted_store(local_stack, chunk_size=SMALL_CHUNK, retry=quick) as (store, proxy):
        opened = store.open_pending(bucket, "ingest/cdn-a/run1/downloads")
        pending = opened.__enter__()  # the process dies before leaving the block: nothing cleans up
        pending.write(b"z" * (3 * SMALL_CHUNK))
        proxy.fail_next(100, after=False, method="POST")  # its last chunk lands, the compose never does
        with pytest.raises(StorageError):
            pending.finish("processed/20261101/downloads-cdn-a.json")
    direct = local_stack.blob_store()
    assert [info.name for info in direct.list(bucket, "")] == [spilled_name("ingest/cdn-a/run1/downloads")]

    direct.remove_pending(bucket, "ingest/cdn-a/")

    assert list(direct.list(bucket, "")) == []


def test_copy_is_server_side_and_adds_metadata(blob_store: GcsBlobStore, bucket: str) -> None:
    blob_store.put(bucket, "in/a.log.gz", b"\x1f\x8bdata", metadata={"source": "fastly"})

    blob_store.copy(bucket, "in/a.log.gz", bucket, "done/a.log.gz", metadata={"ingested": "yes"})

    data, info = blob_store.get(bucket, "done/a.log.gz")
    assert data == b"\x1f\x8bdata"
    assert info.metadata == {"source": "fastly", "ingested": "yes"}
    assert blob_store.get(bucket, "in/a.log.gz")[1].metadata == {"source": "fastly"}


def test_chunk_size_must_suit_resumable_uploads(local_stack: LocalStack) -> None:
    with pytest.raises(ValueError, match="multiple of 262144"):
        GcsBlobStore(local_stack.storage_client(), chunk_size=1000)


def _download_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "linehaul-download"]


def _library_threads() -> list[threading.Thread]:
    """google-cloud-storage's bucket-metadata threads (``_fetch_background``, ``_verify_existence_...``)."""
    return [thread for thread in threading.enumerate() if "_background" in thread.name]


def test_a_client_asks_for_objects_only(local_stack: LocalStack, bucket: str) -> None:
    """No request for the bucket's own metadata (google-cloud-storage's tracing probe, on a thread of its
    own): the pipeline's service accounts may not read it, and the thread outlives the call."""
    with FlakyProxy(local_stack.gcs_url) as proxy:  # no failures: a proxy that counts requests
        client = storage_client(local_stack.project, endpoint=proxy.url)
        try:
            store = GcsBlobStore(client)
            store.put(bucket, "a.json", b"{}")  # 1 request
            store.get(bucket, "a.json")  # 2: the object's generation, then its bytes
            with pytest.raises(BlobNotFoundError):
                store.get(bucket, "missing.json")  # 1: a 404
            store.delete(bucket, "a.json")  # 1
            deadline = time.monotonic() + 10
            while _library_threads() and time.monotonic() < deadline:  # a probe, if any, has landed
                time.sleep(0.05)
        finally:
            client.close()
        assert proxy.counts().requests == 5
