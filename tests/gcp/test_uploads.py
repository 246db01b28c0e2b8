"""SpillingUpload's own rules (linehaul/gcp/uploads.py): a resumable session that holds only part of a chunk
is sent the rest from there, and an object whose CRC32C is not the bytes written is an error."""

from __future__ import annotations

import json
import os
import re

import pytest
import requests
from google.api_core.exceptions import GoogleAPIError

from linehaul.gcp.uploads import CHUNK_MULTIPLE, SpillingUpload, UploadCorruptedError, _Session
from linehaul.local import LocalStack


class SessionServer:
    """A resumable upload session kept in memory as Cloud Storage keeps one (bytes by offset, its answers),
    that can be told to persist only some bytes of the next chunk, as Cloud Storage may."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.finished = False
        self.keep_next: int | None = None
        self.refuse = False  # keep none of what is sent

    def request(self, method: str, url: str, data: object = None, **options: object) -> requests.Response:
        headers = options.get("headers")
        assert method == "PUT"
        assert isinstance(headers, dict)
        found = re.fullmatch(r"bytes (?:(\d+)-\d+|\*)/(\d+|\*)", headers["Content-Range"])
        assert found is not None
        body = bytes(data) if isinstance(data, bytes | memoryview) else b""
        if found.group(1) is not None:
            first = int(found.group(1))
            assert first <= len(self.data), "a gap"
            kept = b"" if self.refuse else body if self.keep_next is None else body[: self.keep_next]
            self.keep_next = None
            self.data[first : first + len(kept)] = kept
        total = found.group(2)
        response = requests.Response()
        if total != "*" and len(self.data) == int(total):
            self.finished = True
            response.status_code, response._content = 200, json.dumps({"name": "o", "size": total}).encode()
        else:
            response.status_code = 308
            if self.data:
                response.headers["Range"] = f"bytes=0-{len(self.data) - 1}"
        return response


def test_a_chunk_held_in_part_is_sent_on_from_where_the_session_stopped() -> None:
    server, data = SessionServer(), os.urandom(3 * CHUNK_MULTIPLE)
    session = _Session(server, "https://upload/session", retry=None)

    server.keep_next = 1000  # the first chunk: most of it is lost
    assert session.send(memoryview(data)[: 2 * CHUNK_MULTIPLE], last=False) is None
    server.keep_next = 5  # and of the last one
    finished = session.send(memoryview(data)[2 * CHUNK_MULTIPLE :], last=True)

    assert finished == {"name": "o", "size": str(len(data))}
    assert (bytes(server.data), server.finished) == (data, True)


def test_a_session_that_keeps_nothing_is_an_error_not_an_endless_loop() -> None:
    server = SessionServer()
    server.refuse = True
    session = _Session(server, "https://upload/session", retry=None)

    with pytest.raises(GoogleAPIError, match="holds 0 bytes"):
        session.send(memoryview(b"x" * CHUNK_MULTIPLE), last=False)


@pytest.mark.integration
@pytest.mark.parametrize(("chunk", "size"), [(CHUNK_MULTIPLE, 3 * CHUNK_MULTIPLE), (16 << 20, 9 << 20)],
                         ids=["spilled", "held"])  # fmt: skip
def test_an_object_whose_checksum_is_not_the_bytes_written_is_an_error(
    local_stack: LocalStack, bucket: str, chunk: int, size: int
) -> None:
    upload = SpillingUpload(local_stack.storage_client().bucket(bucket), "spilled", chunk, "text/plain")
    upload.write(b"x" * size)
    upload._checksum.update(b"a byte that never went up")  # as if a byte changed on the way

    with pytest.raises(UploadCorruptedError, match="CRC32C"):
        upload.finish("out")
