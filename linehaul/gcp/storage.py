"""The :class:`~linehaul.pipeline.ports.BlobStore` port over Google Cloud Storage.

Reads and writes stream in bounded chunks, so memory stays flat whatever the object's size. A read is one
streamed request (:mod:`linehaul.gcp.downloads`), pinned to one generation: an object replaced while it is
being read is read whole as it was, or fails the read (BlobNotFoundError) if the connection has to be
resumed, never mixing the bytes of two versions. Google API errors become the port's errors
(:class:`~linehaul.pipeline.ports.StorageError` and its subclasses), also when they surface while the
caller reads or writes inside an ``open_reader``/``open_writer`` block.

Retries: every request is retried by the client library on a transient failure (429, 5xx, timeouts,
dropped connections), writes included, whatever the library's default for them is (uploads and deletes
are retried, composes and rewrites only with a generation precondition): each write here has the same
effect when repeated, or, for a conditional one, a repetition after the first landed fails its own
precondition, which the pipeline resolves by reading back (:mod:`linehaul.pipeline.lease`). What still fails
surfaces as StorageError, after the library's deadline (120 s by default).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from http import HTTPStatus
from typing import Any, BinaryIO, TypeVar, cast

import google.cloud.storage as storage
import requests
from google.api_core.exceptions import GoogleAPIError, NotFound, PreconditionFailed
from google.auth.exceptions import TransportError

from linehaul.gcp.clients import STORAGE_RETRY
from linehaul.gcp.downloads import StreamedDownload
from linehaul.gcp.uploads import CHUNK_MULTIPLE, SpillingUpload, UploadCorruptedError
from linehaul.pipeline.naming import object_uri, parts_prefix, spilled_name
from linehaul.pipeline.ports import (
    BlobInfo,
    BlobNotFoundError,
    PendingObject,
    PreconditionFailedError,
    StorageError,
)
from linehaul.pipeline.settings import DEFAULT_UPLOAD_CHUNK_MB

__all__ = ["DEFAULT_CHUNK_SIZE", "GcsBlobStore"]

DEFAULT_CHUNK_SIZE = DEFAULT_UPLOAD_CHUNK_MB << 20
"""Bytes an upload holds in memory before it spills to a resumable upload, and about the bytes of each chunk
of that upload (a multiple of 256 KiB, as resumable uploads need): see :mod:`linehaul.gcp.uploads`."""

_ATTEMPTS = 3  # reads of "the current generation" retried when the object is replaced meanwhile

_T = TypeVar("_T")

try:  # google-cloud-storage 3 raises its own (subclasses of google-resumable-media's when that is installed)
    from google.cloud.storage.exceptions import DataCorruption as _Corrupted
    from google.cloud.storage.exceptions import InvalidResponse as _MediaError
except ImportError:  # pragma: no cover - google-cloud-storage 2
    from google.resumable_media import DataCorruption as _Corrupted
    from google.resumable_media import InvalidResponse as _MediaError


class GcsBlobStore:
    """Objects in Cloud Storage buckets (or in fake-gcs-server), addressed by (bucket, name)."""

    def __init__(
        self, client: storage.Client, *, chunk_size: int = DEFAULT_CHUNK_SIZE, retry: Any = STORAGE_RETRY
    ) -> None:
        """``retry``: how the client library retries each request (a ``google.api_core.retry.Retry``: the
        library's default, whose deadline is 120 s, unless a test wants a shorter one)."""
        if chunk_size <= 0 or chunk_size % CHUNK_MULTIPLE:
            raise ValueError(f"chunk_size must be a positive multiple of {CHUNK_MULTIPLE}, not {chunk_size}")
        self._client = client
        self._chunk_size = chunk_size
        self._retry = retry

    def open_reader(
        self, bucket: str, name: str, generation: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        """Stream the object's bytes (of that generation, or of the current one when the block starts), in
        one request.

        BlobNotFoundError if it is missing, or if that generation is gone when a broken-off download resumes.
        """
        return self._reader(bucket, name, generation)

    @contextmanager
    def _reader(self, bucket: str, name: str, generation: int | None) -> Iterator[BinaryIO]:
        where = _where(bucket, name, generation)
        blob = self._client.bucket(bucket).blob(name, generation=generation)
        download = StreamedDownload(blob, retry=self._retry)
        try:
            with _storage_errors(where):
                download.start()
            yield cast(BinaryIO, _PortStream(download, where))
        finally:
            download.close()

    def open_writer(
        self,
        bucket: str,
        name: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> AbstractContextManager[BinaryIO]:
        """Stream bytes into the object; it is replaced, whole, with ``metadata``, when the block exits
        without an error.

        Up to ``chunk_size`` bytes are held and uploaded at the end; more go up in a resumable upload of the
        object, in chunks of ``chunk_size`` (see :mod:`linehaul.gcp.uploads`). An error inside the block
        cancels it and leaves the object as it was.
        """
        return self._writer(bucket, name, content_type, metadata)

    @contextmanager
    def _writer(
        self, bucket: str, name: str, content_type: str, metadata: Mapping[str, str] | None
    ) -> Iterator[BinaryIO]:
        with self._pending(bucket, name, content_type, metadata) as pending:
            yield cast(BinaryIO, pending)
            pending.finish(name, metadata=metadata)  # the object is replaced now

    def open_pending(
        self, bucket: str, key: str, *, content_type: str = "application/octet-stream"
    ) -> AbstractContextManager[PendingObject]:
        """Stream bytes for an object named by ``finish``: held in memory up to ``chunk_size`` bytes and
        uploaded under that name then, or, beyond, spilled to a resumable upload of
        :func:`~linehaul.pipeline.naming.spilled_name` (``key``), composed into it. An unfinished write
        cancels the upload (or deletes the spilled object)."""
        return self._pending(bucket, spilled_name(key), content_type, None)

    @contextmanager
    def _pending(
        self, bucket: str, spill_to: str, content_type: str, metadata: Mapping[str, str] | None
    ) -> Iterator[_PendingUpload]:
        upload = SpillingUpload(
            self._client.bucket(bucket),
            spill_to,
            self._chunk_size,
            content_type,
            metadata=metadata,
            retry=self._retry,
        )
        pending = _PendingUpload(upload, bucket, spill_to)
        try:
            yield pending
        finally:
            if not pending.finished:
                upload.discard()

    def remove_pending(self, bucket: str, key: str) -> None:
        """Delete the spilled objects that unfinished writes under ``key`` left complete (a run that crashed
        after an output's last chunk and before naming it; an upload session never finished leaves
        nothing)."""
        with _storage_errors(_where(bucket, parts_prefix(key))):
            leftovers = list(self._client.list_blobs(bucket, prefix=parts_prefix(key), retry=self._retry))
        for blob in leftovers:
            with suppress(BlobNotFoundError), _storage_errors(_where(bucket, blob.name)):
                blob.delete(retry=self._retry)

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
        current generation (a compare-and-swap). PreconditionFailedError otherwise.
        """
        with _storage_errors(_where(bucket, name)):
            blob = self._client.bucket(bucket).blob(name)
            blob.metadata = dict(metadata) if metadata else None
            blob.upload_from_string(
                data, content_type=content_type, if_generation_match=if_generation_match, retry=self._retry
            )
            return int(blob.generation)

    def get(self, bucket: str, name: str) -> tuple[bytes, BlobInfo]:
        """The object's bytes and info, both of the same generation. BlobNotFoundError if it is missing."""
        return self._on_current_generation(
            bucket, name, lambda pinned, _: pinned.download_as_bytes(retry=self._retry)
        )

    def stat(self, bucket: str, name: str) -> BlobInfo | None:
        """The object's info, or None if it (or its bucket) is missing."""
        with _storage_errors(_where(bucket, name)):
            blob = self._client.bucket(bucket).get_blob(name, retry=self._retry)
        return None if blob is None else _info(blob)

    def copy(
        self,
        bucket: str,
        name: str,
        to_bucket: str,
        to_name: str,
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Copy an object server-side, its metadata plus ``metadata``. BlobNotFoundError if it is missing."""
        target = self._client.bucket(to_bucket).blob(to_name)

        def rewrite(source: Any, found: Any) -> None:
            target.metadata = {**(found.metadata or {}), **(metadata or {})}
            target.content_type = found.content_type
            token = None
            while True:  # a rewrite of a large object across locations takes several calls
                token, _, _ = target.rewrite(source, token=token, retry=self._retry)  # same source: same copy
                if token is None:
                    return

        self._on_current_generation(bucket, name, rewrite)

    def delete(self, bucket: str, name: str, *, if_generation_match: int | None = None) -> bool:
        """Delete the object; False if it was missing. PreconditionFailedError on a changed generation."""
        blob = self._client.bucket(bucket).blob(name)
        try:
            with _storage_errors(_where(bucket, name)):
                blob.delete(if_generation_match=if_generation_match, retry=self._retry)
        except BlobNotFoundError:
            return False
        return True

    def list(self, bucket: str, prefix: str, *, limit: int | None = None) -> Iterator[BlobInfo]:
        """Objects whose name starts with ``prefix``, in name order, at most ``limit`` of them."""
        with _storage_errors(object_uri(bucket, prefix) + "*"):
            for blob in self._client.list_blobs(bucket, prefix=prefix, max_results=limit, retry=self._retry):
                yield _info(blob)

    def folders(self, bucket: str, prefix: str) -> Iterator[str]:
        """The folders under ``prefix`` that hold objects, in name order: a listing with the delimiter
        ``/``, which returns them as prefixes, a page of up to 1,000 at a time, without their objects."""
        with _storage_errors(object_uri(bucket, prefix) + "*/"):
            listing = self._client.list_blobs(bucket, prefix=prefix, delimiter="/", retry=self._retry)
            for page in listing.pages:
                yield from sorted(page.prefixes)

    def _on_current_generation(
        self, bucket: str, name: str, action: Callable[[Any, Any], _T]
    ) -> tuple[_T, BlobInfo]:
        """Run ``action(pinned, found)`` on the object's current generation: ``pinned`` reads exactly that
        generation, ``found`` carries its properties. Returns what it returned, and that generation's info.

        If the object is replaced between reading its info and acting on it, start again (a few times).
        """
        where = _where(bucket, name)
        for _ in range(_ATTEMPTS):
            with _storage_errors(where):
                blob = self._client.bucket(bucket).get_blob(name, retry=self._retry)
                if blob is None:
                    raise BlobNotFoundError(f"{where}: no such object")
                try:
                    return action(_pinned(blob), blob), _info(blob)
                except NotFound:
                    current = self._client.bucket(bucket).get_blob(name, retry=self._retry)
                    if current is not None and current.generation == blob.generation:
                        raise  # not about this object (a missing target bucket, say)
                    # that generation was replaced or deleted meanwhile: look again
        raise BlobNotFoundError(f"{where}: replaced {_ATTEMPTS} times while being read")


class _PortStream(io.BufferedIOBase):
    """A streamed download or upload whose failures are the port's errors, raised where they happen.

    Closing it does not close the transfer: its context manager finalizes or cancels that.
    """

    def __init__(self, transfer: Any, where: str) -> None:
        super().__init__()
        self._transfer = transfer
        self._where = where

    def readable(self) -> bool:
        return bool(self._transfer.readable())

    def writable(self) -> bool:
        return bool(self._transfer.writable())

    def seekable(self) -> bool:
        return bool(self._transfer.seekable())

    def read(self, size: int | None = -1) -> bytes:
        with _storage_errors(self._where):
            return bytes(self._transfer.read(-1 if size is None else size))

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def write(self, data: Any) -> int:
        with _storage_errors(self._where):
            return int(self._transfer.write(data))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._transfer.seek(offset, whence))

    def tell(self) -> int:
        return int(self._transfer.tell())

    def flush(self) -> None:
        pass  # nothing to do before the transfer ends


class _PendingUpload(_PortStream):
    """A pending object in Cloud Storage: a :class:`SpillingUpload`, made the object named by
    :meth:`finish`."""

    def __init__(self, upload: SpillingUpload, bucket: str, spill_to: str) -> None:
        super().__init__(upload, _where(bucket, spill_to))
        self._upload, self._bucket = upload, bucket
        self.finished = False

    def finish(self, name: str, *, metadata: Mapping[str, str] | None = None) -> None:
        with _storage_errors(_where(self._bucket, name)):
            self._upload.finish(name, metadata)
        self.finished = True


def _pinned(found: Any) -> Any:
    """A handle on exactly the generation of ``found``, every chunk of a download included.

    Not ``found`` itself: its downloads use the server's ``mediaLink``, which names the generation on Cloud
    Storage but not on fake-gcs-server.
    """
    return found.bucket.blob(found.name, generation=found.generation)


def _info(blob: Any) -> BlobInfo:
    return BlobInfo(
        name=blob.name,
        generation=int(blob.generation),
        size=int(blob.size or 0),
        metadata=dict(blob.metadata or {}),
        created=blob.time_created,
    )


def _where(bucket: str, name: str, generation: int | None = None) -> str:
    return object_uri(bucket, name) + (f"#{generation}" if generation is not None else "")


@contextmanager
def _storage_errors(where: str) -> Iterator[None]:
    """Turn Google API errors into the port's errors, naming the object."""
    try:
        yield
    except NotFound as error:
        raise BlobNotFoundError(f"{where}: not found ({error.message})") from error
    except PreconditionFailed as error:
        raise PreconditionFailedError(f"{where}: generation precondition failed") from error
    except GoogleAPIError as error:  # an API error, or the last of the library's retries (RetryError)
        raise StorageError(f"{where}: {error}") from error
    except _MediaError as error:  # streamed uploads and downloads report failures this way
        status = getattr(getattr(error, "response", None), "status_code", None)
        if status == HTTPStatus.NOT_FOUND:
            raise BlobNotFoundError(f"{where}: not found") from error
        if status == HTTPStatus.PRECONDITION_FAILED:
            raise PreconditionFailedError(f"{where}: generation precondition failed") from error
        raise StorageError(f"{where}: {status} {error}") from error
    except (_Corrupted, UploadCorruptedError) as error:  # the bytes do not match their checksum
        raise StorageError(f"{where}: {error}") from error
    except (requests.RequestException, TransportError, ConnectionError, TimeoutError) as error:
        raise StorageError(f"{where}: {error!r}") from error  # timed out, or the connection failed
