"""What the two Cloud Functions share: reading their CloudEvents, lazy set-up, one JSON log line per event,
and one way to report a failure (:func:`log_error`, :func:`failing_event`)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from werkzeug.exceptions import HTTPException, ServiceUnavailable

from linehaul.runtime.reporting import ServiceContext, error_record, report_location

__all__ = [
    "PUBSUB_MESSAGE_PUBLISHED",
    "STORAGE_OBJECT_FINALIZED",
    "EventError",
    "Lazy",
    "StorageObject",
    "failing_event",
    "log_error",
    "log_json",
    "log_outcome",
    "message_attributes",
]

STORAGE_OBJECT_FINALIZED = "google.cloud.storage.object.v1.finalized"
"""The CloudEvent type of a new object in a bucket (the ingestor's trigger)."""
PUBSUB_MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
"""The CloudEvent type of a Pub/Sub message (the publisher's trigger)."""
_SHOWN = 300  # characters of a bad event shown in the log

_T = TypeVar("_T")


class EventError(ValueError):
    """A CloudEvent without what the function needs (a retry would not help)."""


def log_json(record: Mapping[str, Any]) -> None:
    """One line of JSON on stdout: Cloud Logging reads ``severity`` and ``message`` from it."""
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


def log_error(
    message: str, error: BaseException | None = None, *, stacklevel: int = 1, **context: Any
) -> None:
    """Report a failure: one ERROR line (:func:`log_json`) saying ``message``, with ``error``'s stack trace
    if an exception caused it, and ``context``: what an operator needs (the log, the partition, the batch).
    Error Reporting groups it (:func:`linehaul.runtime.reporting.error_record`); a failure without an
    exception is filed under the code that reported it: the caller, or ``stacklevel`` frames up. Every
    failure of either function is reported here, once: never as a bare traceback on stderr."""
    caller = sys._getframe(stacklevel)
    log_json(
        error_record(message, error, ServiceContext.from_env(os.environ), report_location(caller), context)
    )


def log_outcome(record: Mapping[str, Any]) -> None:
    """Log a run's summary line (``severity``, ``message``, counts); one of severity ERROR (a run that went
    through but must be looked at: lines linehaul failed on) is reported as a failure (:func:`log_error`)."""
    if record.get("severity") != "ERROR":
        log_json(record)
        return
    context = {key: value for key, value in record.items() if key not in ("severity", "message")}
    log_error(str(record.get("message", "")), stacklevel=2, **context)


@contextmanager
def failing_event(message: str, **context: Any) -> Iterator[None]:
    """Fail the event on any exception of the block, after reporting it with :func:`log_error` (``message``,
    then the exception, and ``context``): the function answers 503, so that the platform delivers the event
    again (a retry may help: a storage outage, a fixed configuration), without the framework's own
    traceback on stderr."""
    try:
        yield
    except HTTPException:
        raise  # an answer already chosen (and said)
    except Exception as error:
        log_error(f"{message}: {type(error).__name__}: {error}", error, **context)
        raise ServiceUnavailable(message) from None


@dataclass(frozen=True, slots=True)
class StorageObject:
    """The object of a ``google.cloud.storage.object.v1.finalized`` event."""

    bucket: str
    name: str
    generation: int | None = None
    created: datetime | None = None

    @classmethod
    def from_event(cls, event_type: str, data: object) -> StorageObject:
        """The object a storage event names. EventError (saying what was received) for an event of another
        type, data that is not a JSON object, or one without a bucket and a name."""
        if event_type != STORAGE_OBJECT_FINALIZED:
            raise EventError(f"not an object event: type {event_type!r:.{_SHOWN}}")
        if not isinstance(data, Mapping):
            raise EventError(f"the event's data is not a JSON object: {data!r:.{_SHOWN}}")
        bucket, name = data.get("bucket"), data.get("name")
        if not isinstance(bucket, str) or not isinstance(name, str) or not bucket or not name:
            raise EventError(f"a storage event needs a bucket and a name, got {dict(data)!r:.{_SHOWN}}")
        generation, created = data.get("generation"), data.get("timeCreated")
        try:
            return cls(
                bucket=bucket,
                name=name,
                generation=int(generation) if generation not in (None, "") else None,
                created=datetime.fromisoformat(created.replace("Z", "+00:00"))
                if isinstance(created, str)
                else None,
            )
        except (TypeError, ValueError) as error:
            raise EventError(f"{error}: in {dict(data)!r:.{_SHOWN}}") from None


def message_attributes(data: Mapping[str, Any] | None) -> dict[str, str]:
    """The attributes of the Pub/Sub message of a ``messagePublished`` event (empty if none)."""
    message = (data or {}).get("message") or {}
    attributes = message.get("attributes") or {}
    return {str(key): str(value) for key, value in attributes.items()}


class Lazy(Generic[_T]):
    """A value built on first use (configuration and clients: never at import), once, thread-safely."""

    def __init__(self, build: Callable[[], _T]) -> None:
        self._build = build
        self._value: _T | None = None
        self._lock = threading.Lock()

    def get(self) -> _T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value
