"""Every object name of the pipeline, built and parsed here and nowhere else.

Names are derived from the source log, never from a clock or a random id. Deterministic names are half of
the exactly-once mechanism: processing a log twice writes the same objects, and a load job's id follows
from the names it loads (see :mod:`linehaul.pipeline.publish`).

In the staging bucket (RESULT_BUCKET), for a log ``.../<name>.log.gz`` whose earliest event is on YYYYMMDD::

    processed/YYYYMMDD/downloads-<name>.json      file_downloads rows (NDJSON)   <- production's layout
    processed/YYYYMMDD/simple-<name>.json         simple_requests rows (NDJSON)  <- production's layout
    unprocessed/YYYYMMDD/<name>.txt               rejected lines, byte for byte  <- production's layout
    unprocessed/YYYYMMDD/<name>.reasons.json      why, line by line (NDJSON: line, field, reason)
    ignored/YYYYMMDD/<name>.txt                   lines with an agent production ignores, byte for byte
    loaded/processed/YYYYMMDD/downloads-<name>.json   marker: this staged file is in BigQuery
    _linehaul_parts/ingest/<name>/<run>/<output>/spilled  an output larger than UPLOAD_CHUNK_MB while a run
                                                  reads the log (a resumable upload: it exists once
                                                  complete), composed into its name above when the log
                                                  has been read, then deleted
    quarantine/<log object name>                  a log that could not be read to its end, moved there
                                                  in its own bucket (or, with QUARANTINE_BUCKET, to
                                                  quarantine/<log bucket>/<log object name> there;
                                                  a backfill copies it to its staging area so)
    quarantine/processed/YYYYMMDD/...             a staged file that made a load fail, with the error
    publisher.lock                                the publisher's lease, with its current batch

A bucket is a Cloud Storage bucket's name or a local directory's absolute path (backfills, see
:mod:`linehaul.stores.locations`); :func:`object_uri` writes an object the way users write it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import date, datetime

from linehaul.tables import Output

__all__ = [
    "DAMAGE_METADATA",
    "LOAD_ERROR_METADATA",
    "LOCK",
    "PARTITION_FORMAT",
    "PARTITION_PATTERN",
    "Partition",
    "StagedNames",
    "is_loaded_marker",
    "is_local",
    "is_partition",
    "is_quarantined",
    "loaded_marker",
    "log_name",
    "log_object_name",
    "marked_name",
    "object_uri",
    "partition_in",
    "parts_prefix",
    "pending_key",
    "pending_prefix",
    "processed_prefix",
    "quarantine_name",
    "quarantine_prefix",
    "quarantined_staged_name",
    "quarantined_staged_prefix",
    "spilled_name",
    "split_uri",
    "staged_names",
    "staged_output",
    "staged_prefix",
]

LOCK = "publisher.lock"
DAMAGE_METADATA = "linehaul-damage"
"""The metadata key of a quarantined log: why it could not be read to its end."""
LOAD_ERROR_METADATA = "linehaul-load-error"
"""The metadata key of a quarantined staged file: what BigQuery said of it."""
_GS = "gs://"
_LOADED = "loaded/"
_QUARANTINE = "quarantine/"
_PARTS = "_linehaul_parts/"
_INGEST = "ingest/"
_PROCESSED = "processed/"
_FOLDERS = {
    Output.DOWNLOADS: _PROCESSED,
    Output.SIMPLE: _PROCESSED,
    Output.UNPROCESSED: "unprocessed/",
    Output.REASONS: "unprocessed/",
    Output.IGNORED: "ignored/",
}
_SUFFIXES = {Output.UNPROCESSED: ".txt", Output.REASONS: ".reasons.json", Output.IGNORED: ".txt"}


# -- logs ------------------------------------------------------------------------------------------------


def log_name(object_name: str) -> str:
    """``abc`` for ``2021/01/07/abc.log.gz``: the base name without ``.gz`` and then ``.log``."""
    return posixpath.basename(object_name).removesuffix(".gz").removesuffix(".log")


def log_object_name(day: date, file_name: str) -> str:
    """``2021/01/07/abc.log.gz``: where the CDN puts a log of that day in the log bucket."""
    return f"{day:%Y/%m/%d}/{file_name}"


# -- partitions ------------------------------------------------------------------------------------------

PARTITION_PATTERN = "[0-9]{8}"
"""A partition's text as a regular expression (eight digits; :func:`is_partition` also checks the day)."""
PARTITION_FORMAT = "%Y%m%d"
"""A partition's text as a strftime (and DuckDB ``strftime``) format."""


