"""Streamed uploads to Cloud Storage in parts, composed into the object at the end.

A resumable upload would do, on Cloud Storage; fake-gcs-server, though, hashes the whole object again for
every chunk of a resumable upload, so a large output takes quadratic time there. Parts avoid that on both:
each part of ``chunk_size`` bytes is one simple upload to ``_linehaul_parts/<object>/<number>``, and closing
composes them (server-side) into the object, then deletes them. A compose takes 32 sources at most, so
beyond 32 parts the first runs of parts are composed first, just enough of them (see :func:`merge_runs`):
fake-gcs-server rewrites every byte it composes, and a whole extra level would write the object twice. An
output that fits in one part is uploaded directly. Until the end, the object is left as it was; an error
deletes the parts.

Every request is retried by the client library on a transient failure, composes included (the library
retries those only with a generation precondition): a part uploaded again, or the same parts composed
again into the same name, gives the same bytes, so a repetition after the first landed changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import requests
from google.api_core.exceptions import GoogleAPIError
from google.cloud.storage.retry import DEFAULT_RETRY

from linehaul.pipeline.naming import merged_part_name, part_name

__all__ = ["COMPOSE_LIMIT", "PartUpload", "merge_runs"]

COMPOSE_LIMIT = 32
"""Sources per compose request (Cloud Storage's limit)."""


class PartUpload(io.RawIOBase):
    """A writable stream into ``bucket``'s object ``name``; :meth:`finish` makes the object, :meth:`discard`
    gives up. Memory: one part (``chunk_size`` bytes) at a time."""

    def __init__(
        self,
        bucket: Any,
        name: str,
        chunk_size: int,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        *,
        retry: Any = DEFAULT_RETRY,
    ) -> None:
        super().__init__()
        self._retry = retry
        self._bucket, self._name, self._chunk_size = bucket, name, chunk_size
        self._content_type, self._metadata = content_type, dict(metadata) if metadata else None
        self._buffer = bytearray()
        self._parts: list[Any] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= self._chunk_size:
            with memoryview(self._buffer) as view:
                part = bytes(view[: self._chunk_size])  # one copy (a slice of the bytearray would be two)
            del self._buffer[: self._chunk_size]
            self._upload_part(part)
            del part
        return len(data)

    def _upload_part(self, data: bytes) -> None:
        part = self._bucket.blob(part_name(self._name, len(self._parts)))
        part.upload_from_string(data, content_type=self._content_type, retry=self._retry)
        self._parts.append(part)

    def finish(self) -> None:
        """Make the object: the parts composed, or the only part uploaded as it."""
        target = self._bucket.blob(self._name)
        target.metadata = self._metadata
        if not self._parts:
            target.upload_from_string(bytes(self._buffer), content_type=self._content_type, retry=self._retry)
            return
        if self._buffer:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        sources, level = list(self._parts), 0
        while len(sources) > COMPOSE_LIMIT:
            runs = merge_runs(len(sources))
            merged = [self._compose(sources[start:stop], merged_part_name(self._name, level, n))
                      for n, (start, stop) in enumerate(runs)]  # fmt: skip
            self._parts += merged
            sources = merged + sources[runs[-1][1] :]
            level += 1
        target.content_type = self._content_type
        target.compose(sources, retry=self._retry)
        self.discard()

    def _compose(self, sources: list[Any], name: str) -> Any:
        composed = self._bucket.blob(name)
        composed.content_type = self._content_type
        composed.compose(sources, retry=self._retry)
        return composed

    def discard(self) -> None:
        """Delete the parts uploaded so far (the object is untouched). Failures to delete are not errors."""
        for part in self._parts:
            with suppress(GoogleAPIError, requests.RequestException):
                part.delete(retry=self._retry)
        self._parts.clear()


def merge_runs(count: int, limit: int = COMPOSE_LIMIT) -> list[tuple[int, int]]:
    """The runs ``[start, stop)`` of ``count`` sources (in order, from the first) to compose into one each
    so that at most ``limit`` sources remain, merging as few of them as possible; when that cannot be done
    in one pass (over ``limit`` squared sources) every source is merged, in runs of ``limit``, and another
    pass follows. Empty when ``count <= limit``.
    """
    if limit < 2:
        raise ValueError(f"limit must be at least 2, not {limit}")
    runs, start, excess = [], 0, count - limit
    while excess > 0 and count - start >= 2:
        size = min(limit, excess + 1, count - start)
        runs.append((start, start + size))
        start, excess = start + size, excess - (size - 1)
    return runs
