"""Object names of the pipeline: every name is derived from the source log, never from a clock or a random id.

Deterministic names are half of the exactly-once mechanism: processing a log twice writes the same objects,
and a load job's id follows from the names it loads (see :mod:`linehaul.pipeline.publish`).

In the staging (result) bucket, for a log ``.../<name>.log.gz`` whose earliest event is on YYYYMMDD::

    processed/YYYYMMDD/downloads-<name>.json      file_downloads rows (NDJSON)   <- production's layout
    processed/YYYYMMDD/simple-<name>.json         simple_requests rows (NDJSON)  <- production's layout
    unprocessed/YYYYMMDD/<name>.txt               rejected lines, byte for byte  <- production's layout
    unprocessed/YYYYMMDD/<name>.reasons.json      why, line by line (NDJSON: line, field, reason)
    ignored/YYYYMMDD/<name>.txt                   lines with an agent production ignores, byte for byte
    loaded/processed/YYYYMMDD/downloads-<name>.json   marker: this staged file is in BigQuery
    ingesting/<name>/<output>                     the outputs, when the partition is known only at the end
    _linehaul_parts/<object>/<n>                  parts of an upload, composed into <object> at its end
    quarantine/<log object name>                  a log that could not be read to its end, moved there
                                                  in its own bucket (or, with QUARANTINE_BUCKET, to
                                                  quarantine/<log bucket>/<log object name> there;
                                                  a backfill copies it to its staging area so)
    publisher.lock                                the publisher's lease, with its current batch
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import date

__all__ = [
    "DOWNLOADS",
    "LOCK",
    "SIMPLE",
    "StagedNames",
    "is_loaded_marker",
    "loaded_marker",
    "log_name",
    "partition_of",
    "processed_prefix",
    "quarantine_name",
    "spool_name",
    "staged_names",
]

DOWNLOADS = "downloads"
SIMPLE = "simple"
LOCK = "publisher.lock"
_LOADED = "loaded/"


def log_name(object_name: str) -> str:
    """``abc`` for ``2021/01/07/abc.log.gz``: the base name without ``.gz`` and then ``.log``."""
    return posixpath.basename(object_name).removesuffix(".gz").removesuffix(".log")


def partition_of(day: date) -> str:
    """``20210107``: the partition of a UTC day."""
    return f"{day:%Y%m%d}"


@dataclass(frozen=True, slots=True)
class StagedNames:
    """Where the outputs of one log go, in the staging bucket."""

    downloads: str
    simple: str
    unprocessed: str
    reasons: str
    ignored: str

    def by_output(self) -> dict[str, str]:
        return {
            "downloads": self.downloads,
            "simple": self.simple,
            "unprocessed": self.unprocessed,
            "reasons": self.reasons,
            "ignored": self.ignored,
        }


def staged_names(partition: str, log: str) -> StagedNames:
    """The staging names for log ``log`` (see :func:`log_name`) whose earliest event is in ``partition``."""
    return StagedNames(
        downloads=f"processed/{partition}/{DOWNLOADS}-{log}.json",
        simple=f"processed/{partition}/{SIMPLE}-{log}.json",
        unprocessed=f"unprocessed/{partition}/{log}.txt",
        reasons=f"unprocessed/{partition}/{log}.reasons.json",
        ignored=f"ignored/{partition}/{log}.txt",
    )


def processed_prefix(partition: str, kind: str) -> str:
    """``processed/20210107/downloads-``: the staged files of one table in one partition."""
    return f"processed/{partition}/{kind}-"


def spool_name(log: str, output: str) -> str:
    """Where an output is written while its log is read (its partition is known only at the end)."""
    return f"ingesting/{log}/{output}"


def loaded_marker(staged: str) -> str:
    """The marker that says staged file ``staged`` was loaded into every destination table."""
    return _LOADED + staged


def is_loaded_marker(name: str) -> bool:
    return name.startswith(_LOADED)


def quarantine_name(bucket: str, name: str, elsewhere: bool) -> str:
    """Where a damaged log ``gs://bucket/name`` is kept: in its bucket, or ``elsewhere`` (another bucket).

    A local log's bucket is its directory: ``/data/logs`` gives ``quarantine/data/logs/<name>``.
    """
    return f"quarantine/{bucket.lstrip('/')}/{name}" if elsewhere else f"quarantine/{name}"
