"""What the two Cloud Functions share: reading their CloudEvents, lazy set-up, one JSON log line per event."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

__all__ = ["EventError", "Lazy", "StorageObject", "log_json", "message_attributes"]

_T = TypeVar("_T")


class EventError(ValueError):
    """A CloudEvent without what the function needs (a retry would not help)."""


def log_json(record: Mapping[str, Any]) -> None:
    """One line of JSON on stdout: Cloud Logging reads ``severity`` and ``message`` from it."""
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class StorageObject:
    """The object of a ``google.cloud.storage.object.v1.finalized`` event."""

    bucket: str
    name: str
    generation: int | None = None
    created: datetime | None = None

    @classmethod
    def from_event_data(cls, data: Mapping[str, Any] | None) -> StorageObject:
        data = data or {}
        bucket, name = data.get("bucket"), data.get("name")
        if not isinstance(bucket, str) or not isinstance(name, str) or not bucket or not name:
            raise EventError(f"a storage event needs a bucket and a name, got {dict(data)!r:.200}")
        generation = data.get("generation")
        created = data.get("timeCreated")
        return cls(
            bucket=bucket,
            name=name,
            generation=int(generation) if generation not in (None, "") else None,
            created=datetime.fromisoformat(created.replace("Z", "+00:00"))
            if isinstance(created, str)
            else None,
        )


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
