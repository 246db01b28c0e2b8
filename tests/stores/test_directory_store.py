"""DirectoryStore on real local directories, beyond the port's contract (which
tests/pipeline/test_blob_store_contract.py holds): the names it keeps, its files, locks between processes."""

from __future__ import annotations

import gzip
import multiprocessing
import os
from pathlib import Path

import pytest

from linehaul.pipeline.ports import BlobNotFoundError, PreconditionFailedError, StorageError
from linehaul.stores.directory import DirectoryStore


@pytest.fixture
def store() -> DirectoryStore:
    return DirectoryStore()


@pytest.fixture
def bucket(tmp_path: Path) -> str:
    return str(tmp_path / "bucket")


def test_missing_files_and_directories(store: DirectoryStore, bucket: str, tmp_path: Path) -> None:
    assert store.stat(bucket, "nothing") is None
    assert store.stat(str(tmp_path / "no-such-directory"), "nothing") is None
    with pytest.raises(BlobNotFoundError, match="nothing"):
        store.get(bucket, "nothing")
    with pytest.raises(BlobNotFoundError), store.open_reader(bucket, "nothing"):
        pass
    store.put(bucket, "dir/file", b"x")
    assert store.stat(bucket, "dir") is None  # a directory is not an object


@pytest.mark.parametrize("name", ["", "a//b", "./a", "a/../b", ".hidden", "a/.b"])
def test_names_the_store_cannot_keep_are_refused(store: DirectoryStore, bucket: str, name: str) -> None:
    with pytest.raises(StorageError, match="name"):
        store.put(bucket, name, b"x")


def test_a_bucket_must_be_an_absolute_directory(store: DirectoryStore) -> None:
    with pytest.raises(StorageError, match="absolute"):
        store.put("relative/dir", "a", b"x")


def _claim(bucket: str, name: str, barrier: multiprocessing.synchronize.Barrier) -> bool:
    barrier.wait()
    try:
        DirectoryStore().put(bucket, name, str(os.getpid()).encode(), if_generation_match=0)
    except PreconditionFailedError:
        return False
    return True


def test_put_if_absent_is_atomic_among_processes(store: DirectoryStore, bucket: str) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(4) as pool:
        barrier = manager.Barrier(4)
        won = pool.starmap(_claim, [(bucket, "claim", barrier)] * 4)

    assert sorted(won) == [False, False, False, True]
    assert store.get(bucket, "claim")[0].isdigit()


def test_writer_streams_and_replaces_the_file_whole(store: DirectoryStore, bucket: str) -> None:
    store.put(bucket, "out.json.gz", b"old")
    with store.open_writer(bucket, "out.json.gz") as stream, gzip.open(stream, "wb") as packed:
        packed.writelines(b"%d\n" % number for number in range(5_000))
        packed.flush()
        assert store.get(bucket, "out.json.gz")[0] == b"old"  # not replaced until the end
        packed.writelines(b"%d\n" % number for number in range(5_000, 10_000))

    assert gzip.decompress(store.get(bucket, "out.json.gz")[0]).count(b"\n") == 10_000


def test_writer_error_leaves_the_file_unchanged_and_no_litter(store: DirectoryStore, bucket: str) -> None:
    store.put(bucket, "dir/out", b"old")

    def crash_while_writing() -> None:
        with store.open_writer(bucket, "dir/out") as stream:
            stream.write(b"half of the new")
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        crash_while_writing()

    assert store.get(bucket, "dir/out")[0] == b"old"
    assert sorted(os.listdir(Path(bucket, "dir"))) == ["out"]


def test_copy_adds_metadata_and_keeps_the_source(store: DirectoryStore, bucket: str, tmp_path: Path) -> None:
    store.put(bucket, "log.gz", b"gzip bytes", metadata={"origin": "cdn"})
    other = str(tmp_path / "other")

    store.copy(bucket, "log.gz", other, "quarantine/log.gz", metadata={"reason": "truncated"})

    assert store.get(bucket, "log.gz")[0] == b"gzip bytes"
    data, info = store.get(other, "quarantine/log.gz")
    assert data == b"gzip bytes"
    assert info.metadata == {"origin": "cdn", "reason": "truncated"}


def test_delete_removes_the_file_its_metadata_and_empty_directories(
    store: DirectoryStore, bucket: str
) -> None:
    store.put(bucket, "ingesting/log/downloads", b"rows", metadata={"a": "b"})
    store.put(bucket, "ingesting/other", b"rows")

    assert store.delete(bucket, "ingesting/log/downloads") is True
    assert store.delete(bucket, "ingesting/log/downloads") is False

    assert sorted(os.listdir(Path(bucket, "ingesting"))) == ["other"]
    assert store.delete(bucket, "ingesting/other") is True
    assert os.listdir(bucket) == []
