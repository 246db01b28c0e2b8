"""Backfills on Apache Beam: the ingestor's per-file processing over many logs, on many workers.

- :class:`StageLogs` is the pipeline: match logs by pattern, spread them over the workers, stage each one as
  the ingestor does (``processed/``, ``unprocessed/``, ``ignored/``, ``quarantine/``) into a local
  directory or a ``gs://`` bucket, without deleting any log;
- :func:`run_backfill` runs it (locally on one worker process per core by default, or on Dataflow) and
  returns a :class:`BackfillSummary`; ``linehaul backfill`` is its command line.

The publisher then loads the staged files as usual, exactly once. Needs the ``beam`` extra:
``pip install 'linehaul[beam]'``; neither the functions nor the parsing core import this package.
"""

from linehaul.beam.backfill import (
    LOCAL_RUNNER,
    BackfillError,
    BackfillSummary,
    find_logs,
    is_local_runner,
    pipeline_options,
    run_backfill,
)
from linehaul.beam.transforms import NAMESPACE, StageLog, StageLogs

__all__ = [
    "LOCAL_RUNNER",
    "NAMESPACE",
    "BackfillError",
    "BackfillSummary",
    "StageLog",
    "StageLogs",
    "find_logs",
    "is_local_runner",
    "pipeline_options",
    "run_backfill",
]
