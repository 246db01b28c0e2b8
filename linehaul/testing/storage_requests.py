"""What a request to Cloud Storage's JSON API does, named from its method and path: to count a client's
requests by kind (what Cloud Storage bills per operation) through a :class:`~linehaul.testing.FlakyProxy`.

    with FlakyProxy(stack.gcs_url, classify=storage_request_kind) as proxy:
        ...
        print(proxy.counts().kinds)   # {"download": 1, "upload": 5, "delete": 1, ...}

The paths are those of https://cloud.google.com/storage/docs/json_api/v1 (objects and buckets; uploads
under ``/upload``, downloads under ``/download`` or with ``alt=media``), as the Python client and
fake-gcs-server use them.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

__all__ = ["StorageRequest", "storage_request_kind"]

_UPLOADS = "/upload/"  # the media endpoints' paths: /upload/storage/v1/..., /download/storage/v1/...
_DOWNLOADS = "/download/"


class StorageRequest(StrEnum):
    """The kinds of request :func:`storage_request_kind` tells apart."""

    DOWNLOAD = "download"  # an object's bytes (all of them, or a range)
    METADATA = "metadata"  # an object's properties
    LIST = "list"
    UPLOAD = "upload"  # a single-request upload (media or multipart)
    RESUMABLE_START = "resumable start"
    RESUMABLE_CHUNK = "resumable chunk"  # a chunk, the last one, or a status query
    RESUMABLE_CANCEL = "resumable cancel"
    COMPOSE = "compose"
    COPY = "copy"  # copyTo or rewriteTo
    UPDATE = "update"  # an object's properties changed
    DELETE = "delete"
    BUCKET = "bucket"  # a bucket created, read, listed, changed or deleted
    OTHER = "other"


def storage_request_kind(method: str, path: str) -> StorageRequest:
    """The kind of the JSON API request ``method path`` (the path with its query)."""
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    if parts.path.startswith(_UPLOADS):
        return _upload_kind(method, query)
    if parts.path.startswith(_DOWNLOADS):
        return StorageRequest.DOWNLOAD
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments[:3] != ["storage", "v1", "b"]:
        return StorageRequest.OTHER
    objects = segments[3:]  # <bucket>, "o", <name...>, [action...]
    if len(objects) < 2 or objects[1] != "o":
        return StorageRequest.BUCKET
    if len(objects) == 2:
        return StorageRequest.LIST if method == "GET" else StorageRequest.OTHER
    return _object_kind(method, objects[2:], query)


def _upload_kind(method: str, query: dict[str, list[str]]) -> StorageRequest:
    if "upload_id" not in query:
        resumable = query.get("uploadType") == ["resumable"]
        return StorageRequest.RESUMABLE_START if resumable else StorageRequest.UPLOAD
    return StorageRequest.RESUMABLE_CANCEL if method == "DELETE" else StorageRequest.RESUMABLE_CHUNK


def _object_kind(method: str, rest: list[str], query: dict[str, list[str]]) -> StorageRequest:
    """``rest``: the object's name (its slashes encoded, so one segment) and the action after it, if any."""
    action = rest[1] if len(rest) > 1 else None
    if action == "compose":
        return StorageRequest.COMPOSE
    if action in ("copyTo", "rewriteTo"):
        return StorageRequest.COPY
    if action is not None:
        return StorageRequest.OTHER
    if method == "GET":
        return StorageRequest.DOWNLOAD if query.get("alt") == ["media"] else StorageRequest.METADATA
    if method == "DELETE":
        return StorageRequest.DELETE
    if method in ("PATCH", "PUT"):
        return StorageRequest.UPDATE
    return StorageRequest.OTHER
