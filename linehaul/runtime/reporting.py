"""A failure as Cloud Error Reporting reads it, and the log fields that alerts count (deploy/monitoring/).

:func:`error_record` makes the one JSON line that :func:`linehaul.runtime.entry.log_error` writes for every
failure of either function. Cloud Logging reads ``severity`` and ``message``; Error Reporting takes the entry
as an error event and groups it with the others of its kind because

* ``message`` holds the failure and, when an exception caused it, its stack trace as Python prints it
  (``traceback.format_exception``), which is what Error Reporting groups Python errors by;
* ``@type`` is that of a ``ReportedErrorEvent``, so that a failure without an exception (a bad event, a run
  that stopped on a load failure) is an error event too, grouped by ``context.reportLocation``: the file,
  line and function that reported it;
* ``serviceContext`` names the service and its version as Error Reporting shows them: on Cloud Run (where a
  2nd gen function runs) ``K_SERVICE``, the function's name, and ``K_REVISION``, the deployed revision, so
  that an error's first appearance points at a deployment; elsewhere the entry point and linehaul's version.

The line also carries ``error`` (the exception's type and text, for queries) and what the failure concerns:
the log (``source``, as the ingestor's summary line names it), the partition, the batch.

The field names that deploy/monitoring/'s metrics read are the functions' own: their summary lines come
from :class:`linehaul.pipeline.ingest.IngestReport` and
:class:`linehaul.pipeline.publish_report.PublishReport` (``lease_taken_over``, for one: the lease a run
took over from a run that died holding it).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from types import FrameType
from typing import Any

__all__ = [
    "REPORTED_ERROR_EVENT",
    "ServiceContext",
    "error_record",
    "report_location",
]

REPORTED_ERROR_EVENT = "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"
"""The ``@type`` that makes Error Reporting read a log entry as an error event, whatever its text."""


@dataclass(frozen=True, slots=True)
class ServiceContext:
    """The service and version Error Reporting files an error under."""

    service: str
    version: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServiceContext:
        """``K_SERVICE`` and ``K_REVISION`` (Cloud Run's, so 2nd gen functions'), else ``FUNCTION_TARGET``
        (the entry point) or ``linehaul``, and linehaul's installed version."""
        service = env.get("K_SERVICE") or env.get("FUNCTION_TARGET") or "linehaul"
        return cls(service, env.get("K_REVISION") or _linehaul_version())

    def to_json(self) -> dict[str, str]:
        return {"service": self.service, "version": self.version}


def _linehaul_version() -> str:
    try:
        return version("linehaul")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def report_location(frame: FrameType) -> dict[str, Any]:
    """Error Reporting's ``reportLocation`` of the code running ``frame``."""
    return {
        "filePath": frame.f_code.co_filename,
        "lineNumber": frame.f_lineno,
        "functionName": frame.f_code.co_qualname,
    }


def error_record(
    message: str,
    error: BaseException | None,
    service: ServiceContext,
    location: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON line of one failure: ``message`` (with ``error``'s stack trace after it, if given), the
    ``context`` an operator needs (the log, partition or batch), as an error event of ``service`` reported
    at ``location`` (:func:`report_location`; Error Reporting reads it only when there is no stack trace).
    ``context`` cannot override the fields Cloud Logging and Error Reporting read."""
    record: dict[str, Any] = {**context, "severity": "ERROR", "message": message}
    if error is not None:
        record["error"] = f"{type(error).__name__}: {error}"
        record["message"] = f"{message}\n{''.join(traceback.format_exception(error))}".rstrip("\n")
    else:
        record["context"] = {"reportLocation": dict(location)}
    record["@type"] = REPORTED_ERROR_EVENT
    record["serviceContext"] = service.to_json()
    return record
