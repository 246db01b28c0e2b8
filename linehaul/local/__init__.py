"""The local cloud, for development and tests: emulators of Cloud Storage and BigQuery, and local functions.

- :class:`LocalStack` starts fake-gcs-server and the BigQuery emulator (bqemulator) on 127.0.0.1, sharing
  their storage so that load jobs read what was uploaded;
- :class:`FunctionServer` serves a Cloud Function through functions-framework and delivers CloudEvents;
- :mod:`linehaul.local.bqcompat` makes bqemulator behave like BigQuery where linehaul relies on it.

They need the ``local`` extra (``pip install -e '.[local]'``); nothing here is imported by the pipeline.
"""

from typing import TYPE_CHECKING

from linehaul._lazy import lazy_attributes

if TYPE_CHECKING:
    from linehaul.local._processes import LocalStackError
    from linehaul.local.functions import (
        PUBSUB_MESSAGE_PUBLISHED,
        STORAGE_OBJECT_FINALIZED,
        Delivery,
        FunctionServer,
    )
    from linehaul.local.stack import DEFAULT_PROJECT, LocalStack

# Imported on first use, so that the command line (which names the local cloud's buckets) starts fast.
_HOMES = {
    "LocalStackError": "_processes",
    "PUBSUB_MESSAGE_PUBLISHED": "functions",
    "STORAGE_OBJECT_FINALIZED": "functions",
    "Delivery": "functions",
    "FunctionServer": "functions",
    "DEFAULT_PROJECT": "stack",
    "LocalStack": "stack",
}


__getattr__ = lazy_attributes(__name__, _HOMES)


__all__ = [
    "DEFAULT_PROJECT",
    "PUBSUB_MESSAGE_PUBLISHED",
    "STORAGE_OBJECT_FINALIZED",
    "Delivery",
    "FunctionServer",
    "LocalStack",
    "LocalStackError",
]
