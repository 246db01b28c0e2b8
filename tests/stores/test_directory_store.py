"""DirectoryStore on real local directories: every BlobStore method, judged by the files it leaves."""

from __future__ import annotations

import gzip
import multiprocessing
import os
from pathlib import Path

import pytest

from linehaul.pipeline.ports import BlobInfo, BlobNotFoundError, PreconditionFailedError, StorageError
from linehaul.stores.directory import DirectoryStore


@pytest.fixture
def store() -> DirectoryStore:
    return DirectoryStore()


@pytest.fixture
def bucket(tmp_path: Path) -> str:
    return str(tmp_path / "bucket")


def test_put_then_get_returns_the_bytes_and_their_info(store: DirectoryStore, bucket: str) -> None:
    generation = store.put(bucket, "logs/a.log", b"hello\n", metadata={"source": "fastly"})

    data, info = store.get(bucket, "logs/a.log")

    assert data == b"hello\n" == Path(bucket, "logs", "a.log").read_bytes()
    assert info == BlobInfo("logs/a.log", generation, 6, {"source": "fastly"})
    assert store.stat(bucket, "logs/a.log") == info


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


def test_put_if_absent_refuses_an_existing_file(store: DirectoryStore, bucket: str) -> None:
    store.put(bucket, "lock", b"first", if_generation_match=0)

    with pytest.raises(PreconditionFailedError):
        store.put(bucket, "lock", b"second", if_generation_match=0)

    assert store.get(bucket, "lock")[0] == b"first"


def test_put_on_the_current_generation_is_a_compare_and_swap(store: DirectoryStore, bucket: str) -> None:
    first = store.put(bucket, "lock", b"v1", if_generation_match=0)
    second = store.put(bucket, "lock", b"v2", if_generation_match=first)

    with pytest.raises(PreconditionFailedError):
        store.put(bucket, "lock", b"stale", if_generation_match=first)
    assert second > first
    assert store.get(bucket, "lock") == (b"v2", BlobInfo("lock", second, 2))


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


def test_every_write_makes_a_new_generation(store: DirectoryStore, bucket: str) -> None:
    generations = [store.put(bucket, "same", b"same bytes") for _ in range(20)]

    assert generations == sorted(set(generations))


def test_reader_of_a_given_generation(store: DirectoryStore, bucket: str) -> None:
    old = store.put(bucket, "a", b"old")
    with store.open_reader(bucket, "a", old) as stream:
        assert stream.read() == b"old"
    store.put(bucket, "a", b"new")

    with pytest.raises(BlobNotFoundError, match="generation"), store.open_reader(bucket, "a", old):
        pass


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


def test_writer_with_metadata(store: DirectoryStore, bucket: str) -> None:
    with store.open_writer(bucket, "q/log.gz", metadata={"linehaul-damage": "truncated"}) as stream:
        stream.write(b"bytes")

    info = store.stat(bucket, "q/log.gz")
    assert info is not None
    assert info.metadata == {"linehaul-damage": "truncated"}


def test_copy_adds_metadata_and_keeps_the_source(store: DirectoryStore, bucket: str, tmp_path: Path) -> None:
    store.put(bucket, "log.gz", b"gzip bytes", metadata={"origin": "cdn"})
    other = str(tmp_path / "other")

    store.copy(bucket, "log.gz", other, "quarantine/log.gz", metadata={"reason": "truncated"})

    assert store.get(bucket, "log.gz")[0] == b"gzip bytes"
    data, info = store.get(other, "quarantine/log.gz")
    assert data == b"gzip bytes"
    assert info.metadata == {"origin": "cdn", "reason": "truncated"}


def test_copy_of_a_missing_file(store: DirectoryStore, bucket: str) -> None:
    with pytest.raises(BlobNotFoundError):
        store.copy(bucket, "missing", bucket, "copy")
    assert store.stat(bucket, "copy") is None


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


def test_delete_of_a_changed_generation_is_refused(store: DirectoryStore, bucket: str) -> None:
    first = store.put(bucket, "log", b"v1")
    second = store.put(bucket, "log", b"v2")

    with pytest.raises(PreconditionFailedError):
        store.delete(bucket, "log", if_generation_match=first)
    assert store.get(bucket, "log")[0] == b"v2"
    assert store.delete(bucket, "log", if_generation_match=second) is True
    assert store.delete(bucket, "log", if_generation_match=second) is False


def test_list_in_name_order_with_prefix_and_limit(store: DirectoryStore, bucket: str) -> None:
    names = ["processed/20210107/simple-b.json", "processed/20210107/downloads-b.json", "processed/2021.txt"]
    names += ["processed/20210107/downloads-a.json", "processed/20210108/downloads-c.json", "z"]
    for name in names:
        store.put(bucket, name, b"x", metadata={"m": "1"})
    store.put(bucket, "processed/20210107/downloads-a.json", b"xy")  # its metadata goes

    listed = list(store.list(bucket, "processed/20210107/downloads-"))
    everything = [info.name for info in store.list(bucket, "")]

    assert [info.name for info in listed] == [
        "processed/20210107/downloads-a.json",
        "processed/20210107/downloads-b.json",
    ]
    assert (listed[0].size, listed[0].metadata, listed[1].metadata) == (2, {}, {"m": "1"})
    assert everything == sorted(names)  # no lock, temporary or metadata files
    assert [info.name for info in store.list(bucket, "processed/2021", limit=2)] == sorted(names)[:2]
    assert list(store.list(bucket, "nothing/")) == []
