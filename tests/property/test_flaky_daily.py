"""The daily tables through a flaky cloud, seed after seed (in memory): logs of several days, each event
delivered twice, late logs of days already aggregated, publisher runs between deliveries, every port call
(the aggregator's too) failing now and then, before acting, after acting, or timing out. Once settled,
every row of every daily table is the count of the rows the logs hold, and no day waits."""

from __future__ import annotations

import contextlib
import gzip
import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from linehaul.convert import Converter
from linehaul.converted import Converted
from linehaul.daily.shape import DAILY_TABLES
from linehaul.daily.sql import midnight
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.daily import days_waiting
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.lease import is_held
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.retries import Retries
from linehaul.pipeline.settings import IngestSettings
from linehaul.testing.faults import Faults, FlakyBlobStore
from linehaul.testing.memory import MemoryBlobStore
from tests.daily_counts import differences
from tests.pipeline.daily_fakes import FlakyAggregator, MemoryWarehouse
from tests.pipeline.helpers import SETTINGS, Clock

DAYS = [date(2026, 11, 1) + timedelta(days=offset) for offset in range(4)]
DOWNLOADS = TableRef("proj", "pypi", "file_downloads")
RATES = {"before": 0.02, "after": 0.02, "timeout": 0.01}
FLAKY = replace(SETTINGS, lock_seconds=600.0, daily_days_per_run=2)
NO_PAUSE = Retries(pause=0.0)
MAX_STEPS = 80


@cache
def logs() -> dict[str, bytes]:
    """Two logs a day, and a late one of the first two days, by object name (gzipped)."""
    made = {}
    for number, (day, late) in enumerate(
        [(day, False) for day in DAYS for _ in (1, 2)] + [(DAYS[0], True), (DAYS[1], True)]
    ):
        lines = "\n".join(sample_lines(40, seed=number, start=midnight(day))) + "\n"
        made[f"{'late' if late else 'cdn'}-{day:%Y%m%d}-{number}.log.gz"] = gzip.compress(lines.encode())
    return made


@cache
def rows() -> list[dict[str, Any]]:
    converted = Converted()
    for data in logs().values():
        Converter().convert_block(gzip.decompress(data), converted)
    return [json.loads(row) for row in converted.downloads]


def run(store: MemoryBlobStore, warehouse: MemoryWarehouse, faults: Faults, clock: Clock) -> None:
    """One publisher run through the flaky ports (a run that fails is followed by the next message)."""
    flaky, request = FlakyAggregator(warehouse, faults), PublishRequest()
    with contextlib.suppress(Exception):
        publish(FlakyBlobStore(store, faults), flaky, FLAKY, request, now=clock.now, clock=clock.monotonic,
                retries=NO_PAUSE, aggregator=flaky)  # fmt: skip
    clock.advance(60)


@settings(max_examples=25)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_the_daily_tables_end_in_step_through_a_flaky_cloud(seed: int) -> None:
    store = MemoryBlobStore("logs", "staging")
    warehouse = MemoryWarehouse(store)
    faults, order = Faults(seed, **RATES), random.Random(seed)
    clock = Clock(datetime(2026, 11, 10, tzinfo=UTC))  # every day over
    names = sorted(logs())
    on_time, late = (
        [name for name in names if name.startswith("cdn")],
        [name for name in names if name.startswith("late")],
    )
    order.shuffle(on_time)
    events = [(name, store.put("logs", name, logs()[name])) for name in on_time] * 2
    steps = 0
    while events or late:
        steps += 1
        assert steps <= MAX_STEPS, "the ingestor did not get through"
        if not events:  # the late logs arrive once the days were aggregated
            events = [(name, store.put("logs", name, logs()[name])) for name in late] * 2
            late = []
        name, generation = events.pop(0)
        try:
            ingest_log(FlakyBlobStore(store, faults), "logs", name, IngestSettings(staging_bucket="staging"),
                       generation=generation)  # fmt: skip
        except Exception:  # Cloud Functions delivers the event again
            events.append((name, generation))
        if order.random() < 0.4:
            run(store, warehouse, faults, clock)
    for _ in range(MAX_STEPS):
        if (
            not store.names("staging", "processed/")
            and not is_held(store, "staging", clock.now())
            and not days_waiting(warehouse, store, FLAKY, clock.now())
        ):
            break
        run(store, warehouse, faults, clock)
    else:
        raise AssertionError(f"not settled ({faults.total()} faults injected)")
    loaded = warehouse.rows(DOWNLOADS)
    assert sorted(map(json.dumps, loaded)) == sorted(map(json.dumps, rows()))  # every row once
    for table in DAILY_TABLES:
        assert differences(table, loaded, warehouse.daily_rows(replace(DOWNLOADS, table=table.name))) == []
