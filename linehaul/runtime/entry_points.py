"""The two Cloud Functions' entry points, named here once: what Cloud Functions calls (``--entry-point``,
functions-framework's target), the module of linehaul that makes it, and the folder of ``functions/`` that
deploys it.

The functions themselves are Python names (``process_fastly_log`` in :mod:`linehaul.runtime.ingestor` and
``functions/ingestor/main.py``), which cannot be spelled from here: ``tests/runtime/test_entry_points.py``
holds them, and deploy/cloudbuild.yaml's ``--entry-point``, to these. Importing this module imports
nothing else (the local runner names the functions without loading functions-framework).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENTRY_POINTS", "INGESTOR", "PUBLISHER", "EntryPoint"]


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """A Cloud Function: its ``name`` (the entry point), the ``module`` that defines it, and its ``folder``
    (``functions/<folder>/main.py``)."""

    name: str
    module: str
    folder: str


INGESTOR = EntryPoint("process_fastly_log", "linehaul.runtime.ingestor", "ingestor")
"""Ingests a log when it lands in the log bucket (a Cloud Storage event)."""
PUBLISHER = EntryPoint("load_processed_files_into_bigquery", "linehaul.runtime.publisher", "publisher")
"""Loads the staged files into BigQuery (a Pub/Sub message)."""
ENTRY_POINTS = (INGESTOR, PUBLISHER)
