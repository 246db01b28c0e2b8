"""Locations of logs and staging areas as users write them (``gs://bucket/name`` or a local path), and one
:class:`~linehaul.pipeline.ports.BlobStore` that serves both.

The pipeline addresses objects as (bucket, name). Here a bucket is either a Cloud Storage bucket name or
the absolute path of a local directory: bucket names never contain ``/``, absolute paths always start with
it, so :class:`LocationStore` can route each call to Cloud Storage or to :class:`DirectoryStore`, and the
ingestor's per-file code runs unchanged from any kind of location to any other (a backfill reads local or
``gs://`` logs and stages into a local directory or a bucket).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

from linehaul.pipeline.naming import is_local, object_uri, split_uri
from linehaul.pipeline.ports import BlobInfo, BlobNotFoundError, BlobStore, PendingObject
from linehaul.stores.directory import DirectoryStore

__all__ = ["Location", "LocationError", "LocationStore", "staging_bucket"]


class LocationError(ValueError):
    """A location that is neither ``gs://bucket[/name]`` nor a local path, or not usable as given."""


@dataclass(frozen=True, slots=True)
class Location:
    """An object: ``bucket`` (a Cloud Storage bucket, or a local directory's absolute path) and ``name``."""

    bucket: str
    name: str

    @classmethod
    def of(cls, text: str) -> Location:
        """``gs://bucket/name`` → (bucket, name); a local path → (its directory, its base name)."""
        if text.startswith("gs:"):
            found = split_uri(text)
            if found is None or not found[1]:
                raise LocationError(f"{text}: a Cloud Storage object is gs://BUCKET/NAME")
            return cls(*found)
        if "://" in text:
            raise LocationError(f"{text}: only gs:// locations and local paths are supported")
        path = os.path.abspath(text)
        return cls(os.path.dirname(path), os.path.basename(path))

    def __str__(self) -> str:
        return object_uri(self.bucket, self.name)


def staging_bucket(text: str) -> str:
    """The bucket of a staging area: ``gs://bucket`` (its root: the publisher reads ``processed/`` there)
    or a local directory (its absolute path)."""
    if text.startswith("gs:"):
        found = split_uri(text)
        if found is None or found[1].strip("/"):
            raise LocationError(
                f"{text}: staging is a bucket's root, gs://BUCKET (the publisher reads processed/ there)"
            )
        return found[0]
    if "://" in text:
        raise LocationError(f"{text}: staging is gs://BUCKET or a local directory")
    if os.path.exists(text) and not os.path.isdir(text):
        raise LocationError(f"{text}: not a directory")
    return os.path.abspath(text)


class LocationStore:
    """A BlobStore over local directories and Cloud Storage: a bucket that is an absolute path is a local
    directory, any other a Cloud Storage bucket, served by the store ``cloud()`` builds on first use (so a
    run that stays local never needs Google credentials)."""

    def __init__(self, cloud: Callable[[], BlobStore]) -> None:
        self._local = DirectoryStore()
        self._make_cloud = cloud
        self._cloud: BlobStore | None = None

    def _for(self, bucket: str) -> BlobStore:
        if is_local(bucket):
            return self._local
        if self._cloud is None:
            self._cloud = self._make_cloud()
        return self._cloud

    def open_reader(
        self, bucket: str, name: str, generation: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        return self._for(bucket).open_reader(bucket, name, generation)

    def open_writer(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> AbstractContextManager[BinaryIO]:
        return self._for(bucket).open_writer(bucket, name, content_type=content_type, metadata=metadata)

    def open_pending(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream"
    ) -> AbstractContextManager[PendingObject]:
        return self._for(bucket).open_pending(bucket, key, content_type=content_type)

    def remove_pending(self, bucket: str, key: str) -> None:
        self._for(bucket).remove_pending(bucket, key)

    def put(
        self,
        bucket: str,
        name: str,
        data: bytes,
        *,
        if_generation_match: int | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str = "application/octet-stream",
    ) -> int:
        store = self._for(bucket)
        return store.put(
            bucket,
            name,
            data,
            if_generation_match=if_generation_match,
            metadata=metadata,
            content_type=content_type,
        )

    def get(self, bucket: str, name: str) -> tuple[bytes, BlobInfo]:
        return self._for(bucket).get(bucket, name)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        return self._for(bucket).stat(bucket, name)

    def copy(
        self,
        bucket: str,
        name: str,
        to_bucket: str,
        to_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Copy an object, its metadata plus ``metadata``; streamed through this process between a local
        directory and Cloud Storage. BlobNotFoundError if it is missing."""
        source, target = self._for(bucket), self._for(to_bucket)
        if source is target:
            source.copy(bucket, name, to_bucket, to_name, metadata=metadata)
            return
        info = source.stat(bucket, name)
        if info is None:
            raise BlobNotFoundError(f"{object_uri(bucket, name)}: no such object")
        merged = {**info.metadata, **(metadata or {})}
        with (
            source.open_reader(bucket, name, info.generation) as reader,
            target.open_writer(to_bucket, to_name, metadata=merged) as writer,
        ):
            shutil.copyfileobj(reader, writer, 1 << 20)

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        return self._for(bucket).delete(bucket, name, if_generation_match=if_generation_match)

    def list(self, bucket: str, prefix: str, *, limit: int | None = None) -> Iterator[BlobInfo]:
        return self._for(bucket).list(bucket, prefix, limit=limit)

    def folders(self, bucket: str, prefix: str) -> Iterator[str]:
        return self._for(bucket).folders(bucket, prefix)
