"""Configuration of the two functions, from environment variables, validated all at once.

``IngestSettings.from_env(os.environ)`` and ``PublishSettings.from_env(os.environ)`` raise one
:class:`ConfigError` that lists every missing or malformed variable. The functions call them on their first
event, never at import, so a deployment with a bad variable fails loudly on its first event and
a test can import the module without any environment. ``to_env()`` writes settings back as the variables
that give them (what the local runner hands the functions it serves). The variables' names are
:class:`Setting`'s, here only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from linehaul.pipeline.ports import TableRef
from linehaul.tables import Table

__all__ = [
    "DEFAULT_UPLOAD_CHUNK_MB",
    "TABLE_SETTINGS",
    "ConfigError",
    "IngestSettings",
    "PublishSettings",
    "Setting",
]


class Setting(enum.StrEnum):
    """The functions' environment variables (set by deploy/cloudbuild.yaml, listed in docs/pipeline.md)."""

    RESULT_BUCKET = "RESULT_BUCKET"
    QUARANTINE_BUCKET = "QUARANTINE_BUCKET"
    UPLOAD_CHUNK_MB = "UPLOAD_CHUNK_MB"
    GCP_PROJECT = "GCP_PROJECT"
    BIGQUERY_DATASET = "BIGQUERY_DATASET"
    BIGQUERY_DOWNLOAD_TABLE = "BIGQUERY_DOWNLOAD_TABLE"
    BIGQUERY_SIMPLE_TABLE = "BIGQUERY_SIMPLE_TABLE"
    MAX_BLOBS_PER_RUN = "MAX_BLOBS_PER_RUN"
    PUBLISH_TIME_BUDGET = "PUBLISH_TIME_BUDGET"
    LOCK_SECONDS = "LOCK_SECONDS"
    LOAD_RETRY_SECONDS = "LOAD_RETRY_SECONDS"
    DAILY_DAYS_PER_RUN = "DAILY_DAYS_PER_RUN"
    DAILY_GRACE_SECONDS = "DAILY_GRACE_SECONDS"


TABLE_SETTINGS: Mapping[Table, Setting] = {
    Table.FILE_DOWNLOADS: Setting.BIGQUERY_DOWNLOAD_TABLE,
    Table.SIMPLE_REQUESTS: Setting.BIGQUERY_SIMPLE_TABLE,
}
"""The publisher's variable that names each table in BigQuery."""

DEFAULT_UPLOAD_CHUNK_MB = 64
"""``UPLOAD_CHUNK_MB``'s default (see :class:`IngestSettings`)."""

_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]|[a-z0-9.:-]+")  # domain-scoped projects contain . and :
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
_TABLE = re.compile(r"[\w-]{1,1024}")


