"""The port the publisher keeps the daily tables through: BigQuery's partition metadata and query jobs.

Beside :class:`~linehaul.pipeline.ports.TableLoader` (load jobs), an :class:`Aggregator` runs the jobs that
(re)compute one day's partition of a daily table (:mod:`linehaul.daily`) from the rows of
``file_downloads``, and says what every partition holds and when it was last written (which days are in
step: :mod:`linehaul.daily.freshness`). ``linehaul.gcp.daily`` implements it over BigQuery (a query job
writing the partition ``table$YYYYMMDD`` with ``WRITE_TRUNCATE``: the day's partition is replaced whole,
atomically, whatever it held; a job run twice writes the same rows); the tests' in-memory warehouse
implements it too, with the same SQL on DuckDB.

Failures are those of the other ports: :class:`~linehaul.pipeline.ports.TableLoaderError` (a request that
failed, perhaps after it acted), ``TimeoutError``, and the answer
:class:`~linehaul.pipeline.ports.JobExistsError` for a job id submitted before (BigQuery's 409). A job's
own failure is in its state (the port's :class:`~linehaul.pipeline.ports.LoadJob`, whatever the kind of
job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol

from linehaul.daily.freshness import Partitions
from linehaul.daily.shape import DailyTable
from linehaul.pipeline.ports import LoadJob, TableRef

__all__ = ["Aggregator"]


class Aggregator(Protocol):
    """Partition metadata, and the query jobs that replace a day's partition of a daily table."""

    def partitions(self, source: TableRef, tables: Sequence[str]) -> Mapping[str, Partitions]:
        """The partitions of ``source`` (``file_downloads``) and of the tables of its dataset called
        ``tables``, by table name: a table without partitions (or missing) maps to none."""
        ...

    def start_aggregate(self, job_id: str, source: TableRef, table: DailyTable, day: date) -> None:
        """Submit a job replacing partition ``day`` of ``table`` (in the dataset of ``source``) with the
        counts of ``source``'s rows of that day; a missing table is created, laid out as
        :mod:`linehaul.daily.shape` says. JobExistsError if a job with ``job_id`` was ever submitted."""
        ...

    def job(self, job_id: str) -> LoadJob | None:
        """The job's current state, or None if no job has this id."""
        ...

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        """Block until the job is done (or ``timeout`` seconds pass) and return its state. LookupError if no
        job has this id."""
        ...
