"""The whole pipeline over HTTP with the flaky proxy between the functions and both emulators.

The smaller version of ``benchmarks/bench_flaky.py``: the real functions served by functions-framework, one
request in ten to fake GCS and to the BigQuery emulator failing (half of them after the backend acted),
every storage event delivered twice, publisher messages on a schedule, ``LOCK_SECONDS=600``. Every row
lands exactly once, nothing is left behind, the ingestor needs no redelivery, and publishing settles within
a bounded number of runs: a lease left held would make every run find it busy until the bound is hit,
long before 600 s. The logs span a week, and once settled the daily tables hold every day of it, each row
the count of the rows (issue 29). The figures are printed (run with -s to see them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from linehaul.local import LocalStack
from linehaul.logs.sample import write_sample
from linehaul.testing.settle import FlakyPlan, settle

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_flaky_cloud_settles_with_every_row_once(tmp_path: Path) -> None:
    first = datetime(2026, 10, 1, tzinfo=UTC)
    logs = [  # two days each, from these days of October: 1 to 5 in all, some logs of the same days
        write_sample(
            tmp_path / f"cdn-{number}.log.gz", lines=600, seed=number, start=first + timedelta(day), days=2
        )
        for number, day in enumerate([0, 0, 2, 3, 3, 3])
    ]
    plan = FlakyPlan(fail_before=0.05, fail_after=0.05, seed=3, lock_seconds=600, max_runs=120, pause=0.5)
    with LocalStack(project="linehaul-flaky") as stack:
        report = settle(stack, logs, plan)
    print("\n" + "\n".join(report.lines()))
    assert report.settled
    assert report.exactly_once
    assert report.daily_in_step  # the daily tables too (issue 29)
    assert report.daily[0] == 5  # days held: October 1 to 5
    assert (report.staged_left, report.parts_left, report.lease_left) == (0, 0, False)
    assert report.redeliveries == 0
    assert report.storage.failed_before > 0
    assert report.storage.failed_after > 0
