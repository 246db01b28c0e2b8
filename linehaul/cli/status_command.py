"""``linehaul status``: what the pipeline holds now, read from the buckets the functions use (it changes
nothing; see :mod:`linehaul.pipeline.status`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from linehaul.cli.inputs import positive_int
from linehaul.pipeline.failures import LoadFailure
from linehaul.pipeline.ports import StorageError
from linehaul.pipeline.settings import TABLE_SETTINGS, ConfigError, IngestSettings, PublishSettings, Setting
from linehaul.tables import Table

__all__ = ["register"]

_PUBLISHER_VARIABLES = (Setting.GCP_PROJECT, Setting.BIGQUERY_DATASET, *TABLE_SETTINGS.values())
_LOG_BUCKET = "LOG_BUCKET"
"""linehaul status's own variable: the CDN's log bucket (the functions have none)."""

_DESCRIPTION = """\
Show the pipeline's state: the files staged for each table, per partition (how many, bytes, when the
oldest was written), the publisher's lease (who holds it until when, the batch it records and why that
batch failed to load, or free), quarantined logs and staged files with their reasons, the unprocessed and
ignored lines kept per partition, upload parts left by crashed runs, and, with a log bucket, the logs not
ingested yet. It only reads: it changes nothing.

It reads the functions' own settings from the environment: RESULT_BUCKET (the staging bucket),
QUARANTINE_BUCKET, and the publisher's GCP_PROJECT, BIGQUERY_DATASET, BIGQUERY_DOWNLOAD_TABLE and
BIGQUERY_SIMPLE_TABLE (to name where each table's files go), LOG_BUCKET for the CDN's bucket;
STORAGE_EMULATOR_HOST for a local cloud (`eval "$(linehaul local up | grep ^export)"`), else Google Cloud
with the application default credentials. The options override them.

Exit status: 0, 1 when a bucket cannot be read, 2 for a missing or malformed setting.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "status",
        help="show what is staged, the publisher's lease and what was quarantined",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bucket", metavar="BUCKET", help="the staging bucket (default: $RESULT_BUCKET)")
    parser.add_argument("--log-bucket", metavar="BUCKET", help="the CDN's log bucket (default: $LOG_BUCKET)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--partitions",
        type=positive_int,
        default=10,
        metavar="N",
        help="partitions listed per output in the text (default 10)",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    given = {Setting.RESULT_BUCKET: args.bucket, _LOG_BUCKET: args.log_bucket}
    env = {**os.environ, **{variable: value for variable, value in given.items() if value}}
    settings = _settings(env)
    if isinstance(settings, ConfigError):
        print(f"linehaul status: {settings}", file=sys.stderr)
        return 2
    ingest, publisher = settings
    try:
        from linehaul.gcp import GcsBlobStore, storage_client
    except ImportError:
        print("linehaul status: needs the gcp extra: pip install 'linehaul[gcp]'", file=sys.stderr)
        return 1
    from linehaul.pipeline.status import read_status

    store = GcsBlobStore(storage_client(publisher.project if publisher else None))
    destinations = {table: publisher.destinations(table) for table in Table} if publisher else None
    try:
        status = read_status(
            store,
            ingest.staging_bucket,
            datetime.now().astimezone(),
            log_bucket=env.get(_LOG_BUCKET) or None,
            quarantine_bucket=ingest.quarantine_bucket,
            destinations=destinations,
        )
    except StorageError as error:
        print(f"linehaul status: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        for line in _lines(status.to_json(), status.now, args.partitions):
            print(line)
    return 0


def _settings(env: Mapping[str, str]) -> tuple[IngestSettings, PublishSettings | None] | ConfigError:
    """The functions' settings (the publisher's only if any of its variables is set), or every problem."""
    problems: list[str] = []
    ingest = publisher = None
    try:
        ingest = IngestSettings.from_env(env)
    except ConfigError as error:
        problems += error.problems
    if any(env.get(name) for name in _PUBLISHER_VARIABLES):
        try:
            publisher = PublishSettings.from_env(env)
        except ConfigError as error:
            problems += [problem for problem in error.problems if problem not in problems]
    if problems or ingest is None:
        return ConfigError(problems)
    return ingest, publisher


def _lines(status: Mapping[str, Any], now: datetime, shown: int) -> list[str]:
    out = [f"staging {status['bucket']} at {_moment(status['at'])}", "staged, to load:"]
    for table, staged in status["staged"].items():
        where = f" -> {', '.join(staged['destinations'])}" if staged["destinations"] else ""
        out.append(f"  {table}: {_tally(staged, now)}, in {len(staged['partitions'])} partitions{where}")
        out += _partitions(staged["partitions"], now, shown)
    out.append("kept lines, not loaded:")
    for output, kept in status["kept"].items():
        out.append(f"  {output}: {_tally(kept, now)}, in {len(kept['partitions'])} partitions")
        out += _partitions(kept["partitions"], now, shown)
    out.append(f"lease: {_lease(status['lease'])}")
    quarantined = status["quarantined"]
    for kind, items in (("logs", quarantined["logs"]), ("staged files", quarantined["staged"])):
        out.append(f"quarantined {kind}: {len(items)}")
        out += [f"  {item['uri']} ({_size(item['bytes'])}): {item['reason']}" for item in items]
    out.append(f"upload parts left by crashed runs: {status['upload_parts']}")
    if status["logs"] is not None:
        out.append(f"logs not ingested yet in {status['logs']['bucket']}: {_tally(status['logs'], now)}")
    return out


def _partitions(partitions: Mapping[str, Mapping[str, Any]], now: datetime, shown: int) -> list[str]:
    first = list(partitions.items())[:shown]
    lines = [f"    {partition}: {_tally(tally, now, since=False)}" for partition, tally in first]
    if len(partitions) > shown:
        lines.append(f"    ... and {len(partitions) - shown} more (--partitions N, or --json for all)")
    return lines


def _tally(tally: Mapping[str, Any], now: datetime, since: bool = True) -> str:
    text = f"{tally['files']} files, {_size(tally['bytes'])}"
    if tally["oldest"]:
        oldest = datetime.fromisoformat(tally["oldest"])
        text += f", the oldest waiting {_duration((now - oldest).total_seconds())}"
        text += f" (since {_moment(tally['oldest'])})" if since else ""
    return text


def _lease(lease: Mapping[str, Any] | None) -> str:
    if lease is None:
        return "never taken"
    if lease["state"] == "held":
        text = f"held by {lease['owner']} until {_moment(lease['expires'])}"
    elif lease["released"]:
        text = f"free (last held by {lease['owner']}, until {_moment(lease['expires'])})"
    else:  # expired and never given up: the next run takes it over, and its log line says so
        text = f"free (its run died holding it: {lease['owner']}, until {_moment(lease['expires'])})"
    batch = lease["batch"]
    if batch is None:
        return text + "; no batch in flight"
    text += f"; batch in flight: {batch['files']} {batch['kind']} files"
    if batch["failed"]:
        failure = LoadFailure.from_json(batch["failed"])
        text += f"; it could not be loaded: {failure.sentence()} at {_moment(failure.at.isoformat())}; "
        text += f"runs try again from {_moment(failure.retry_after.isoformat())}"
    return text


def _moment(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} B"  # pragma: no cover


def _duration(seconds: float) -> str:
    for unit, length in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.1f} {unit}"
    return f"{max(0.0, seconds):.0f} s"
