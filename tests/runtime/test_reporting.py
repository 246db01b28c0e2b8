"""A failure's line as Error Reporting reads it (linehaul.runtime.reporting), written by the one function both
Cloud Functions report failures with (linehaul.runtime.entry.log_error, failing_event, log_outcome). Pure:
the lines are captured from stdout."""

from __future__ import annotations

import json
from typing import Any

import pytest
from werkzeug.exceptions import NotFound, ServiceUnavailable

from linehaul.runtime.entry import failing_event, log_error, log_outcome
from linehaul.runtime.reporting import REPORTED_ERROR_EVENT, ServiceContext, error_record

HERE = ServiceContext("linehaul-ingestor", "linehaul-ingestor-00007-xyz")
LOCATION = {"filePath": "linehaul/runtime/ingestor.py", "lineNumber": 1, "functionName": "f"}


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out, err = capsys.readouterr()
    assert err == ""  # nothing on stderr
    return [json.loads(line) for line in out.splitlines()]


def _failing() -> None:
    raise ConnectionError("the staging bucket is out of reach")


def test_a_failure_with_an_exception_has_its_stack_trace_in_the_message() -> None:
    try:
        _failing()
    except ConnectionError as error:
        record = error_record("ingesting gs://logs/a.log.gz failed", error, HERE, LOCATION, {"source": "x"})

    first, *trace = record["message"].splitlines()
    assert first == "ingesting gs://logs/a.log.gz failed"
    assert trace[0] == "Traceback (most recent call last):"
    assert any("in _failing" in line for line in trace)
    assert trace[-1] == "ConnectionError: the staging bucket is out of reach"
    assert record["error"] == "ConnectionError: the staging bucket is out of reach"
    assert record["severity"] == "ERROR"
    assert record["@type"] == REPORTED_ERROR_EVENT
    assert (
        record["serviceContext"]
        == HERE.to_json()
        == {
            "service": "linehaul-ingestor",
            "version": "linehaul-ingestor-00007-xyz",
        }
    )
    assert record["source"] == "x"
    assert "context" not in record  # grouped by its stack trace


def test_a_failure_without_an_exception_is_filed_under_where_it_was_reported() -> None:
    record = error_record("ignored a publish request: ...", None, HERE, LOCATION, {})

    assert record["message"] == "ignored a publish request: ..."
    assert record["context"] == {"reportLocation": LOCATION}
    assert record["@type"] == REPORTED_ERROR_EVENT
    assert "error" not in record


def test_the_context_cannot_hide_what_error_reporting_reads() -> None:
    context = {"severity": "INFO", "message": "no", "@type": "x", "serviceContext": {}}
    context["partition"] = "20261205"

    record = error_record("the publisher run failed", None, HERE, LOCATION, context)

    assert (record["severity"], record["message"], record["@type"]) == (
        "ERROR",
        "the publisher run failed",
        REPORTED_ERROR_EVENT,
    )
    assert record["serviceContext"] == HERE.to_json()
    assert record["partition"] == "20261205"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"K_SERVICE": "linehaul-publisher", "K_REVISION": "linehaul-publisher-00002-abc"},
         ("linehaul-publisher", "linehaul-publisher-00002-abc")),
        ({"FUNCTION_TARGET": "process_fastly_log"}, ("process_fastly_log", "0.1.0")),
        ({}, ("linehaul", "0.1.0")),
    ],
    ids=["cloud run", "entry point", "nothing"],
)  # fmt: skip
def test_the_service_context_is_cloud_runs_or_the_entry_points(
    env: dict[str, str], expected: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("linehaul.runtime.reporting._linehaul_version", lambda: "0.1.0")

    context = ServiceContext.from_env(env)

    assert (context.service, context.version) == expected


def test_log_error_files_a_failure_under_its_caller(capsys: pytest.CaptureFixture[str]) -> None:
    log_error("ignored a storage event that names no object: ...", source="gs://logs/a")

    (record,) = _lines(capsys)
    location = record["context"]["reportLocation"]
    assert location["functionName"] == "test_log_error_files_a_failure_under_its_caller"
    assert location["filePath"] == __file__
    assert record["source"] == "gs://logs/a"


def test_failing_event_reports_once_and_answers_503(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ServiceUnavailable), failing_event("the publisher run failed", partition=None):
        _failing()

    (record,) = _lines(capsys)
    assert record["message"].startswith(
        "the publisher run failed: ConnectionError: the staging bucket is out of reach\nTraceback"
    )
    assert record["partition"] is None


def test_failing_event_leaves_an_answer_already_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NotFound), failing_event("the publisher run failed"):
        raise NotFound()

    assert _lines(capsys) == []


def test_an_outcome_of_severity_error_is_reported_from_the_function_that_logs_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_outcome({"severity": "INFO", "message": "ingested", "lines": 3})
    log_outcome({"severity": "ERROR", "message": "ingested; 2 lines failed", "internal_errors": 2})

    plain, reported = _lines(capsys)
    assert plain == {"severity": "INFO", "message": "ingested", "lines": 3}
    assert reported["message"] == "ingested; 2 lines failed"
    assert reported["internal_errors"] == 2
    assert reported["@type"] == REPORTED_ERROR_EVENT
    assert reported["context"]["reportLocation"]["functionName"] == (
        "test_an_outcome_of_severity_error_is_reported_from_the_function_that_logs_it"
    )
