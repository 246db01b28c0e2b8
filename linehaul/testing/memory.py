"""In-memory implementations of the ports, for fast pipeline tests and for library users' own tests.

They behave like the real services where the pipeline depends on it: objects keep bytes, generations,
metadata and creation times; preconditions fail with PreconditionFailedError; missing objects raise
BlobNotFoundError; a load job id can be submitted once (JobExistsError after); a load job is atomic and
fails, loading nothing, with BigQuery's errors: ``invalid`` at the file's URI when a file is not NDJSON or
has a row that does not fit the schema; and, naming no file, ``notFound`` for a missing file or dataset,
``invalid`` for a schema that does not match the existing table's, or whatever error a test makes a
table refuse (:attr:`MemoryTableLoader.refusals`: access denied, quota exceeded, a backend error).
"""

from __future__ import annotations

import builtins
import io
import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from linehaul.pipeline.naming import object_uri, split_uri
from linehaul.pipeline.ports import (
    BlobInfo,
    BlobNotFoundError,
    JobExistsError,
    LoadError,
    LoadJob,
    PendingObject,
    PreconditionFailedError,
    Schema,
    TableRef,
)
from linehaul.schema import row_problems

__all__ = ["MemoryBlobStore", "MemoryTableLoader"]


@dataclass(slots=True)
class _Object:
    data: bytes
    generation: int
    metadata: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None


