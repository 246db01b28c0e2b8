"""Locations as users write them, and one store over local directories and a cloud (in memory here)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.naming import object_uri
from linehaul.pipeline.settings import IngestSettings
from linehaul.stores.locations import Location, LocationError, LocationStore, staging_bucket
from linehaul.testing import MemoryBlobStore


@pytest.mark.parametrize(
    ("text", "bucket", "name"),
    [
        ("gs://logs/2021/01/07/a.log.gz", "logs", "2021/01/07/a.log.gz"),
        ("/data/logs/a.log.gz", "/data/logs", "a.log.gz"),
        ("/a.log.gz", "/", "a.log.gz"),
    ],
)
def test_a_location_is_a_bucket_and_a_name(text: str, bucket: str, name: str) -> None:
    where = Location.of(text)
    assert (where.bucket, where.name) == (bucket, name)
    assert str(where) == text == object_uri(bucket, name)


def test_a_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Location.of("logs/a.log.gz") == Location(str(tmp_path / "logs"), "a.log.gz")


@pytest.mark.parametrize("text", ["gs://", "gs://bucket", "gs:///name", "s3://bucket/a.log.gz"])
def test_locations_that_are_not_objects(text: str) -> None:
    with pytest.raises(LocationError, match="gs://"):
        Location.of(text)


def test_staging_is_a_bucket_root_or_a_directory(tmp_path: Path) -> None:
    assert staging_bucket("gs://staging") == staging_bucket("gs://staging/") == "staging"
    assert staging_bucket(str(tmp_path / "new")) == str(tmp_path / "new")
    (tmp_path / "file").write_text("x")
    for wrong, reason in [
        ("gs://staging/prefix", "root"),
        ("s3://staging", "gs://"),
        (str(tmp_path / "file"), "not a directory"),
    ]:
        with pytest.raises(LocationError, match=reason):
            staging_bucket(wrong)


@pytest.fixture
def cloud() -> MemoryBlobStore:
    return MemoryBlobStore("bucket", "staging")


@pytest.fixture
def store(cloud: MemoryBlobStore) -> LocationStore:
    return LocationStore(lambda: cloud)


def test_calls_go_to_the_directory_or_the_cloud(
    store: LocationStore, cloud: MemoryBlobStore, tmp_path: Path
) -> None:
    local = str(tmp_path)
    store.put(local, "a/file", b"on disk")
    store.put("bucket", "a/file", b"in the cloud")

    assert (tmp_path / "a" / "file").read_bytes() == b"on disk"
    assert cloud.get("bucket", "a/file")[0] == b"in the cloud"
    assert [info.name for info in store.list(local, "a/")] == ["a/file"]
    assert store.delete("bucket", "a/file") is True
    assert cloud.stat("bucket", "a/file") is None
    assert store.get(local, "a/file")[0] == b"on disk"


def test_the_cloud_store_is_made_only_when_needed(tmp_path: Path) -> None:
    def no_cloud() -> MemoryBlobStore:
        raise AssertionError("a local run made a cloud client")

    store = LocationStore(no_cloud)
    store.put(str(tmp_path), "a", b"x")
    store.copy(str(tmp_path), "a", str(tmp_path), "b")
    assert store.get(str(tmp_path), "b")[0] == b"x"


@pytest.mark.parametrize("direction", ["to the cloud", "from the cloud"])
def test_copy_between_a_directory_and_the_cloud(
    store: LocationStore, cloud: MemoryBlobStore, tmp_path: Path, direction: str
) -> None:
    local = str(tmp_path)
    source, target = (local, "bucket") if direction == "to the cloud" else ("bucket", local)
    store.put(source, "log.gz", b"gzip bytes", metadata={"origin": "cdn"})

    store.copy(source, "log.gz", target, "quarantine/log.gz", metadata={"reason": "cut"})

    data, info = store.get(target, "quarantine/log.gz")
    assert data == b"gzip bytes"
    assert info.metadata == {"origin": "cdn", "reason": "cut"}
    assert store.get(source, "log.gz")[0] == b"gzip bytes"


LINES = list(sample_lines(2000, seed=5))
LOG = gzip.compress(("\n".join(LINES) + "\n").encode())


def test_a_local_log_stages_into_the_cloud_and_stays(
    store: LocationStore, cloud: MemoryBlobStore, tmp_path: Path
) -> None:
    (tmp_path / "cdn-7.log.gz").write_bytes(LOG)
    settings = IngestSettings(staging_bucket="staging", quarantine_bucket="staging")

    report = ingest_log(store, str(tmp_path), "cdn-7.log.gz", settings, keep_source=True)

    assert report.outcome == "ingested"
    assert report.source == str(tmp_path / "cdn-7.log.gz")
    assert (tmp_path / "cdn-7.log.gz").read_bytes() == LOG
    staged = {name for bucket, name in cloud.objects if bucket == "staging"}
    assert f"processed/{report.partition}/downloads-cdn-7.json" in staged
    rows = cloud.get("staging", f"processed/{report.partition}/downloads-cdn-7.json")[0].count(b"\n")
    assert rows == report.counts.file_downloads > 0


def test_a_damaged_local_log_is_copied_to_quarantine_and_stays(
    store: LocationStore, cloud: MemoryBlobStore, tmp_path: Path
) -> None:
    cut = LOG[: len(LOG) // 2]
    (tmp_path / "cut.log.gz").write_bytes(cut)
    staging = str(tmp_path / "staging")
    settings = IngestSettings(staging_bucket=staging, quarantine_bucket=staging)

    report = ingest_log(store, str(tmp_path), "cut.log.gz", settings, keep_source=True)

    kept_as = f"quarantine/{str(tmp_path).lstrip(os.sep)}/cut.log.gz"
    assert report.outcome == "quarantined"
    assert report.quarantined_as == f"{staging}/{kept_as}"
    data, info = store.get(staging, kept_as)
    assert data == cut == (tmp_path / "cut.log.gz").read_bytes()
    assert info.metadata["linehaul-damage"] == report.damage == "the gzip data is cut short (truncated file)"
    assert 0 < report.counts.lines < len(LINES)
    assert not cloud.objects
