"""Streamed uploads to Cloud Storage: held in memory while small, spilled to a resumable upload when large.

Cloud Storage bills an upload per request, and prefers a large object sent in a resumable upload of big
chunks to many small objects composed. A :class:`SpillingUpload` holds what is written, up to
``chunk_size`` bytes; finishing then uploads it under the name given at that moment: in one request up to
8 MiB (a multipart upload), in two above (a resumable session and its one chunk). Past ``chunk_size`` it
spills: what is held goes into a resumable upload of ``spill_to``, a chunk (a multiple of 256 KiB, as
resumable uploads need) whenever ``chunk_size`` bytes are held; finishing sends the rest as the last chunk,
which completes that object, and, if the name given is another one, composes it into that name (one
request, server-side, whatever its size) and deletes it. Every way, the object appears whole under its name
or not at all: a session's object exists only once its last chunk is in. :meth:`SpillingUpload.discard`
gives up: it cancels the session, or deletes the spilled object if it was complete.

Memory: the bytes held (``chunk_size`` and one write at most), sent from where they are: no copy of a chunk
is made to send it. The whole object's CRC32C, computed as it is written, is checked against the one Cloud
Storage reports when the last chunk is in.

Every request is retried on a transient failure (``retry``, the client library's policy), composes
included (the library retries those only with a generation precondition): a chunk sent again is stored once
(Cloud Storage keeps a session's bytes by offset, and answers with how many it has), and the same object
composed again into the same name gives the same bytes, so a repetition after the first landed changes
nothing.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from contextlib import suppress
from http import HTTPStatus
from typing import Any

import google_crc32c
import requests
from google.api_core.exceptions import GoogleAPIError, from_http_response

from linehaul.gcp.clients import STORAGE_RETRY

__all__ = ["CHUNK_MULTIPLE", "SINGLE_REQUEST_LIMIT", "SpillingUpload", "UploadCorruptedError"]

CHUNK_MULTIPLE = 256 * 1024
"""Every chunk of a resumable upload but the last is a multiple of this many bytes."""
SINGLE_REQUEST_LIMIT = 8 * 1024 * 1024
"""The client library uploads up to this many bytes in one request (a multipart upload)."""

_RESUME_INCOMPLETE = 308  # a chunk's answer while the session's object is not complete
_PERSISTED = re.compile(r"bytes=0-(\d+)")
_TIMEOUT = 60.0  # seconds to wait for an answer (the client library's default)
_STALLS = 3  # answers in a row that a session took none of the bytes sent before it is an error


def _crc32c() -> Any:
    """A running CRC32C (google-crc32c's C implementation where it is built)."""
    return google_crc32c.Checksum()  # type: ignore[no-untyped-call]  # google-crc32c leaves it unannotated


class UploadCorruptedError(Exception):
    """The object Cloud Storage made does not have the CRC32C of the bytes written."""


class SpillingUpload(io.RawIOBase):
    """A writable stream into ``bucket`` (a client library ``Bucket``): held in memory up to ``chunk_size``
    bytes, spilled beyond to a resumable upload of ``spill_to`` (with ``metadata`` for that object, if
    given); :meth:`finish` makes the object of a name given then, :meth:`discard` gives up."""

    def __init__(
        self,
        bucket: Any,
        spill_to: str,
        chunk_size: int,
        content_type: str,
        *,
        metadata: Mapping[str, str] | None = None,
        retry: Any = STORAGE_RETRY,
    ) -> None:
        super().__init__()
        if chunk_size <= 0 or chunk_size % CHUNK_MULTIPLE:
            raise ValueError(f"chunk_size must be a positive multiple of {CHUNK_MULTIPLE}, not {chunk_size}")
        self._bucket, self._spill_to, self._chunk_size = bucket, spill_to, chunk_size
        self._content_type, self._metadata, self._retry = content_type, metadata, retry
        self._held = bytearray()
        self._checksum = _crc32c()
        self._session: _Session | None = None  # of spill_to, once spilled
        self._spilled_object = False  # spill_to is complete, and is not the object finished

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        """Hold ``data``; once more than ``chunk_size`` bytes are held, send them (but for less than 256
        KiB) as a chunk of the spilled upload."""
        piece = data if isinstance(data, bytes) else bytes(data)
        self._checksum.update(piece)
        self._held += piece
        if len(self._held) > self._chunk_size:
            if self._session is None:
                self._session = self._open(self._spill_to, self._metadata)
            self._send(len(self._held) // CHUNK_MULTIPLE * CHUNK_MULTIPLE, last=False)
        return len(piece)

    def finish(self, name: str, metadata: Mapping[str, str] | None = None) -> None:
        """Make the object ``name`` of everything written, with ``metadata`` (or the one given when made)."""
        metadata = metadata if metadata is not None else self._metadata
        if self._session is None and len(self._held) <= SINGLE_REQUEST_LIMIT:
            target = self._bucket.blob(name)
            target.metadata = dict(metadata) if metadata else None
            target.upload_from_string(bytes(self._held), content_type=self._content_type, retry=self._retry)
            self._held = bytearray()
            return
        if self._session is None:  # held, but too many bytes for one request: two, straight to the name
            self._session = self._open(name, metadata)
            self._spill_to = name
        self._send(len(self._held), last=True)  # the object spill_to is complete
        self._session = None
        if name == self._spill_to:
            return
        self._spilled_object = True
        target = self._bucket.blob(name)
        target.metadata = dict(metadata) if metadata else None
        target.content_type = self._content_type
        target.compose([self._bucket.blob(self._spill_to)], retry=self._retry)
        self.discard()

    def discard(self) -> None:
        """Give up what was written: the upload session cancelled, or the spilled object deleted once
        complete (the object under the finished name, if any, is untouched). Failures are not errors: a
        session never finished leaves nothing, and a spilled object is found by the next run's
        :meth:`~linehaul.gcp.storage.GcsBlobStore.remove_pending`."""
        self._held = bytearray()
        session, self._session = self._session, None
        with suppress(GoogleAPIError, requests.RequestException):
            if self._spilled_object:
                self._bucket.blob(self._spill_to).delete(retry=self._retry)
            elif session is not None:
                session.cancel()
        self._spilled_object = False

    def _open(self, name: str, metadata: Mapping[str, str] | None) -> _Session:
        target = self._bucket.blob(name)
        target.metadata = dict(metadata) if metadata else None
        url = target.create_resumable_upload_session(content_type=self._content_type, retry=self._retry)
        return _Session(self._bucket.client._http, url, self._retry)  # the client's authorized session

    def _send(self, size: int, *, last: bool) -> None:
        """Send the first ``size`` bytes held (all of them, if ``last``) and let go of them."""
        assert self._session is not None
        finished = self._session.send(memoryview(self._held)[:size], last=last)
        self._held = self._held[size:]  # less than 256 KiB, or nothing: the chunk is freed with its views
        if finished is not None:
            self._check(finished)

    def _check(self, resource: Mapping[str, Any]) -> None:
        reported = resource.get("crc32c")
        written = base64.b64encode(self._checksum.digest()).decode()
        if reported is not None and reported != written:
            raise UploadCorruptedError(
                f"gs://{self._bucket.name}/{resource.get('name')}: Cloud Storage made an object whose "
                f"CRC32C is {reported}, not {written} (the bytes written)"
            )


class _Session:
    """A resumable upload session (its URL), through ``http`` (an authorized ``requests`` session)."""

    def __init__(self, http: Any, url: str, retry: Any) -> None:
        self._http, self._url, self._retry = http, url, retry
        self._persisted = 0  # bytes the session holds

    def send(self, chunk: memoryview, *, last: bool) -> dict[str, Any] | None:
        """Send ``chunk`` (the bytes after those persisted); the object's resource once complete (``last``).

        A chunk that the session holds only in part (it says how much) is sent on from there.
        """
        start = self._persisted
        end = start + len(chunk)
        stalled = 0
        while True:
            response = self._put(chunk[self._persisted - start :], end if last else None)
            if response.status_code in (HTTPStatus.OK, HTTPStatus.CREATED):
                self._persisted = end
                answer: dict[str, Any] = response.json()
                return answer
            match = _PERSISTED.fullmatch(response.headers.get("Range", ""))
            persisted = int(match.group(1)) + 1 if match else 0
            stalled = stalled + 1 if persisted == self._persisted else 0
            if persisted < self._persisted or persisted > end or stalled == _STALLS:
                raise GoogleAPIError(f"{self._url}: the upload session holds {persisted} bytes after "
                                     f"{self._persisted} of {end} were sent")  # fmt: skip
            self._persisted = persisted
            if persisted == end and not last:
                return None

    def _put(self, data: memoryview, total: int | None) -> requests.Response:
        """One request with ``data`` (at the offset persisted), retried as the client library retries."""
        size = "*" if total is None else str(total)
        first, last = self._persisted, self._persisted + len(data) - 1
        where = f"bytes {first}-{last}/{size}" if len(data) else f"bytes */{size}"
        body = data if len(data) else b""  # an empty view would be sent chunked

        def put() -> requests.Response:
            response: requests.Response = self._http.request(
                "PUT", self._url, data=body, headers={"Content-Range": where}, timeout=_TIMEOUT
            )
            if response.status_code not in (HTTPStatus.OK, HTTPStatus.CREATED, _RESUME_INCOMPLETE):
                raise from_http_response(response)  # type: ignore[no-untyped-call]  # unannotated upstream
            return response

        return put() if self._retry is None else self._retry(put)()

    def cancel(self) -> None:
        """End the session: nothing it received is kept (Cloud Storage answers 499)."""
        self._http.request("DELETE", self._url, timeout=_TIMEOUT)
