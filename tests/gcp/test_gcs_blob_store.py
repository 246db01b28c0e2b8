"""GcsBlobStore against the real fake-gcs-server, beyond the port's contract (which
tests/pipeline/test_blob_store_contract.py holds): streamed reads and writes in many parts, flat memory."""

from __future__ import annotations

import gzip
import threading
import time
import tracemalloc

import pytest

from linehaul.gcp import GcsBlobStore, storage_client
from linehaul.local import LocalStack
from linehaul.local.flaky import FlakyProxy
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.naming import parts_prefix
from linehaul.pipeline.ports import BlobNotFoundError

pytestmark = pytest.mark.integration

SMALL_CHUNK = 256 * 1024  # the smallest chunk allowed: many parts per object


@pytest.fixture(scope="module")
def chunked_store(local_stack: LocalStack) -> GcsBlobStore:
    return GcsBlobStore(local_stack.storage_client(), chunk_size=SMALL_CHUNK)


def test_reader_streams_a_gzip_log(chunked_store: GcsBlobStore, bucket: str) -> None:
    lines = [f"{line}\n".encode() for line in sample_lines(30_000)]
    packed = gzip.compress(b"".join(lines))
    assert len(packed) > 2 * SMALL_CHUNK  # read in several ranged requests
    chunked_store.put(bucket, "cdn/1.log.gz", packed)

    with chunked_store.open_reader(bucket, "cdn/1.log.gz") as raw, gzip.open(raw) as text:
        read = list(text)

    assert read == lines


def test_reader_never_mixes_two_generations(chunked_store: GcsBlobStore, bucket: str) -> None:
    chunked_store.put(bucket, "big", b"a" * (3 * SMALL_CHUNK))

    with chunked_store.open_reader(bucket, "big") as reader:
        first = reader.read(SMALL_CHUNK)
        chunked_store.put(bucket, "big", b"b" * (3 * SMALL_CHUNK))
        with pytest.raises(BlobNotFoundError):
            reader.read()  # the pinned generation is gone: an error, never b"bbb..."

    assert first == b"a" * SMALL_CHUNK


def test_large_streamed_write_keeps_memory_flat(chunked_store: GcsBlobStore, bucket: str) -> None:
    piece = bytes(range(256)) * 256  # 64 KiB
    pieces = 160  # 10 MiB in all, 40 parts: 9 merged first (32 sources at most per compose)

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
    assert list(chunked_store.list(bucket, parts_prefix())) == []  # the parts are gone


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
        out.write(b"x" * size)  # one simple upload, or parts composed

    data, info = chunked_store.get(bucket, "quarantine/a.log.gz")
    assert (len(data), info.metadata) == (size, {"linehaul-damage": "cut"})


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