class MemoryBlobStore:
    """A :class:`~linehaul.pipeline.ports.BlobStore` in a dict, with the buckets given (more with
    :meth:`create_bucket`). As in Cloud Storage, writing into or listing a missing bucket raises
    BlobNotFoundError; reading from one finds nothing. ``now`` dates each write (a test's clock)."""

    def __init__(self, *buckets: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.objects: dict[tuple[str, str], _Object] = {}
        self.buckets: set[str] = set(buckets)
        self.now = now
        self._generations = itertools.count(1_000_000)

    def create_bucket(self, bucket: str) -> None:
        self.buckets.add(bucket)

    def _bucket(self, bucket: str) -> None:
        if bucket not in self.buckets:
            raise BlobNotFoundError(f"{object_uri(bucket)}: no such bucket")

    def _object(self, bucket: str, name: str) -> _Object:
        found = self.objects.get((bucket, name))
        if found is None:
            raise BlobNotFoundError(object_uri(bucket, name))
        return found

    def _info(self, name: str, found: _Object) -> BlobInfo:
        return BlobInfo(name, found.generation, len(found.data), dict(found.metadata), found.created)

    @contextmanager
    def open_reader(self, bucket: str, name: str, generation: int | None = None) -> Iterator[BinaryIO]:
        found = self._object(bucket, name)
        if generation is not None and found.generation != generation:
            raise BlobNotFoundError(f"{object_uri(bucket, name)}#{generation}")
        yield io.BytesIO(found.data)

    @contextmanager
    def open_writer(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> Iterator[BinaryIO]:
        buffer = io.BytesIO()
        yield buffer
        self.put(bucket, name, buffer.getvalue(), content_type=content_type, metadata=metadata)

    @contextmanager
    def open_pending(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream"
    ) -> Iterator[PendingObject]:
        """Bytes kept in this process until finished: nothing is left behind by an unfinished write."""
        self._bucket(bucket)
        yield _Pending(self, bucket)

    def remove_pending(self, bucket: str, key: str) -> None:
        """Nothing to remove: unfinished writes live in their process only."""

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
        self._bucket(bucket)
        current = self.objects.get((bucket, name))
        if if_generation_match is not None and (current.generation if current else 0) != if_generation_match:
            raise PreconditionFailedError(
                f"{object_uri(bucket, name)}: generation is not {if_generation_match}"
            )
        generation = next(self._generations)
        self.objects[(bucket, name)] = _Object(bytes(data), generation, dict(metadata or {}), self.now())
        return generation

    def get(self, bucket: str, name: str) -> tuple[bytes, BlobInfo]:
        found = self._object(bucket, name)
        return found.data, self._info(name, found)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        found = self.objects.get((bucket, name))
        return None if found is None else self._info(name, found)

    def copy(
        self,
        bucket: str,
        name: str,
        to_bucket: str,
        to_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        found = self._object(bucket, name)
        self.put(to_bucket, to_name, found.data, metadata={**found.metadata, **(metadata or {})})

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        current = self.objects.get((bucket, name))
        if current is None:
            return False
        if if_generation_match is not None and current.generation != if_generation_match:
            raise PreconditionFailedError(
                f"{object_uri(bucket, name)}: generation is not {if_generation_match}"
            )
        del self.objects[(bucket, name)]
        return True

    def list(self, bucket: str, prefix: str, *, limit: int | None = None) -> Iterator[BlobInfo]:
        self._bucket(bucket)
        names = sorted(name for owner, name in self.objects if owner == bucket and name.startswith(prefix))
        for name in names[:limit]:
            found = self.objects.get((bucket, name))
            if found is not None:
                yield self._info(name, found)

    def folders(self, bucket: str, prefix: str) -> Iterator[str]:
        self._bucket(bucket)
        found = {
            prefix + rest.partition("/")[0] + "/"
            for owner, name in builtins.list(self.objects)
            if owner == bucket and name.startswith(prefix) and "/" in (rest := name[len(prefix) :])
        }
        yield from sorted(found)

    def names(self, bucket: str, prefix: str = "") -> builtins.list[str]:
        """Every object name under ``prefix``: for tests' end-state assertions."""
        return [info.name for info in self.list(bucket, prefix)]


class _Pending(io.BytesIO):
    """A pending object of a MemoryBlobStore: a buffer put under its name when finished."""

    def __init__(self, store: MemoryBlobStore, bucket: str) -> None:
        super().__init__()
        self._store, self._bucket = store, bucket

    def finish(self, name: str, *, metadata: Mapping[str, str] | None = None) -> None:
        self._store.put(self._bucket, name, self.getvalue(), metadata=metadata)


class _FileError(ValueError):
    """A source file BigQuery would refuse: the error names it."""

    def __init__(self, uri: str, message: str) -> None:
        super().__init__(message)
        self.error = LoadError("invalid", message, uri)


class MemoryTableLoader:
    """A :class:`~linehaul.pipeline.ports.TableLoader` that loads NDJSON from a :class:`MemoryBlobStore`.

    As BigQuery does with ``CREATE_IF_NEEDED``, a load into a missing table creates it with the load's
    schema (:meth:`create_table` makes one beforehand); a later load with another schema is refused. With
    ``datasets`` given (``project.dataset`` names), a load into any other dataset fails ``notFound``.
    """

    def __init__(self, store: MemoryBlobStore, *, datasets: set[str] | None = None) -> None:
        self.store = store
        self.datasets = datasets
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.schemas: dict[str, Schema] = {}
        self.jobs: dict[str, LoadJob] = {}
        self.refusals: dict[TableRef, LoadError] = {}
        """Tables whose every load fails with this error (no file named): for tests of outages."""

    def create_table(self, table: TableRef, schema: Schema) -> None:
        """Create an empty table with ``schema`` (replacing any table of that name)."""
        self.tables[str(table)] = []
        self.schemas[str(table)] = schema

    def start_load(self, job_id: str, uris: Sequence[str], table: TableRef, schema: Schema) -> None:
        if job_id in self.jobs:
            raise JobExistsError(job_id)
        refused = self._refusal(table, schema)
        if refused is None:
            try:
                rows = [row for uri in uris for row in self._rows(uri, schema)]
            except _FileError as failure:
                refused = failure.error
            except BlobNotFoundError as missing:
                refused = LoadError("notFound", f"Not found: URI {missing}")
        if refused is not None:
            self.jobs[job_id] = LoadJob(job_id, "DONE", error=refused.message, errors=(refused,))
            return
        self.schemas.setdefault(str(table), schema)
        self.tables.setdefault(str(table), []).extend(rows)
        self.jobs[job_id] = LoadJob(job_id, "DONE", output_rows=len(rows))

    def _refusal(self, table: TableRef, schema: Schema) -> LoadError | None:
        """Why a load into ``table`` with ``schema`` fails whatever its files hold, if it does."""
        if table in self.refusals:
            return self.refusals[table]
        if self.datasets is not None and f"{table.project}.{table.dataset}" not in self.datasets:
            return LoadError("notFound", f"Not found: Dataset {table.project}:{table.dataset}")
        existing = self.schemas.get(str(table))
        if existing is not None and _canonical(existing) != _canonical(schema):
            return LoadError("invalid", f"Provided Schema does not match Table {table}.")
        return None

    def _rows(self, uri: str, schema: Schema) -> list[dict[str, Any]]:
        location = split_uri(uri)
        if location is None:
            raise BlobNotFoundError(uri)
        data, _ = self.store.get(*location)
        rows = []
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise _FileError(
                    uri, f"Error while reading data, error message: malformed JSON in {uri} line {number}"
                ) from None
            problems = row_problems(row, schema) if isinstance(row, dict) else ["not a JSON object"]
            if problems:
                raise _FileError(uri, f"Error while reading data: {uri} line {number}: {problems[0]}")
            rows.append(row)
        return rows

    def job(self, job_id: str) -> LoadJob | None:
        return self.jobs.get(job_id)

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        found = self.jobs.get(job_id)
        if found is None:
            raise LookupError(f"no load job {job_id}")
        return found

    def rows(self, table: TableRef) -> list[dict[str, Any]]:
        """The rows loaded into ``table``: for tests' end-state assertions."""
        return self.tables.get(str(table), [])


def _canonical(schema: Schema) -> str:
    return json.dumps(list(schema), sort_keys=True)
