"""Streamed uploads to Cloud Storage in parts, composed into the object at the end.

A resumable upload would do, on Cloud Storage; fake-gcs-server, though, hashes the whole object again for
every chunk of a resumable upload, so a large output takes quadratic time there. Parts avoid that on both:
each part (what was written since the last one, once that is ``chunk_size`` bytes or more: a compose takes
parts of any size, and not slicing them saves a copy of every byte) is one upload under the upload's key
(:func:`linehaul.pipeline.naming.part_name`), and finishing composes them (server-side) into the object
named then, and deletes them. A compose takes 32 sources at most, so
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
    """A writable stream into ``bucket``, its parts under ``key`` (see
    :func:`linehaul.pipeline.naming.part_name`); :meth:`finish` makes the object of a name given then,
    :meth:`discard` gives up. Memory: one part (``chunk_size`` bytes) at a time."""

    def __init__(
        self, bucket: Any, key: str, chunk_size: int, content_type: str, *, retry: Any = DEFAULT_RETRY
    ) -> None:
        super().__init__()
        self._bucket, self._key, self._chunk_size, self._content_type = bucket, key, chunk_size, content_type
        self._retry = retry
        self._pieces: list[bytes] = []  # written, not uploaded yet
        self._pending = 0  # their size
        self._parts: list[Any] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        """Keep ``data``; once ``chunk_size`` bytes or more are kept, upload them as one part.

        A part is every byte kept, joined once: parts for a compose may have any size, and slicing them to
        ``chunk_size`` would cost another copy of every byte.
        """
        piece = bytes(data)  # the same object when it is bytes already
        self._pieces.append(piece)
        self._pending += len(piece)
        if self._pending >= self._chunk_size:
            self._upload_part(self._kept())
        return len(piece)

    def _kept(self) -> bytes:
        kept = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        self._pieces, self._pending = [], 0
        return kept

    def _upload_part(self, data: bytes) -> None:
        part = self._bucket.blob(part_name(self._key, len(self._parts)))
        part.upload_from_string(data, content_type=self._content_type, retry=self._retry)
        self._parts.append(part)

    def finish(self, name: str, metadata: Mapping[str, str] | None = None) -> None:
        """Make the object ``name``: the parts composed, or the only part uploaded as it."""
        target = self._bucket.blob(name)
        target.metadata = dict(metadata) if metadata else None
        if not self._parts:
            target.upload_from_string(self._kept(), content_type=self._content_type, retry=self._retry)
            return
        if self._pending:
            self._upload_part(self._kept())
        sources, level = list(self._parts), 0
        while len(sources) > COMPOSE_LIMIT:
            runs = merge_runs(len(sources))
            merged = [self._compose(sources[start:stop], merged_part_name(self._key, level, n))
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
