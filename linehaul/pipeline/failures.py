"""Whose fault a failed load job is: one of its staged files', or not.

A staged file is at fault only when BigQuery says so about that file: an ``invalid`` error whose
``location`` is the file's URI (BigQuery reports a bad row so, in the job's ``errors``). Every other failure
is *systemic*, a fault of the deployment or of the service that no staged file caused: a missing dataset
or table (``notFound``), a table whose schema or partitioning does not match (``invalid`` naming no file),
``accessDenied``, ``quotaExceeded``, ``rateLimitExceeded``, ``backendError``, ``internalError``. Moving files
to quarantine would not cure those; it would take good files out of the pipeline, each needing hand work to
come back. So the publisher quarantines the files a failure names, and stops at a systemic one
(:mod:`linehaul.pipeline.publish`), keeping a :class:`LoadFailure` in its lease until a later run loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from linehaul.pipeline.naming import object_uri
from linehaul.pipeline.ports import LoadError, LoadJob

__all__ = ["LoadFailure", "files_at_fault", "main_error"]

_FILE_REASON = "invalid"


def files_at_fault(job: LoadJob, bucket: str, names: Sequence[str]) -> dict[str, str]:
    """The staged files (of ``names``, in ``bucket``) that BigQuery blames for ``job``'s failure, each with
    what it said of them. Empty when the failure is not a file's: when no error names one of the files, or
    when an error's reason is not ``invalid`` (a file is never blamed for a quota or a permission)."""
    if any(error.reason != _FILE_REASON for error in job.errors):
        return {}
    by_uri = {object_uri(bucket, name): name for name in names}
    blamed: dict[str, list[str]] = {}
    for error in job.errors:
        name = by_uri.get(error.location or "")
        if name is not None and error.message not in blamed.setdefault(name, []):
            blamed[name].append(error.message)
    return {name: "; ".join(messages) for name, messages in blamed.items()}


def main_error(job: LoadJob) -> LoadError:
    """The error that says best why ``job`` failed: the first whose reason is not ``invalid``, else the first
    (``errorResult``), else one made of its message."""
    for error in job.errors:
        if error.reason != _FILE_REASON:
            return error
    return job.errors[0] if job.errors else LoadError("unknown", job.error or "the load job failed")


@dataclass(frozen=True, slots=True)
class LoadFailure:
    """A systemic load failure, as the publisher's lease keeps it with the batch it stopped (and its log
    says it): the destination ``table``, the failed ``job`` and its ``attempt`` number, BigQuery's
    ``reason`` and ``message``, when it happened (``at``) and from when runs try again (``retry_after``)."""

    table: str
    job: str
    attempt: int
    reason: str
    message: str
    at: datetime
    retry_after: datetime

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["at"], record["retry_after"] = self.at.isoformat(), self.retry_after.isoformat()
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> LoadFailure:
        return cls(
            table=str(record["table"]),
            job=str(record["job"]),
            attempt=int(record["attempt"]),
            reason=str(record["reason"]),
            message=str(record["message"]),
            at=datetime.fromisoformat(record["at"]),
            retry_after=datetime.fromisoformat(record["retry_after"]),
        )

    def sentence(self) -> str:
        """``load job J into T failed (notFound: Not found: Dataset p:d)``."""
        return f"load job {self.job} into {self.table} failed ({self.reason}: {self.message})"
