"""The pipeline's ports: what the ingestor and the publisher need of object storage and of BigQuery.

Only ``linehaul.gcp`` implements these over Google Cloud clients; ``linehaul.testing.memory`` implements
them in memory for fast tests (they really keep bytes, generations and rows, and fail as the real ones do);
``linehaul.testing.faults`` wraps any of them to fail now and then, as the real services do.

Failures: a call that fails with :class:`StorageError` or :class:`TableLoaderError` (other than the answers
below), ``TimeoutError`` or ``ConnectionError`` may have acted before it failed: a write may have landed
although its answer was lost, even after the client library's own retries. Callers that must know read
back what is there (see :mod:`linehaul.pipeline.retries`). Some errors are answers, not failures:
:class:`BlobNotFoundError`, :class:`PreconditionFailedError`, :class:`JobExistsError`, and they too can be
the echo of a write that landed (a retried conditional write fails its own precondition; a retried job
insert finds its own job).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol

__all__ = [
    "BlobInfo",
    "BlobNotFoundError",
    "BlobStore",
    "JobExistsError",
    "LoadError",
    "LoadJob",
    "PendingObject",
    "PreconditionFailedError",
    "StorageError",
    "TableLoader",
    "TableLoaderError",
    "TableRef",
]

Schema = Sequence[Mapping[str, Any]]
"""A BigQuery table schema in its JSON form (the content of ``schemas/*.json``)."""


class StorageError(Exception):
    """Object storage refused or failed an operation."""


class BlobNotFoundError(StorageError):
    """The object (or its bucket) does not exist."""


class PreconditionFailedError(StorageError):
    """A generation precondition did not hold (the object exists, or changed, or is gone)."""


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """An object's name (within its bucket), generation, size in bytes and custom metadata; ``created``,
    when the store knows it, is when this generation was written (not compared: two infos of the same
    object are equal whichever store or listing gave them)."""

    name: str
    generation: int
    size: int
    metadata: Mapping[str, str] = field(default_factory=dict)
    created: datetime | None = field(default=None, compare=False)


class PendingObject(Protocol):
    """Bytes streamed into an object whose name is given once they are all written (see
    :meth:`BlobStore.open_pending`)."""

    def write(self, data: bytes, /) -> int:
        """Append ``data``; returns its length."""
        ...

    def finish(self, name: str, *, metadata: Mapping[str, str] | None = None) -> None:
        """Make the object ``name`` (replacing it whole) of everything written, with ``metadata``."""
        ...


class BlobStore(Protocol):
    """Objects in buckets, addressed by (bucket, name)."""

    def open_reader(
        self, bucket: str, name: str, generation: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        """Stream the object's bytes (of that generation, if given). BlobNotFoundError if it is missing."""
        ...

    def open_writer(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> AbstractContextManager[BinaryIO]:
        """Stream bytes into the object; it is replaced, whole, with ``metadata``, when the block exits
        without an error."""
        ...

    def open_pending(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream"
    ) -> AbstractContextManager[PendingObject]:
        """Stream bytes for an object named only when they are all written (:meth:`PendingObject.finish`).

        Nothing is visible until then; what is not finished when the block exits (an error, or no
        ``finish``) is discarded. ``key`` names the scratch space the bytes wait in (a spilled upload, a
        temporary file): give the same key to the same content, so that :meth:`remove_pending` of a later
        run finds what a crashed run left behind.
        """
        ...

    def remove_pending(self, bucket: str, key: str) -> None:
        """Remove what unfinished writes whose key starts with ``key`` left behind (a crashed run's spilled
        uploads or files)."""
        ...

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
        """Write the object and return its new generation.

        ``if_generation_match=0`` writes only if it does not exist; a positive value only if that is its
        current generation. PreconditionFailedError otherwise.
        """
        ...

    def get(self, bucket: str, name: str) -> tuple[bytes, BlobInfo]:
        """The object's bytes and info. BlobNotFoundError if it is missing."""
        ...

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        """The object's info, or None if it is missing."""
        ...

    def copy(
        self,
        bucket: str,
        name: str,
        to_bucket: str,
        to_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Copy an object (server-side), adding ``metadata`` to the copy. BlobNotFoundError if missing."""
        ...

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        """Delete the object; False if it was missing. PreconditionFailedError on a changed generation."""
        ...

    def list(self, bucket: str, prefix: str, *, limit: int | None = None) -> Iterator[BlobInfo]:
        """Objects whose name starts with ``prefix``, in name order, at most ``limit`` of them."""
        ...

    def folders(self, bucket: str, prefix: str) -> Iterator[str]:
        """The distinct ``prefix + part + "/"`` that hold objects ``prefix + part + "/" + ...``, in name
        order: the folders under ``prefix`` (a listing with a delimiter, which does not list the objects
        inside them). ``prefix`` ends with ``/`` or is empty."""
        ...


@dataclass(frozen=True, slots=True)
class TableRef:
    """A BigQuery table: ``project.dataset.table``."""

    project: str
    dataset: str
    table: str

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"


class TableLoaderError(Exception):
    """BigQuery refused or failed a request about a load job (a job's own failure: :attr:`LoadJob.error`)."""


class JobExistsError(TableLoaderError):
    """A load job with this id was submitted before (BigQuery answers 409 Conflict)."""


@dataclass(frozen=True, slots=True)
class LoadError:
    """One error of a failed load job, as BigQuery reports it: ``reason`` (``invalid``, ``notFound``,
    ``accessDenied``, ``quotaExceeded``, ``backendError``, ...), the message, and ``location``: for an error
    in a source file, the file's ``gs://`` URI; None for an error that no file caused."""

    reason: str
    message: str
    location: str | None = None


@dataclass(frozen=True, slots=True)
class LoadJob:
    """A load job's state. ``error`` is set when it finished and failed (its messages; ``errors`` has them
    one by one, with their reasons and locations); ``output_rows`` when it succeeded."""

    job_id: str
    state: Literal["PENDING", "RUNNING", "DONE"]
    error: str | None = None
    output_rows: int | None = None
    errors: tuple[LoadError, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.state == "DONE" and self.error is None

    @property
    def failed(self) -> bool:
        return self.state == "DONE" and self.error is not None


class TableLoader(Protocol):
    """Batch loads of newline-delimited JSON from object storage into BigQuery tables."""

    def start_load(self, job_id: str, uris: Sequence[str], table: TableRef, schema: Schema) -> None:
        """Submit a load job appending ``uris`` (``gs://bucket/name``) to ``table``.

        JobExistsError if a job with ``job_id`` was ever submitted: job ids are never reused.
        """
        ...

    def job(self, job_id: str) -> LoadJob | None:
        """The job's current state, or None if no job has this id."""
        ...

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        """Block until the job is done (or ``timeout`` seconds pass) and return its state. LookupError if no
        job has this id."""
        ...
