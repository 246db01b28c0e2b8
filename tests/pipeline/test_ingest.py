"""Ingesting logs against the in-memory ports: end state of the buckets, not call sequences."""

from __future__ import annotations

import gzip
import json

import pytest

from linehaul.convert import Converter
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import KeptConverters, ingest_log
from linehaul.pipeline.naming import loaded_marker
from linehaul.pipeline.settings import IngestSettings
from linehaul.testing import MemoryBlobStore
from tests.pipeline.helpers import expected_outputs

SETTINGS = IngestSettings(staging_bucket="staging")
LINES = list(sample_lines(5000, seed=11))
LOG = gzip.compress(("\n".join(LINES) + "\n").encode())
NAME = "2026/11/01/cdn-0001.log.gz"


@pytest.fixture
def store() -> MemoryBlobStore:
    store = MemoryBlobStore("logs", "staging")
    store.put("logs", NAME, LOG)
    return store


def test_a_log_is_staged_under_its_earliest_day_and_deleted(store: MemoryBlobStore) -> None:
    generation = store.stat("logs", NAME).generation  # type: ignore[union-attr]
    report = ingest_log(store, "logs", NAME, SETTINGS, generation=generation)
    expected = expected_outputs(LINES)
    assert report.outcome == "ingested"
    assert report.partition == "20261101"
    assert store.get("staging", "processed/20261101/downloads-cdn-0001.json")[0] == expected["downloads"]
    assert store.get("staging", "processed/20261101/simple-cdn-0001.json")[0] == expected["simple"]
    assert store.get("staging", "unprocessed/20261101/cdn-0001.txt")[0] == expected["unprocessed"]
    assert store.get("staging", "ignored/20261101/cdn-0001.txt")[0] == expected["ignored"]
    reasons = store.get("staging", "unprocessed/20261101/cdn-0001.reasons.json")[0].decode().splitlines()
    assert [LINES[json.loads(r)["line"] - 1].encode() + b"\n" for r in reasons] == expected[
        "unprocessed"
    ].splitlines(keepends=True)
    assert store.names("logs") == []
    assert store.names("staging", "ingesting/") == []
    assert report.counts.lines == len(LINES)
    assert (
        report.counts.file_downloads
        + report.counts.simple_requests
        + report.counts.unprocessed
        + report.counts.ignored
        == len(LINES)
    )


def test_the_partition_is_the_day_of_the_earliest_event(store: MemoryBlobStore) -> None:
    early = "simple|Sat, 31 Oct 2026 23:59:59 GMT|US|/simple/x/|TLSv1.3|C||||curl/8"
    store.put("logs", "late.log.gz", gzip.compress(("\n".join([*LINES[:10], early]) + "\n").encode()))
    assert ingest_log(store, "logs", "late.log.gz", SETTINGS).partition == "20261031"


def test_a_second_delivery_of_a_finished_log_does_nothing(store: MemoryBlobStore) -> None:
    ingest_log(store, "logs", NAME, SETTINGS)
    before = {name: store.get("staging", name)[0] for name in store.names("staging")}
    report = ingest_log(store, "logs", NAME, SETTINGS)
    assert report.outcome == "missing"
    assert {name: store.get("staging", name)[0] for name in store.names("staging")} == before


def test_a_redelivery_after_a_crash_rewrites_the_same_objects(store: MemoryBlobStore) -> None:
    """The crash: outputs staged, the log not deleted. The redelivery must give the same end state."""
    crashing = _CrashOnDelete(store, "logs")
    with pytest.raises(_CrashError):
        ingest_log(crashing, "logs", NAME, SETTINGS)
    staged = {name: store.get("staging", name)[0] for name in store.names("staging", "processed/")}
    assert staged
    assert store.names("logs") == [NAME]
    ingest_log(store, "logs", NAME, SETTINGS)
    assert {name: store.get("staging", name)[0] for name in store.names("staging", "processed/")} == staged
    assert store.names("logs") == []


def test_a_redelivery_does_not_stage_again_what_was_loaded(store: MemoryBlobStore) -> None:
    crashing = _CrashOnDelete(store, "logs")
    with pytest.raises(_CrashError):
        ingest_log(crashing, "logs", NAME, SETTINGS)
    for name in store.names("staging", "processed/"):  # what the publisher does after loading
        store.put("staging", loaded_marker(name), b"")
        store.delete("staging", name)
    report = ingest_log(store, "logs", NAME, SETTINGS)
    assert store.names("staging", "processed/") == []
    assert set(report.already_loaded) == {
        "processed/20261101/downloads-cdn-0001.json",
        "processed/20261101/simple-cdn-0001.json",
    }


