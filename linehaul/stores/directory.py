"""The :class:`~linehaul.pipeline.ports.BlobStore` port over local directories: a bucket is a directory
(given by its absolute path), an object a file under it.

Backfills (:mod:`linehaul.beam`) read local logs and stage into a local directory through it, with the
ingestor's own per-file code. It keeps the promises the pipeline relies on:

- a writer's object appears whole (written to a hidden temporary file, flushed to disk, then renamed over
  the old one) or not at all;
- an object's generation is its file's modification time in nanoseconds, and every write changes it;
- conditional writes and deletes (``if_generation_match``) hold a lock file, so they are atomic among the
  processes of one machine;
- custom metadata lives in a hidden side file, ``.<base name>.metadata.json`` next to the object.

Differences from a bucket: a missing directory is created on the first write (listing it before
raises BlobNotFoundError, as for a missing bucket); content types are not kept; a name cannot have an
empty, ``.`` or ``..`` segment, nor one that starts with ``.`` (those are the store's own files, never
listed: pending writes wait in ``.linehaul-pending/``).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from glob import escape as glob_escape
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from linehaul.pipeline.ports import (
    BlobInfo,
    BlobNotFoundError,
    PendingObject,
    PreconditionFailedError,
    StorageError,
)

__all__ = ["DirectoryStore"]

_LOCK = ".linehaul.lock"
_PENDING = ".linehaul-pending"
_MISSING = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


class DirectoryStore:
    """Objects in local directories, addressed by (directory, relative name)."""

    def open_reader(
        self, bucket: str, name: str, generation: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        """Stream the file's bytes. BlobNotFoundError if it is missing, or is not that generation."""
        return self._reader(bucket, name, generation)

    @contextmanager
    def _reader(self, bucket: str, name: str, generation: int | None) -> Iterator[BinaryIO]:
        path = _path(bucket, name)
        try:
            stream = path.open("rb")
        except _MISSING as error:
            raise BlobNotFoundError(f"{path}: no such file") from error
        with stream:
            if generation is not None and os.fstat(stream.fileno()).st_mtime_ns != generation:
                raise BlobNotFoundError(f"{path}#{generation}: that generation was replaced")
            yield stream

    def open_writer(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> AbstractContextManager[BinaryIO]:
        """Stream bytes into a hidden temporary file; the object is replaced by it, whole, when the block
        exits without an error (and left as it was otherwise)."""
        return self._writer(_path(bucket, name), metadata)

    @contextmanager
    def _writer(self, path: Path, metadata: Mapping[str, str] | None) -> Iterator[BinaryIO]:
        temporary = _temporary(path)
        try:
            with temporary.open("wb") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            before = _generation(path)
            _write_metadata(path, metadata)
            os.replace(temporary, path)
            _newer_than(path, before)
        finally:
            with suppress(FileNotFoundError):
                temporary.unlink()

    def open_pending(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream"
    ) -> AbstractContextManager[PendingObject]:
        """Stream bytes into a hidden file of the directory (``.linehaul-pending/``), renamed over the
        object when finished (atomic), removed if the block exits unfinished."""
        return self._pending(bucket, key)

    @contextmanager
    def _pending(self, bucket: str, key: str) -> Iterator[PendingObject]:
        if not os.path.isabs(bucket):
            raise StorageError(f"{bucket!r}: not an absolute directory")
        scratch = Path(bucket, _PENDING)
        temporary = _temporary(scratch / quote(key, safe=""))
        pending = _PendingFile(temporary.open("wb"), temporary, bucket)
        try:
            yield pending
        finally:
            pending.close()
            with suppress(FileNotFoundError):
                temporary.unlink()
            with suppress(OSError):
                scratch.rmdir()  # only when empty: another write may be under way

    def remove_pending(self, bucket: str, key: str) -> None:
        """Remove the hidden files unfinished writes under ``key`` left (a crashed run's)."""
        scratch = Path(bucket, _PENDING)
        for leftover in scratch.glob(f".{glob_escape(quote(key, safe=''))}*.tmp"):
            with suppress(FileNotFoundError):
                leftover.unlink()

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
        """Write the file and return its new generation; ``if_generation_match`` as for a bucket (0: only if
        it does not exist). PreconditionFailedError otherwise."""
        path = _path(bucket, name)
        if if_generation_match is None:
            with self._writer(path, metadata) as stream:
                stream.write(data)
            return _generation(path)
        with _locked(bucket):
            before = _generation(path)
            if before != if_generation_match:
                raise PreconditionFailedError(f"{path}: generation is {before}, not {if_generation_match}")
            with self._writer(path, metadata) as stream:
                stream.write(data)
            return _generation(path)

    def get(self, bucket: str, name: str) -> tuple[bytes, BlobInfo]:
        """The file's bytes and info, both of the same generation. BlobNotFoundError if it is missing."""
        path = _path(bucket, name)
        with self._reader(bucket, name, None) as stream:
            data = stream.read()
            status = os.fstat(stream.fileno())
        return data, _info(name, status, path)

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        """The file's info, or None if it is missing."""
        path = _path(bucket, name)
        try:
            status = path.stat()
        except _MISSING:
            return None
        if not path.is_file():
            return None
        return _info(name, status, path)

    def copy(
        self,
        bucket: str,
        name: str,
        to_bucket: str,
        to_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Copy a file, its metadata plus ``metadata``. BlobNotFoundError if it is missing."""
        source = _path(bucket, name)
        with self._reader(bucket, name, None) as reader:
            merged = {**_read_metadata(source), **(metadata or {})}
            with self._writer(_path(to_bucket, to_name), merged) as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        """Delete the file (and its metadata); False if it was missing. PreconditionFailedError on a changed
        generation. Directories it leaves empty are removed, up to the bucket's."""
        path = _path(bucket, name)
        if if_generation_match is None:
            return _delete(bucket, path)
        with _locked(bucket):
            current = _generation(path)
            if current == 0:
                return False
            if current != if_generation_match:
                raise PreconditionFailedError(f"{path}: generation is {current}, not {if_generation_match}")
            return _delete(bucket, path)

    def list(self, bucket: str, prefix: str, *, limit: int | None = None) -> Iterator[BlobInfo]:
        """Files whose name starts with ``prefix``, in name order, at most ``limit`` of them.
        BlobNotFoundError if the directory does not exist (as for a missing bucket)."""
        root = Path(bucket)
        if not root.is_dir():
            raise BlobNotFoundError(f"{bucket}: no such directory")
        start = root / prefix.rpartition("/")[0]  # the deepest directory the prefix names
        names = []
        for directory, subdirectories, files in os.walk(start):
            subdirectories[:] = [sub for sub in subdirectories if not sub.startswith(".")]
            relative = Path(directory).relative_to(root).as_posix()
            for file in files:
                name = file if relative == "." else f"{relative}/{file}"
                if not file.startswith(".") and name.startswith(prefix):
                    names.append(name)
        names.sort()
        for name in names[:limit] if limit is not None else names:
            info = self.stat(bucket, name)
            if info is not None:  # deleted meanwhile
                yield info

    def folders(self, bucket: str, prefix: str) -> Iterator[str]:
        """The directories under ``prefix`` (which ends with ``/`` or is empty) that hold files, in name
        order. BlobNotFoundError if the bucket's directory does not exist."""
        root = Path(bucket)
        if not root.is_dir():
            raise BlobNotFoundError(f"{bucket}: no such directory")
        start = root / prefix.rstrip("/") if prefix else root
        if not start.is_dir():
            return
        entries = sorted(os.scandir(start), key=lambda entry: entry.name)
        yield from [
            f"{prefix}{entry.name}/"
            for entry in entries
            if entry.is_dir() and not entry.name.startswith(".") and _holds_files(Path(entry.path))
        ]


def _holds_files(directory: Path) -> bool:
    for _, subdirectories, files in os.walk(directory):
        subdirectories[:] = [sub for sub in subdirectories if not sub.startswith(".")]
        if any(not file.startswith(".") for file in files):
            return True
    return False


def _info(name: str, status: os.stat_result, path: Path) -> BlobInfo:
    created = datetime.fromtimestamp(status.st_mtime_ns / 1e9, UTC)
    return BlobInfo(name, status.st_mtime_ns, status.st_size, _read_metadata(path), created)


def _path(bucket: str, name: str) -> Path:
    segments = name.split("/")
    if not os.path.isabs(bucket) or any(not part or part.startswith(".") for part in segments):
        raise StorageError(f"{bucket!r}, {name!r}: not an absolute directory and a name this store can keep")
    return Path(bucket, *segments)


def _temporary(path: Path) -> Path:
    """A new hidden file beside ``path`` (its directory created, also if a delete removes it meanwhile)."""
    for _ in range(3):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except FileNotFoundError:
            continue
        os.close(descriptor)
        return Path(temporary)
    raise StorageError(f"{path.parent}: could not create a file there")


class _PendingFile:
    """A pending object of a DirectoryStore: a hidden file, renamed to the object's path when finished."""

    def __init__(self, stream: BinaryIO, temporary: Path, bucket: str) -> None:
        self._stream, self._temporary, self._bucket = stream, temporary, bucket

    def write(self, data: bytes, /) -> int:
        return self._stream.write(data)

    def finish(self, name: str, *, metadata: Mapping[str, str] | None = None) -> None:
        path = _path(self._bucket, name)
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        before = _generation(path)
        _write_metadata(path, metadata)
        os.replace(self._temporary, path)
        _newer_than(path, before)

    def close(self) -> None:
        self._stream.close()


def _metadata_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.metadata.json")


def _read_metadata(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(_metadata_path(path).read_text()))
    except FileNotFoundError:
        return {}


def _write_metadata(path: Path, metadata: Mapping[str, str] | None) -> None:
    side = _metadata_path(path)
    if not metadata:
        with suppress(FileNotFoundError):
            side.unlink()
        return
    temporary = _temporary(side)
    temporary.write_text(json.dumps(dict(metadata), sort_keys=True))
    os.replace(temporary, side)


def _generation(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns if path.is_file() else 0
    except _MISSING:
        return 0


def _newer_than(path: Path, before: int) -> int:
    """The generation of the file just written, made greater than ``before`` if the clock did not move."""
    now = path.stat().st_mtime_ns
    if now <= before:
        now = before + 1
        os.utime(path, ns=(now, now))
    return now


def _delete(bucket: str, path: Path) -> bool:
    try:
        path.unlink()
    except _MISSING:
        return False
    with suppress(FileNotFoundError):
        _metadata_path(path).unlink()
    root, directory = Path(bucket), path.parent
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
                break
            if not isinstance(error, FileNotFoundError):
                raise
        directory = directory.parent
    return True


@contextmanager
def _locked(bucket: str) -> Iterator[None]:
    """An exclusive lock on the directory's conditional operations, among processes."""
    Path(bucket).mkdir(parents=True, exist_ok=True)
    with open(Path(bucket, _LOCK), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
