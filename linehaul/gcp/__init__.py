"""Google Cloud adapters of the pipeline's ports: the only package of linehaul that imports ``google.cloud``.

- :class:`GcsBlobStore` implements :class:`~linehaul.pipeline.ports.BlobStore` over Cloud Storage;
- :class:`BigQueryTableLoader` implements :class:`~linehaul.pipeline.ports.TableLoader` over BigQuery;
- :class:`BigQueryAdmin` creates datasets and tables and evolves their schemas (for the CLI and local runs);
- :func:`storage_client` and :func:`bigquery_client` build clients for Google Cloud or for the emulators.

They need the ``gcp`` extra: ``pip install 'linehaul[gcp]'``.
"""

from linehaul.gcp.bigquery import (
    CLUSTERING_FIELDS,
    PARTITION_FIELD,
    BigQueryAdmin,
    BigQueryAdminError,
    BigQueryTableLoader,
    schema_fields,
)
from linehaul.gcp.clients import (
    BIGQUERY_EMULATOR_HOST,
    STORAGE_EMULATOR_HOST,
    bigquery_client,
    storage_client,
)
from linehaul.gcp.storage import GcsBlobStore

__all__ = [
    "BIGQUERY_EMULATOR_HOST",
    "CLUSTERING_FIELDS",
    "PARTITION_FIELD",
    "STORAGE_EMULATOR_HOST",
    "BigQueryAdmin",
    "BigQueryAdminError",
    "BigQueryTableLoader",
    "GcsBlobStore",
    "bigquery_client",
    "schema_fields",
    "storage_client",
]
