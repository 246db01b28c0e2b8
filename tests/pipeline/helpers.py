"""Shared pieces of the pipeline tests: staged files, a fake clock, crash injection on any port."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from linehaul import Converted, Converter, Download, Ignored, LineError, dumps_row, parse_line, to_row
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ports import BlobStore, LoadJob, Schema, TableRef
from linehaul.pipeline.settings import PublishSettings
from linehaul.testing import MemoryTableLoader

SETTINGS = PublishSettings(
    project="proj",
    staging_bucket="staging",
    datasets=(("proj", "pypi"),),
    download_table="file_downloads",
    simple_table="simple_requests",
    max_blobs_per_run=1000,
)


def expected_outputs(lines: list[str]) -> dict[str, bytes]:
    """What ingesting ``lines`` stages, by output (``downloads``, ``simple``, ``unprocessed``, ``ignored``),
    worked out by the library's line-at-a-time path."""
    outputs: dict[str, list[str]] = {"downloads": [], "simple": [], "unprocessed": [], "ignored": []}
    for line in lines:
        try:
            outcome = parse_line(line)
        except LineError:
            outputs["unprocessed"].append(line)
            continue
        if isinstance(outcome, Ignored):
            outputs["ignored"].append(line)
        else:
            outputs["downloads" if isinstance(outcome, Download) else "simple"].append(
                dumps_row(to_row(outcome))
            )
    return {key: "".join(row + "\n" for row in kept).encode() for key, kept in outputs.items()}


@cache
def staged_rows(seed: int, lines: int = 200) -> tuple[bytes, bytes]:
    """(downloads NDJSON, simple NDJSON) of a sample log."""
    converted = Converted()
    Converter().convert_lines(list(sample_lines(lines, seed=seed)), converted)
    return (("\n".join(converted.downloads) + "\n").encode(), ("\n".join(converted.simple) + "\n").encode())


def stage(
    store: BlobStore,
    partition: str,
    count: int,
    first_seed: int = 1,
    bucket: str = "staging",
    lines: int = 200,
) -> int:
    """Stage ``count`` logs' worth of files (of ``lines`` lines each) in ``partition``; returns the number of
    download rows."""
    rows = 0
    for seed in range(first_seed, first_seed + count):
        downloads, simple = staged_rows(seed, lines)
        store.put(bucket, f"processed/{partition}/downloads-log{seed:05d}.json", downloads)
        store.put(bucket, f"processed/{partition}/simple-log{seed:05d}.json", simple)
        rows += downloads.count(b"\n")
    return rows


def simple_rows(count: int, first_seed: int = 1) -> int:
    """The number of simple_requests rows :func:`stage` stages for the same logs."""
    return sum(staged_rows(seed)[1].count(b"\n") for seed in range(first_seed, first_seed + count))


class Clock:
    """A clock the test moves: ``now()`` for datetimes, ``monotonic()`` for budgets."""

    def __init__(self, start: datetime = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.moment.timestamp()

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class CrashError(BaseException):
    """The process dies here: its instance is killed, so none of the run's own error handling runs (a
    BaseException, which the pipeline's handlers of ``Exception`` let through)."""


class Crashing:
    """Wraps a port; the ``after``-th call (0-based) of ``method`` that ``when`` accepts raises CrashError."""

    def __init__(self, inner: Any, method: str, after: int = 0, when: Callable[..., bool] = lambda *a: True):
        self.inner, self.method, self.after, self.when, self.calls = inner, method, after, when, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.when(*args):
                if self.calls == self.after:
                    self.calls += 1
                    raise CrashError(f"{name}{args[:2]}")
                self.calls += 1
            return attribute(*args, **kwargs)

        return call


class LandsThenFails:
    """Wraps a port; ``times`` calls of ``method`` that ``when`` accepts, from the ``after``-th (0-based) on,
    act and then raise ``error()``: the answer was lost, or the library's retry of the landed call failed."""

    def __init__(
        self,
        inner: Any,
        method: str,
        error: Callable[[], BaseException],
        when: Callable[..., bool] = lambda *a: True,
        times: int = 1,
        after: int = 0,
    ):
        self.inner, self.method, self.error, self.when, self.left = inner, method, error, when, times
        self.skip = after

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name != self.method:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if self.left > 0 and self.when(*args):
                if self.skip > 0:
                    self.skip -= 1
                    return result
                self.left -= 1
                raise self.error()
            return result

        return call


class Ticking:
    """A table loader whose load jobs take ``seconds`` on the test's clock: a job is RUNNING until then, and
    ``wait`` moves the clock on by what it waits (at most its timeout), as a real wait would."""

    def __init__(self, inner: MemoryTableLoader, clock: Clock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = inner, clock, seconds
        self.ends: dict[str, datetime] = {}

    def start_load(self, job_id: str, uris: Sequence[str], table: TableRef, schema: Schema) -> None:
        self.inner.start_load(job_id, uris, table, schema)
        self.ends[job_id] = self.clock.now() + timedelta(seconds=self.seconds)

    def job(self, job_id: str) -> LoadJob | None:
        found = self.inner.job(job_id)
        if found is None or self.clock.now() >= self.ends[job_id]:
            return found
        return LoadJob(job_id, "RUNNING")

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        self.inner.wait(job_id, timeout)  # LookupError for an unknown id
        left = (self.ends[job_id] - self.clock.now()).total_seconds()
        self.clock.advance(max(0.0, min(left, timeout)))
        found = self.job(job_id)
        assert found is not None
        return found