class Partition(str):
    """A day partition: a UTC day written ``YYYYMMDD``, as staged files (``processed/20210107/...``), the
    publisher's ``partition`` attribute and BigQuery's day partitions (``partition_id``) write it.

    It is its text (a ``str``, so it is written and compared as one), and always a real day: made by
    :meth:`of_day`, :meth:`of_timestamp`, or ``Partition(text)``, which raises ValueError for any other text.
    """

    __slots__ = ()

    def __new__(cls, text: str) -> Partition:
        if not is_partition(text):
            raise ValueError(f"{text!r} is not a day written YYYYMMDD")
        return super().__new__(cls, text)

    @classmethod
    def of_day(cls, day: date) -> Partition:
        """``20210107``: the partition of a UTC day."""
        return cls(day.strftime(PARTITION_FORMAT))

    @classmethod
    def of_timestamp(cls, timestamp: str) -> Partition:
        """``20210107`` for a row's RFC 3339 timestamp ``2021-01-07T20:54:54Z``."""
        return cls(timestamp[:10].replace("-", ""))

    @property
    def day(self) -> date:
        """The day it is."""
        return datetime.strptime(self, PARTITION_FORMAT).date()


def is_partition(text: str) -> bool:
    """True for a real day written ``YYYYMMDD``."""
    if len(text) != 8 or not text.isdigit():
        return False
    try:
        datetime.strptime(text, PARTITION_FORMAT)
    except ValueError:
        return False
    return True


# -- staged outputs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StagedNames:
    """Where the outputs of one log go, in the staging bucket."""

    downloads: str
    simple: str
    unprocessed: str
    reasons: str
    ignored: str

    def __getitem__(self, output: Output) -> str:
        return str(getattr(self, output.value))

    def by_output(self) -> dict[Output, str]:
        return {output: self[output] for output in Output}


def staged_names(partition: str, log: str) -> StagedNames:
    """The staging names for log ``log`` (see :func:`log_name`) whose earliest event is in ``partition``."""
    return StagedNames(**{output.value: _staged_name(partition, log, output) for output in Output})


def _staged_name(partition: str, log: str, output: Output) -> str:
    if output.table is not None:
        return f"{processed_prefix(partition, output)}{log}.json"
    return f"{_FOLDERS[output]}{partition}/{log}{_SUFFIXES[output]}"


def processed_prefix(partition: str, output: Output) -> str:
    """``processed/20210107/downloads-``: the staged files of one table's output in one partition."""
    if output.table is None:
        raise ValueError(f"{output.value} holds no rows: it has no processed/ files")
    return f"{_PROCESSED}{partition}/{output.value}-"


def staged_prefix(output: Output, partition: str | None = None) -> str:
    """``unprocessed/`` (or ``unprocessed/20210107/``): the folder of an output's staged files."""
    return _FOLDERS[output] + ("" if partition is None else f"{partition}/")


def staged_output(name: str) -> Output | None:
    """The output a staged object holds (``processed/P/simple-x.json`` → SIMPLE), None for other names."""
    folder, _, rest = name.partition("/")
    base = rest.partition("/")[2]
    if f"{folder}/" == _PROCESSED:
        return next((output for output in Output.of_rows() if base.startswith(f"{output.value}-")), None)
    for output, suffix in _SUFFIXES.items():
        if _FOLDERS[output] == f"{folder}/" and base.endswith(suffix) and "/" not in base:
            return output
    return None


