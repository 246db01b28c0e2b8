"""What a publisher run is asked to do, from the attributes of its Pub/Sub message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from linehaul.pipeline.naming import is_partition

__all__ = ["PublishRequest", "RequestError"]

_BOOLEANS = {"true": True, "false": False}


class RequestError(ValueError):
    """A message attribute that is not valid; the run does nothing (a retry would not help)."""


@dataclass(frozen=True, slots=True)
class PublishRequest:
    """``partition``: ``YYYYMMDD`` to publish alone (None, the scheduler's message: every partition that has
    staged files, oldest first, until none is left or the time budget is spent).

    ``continue_publishing``: with a partition, keep loading batches until it is empty or the time budget
    is spent (otherwise one batch per table).
    """

    partition: str | None = None
    continue_publishing: bool = False

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, str] | None) -> PublishRequest:
        """Read the attributes strictly: ``"False"`` is false, ``"yes"`` is an error."""
        attributes = attributes or {}
        problems, partition = [], attributes.get("partition")
        if partition is not None and not is_partition(partition):
            problems.append(f"partition={partition!r} is not a date as YYYYMMDD")
        flag = attributes.get("continue_publishing", "false")
        if flag.strip().lower() not in _BOOLEANS:
            problems.append(f"continue_publishing={flag!r} is not true or false")
        if problems:
            raise RequestError("; ".join(problems))
        return cls(partition=partition, continue_publishing=_BOOLEANS[flag.strip().lower()])
