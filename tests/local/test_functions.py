"""FunctionServer: a real functions-framework process serving CloudEvent functions from a temporary source."""

from __future__ import annotations

import base64
import json
import os
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linehaul.local import PUBSUB_MESSAGE_PUBLISHED, STORAGE_OBJECT_FINALIZED, FunctionServer, LocalStackError

pytestmark = pytest.mark.integration

SOURCE = textwrap.dedent("""
    import base64, json, os

    import functions_framework


    def record(kind, event, payload):
        with open(os.environ["RECEIVED"], "a") as out:
            out.write(json.dumps({"kind": kind, "type": event["type"], "source": event["source"],
                                  "subject": event.get("subject"), "payload": payload}) + "\\n")


    @functions_framework.cloud_event
    def on_finalize(event):
        if event.data["name"].startswith("poison/"):
            raise ValueError("cannot ingest " + event.data["name"])
        record("finalize", event, event.data)


    @functions_framework.cloud_event
    def on_message(event):
        message = event.data["message"]
        record("message", event, {"data": base64.b64decode(message["data"]).decode(),
                                  "attributes": message["attributes"]})
""")


@pytest.fixture(scope="module")
def function_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("function")
    (directory / "main.py").write_text(SOURCE)
    return directory


@pytest.fixture
def received(function_dir: Path) -> Path:
    """Where the function records the events it received: empty at the start of each test."""
    path = function_dir / "received.ndjson"
    path.unlink(missing_ok=True)
    return path


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def finalize_server(function_dir: Path) -> Iterator[FunctionServer]:
    env = {"RECEIVED": str(function_dir / "received.ndjson")}
    with FunctionServer(function_dir / "main.py", "on_finalize", env=env) as server:
        yield server


def test_a_storage_event_reaches_the_function(finalize_server: FunctionServer, received: Path) -> None:
    delivery = finalize_server.storage_finalized("linehaul-logs", "cdn/2021/01/07/a.log.gz", 1234, size=99)

    assert (delivery.status, delivery.ok) == (200, True)
    (event,) = events(received)
    assert event["type"] == STORAGE_OBJECT_FINALIZED
    assert event["source"] == "//storage.googleapis.com/projects/_/buckets/linehaul-logs"
    assert event["subject"] == "objects/cdn/2021/01/07/a.log.gz"
    payload = event["payload"]
    assert (payload["bucket"], payload["name"], payload["generation"], payload["size"]) == (
        "linehaul-logs",
        "cdn/2021/01/07/a.log.gz",
        "1234",
        "99",
    )


def test_a_function_that_raises_answers_500(finalize_server: FunctionServer, received: Path) -> None:
    delivery = finalize_server.storage_finalized("linehaul-logs", "poison/a.log.gz", 1)

    assert (delivery.status, delivery.ok) == (500, False)
    assert events(received) == []
    assert "cannot ingest poison/a.log.gz" in finalize_server.output()


def test_a_pubsub_message_reaches_the_function(function_dir: Path, received: Path) -> None:
    env = {"RECEIVED": str(received)}
    with FunctionServer(function_dir / "main.py", "on_message", env=env, project="linehaul-dev") as server:
        delivery = server.pubsub_message(b'{"files": 3}', {"table": "file_downloads"}, topic="publish")

    assert delivery.ok
    (event,) = events(received)
    assert event["type"] == PUBSUB_MESSAGE_PUBLISHED
    assert event["source"] == "//pubsub.googleapis.com/projects/linehaul-dev/topics/publish"
    assert event["payload"] == {"data": '{"files": 3}', "attributes": {"table": "file_downloads"}}


def test_stop_ends_the_whole_process_group(function_dir: Path) -> None:
    server = FunctionServer(function_dir / "main.py", "on_message")
    server.start()
    group = server.pid
    assert group is not None

    server.stop()

    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0


def test_an_unknown_target_fails_to_start_with_the_reason(function_dir: Path) -> None:
    server = FunctionServer(function_dir / "main.py", "no_such_function")

    with pytest.raises(LocalStackError, match="no_such_function"):
        server.start()

    assert server.pid is None


def test_binary_mode_delivery_sends_the_event_data_as_json(
    finalize_server: FunctionServer, received: Path
) -> None:
    data = {"bucket": "b", "name": "x", "generation": "7", "note": base64.b64encode(b"\x00").decode()}

    delivery = finalize_server.deliver(STORAGE_OBJECT_FINALIZED, "//storage.googleapis.com/x", data)

    assert delivery.ok
    assert events(received)[0]["payload"] == data
