"""Run a backfill: find the logs, choose the runner, run :class:`~linehaul.beam.transforms.StageLogs`, and
sum up the run from its metrics.

The default runner is Beam's FnApiRunner in multi-processing mode with one worker process per core (named
explicitly: Beam's default local runner would first try to download a binary). Any other runner takes the
usual Beam options; on Dataflow the workers need linehaul installed, so a run without a package to ship
(``--extra_package``, ``--setup_file``, ``--requirements_file`` or ``--sdk_container_image``) is refused
before anything starts.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, StandardOptions, WorkerOptions

from linehaul.beam.emulator import skip_credentials_for_emulator
from linehaul.beam.transforms import COUNTS, NAMESPACE, StageLogs
from linehaul.logs.counts import ReadCounts
from linehaul.pipeline.naming import log_name
from linehaul.stores.locations import LocationError, staging_bucket

__all__ = [
    "LOCAL_RUNNER",
    "BackfillError",
    "BackfillSummary",
    "find_logs",
    "is_local_runner",
    "pipeline_options",
    "run_backfill",
]

LOCAL_RUNNER = "FnApiRunner"
_LOCAL_RUNNERS = frozenset(
    {"fnapirunner", "directrunner", "bundlebaseddirectrunner", "switchingdirectrunner"}
)
_DATAFLOW_PACKAGE_HELP = (
    "Dataflow workers need linehaul installed: build its wheel (python -m pip wheel --no-deps -w dist .) "
    "and pass -- --extra_package dist/linehaul-<version>-py3-none-any.whl (or --setup_file, "
    "--requirements_file, --sdk_container_image); see README.md, Backfills"
)


class BackfillError(Exception):
    """A backfill that cannot start: no logs matched, logs that would stage under the same names, a bad
    staging location, or runner options that cannot work."""


@dataclass(frozen=True, slots=True)
class BackfillSummary:
    """The counts of one backfill (from its Beam metrics); the logs quarantined, and those not staged."""

    counts: ReadCounts = field(default_factory=ReadCounts)
    quarantined: int = 0
    missing: int = 0
    already_loaded: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    quarantined_logs: tuple[str, ...] = field(default=())
    conflicting_logs: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """Every matched log was read to its end and staged."""
        return not (self.quarantined or self.missing or self.conflicts)

    def line(self) -> str:
        return (
            f"files={self.counts.files} {self.counts.line()} quarantined={self.quarantined} "
            f"seconds={self.seconds:.2f}"
        )


def pipeline_options(
    beam_args: Sequence[str] = (), *, runner: str | None = None, workers: int | None = None
) -> PipelineOptions:
    """Beam options for a backfill: ``runner`` (default :data:`LOCAL_RUNNER`, multi-processing with
    ``workers`` processes, default one per core), then ``beam_args`` (which win over these defaults)."""
    chosen = runner or LOCAL_RUNNER
    local = is_local_runner(chosen)
    if workers is not None and (workers < 1 or not local):
        raise BackfillError(
            f"--workers {workers}: a local run takes 1 or more worker processes "
            "(on Dataflow, pass -- --num_workers N or --max_num_workers N)"
        )
    defaults = ["--runner", chosen]
    if local:
        defaults += ["--direct_running_mode", "multi_processing"]
        defaults += ["--direct_num_workers", str(workers or os.cpu_count() or 1)]
    options = PipelineOptions([*defaults, *beam_args])
    beam_logger = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_logger.level
    beam_logger.setLevel(logging.ERROR)  # it would warn of the options refused here
    try:
        known = options.get_all_options().keys()
    finally:
        beam_logger.setLevel(level)
    unknown = options.get_all_options(retain_unknown_options=True).keys() - known
    if unknown:
        raise BackfillError(
            f"not Beam pipeline options: {', '.join('--' + name for name in sorted(unknown))}"
        )
    if "dataflow" in (options.view_as(StandardOptions).runner or "").lower() and not _ships_package(options):
        raise BackfillError(_DATAFLOW_PACKAGE_HELP)
    return options


def is_local_runner(runner: str) -> bool:
    """True for the runners that run on this machine (their workers see local files)."""
    name = runner.rsplit(".", 1)[-1].lower()
    return name in _LOCAL_RUNNERS or name + "runner" in _LOCAL_RUNNERS


def _ships_package(options: PipelineOptions) -> bool:
    setup = options.view_as(SetupOptions)
    image = options.view_as(WorkerOptions).sdk_container_image
    return bool(setup.extra_packages or setup.setup_file or setup.requirements_file or image)


def find_logs(patterns: Sequence[str]) -> list[str]:
    """The logs ``patterns`` match, sorted (local patterns made absolute, for workers in any directory).

    BackfillError if a pattern matches nothing, or if two logs have the same base name (their staged files
    would have the same names, and one would replace the other).
    """
    if not patterns:
        raise BackfillError("no --input pattern given")
    skip_credentials_for_emulator()
    absolute = [_absolute(pattern) for pattern in patterns]
    found: set[str] = set()
    for pattern, result in zip(patterns, FileSystems.match(absolute), strict=True):
        paths = {metadata.path for metadata in result.metadata_list}
        if not paths:
            raise BackfillError(f"{pattern}: matches no file")
        found |= paths
    by_name: dict[str, list[str]] = {}
    for path in sorted(found):
        by_name.setdefault(log_name(path), []).append(path)
    clashes = [paths for paths in by_name.values() if len(paths) > 1]
    if clashes:
        listed = "; ".join(" and ".join(paths) for paths in clashes[:5])
        raise BackfillError(
            f"{len(clashes)} base names are shared by several logs ({listed}): staged files are named "
            "after a log's base name, so these would replace each other; backfill them separately"
        )
    return sorted(found)


def _absolute(pattern: str) -> str:
    return pattern if "://" in pattern else os.path.abspath(pattern)


def run_backfill(
    patterns: Sequence[str],
    staging: str,
    *,
    options: PipelineOptions | None = None,
    echo: bool = False,
    check: bool = True,
) -> BackfillSummary:
    """Stage every log ``patterns`` match into ``staging`` (``gs://bucket`` or a local directory) and wait.

    ``check`` first matches the patterns here (:func:`find_logs`): clear errors before any work starts.
    ``echo`` has each worker print one line per log on its stderr.
    """
    try:
        staging_bucket(staging)
    except LocationError as error:
        raise BackfillError(str(error)) from error
    options = options or pipeline_options()
    runner = options.view_as(StandardOptions).runner or LOCAL_RUNNER
    local_paths = [where for where in (*patterns, staging) if "://" not in where]
    if local_paths and not is_local_runner(runner):
        raise BackfillError(
            f"{runner}'s workers cannot see this machine's files ({', '.join(local_paths)}): "
            "use gs:// locations"
        )
    skip_credentials_for_emulator()
    if check:
        find_logs(patterns)
    started = time.monotonic()
    pipeline = beam.Pipeline(options=options)
    _ = pipeline | "Backfill" >> StageLogs([_absolute(p) for p in patterns], staging, echo=echo)
    result = pipeline.run()
    result.wait_until_finish()
    return summary_of(
        result.metrics().query(MetricsFilter().with_namespace(NAMESPACE)), time.monotonic() - started
    )


def summary_of(metrics: dict[str, list[Any]], seconds: float) -> BackfillSummary:
    """A summary from the answer of ``PipelineResult.metrics().query(...)`` for :data:`NAMESPACE`."""
    counts = dict.fromkeys(COUNTS, 0)
    for result in metrics.get("counters", []):
        if result.key.metric.name in counts:
            counts[result.key.metric.name] += int(_value(result) or 0)
    names: dict[str, tuple[str, ...]] = {}
    for result in metrics.get("string_sets", []):
        names[result.key.metric.name] = tuple(sorted(_value(result) or ()))
    line_counts = {name: counts.pop(name) for name in ReadCounts.names()}
    return BackfillSummary(
        ReadCounts(**line_counts),
        **counts,
        seconds=seconds,
        quarantined_logs=names.get("quarantined_logs", ()),
        conflicting_logs=names.get("conflicting_logs", ()),
    )


def _value(result: Any) -> Any:
    """The committed value where the runner reports one, else the attempted one."""
    return result.committed if result.committed is not None else result.attempted
