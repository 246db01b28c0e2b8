"""The pipeline's state read through the ports (what ``linehaul status`` prints): where quarantined logs are
found, and the lease as a live run holds it."""

from __future__ import annotations

from datetime import timedelta

from linehaul.pipeline.lease import Lease
from linehaul.pipeline.naming import DAMAGE_METADATA, LOAD_ERROR_METADATA
from linehaul.pipeline.status import read_status
from linehaul.tables import Output, Table
from linehaul.testing import MemoryBlobStore
from tests.pipeline.helpers import Clock, stage


def test_quarantined_logs_are_found_wherever_the_ingestor_or_a_backfill_put_them() -> None:
    clock = Clock()
    store = MemoryBlobStore("staging", "logs", "kept", now=clock.now)
    damaged = {DAMAGE_METADATA: "truncated"}
    store.put("logs", "quarantine/2021/01/07/a.log.gz", b"a", metadata=damaged)  # the ingestor's default
    store.put("kept", "quarantine/logs/2021/01/07/b.log.gz", b"bb", metadata=damaged)  # QUARANTINE_BUCKET
    store.put("staging", "quarantine/data/logs/c.log.gz", b"ccc", metadata=damaged)  # a local backfill
    store.put("staging", "quarantine/processed/20210107/downloads-d.json", b"{", metadata={
        LOAD_ERROR_METADATA: "malformed JSON"})  # fmt: skip

    status = read_status(store, "staging", clock.now(), log_bucket="logs", quarantine_bucket="kept")

    assert [(item.uri, item.bytes, item.reason) for item in status.quarantined_logs] == [
        ("gs://logs/quarantine/2021/01/07/a.log.gz", 1, "truncated"),
        ("gs://kept/quarantine/logs/2021/01/07/b.log.gz", 2, "truncated"),
        ("gs://staging/quarantine/data/logs/c.log.gz", 3, "truncated"),
    ]
    assert [(item.uri, item.reason) for item in status.quarantined_staged] == [
        ("gs://staging/quarantine/processed/20210107/downloads-d.json", "malformed JSON")
    ]


def test_a_live_lease_its_batch_and_how_long_the_oldest_file_waited() -> None:
    clock = Clock()
    store = MemoryBlobStore("staging", now=clock.now)
    stage(store, "20190314", 1)
    clock.advance(90)
    stage(store, "20210107", 2, first_seed=2)
    lease = Lease.acquire(store, "staging", "run-1", 600, clock.now())
    assert lease is not None
    lease.record({"kind": "downloads", "names": ["processed/20190314/downloads-log00001.json"]}, clock.now())

    status = read_status(store, "staging", clock.now() + timedelta(seconds=30)).to_json()

    assert status["lease"] == {
        "state": "held",
        "owner": "run-1",
        "expires": (clock.now() + timedelta(seconds=600)).isoformat(),
        "released": False,
        "batch": {
            "kind": "downloads",
            "files": 1,
            "names": ["processed/20190314/downloads-log00001.json"],
            "failed": None,
        },
    }
    downloads = status["staged"][Table.FILE_DOWNLOADS.value]
    assert (downloads["files"], list(downloads["partitions"])) == (3, ["20190314", "20210107"])
    assert downloads["oldest"] == (clock.now() - timedelta(seconds=90)).isoformat()
    assert downloads["partitions"]["20210107"]["oldest"] == clock.now().isoformat()
    assert status["kept"][Output.UNPROCESSED.value]["files"] == 0
    assert status["logs"] is None


def test_a_lease_whose_run_died_is_told_from_a_released_one() -> None:
    clock = Clock()
    store = MemoryBlobStore("staging", now=clock.now)
    dead = Lease.acquire(store, "staging", "killed run", 600, clock.now())
    assert dead is not None
    later = clock.now() + timedelta(seconds=601)
    assert read_status(store, "staging", later).to_json()["lease"]["released"] is False
    mine = Lease.acquire(store, "staging", "next run", 600, later)
    assert mine is not None
    mine.release(later)
    lease = read_status(store, "staging", later).to_json()["lease"]
    assert (lease["state"], lease["owner"], lease["released"]) == ("free", "next run", True)
