"""Streamed uploads to Cloud Storage in parts, composed into the object at the end.

A resumable upload would do, on Cloud Storage; fake-gcs-server, though, rewrites the whole object for every
chunk of a resumable upload, so a large output takes quadratic time there. Parts avoid that on both: each
part of ``chunk_size`` bytes is one simple upload to ``_linehaul_parts/<object>/<number>``, and closing
composes them (server-side, 32 at a time) into the object, then deletes them. An output that fits in one
part is uploaded directly. Until the end, the object is left as it was; an error deletes the parts.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

from google.api_core.exceptions import GoogleAPICallError

__all__ = ["PART_PREFIX", "PartUpload"]

PART_PREFIX = "_linehaul_parts/"
_COMPOSE_LIMIT = 32  # sources per compose request


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
    ) -> None:
        super().__init__()
        self._bucket, self._name, self._chunk_size = bucket, name, chunk_size
        self._content_type, self._metadata = content_type, dict(metadata) if metadata else None
        self._buffer = bytearray()
        self._parts: list[Any] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= self._chunk_size:
            self._upload_part(bytes(self._buffer[: self._chunk_size]))
            del self._buffer[: self._chunk_size]
        return len(data)

    def _upload_part(self, data: bytes) -> None:
        part = self._bucket.blob(f"{PART_PREFIX}{self._name}/{len(self._parts):06d}")
        part.upload_from_string(data, content_type=self._content_type)
        self._parts.append(part)

    def finish(self) -> None:
        """Make the object: the parts composed, or the only part uploaded as it."""
        target = self._bucket.blob(self._name)
        target.metadata = self._metadata
        if not self._parts:
            target.upload_from_string(bytes(self._buffer), content_type=self._content_type)
            return
        if self._buffer:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        sources, level = self._parts, 0
        while len(sources) > _COMPOSE_LIMIT:  # compose groups of 32 first, then those
            groups = [sources[i : i + _COMPOSE_LIMIT] for i in range(0, len(sources), _COMPOSE_LIMIT)]
            sources = [self._compose(group, f"{PART_PREFIX}{self._name}/level{level}-{n:04d}") for n, group in
                       enumerate(groups)]  # fmt: skip
            self._parts += sources
            level += 1
        target.content_type = self._content_type
        target.compose(sources)
        self.discard()

    def _compose(self, sources: list[Any], name: str) -> Any:
        composed = self._bucket.blob(name)
        composed.content_type = self._content_type
        composed.compose(sources)
        return composed

    def discard(self) -> None:
        """Delete the parts uploaded so far (the object is untouched). Failures to delete are not errors."""
        for part in self._parts:
            with suppress(GoogleAPICallError):
                part.delete()
        self._parts.clear()