def partition_in(name: str) -> Partition | None:
    """The partition of a staged object (``processed/20210107/...`` → ``20210107``), None for others."""
    if staged_output(name) is None:
        return None
    partition = name.split("/")[1]
    return Partition(partition) if is_partition(partition) else None


def pending_key(log: str, run: str, output: Output) -> str:
    """The scratch space of one output of a log while one run reads the log (the output's name is known
    only at the end; see :meth:`linehaul.pipeline.ports.BlobStore.open_pending`). Scratch names are the one
    place a run's own token goes: two runs of the same log at once never share a part, and the outputs
    they finish are named after the log alone."""
    return f"{pending_prefix(log)}{run}/{output.value}"


def pending_prefix(log: str) -> str:
    """The scratch space of every output of a log: what a crashed run of it left is found under it."""
    return f"{_INGEST}{log}/"


def loaded_marker(staged: str) -> str:
    """The marker that says staged file ``staged`` was loaded into every destination table."""
    return _LOADED + staged


def is_loaded_marker(name: str) -> bool:
    return name.startswith(_LOADED)


def marked_name(marker: str) -> str:
    """The staged file a :func:`loaded_marker` stands for."""
    return marker.removeprefix(_LOADED)


# -- quarantine ------------------------------------------------------------------------------------------


def quarantine_name(bucket: str, name: str, elsewhere: bool) -> str:
    """Where a damaged log ``gs://bucket/name`` is kept: in its bucket, or ``elsewhere`` (another bucket).

    A local log's bucket is its directory: ``/data/logs`` gives ``quarantine/data/logs/<name>``.
    """
    return f"{quarantine_prefix(bucket)}{name}" if elsewhere else f"{_QUARANTINE}{name}"


def quarantine_prefix(bucket: str | None = None) -> str:
    """``quarantine/``, or ``quarantine/<bucket>/`` for the logs of another bucket kept in this one."""
    return _QUARANTINE if bucket is None else f"{_QUARANTINE}{bucket.lstrip('/')}/"


def quarantined_staged_name(staged: str) -> str:
    """Where the publisher moves a staged file that made a load fail."""
    return _QUARANTINE + staged


def quarantined_staged_prefix() -> str:
    """``quarantine/processed/``: where the staged files that made a load fail are."""
    return quarantined_staged_name(_PROCESSED)


def is_quarantined(name: str) -> bool:
    """True for an object under ``quarantine/`` (its own events are not ingested)."""
    return name.startswith(_QUARANTINE)


# -- spilled uploads ------------------------------------------------------------------------------------


def spilled_name(key: str) -> str:
    """Where a pending object's bytes go when they are too many to hold (``key``: its scratch space, such
    as a :func:`pending_key`), until it is named."""
    return f"{parts_prefix(key)}spilled"


def parts_prefix(key: str = "") -> str:
    """Where the spilled objects of pending writes under ``key`` (a pending key or a prefix of one; every
    one, by default) are."""
    return f"{_PARTS}{key}" + ("" if not key or key.endswith("/") else "/")


# -- URIs ------------------------------------------------------------------------------------------------


def is_local(bucket: str) -> bool:
    """True for a bucket that is a local directory (an absolute path): bucket names never hold ``/``."""
    return bucket.startswith("/")


def object_uri(bucket: str, name: str = "") -> str:
    """How users write an object: ``gs://bucket/name``, or a local file's path (a bucket that is a path)."""
    return posixpath.join(bucket, name) if is_local(bucket) else f"{_GS}{bucket}/{name}"


def split_uri(uri: str) -> tuple[str, str] | None:
    """``(bucket, name)`` of ``gs://bucket/name`` (name may be empty), None for anything else."""
    if not uri.startswith(_GS):
        return None
    bucket, _, name = uri.removeprefix(_GS).partition("/")
    return (bucket, name) if bucket else None
