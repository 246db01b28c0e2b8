"""The publisher function served by a real functions-framework process, over HTTP: a run that cannot publish
is said once, as one ERROR line with the exception (no bare traceback), and answered 503 so that monitoring
sees it and Pub/Sub delivers the message again; a bad message is said once and acknowledged; a good run
answers 200 with one INFO line. (Load failures: tests/integration/test_publisher_outages.py.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from linehaul.local import FunctionServer, LocalStack
from linehaul.local.runner import function_source
from linehaul.pipeline.settings import TABLE_SETTINGS
from linehaul.tables import Table
from tests.cloud import PROJECT

pytestmark = pytest.mark.integration


def publisher(stack: LocalStack, bucket: str) -> FunctionServer:
    env = {
        **stack.env,
        "GCP_PROJECT": PROJECT,
        "RESULT_BUCKET": bucket,
        "BIGQUERY_DATASET": f"{PROJECT}.unused",
        **{str(TABLE_SETTINGS[table]): table.value for table in Table},
    }
    return FunctionServer(function_source("linehaul.runtime.publisher"), "load_processed_files_into_bigquery",
                          env=env)  # fmt: skip


@pytest.fixture
def served(local_stack: LocalStack, bucket: str) -> Iterator[FunctionServer]:
    with publisher(local_stack, bucket) as server:
        yield server


def records(server: FunctionServer) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.output(tail=None).splitlines() if line.startswith("{")]


def test_a_run_with_nothing_to_do_answers_200_and_says_so(served: FunctionServer) -> None:
    assert served.pubsub_message(b"publish").status == 200

    (record,) = records(served)
    assert record["severity"] == "INFO"
    assert (record["files"], record["files_left"], record["partitions_seen"]) == (0, 0, 0)


def test_a_run_that_fails_is_one_error_line_and_a_503(local_stack: LocalStack) -> None:
    with publisher(local_stack, f"missing-{uuid.uuid4().hex[:12]}") as server:
        delivery = server.pubsub_message(b"publish")
        output = server.output(tail=None)
        (record,) = records(server)

    assert delivery.status == 503
    assert record["severity"] == "ERROR"
    assert record["message"].startswith("the publisher run failed: ")
    assert record["error"].startswith("BlobNotFoundError: ")
    assert "\nTraceback (most recent call last):\n" in record["message"]  # as Error Reporting reads it
    assert "Traceback" not in output.replace(json.dumps(record["message"])[1:-1], "")  # only inside the line


def test_a_bad_message_is_one_error_line_and_acknowledged(served: FunctionServer) -> None:
    delivery = served.pubsub_message(b"publish", {"partition": "2021-01-07"})

    assert delivery.status == 200
    (record,) = records(served)
    assert (record["severity"], record["message"]) == (
        "ERROR",
        "ignored a publish request: partition='2021-01-07' is not a date as YYYYMMDD",
    )
    assert set(record) == {"severity", "message", "@type", "serviceContext", "context"}  # an error event