def test_a_truncated_log_is_quarantined_and_its_readable_lines_kept(store: MemoryBlobStore) -> None:
    cut = LOG[: len(LOG) // 2]
    store.put("logs", "cut.log.gz", cut)
    report = ingest_log(store, "logs", "cut.log.gz", SETTINGS)
    assert report.outcome == "quarantined"
    assert report.damage == "the gzip data is cut short (truncated file)"
    assert report.quarantined_as == "gs://logs/quarantine/cut.log.gz"
    data, info = store.get("logs", "quarantine/cut.log.gz")
    assert data == cut
    assert info.metadata["linehaul-damage"] == report.damage
    assert "cut.log.gz" not in store.names("logs")
    assert ingest_log(store, "logs", "quarantine/cut.log.gz", SETTINGS).outcome == "skipped"
    assert 0 < report.counts.lines < len(LINES)
    staged = store.get("staging", "processed/20261101/downloads-cut.json")[0].splitlines()
    expected = expected_outputs(LINES)["downloads"].splitlines()
    assert staged[:-1] == expected[: len(staged) - 1]  # the last line read may be cut short


def test_a_log_with_no_valid_event_uses_the_creation_day() -> None:
    from datetime import UTC, datetime

    store = MemoryBlobStore("logs", "staging")
    store.put("logs", "junk.log", b"not a log line\n")
    report = ingest_log(store, "logs", "junk.log", SETTINGS, created=datetime(2026, 3, 4, tzinfo=UTC))
    assert report.partition == "20260304"
    assert store.get("staging", "unprocessed/20260304/junk.txt")[0] == b"not a log line\n"


def test_an_old_generation_event_leaves_the_new_upload(store: MemoryBlobStore) -> None:
    old = store.stat("logs", NAME).generation  # type: ignore[union-attr]
    store.put("logs", NAME, LOG)
    assert ingest_log(store, "logs", NAME, SETTINGS, generation=old).outcome == "missing"
    assert store.names("logs") == [NAME]


def test_kept_converters_lend_an_idle_converter_and_make_one_only_when_all_are_busy() -> None:
    converters = KeptConverters()
    with converters.lend() as first, converters.lend() as second:  # a second log read at the same time
        assert isinstance(first, Converter)
        assert second is not first
        assert converters.idle == 0
    assert converters.idle == 2
    with converters.lend() as again:
        assert again is first or again is second
    assert converters.idle == 2


def test_a_converter_lent_to_a_log_that_fails_is_kept() -> None:
    converters = KeptConverters()
    with pytest.raises(LookupError), converters.lend() as lent:
        raise LookupError("the log's storage failed")
    with converters.lend() as again:
        assert again is lent


def test_logs_through_a_kept_converter_are_staged_as_through_new_ones() -> None:
    logs = {f"2026/11/01/cdn-{seed}.log.gz": list(sample_lines(3000, seed=seed)) for seed in (21, 22, 23)}
    agents = [{line.split("|", 9)[-1] for line in lines} for lines in logs.values()]
    assert agents[0] & agents[1]  # what the later logs find in the caches
    assert agents[1] & agents[2]
    kept, new = MemoryBlobStore("logs", "staging"), MemoryBlobStore("logs", "staging")
    converters = KeptConverters()
    for name, lines in logs.items():
        for store in (kept, new):
            store.put("logs", name, gzip.compress(("\n".join(lines) + "\n").encode()))
        ingest_log(kept, "logs", name, SETTINGS, converters=converters)
        ingest_log(new, "logs", name, SETTINGS)

    names = kept.names("staging")
    assert names == new.names("staging")
    assert len(names) == 5 * len(logs)
    assert converters.idle == 1  # one log at a time: one converter, kept
    for name in names:
        assert kept.get("staging", name)[0] == new.get("staging", name)[0], name
    for name, lines in logs.items():
        staged = name.rsplit("/", 1)[1].removesuffix(".log.gz")
        expected = expected_outputs(lines)
        assert kept.get("staging", f"processed/20261101/downloads-{staged}.json")[0] == expected["downloads"]
        assert kept.get("staging", f"ignored/20261101/{staged}.txt")[0] == expected["ignored"]


def test_a_log_after_a_damaged_one_on_a_kept_converter_is_staged_whole(store: MemoryBlobStore) -> None:
    converters = KeptConverters()
    store.put("logs", "cut.log.gz", LOG[: len(LOG) // 2])
    assert ingest_log(store, "logs", "cut.log.gz", SETTINGS, converters=converters).outcome == "quarantined"

    report = ingest_log(store, "logs", NAME, SETTINGS, converters=converters)

    assert report.outcome == "ingested"
    assert converters.idle == 1
    expected = expected_outputs(LINES)
    assert store.get("staging", "processed/20261101/downloads-cdn-0001.json")[0] == expected["downloads"]
    assert store.get("staging", "unprocessed/20261101/cdn-0001.txt")[0] == expected["unprocessed"]


class _CrashError(Exception):
    pass


class _CrashOnDelete(MemoryBlobStore):
    """The same objects as ``store``, but deleting from ``bucket`` crashes (the process dies there)."""

    def __init__(self, store: MemoryBlobStore, bucket: str) -> None:
        self.__dict__.update(store.__dict__)
        self.crash_bucket = bucket

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        if bucket == self.crash_bucket:
            raise _CrashError(name)
        return super().delete(bucket, name, if_generation_match=if_generation_match)
