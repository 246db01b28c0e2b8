"""Run a Cloud Function locally, over HTTP, the way Cloud Functions runs it, and deliver CloudEvents to it.

A :class:`FunctionServer` starts ``functions-framework`` (3.10.2) in a child process serving one
CloudEvent function from its source file, and posts events in binary content mode: the ``ce-*`` headers
carry the event's attributes, the body its JSON data. No emulator publishes GCS or Pub/Sub events to a
function here (fake-gcs-server only publishes to a real Pub/Sub topic), so the caller delivers them:
:meth:`FunctionServer.storage_finalized` after an upload, :meth:`FunctionServer.pubsub_message` for a
message. The answer is what Cloud Functions would see: 200 when the function returned, 503 when it
reported a failure (linehaul's functions do, :func:`linehaul.runtime.entry.failing_event`), 500 when it
raised; a deployment with retries delivers the event again after either.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from linehaul.local._processes import LOG_TAIL, ServerProcess, Startable, free_port
from linehaul.local.stack import DEFAULT_PROJECT
from linehaul.runtime.entry import PUBSUB_MESSAGE_PUBLISHED, STORAGE_OBJECT_FINALIZED

__all__ = ["PUBSUB_MESSAGE_PUBLISHED", "STORAGE_OBJECT_FINALIZED", "Delivery", "FunctionServer"]


_DELIVERY_TIMEOUT = 300.0  # seconds a function may take to answer one event


@dataclass(frozen=True, slots=True)
class Delivery:
    """The function's HTTP answer to one event: 200 when it returned, 503 or 500 when it failed."""

    status: int
    body: str

    @property
    def ok(self) -> bool:
        return self.status == 200


class FunctionServer(Startable):
    """``functions-framework --source SOURCE --target TARGET --signature-type cloudevent`` on 127.0.0.1.

    ``env`` is added to this process's environment for the function (``LocalStack.env`` points it at the
    emulators), or is the whole environment with ``inherit_env=False``. ``project`` names the project in the
    events' sources. By default the framework runs in this Python (``python -m functions_framework``);
    ``framework`` names another executable, e.g. the ``functions-framework`` of a virtual environment a
    function directory was installed into, and ``cwd`` the directory it starts in (a relative ``source``
    is found there), as a deployment rehearsal needs.
    """

    def __init__(
        self,
        source: Path,
        target: str,
        *,
        env: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
        framework: Sequence[str] = (sys.executable, "-m", "functions_framework"),
        cwd: Path | None = None,
        inherit_env: bool = True,
    ) -> None:
        self.source = source
        self.target = target
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        command = [
            *framework,
            *("--source", str(source), "--target", target, "--signature-type", "cloudevent"),
            *("--host", "127.0.0.1", "--port", str(self.port)),
        ]
        # A CloudEvent function serves only POST: the 405 that GET gets means it is up.
        self._process = ServerProcess(
            f"functions-framework ({target})",
            command,
            ready_url=self.url,
            env={**(os.environ if inherit_env else {}), **(env or {})},
            any_status=True,
            cwd=cwd,
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def start(self, timeout: float = 30.0) -> None:
        """Start serving; LocalStackError (with the server's output) if it does not come up."""
        self._process.start(timeout)

    def stop(self) -> None:
        """Stop the server and its worker (the whole process group). Idempotent."""
        self._process.stop()

    def output(self, tail: int | None = LOG_TAIL) -> str:
        """The last ``tail`` characters (None: all) of what the function and the framework printed, tracebacks
        of failed events too."""
        return self._process.output(tail)

    def storage_finalized(
        self,
        bucket: str,
        name: str,
        generation: int,
        *,
        size: int = 0,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> Delivery:
        """Deliver the event Cloud Storage sends when ``gs://bucket/name`` (that generation) was written."""
        now = _rfc3339(datetime.now(UTC))
        data: dict[str, Any] = {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/{generation}",
            "bucket": bucket,
            "name": name,
            "generation": str(generation),  # int64 values are strings in Cloud Storage's JSON
            "metageneration": "1",
            "size": str(size),
            "contentType": content_type,
            "timeCreated": now,
            "updated": now,
        }
        if metadata:
            data["metadata"] = dict(metadata)
        return self.deliver(
            STORAGE_OBJECT_FINALIZED,
            f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            data,
            subject=f"objects/{name}",
        )

    def pubsub_message(
        self,
        data: bytes,
        attributes: Mapping[str, str] | None = None,
        *,
        topic: str = "linehaul",
        subscription: str = "linehaul-local",
    ) -> Delivery:
        """Deliver the event Pub/Sub sends for a message published to ``topic``."""
        message_id = str(uuid.uuid4().int % 10**16)
        body = {
            "message": {
                "data": base64.b64encode(data).decode("ascii"),
                "attributes": dict(attributes or {}),
                "messageId": message_id,
                "publishTime": _rfc3339(datetime.now(UTC)),
            },
            "subscription": f"projects/{self.project}/subscriptions/{subscription}",
        }
        return self.deliver(
            PUBSUB_MESSAGE_PUBLISHED,
            f"//pubsub.googleapis.com/projects/{self.project}/topics/{topic}",
            body,
            event_id=message_id,
        )

    def deliver(
        self,
        event_type: str,
        source: str,
        data: Mapping[str, Any] | bytes,
        *,
        subject: str | None = None,
        event_id: str | None = None,
    ) -> Delivery:
        """POST one CloudEvent (binary content mode) and return the function's answer. ``data`` is sent as
        JSON, or as it is when it is bytes (a broken event, for tests)."""
        headers = {
            "Content-Type": "application/json",
            "ce-specversion": "1.0",
            "ce-id": event_id or uuid.uuid4().hex,
            "ce-type": event_type,
            "ce-source": source,
            "ce-time": _rfc3339(datetime.now(UTC)),
        }
        if subject is not None:
            headers["ce-subject"] = subject
        request = urllib.request.Request(
            self.url,
            data=data if isinstance(data, bytes) else json.dumps(data).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=_DELIVERY_TIMEOUT) as response:
                return Delivery(response.status, response.read().decode(errors="replace"))
        except urllib.error.HTTPError as error:  # 4xx/5xx are answers too
            with error:
                return Delivery(error.code, error.read().decode(errors="replace"))


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
