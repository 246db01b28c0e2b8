"""What a publisher run did, what it left, and why it stopped early if it did: :class:`PublishReport`, which
the publisher function logs as one JSON line (:meth:`PublishReport.log_record`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from linehaul.pipeline.failures import LoadFailure

__all__ = ["PublishReport", "Stop"]

Stop = Literal["load failed", "held off", "failed jobs", "time budget"]
"""Why a run stopped before it was done: a load failed for a reason no file caused (``load failed``), or
did so in an earlier run too recently to try again (``held off``); the run spent its failed load jobs
(``failed jobs``); its time budget ran out (``time budget``)."""


@dataclass(slots=True)
class PublishReport:
    """What one publisher run did (a mutable tally while it runs), and what it left."""

    lease: str = "held"
    holder: dict[str, str] | None = None  # who holds the lease, when it is busy
    # the lease this run took over from a run that died holding it (never released): its owner and expiry
    lease_taken_over: dict[str, str] | None = None
    partitions_seen: int = 0
    partitions: list[str] = field(default_factory=list)  # those it published files of
    batches: int = 0
    files: int = 0
    rows: int = 0
    jobs_submitted: int = 0
    jobs_reused: int = 0
    jobs_failed: int = 0  # failed jobs this run submitted
    already_loaded: int = 0
    quarantined: list[str] = field(default_factory=list)
    stopped: Stop | None = None
    failure: dict[str, Any] | None = None  # a load failure no file caused (LoadFailure.to_json)
    files_left: int = 0
    partitions_left: int = 0
    oldest_partition_left: str | None = None
    oldest_staged_seconds: float | None = None  # age of the oldest staged file left
    recovered: int = 0  # port calls that failed (or answered ambiguously) and were tried again or read back
    daily: dict[str, Any] | None = None  # issue 29: what it did to the daily tables (a DailyTally), if kept
    seconds: float = 0.0

    @property
    def publishing_stopped(self) -> bool:
        """A load failed for a reason no file caused: the function answers with an error."""
        return self.failure is not None

    def message(self) -> str:
        if self.lease == "busy":
            holder = self.holder or {}
            return (
                f"another publisher run ({holder.get('owner', '?')}) holds the lease until "
                f"{holder.get('expires', '?')}: nothing to do"
            )
        done = (
            f"published {self.files} files ({self.rows} rows) in {self.batches} batches, "
            f"{len(self.quarantined)} quarantined; {self.files_left} staged files left"
        )
        if self.failure is not None:
            failure = LoadFailure.from_json(self.failure)
            since = "" if self.stopped == "load failed" else f" since {failure.at.isoformat()}"
            return (
                f"publishing stopped{since}: {failure.sentence()}. Not a fault of any staged file: nothing "
                f"was quarantined for it; runs try again from {failure.retry_after.isoformat()} ({done})"
            )
        if self.stopped == "failed jobs":
            return (
                f"stopped after {self.jobs_failed} failed load jobs, each naming files it quarantined: {done}"
            )
        done += _daily_sentence(self.daily)
        if self.stopped == "time budget":
            return f"{done}; the time budget ran out, the next run continues"
        return done

    def log_record(self) -> dict[str, Any]:
        severity = "INFO"
        if self.quarantined:
            severity = "WARNING"
        daily = self.daily or {}
        if self.failure is not None or self.stopped == "failed jobs" or daily.get("failed"):
            severity = "ERROR"
        if daily.get("failed_this_hour"):  # still failing: said again every run until the next hour's try
            severity = "ERROR"
        return {"severity": severity, "message": self.message(), **asdict(self)}


def _daily_sentence(daily: dict[str, Any] | None) -> str:
    """What a run did to the daily tables, as a clause of its message ("" when it kept none)."""
    if not daily:
        return ""
    jobs = daily["jobs_submitted"] + daily["jobs_reused"]
    sentence = f"; aggregated {len(daily['days'])} days into the daily tables ({jobs} jobs)"
    if daily["days_left"]:
        sentence += f", {daily['days_left']} days left for the next runs"
    for failed in daily["failed"]:
        sentence += (
            f"; aggregation job {failed['job']} of {failed['table']} for {failed['day']} failed "
            f"({failed['reason']}: {failed['message']}): the day stays out of step, tried again next hour"
        )
    if daily.get("failed_this_hour"):
        sentence += (
            f"; {daily['failed_this_hour']} aggregation jobs failed earlier this hour (their days stay out "
            "of step, tried again next hour; older days go on)"
        )
    return sentence
