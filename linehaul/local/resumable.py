"""Resumable uploads in front of fake-gcs-server, made the way Cloud Storage makes them.

fake-gcs-server v1.54.0 handles the chunks of a resumable upload in a way Cloud Storage does not: it
appends each chunk it receives, whatever its ``Content-Range`` says, so a chunk sent again (the client
library's retry of a chunk whose answer was lost) is stored twice and the object is corrupt; and it
hashes and rewrites the whole object so far for every chunk, so an upload of N chunks costs N² (512 MiB in
32 MiB chunks took 18.5 s against 3.3 s in one piece). The pipeline streams its large outputs in resumable
chunks, as Cloud Storage prefers, so the local cloud copes here rather than the pipeline around it.

:class:`ResumableFront` relays every request to fake-gcs-server (:mod:`linehaul.local.relay`), except the
chunks of resumable upload sessions (``PUT`` or ``DELETE`` of an ``/upload/...?upload_id=`` URL). Those it
keeps, each written at the offset its ``Content-Range`` gives into a scratch file of the session, and answers
as Cloud Storage does: ``308`` with the ``Range`` persisted so far, including to a status query
(``bytes */*``). Once the session has every byte of its declared total, the front sends them to
fake-gcs-server's own session in one chunk and passes its answer back (and answers a repeated last chunk
with that same answer). The session is opened by fake-gcs-server itself (the ``POST``, relayed), so it
checks the bucket and the preconditions; its ``-external-url`` is the front's, so the session's URL names
the front. A ``DELETE`` of the session cancels it in both.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

from linehaul.local.relay import Relay, RelayHandler

__all__ = ["ResumableFront"]

_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")
_PERMANENT_REDIRECT = 308  # "resume incomplete", in Cloud Storage's resumable protocol
_KEPT_HEADERS = ("content-type", "etag", "x-goog-hash", "x-goog-generation")


@dataclass(slots=True)
class _Session:
    """A resumable upload's bytes so far, and the answer that finished it."""

    scratch: BinaryIO
    persisted: int = 0
    final: tuple[int, bytes, dict[str, str]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True, slots=True)
class _ContentRange:
    """``Content-Range: bytes first-last/total`` (``*`` for an unknown total, or no bytes)."""

    first: int | None
    last: int | None
    total: int | None

    @classmethod
    def parse(cls, header: str) -> _ContentRange | None:
        match = _RANGE.fullmatch(header.strip())
        if match is None:
            return None
        first, last, total = match.groups()
        return cls(
            None if first is None else int(first),
            None if last is None else int(last),
            None if total == "*" else int(total),
        )


class _Handler(RelayHandler):
    """Keeps the chunks of resumable sessions; relays everything else."""

    def relay_request(self) -> None:
        front = self.relay
        assert isinstance(front, ResumableFront)
        upload_id = _upload_id(self.path)
        if upload_id is None or self.command not in ("PUT", "DELETE"):
            super().relay_request()
        elif self.command == "DELETE":
            front._forget(upload_id)
            super().relay_request()
        else:
            self._chunk(front, upload_id)

    def _chunk(self, front: ResumableFront, upload_id: str) -> None:
        body = self.request_body() or b""
        content_range = _ContentRange.parse(self.headers.get("Content-Range", ""))
        if content_range is None:
            self.answer_error(HTTPStatus.BAD_REQUEST, "a resumable chunk needs Content-Range: bytes ...")
            return
        session = front._session(upload_id)
        with session.lock:
            if session.final is None:
                if content_range.first is not None:
                    if content_range.first > session.persisted:
                        message = f"chunk at {content_range.first}, but {session.persisted} bytes persisted"
                        self.answer_error(HTTPStatus.BAD_REQUEST, message, "invalid")
                        return
                    session.scratch.seek(content_range.first)
                    session.scratch.write(body)
                    session.persisted = max(session.persisted, content_range.first + len(body))
                if content_range.total is None or session.persisted < content_range.total:
                    persisted = {"Range": f"bytes=0-{session.persisted - 1}"} if session.persisted else {}
                    self.answer(_PERMANENT_REDIRECT, b"", persisted)
                    return
                if not self._finish(session, content_range.total):
                    return  # fake-gcs-server did not answer: 502 sent, the bytes kept for a retry
            assert session.final is not None
            status, answer, headers = session.final
        self.answer(status, answer, headers)
        if status < HTTPStatus.INTERNAL_SERVER_ERROR:
            front._forget(upload_id, keep_answer=True)

    def _finish(self, session: _Session, total: int) -> bool:
        """Send the session's bytes to fake-gcs-server's session in one chunk and keep its answer; False
        if it did not answer."""
        whole = f"bytes 0-{total - 1}/{total}" if total else "bytes */0"
        session.scratch.flush()
        session.scratch.truncate(total)
        session.scratch.seek(0)
        with self.forwarded(session.scratch, headers={"Content-Range": whole}) as response:
            if response is None:
                return False
            answer = response.read()
            headers = {name: value for name, value in response.getheaders() if name.lower() in _KEPT_HEADERS}
            session.final = (response.status, answer, headers)
        return True


class ResumableFront(Relay):
    """fake-gcs-server at ``target``, with resumable uploads kept here and sent to it whole."""

    handler = _Handler
    name = "resumable-upload front of fake GCS"

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._scratch: Path | None = None

    def start(self, port: int = 0) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="linehaul-uploads-"))
        super().start(port)

    def stop(self) -> None:
        super().stop()
        with self._lock:
            for session in self._sessions.values():
                session.scratch.close()
            self._sessions.clear()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _session(self, upload_id: str) -> _Session:
        with self._lock:
            session = self._sessions.get(upload_id)
            if session is None:
                scratch = tempfile.TemporaryFile(dir=self._scratch)  # noqa: SIM115 - closed when forgotten
                session = self._sessions[upload_id] = _Session(scratch)
            return session

    def _forget(self, upload_id: str, *, keep_answer: bool = False) -> None:
        """Drop a session's bytes (and, unless ``keep_answer``, the session: cancelled)."""
        with self._lock:
            session = self._sessions.get(upload_id) if keep_answer else self._sessions.pop(upload_id, None)
        if session is not None:
            session.scratch.close()


def _upload_id(path: str) -> str | None:
    """The session of a resumable upload URL (``/upload/...?upload_id=X``), None for other URLs."""
    parts = urlsplit(path)
    if not parts.path.startswith("/upload/"):
        return None
    found = parse_qs(parts.query).get("upload_id")
    return found[0] if found else None