class ConfigError(ValueError):
    """Environment variables that are missing or malformed; ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {problem}" for problem in problems))
        self.problems = problems


class _Reader:
    """Reads variables from a mapping and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def text(self, name: str, pattern: re.Pattern[str], what: str) -> str:
        value = self.optional(name, pattern, what)
        if value is None:
            self.problems.append(f"{name} is not set: {what}")
            return ""
        return value

    def optional(self, name: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.env.get(name, "").strip()
        if not value:
            return None
        if not pattern.fullmatch(value):
            self.problems.append(f"{name}={value!r} is not {what}")
        return value

    def number(self, name: str, default: float, low: float, high: float, whole: bool = False) -> float:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not {'a whole number' if whole else 'a number'}")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name}={raw!r} must be between {low:g} and {high:g}")
        return value

    def done(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """The ingestor's configuration.

    ``RESULT_BUCKET`` (required): the staging bucket for processed, unprocessed and ignored outputs.
    ``QUARANTINE_BUCKET`` (default: none, the log's own bucket): where damaged logs are moved, under
    ``quarantine/``.
    ``UPLOAD_CHUNK_MB`` (default 64): an output up to this size is held in memory and uploaded in one go
    under its name; a larger one goes up in a resumable upload, in chunks of this size, as it is written
    (see :mod:`linehaul.gcp.uploads`). Memory use follows it: about three chunks for a log's two largest
    outputs.
    """

    staging_bucket: str
    quarantine_bucket: str | None = None
    upload_chunk_mb: int = DEFAULT_UPLOAD_CHUNK_MB

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IngestSettings:
        read = _Reader(env)
        staging = read.text(Setting.RESULT_BUCKET, _BUCKET, "a bucket name (the staging bucket)")
        quarantine = read.optional(Setting.QUARANTINE_BUCKET, _BUCKET, "a bucket name")
        chunk = int(read.number(Setting.UPLOAD_CHUNK_MB, DEFAULT_UPLOAD_CHUNK_MB, 1, 256, whole=True))
        read.done()
        return cls(staging_bucket=staging, quarantine_bucket=quarantine, upload_chunk_mb=chunk)

    def to_env(self) -> dict[str, str]:
        """The environment that gives these settings (:meth:`from_env` of it gives them back)."""
        env = {Setting.RESULT_BUCKET: self.staging_bucket, Setting.UPLOAD_CHUNK_MB: str(self.upload_chunk_mb)}
        if self.quarantine_bucket is not None:
            env[Setting.QUARANTINE_BUCKET] = self.quarantine_bucket
        return {str(name): value for name, value in env.items()}


@dataclass(frozen=True, slots=True)
class PublishSettings:
    """The publisher's configuration (production's variables, plus two of ours).

    ``GCP_PROJECT`` (required), ``RESULT_BUCKET`` (required), ``BIGQUERY_DATASET`` (required; one or more,
    whitespace-separated, each ``project.dataset`` or a dataset in GCP_PROJECT: every batch is loaded into
    each), ``BIGQUERY_DOWNLOAD_TABLE`` and ``BIGQUERY_SIMPLE_TABLE`` (required), ``MAX_BLOBS_PER_RUN``
    (default 1000, at most 10000: a load job takes at most 10,000 URIs), ``PUBLISH_TIME_BUDGET`` (seconds a
    run may keep loading batches and waiting for their jobs, default 420, keep it below the function's
    timeout), ``LOCK_SECONDS`` (after how long a crashed run's lease may be taken over, default 600, keep
    it above the timeout) and ``LOAD_RETRY_SECONDS`` (after a load failed for a reason no staged file
    caused, how long runs wait before they try another load job, default 300: below the scheduler's 15
    minutes, so each scheduled run after a fix publishes; see docs/pipeline.md, "When a load fails").
    ``DAILY_DAYS_PER_RUN`` (days a run aggregates into the daily tables at most, default 3, 0 turns them
    off) and ``DAILY_GRACE_SECONDS`` (how long after its end a day is aggregated, default 7200; see
    :mod:`linehaul.pipeline.daily`).
    """

    project: str
    staging_bucket: str
    datasets: tuple[tuple[str, str], ...]
    download_table: str
    simple_table: str
    max_blobs_per_run: int = 1000
    time_budget: float = 420.0
    lock_seconds: float = 600.0
    retry_seconds: float = 300.0
    daily_days_per_run: int = 3
    daily_grace_seconds: float = 7200.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PublishSettings:
        read = _Reader(env)
        project = read.text(Setting.GCP_PROJECT, _PROJECT, "a Google Cloud project id")
        bucket = read.text(Setting.RESULT_BUCKET, _BUCKET, "a bucket name (the staging bucket)")
        datasets: list[tuple[str, str]] = []
        raw_datasets = env.get(Setting.BIGQUERY_DATASET, "").split()
        if not raw_datasets:
            read.problems.append(
                "BIGQUERY_DATASET is not set: one or more datasets, project.dataset or dataset"
            )
        for item in raw_datasets:
            owner, _, dataset = item.rpartition(".")
            if not _DATASET.fullmatch(dataset) or (owner and not _PROJECT.fullmatch(owner)):
                read.problems.append(f"BIGQUERY_DATASET entry {item!r} is not project.dataset or dataset")
            datasets.append((owner or project, dataset))
        download = read.text(TABLE_SETTINGS[Table.FILE_DOWNLOADS], _TABLE, "a table name")
        simple = read.text(TABLE_SETTINGS[Table.SIMPLE_REQUESTS], _TABLE, "a table name")
        max_blobs = int(read.number(Setting.MAX_BLOBS_PER_RUN, 1000, 1, 10_000, whole=True))
        budget = read.number(Setting.PUBLISH_TIME_BUDGET, 420.0, 1, 3600)
        lock = read.number(Setting.LOCK_SECONDS, 600.0, 10, 86_400)
        retry = read.number(Setting.LOAD_RETRY_SECONDS, 300.0, 0, 86_400)
        daily_days = int(read.number(Setting.DAILY_DAYS_PER_RUN, 3, 0, 100, whole=True))
        daily_grace = read.number(Setting.DAILY_GRACE_SECONDS, 7200.0, 0, 7 * 86_400)
        read.done()
        return cls(project, bucket, tuple(datasets), download, simple, max_blobs, budget, lock, retry,
                   daily_days, daily_grace)  # fmt: skip

    def to_env(self) -> dict[str, str]:
        """The environment that gives these settings (:meth:`from_env` of it gives them back)."""
        env = {
            Setting.GCP_PROJECT: self.project,
            Setting.RESULT_BUCKET: self.staging_bucket,
            Setting.BIGQUERY_DATASET: " ".join(f"{project}.{dataset}" for project, dataset in self.datasets),
            **{TABLE_SETTINGS[table]: self.table_name(table) for table in Table},
            Setting.MAX_BLOBS_PER_RUN: str(self.max_blobs_per_run),
            Setting.PUBLISH_TIME_BUDGET: str(self.time_budget),
            Setting.LOCK_SECONDS: str(self.lock_seconds),
            Setting.LOAD_RETRY_SECONDS: str(self.retry_seconds),
            Setting.DAILY_DAYS_PER_RUN: str(self.daily_days_per_run),
            Setting.DAILY_GRACE_SECONDS: str(self.daily_grace_seconds),
        }
        return {str(name): value for name, value in env.items()}

    def table_name(self, table: Table) -> str:
        """The name ``table`` has in BigQuery (its setting's value)."""
        return self.download_table if table is Table.FILE_DOWNLOADS else self.simple_table

    def destinations(self, table: Table) -> list[TableRef]:
        """Every BigQuery table that ``table``'s staged files are loaded into (one per dataset)."""
        return [TableRef(project, dataset, self.table_name(table)) for project, dataset in self.datasets]
