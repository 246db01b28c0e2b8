"""Google Cloud adapters of the pipeline's ports: the only package of linehaul that imports ``google.cloud``.

- :class:`GcsBlobStore` implements :class:`~linehaul.pipeline.ports.BlobStore` over Cloud Storage;
- :class:`BigQueryTableLoader` implements :class:`~linehaul.pipeline.ports.TableLoader` over BigQuery;
- :class:`BigQueryAdmin` creates datasets and tables and evolves their schemas (for the CLI and local runs);
- :func:`storage_client` and :func:`bigquery_client` build clients for Google Cloud or for the emulators.

They need the ``gcp`` extra: ``pip install 'linehaul[gcp]'``.
"""

from typing import TYPE_CHECKING

from linehaul._lazy import lazy_attributes

if TYPE_CHECKING:
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

# Imported on first use: the ingestor needs Cloud Storage only, and google.cloud.bigquery costs a
# second or so and tens of megabytes to import.
_HOMES = {
    "CLUSTERING_FIELDS": "bigquery",
    "PARTITION_FIELD": "bigquery",
    "BigQueryAdmin": "bigquery",
    "BigQueryAdminError": "bigquery",
    "BigQueryTableLoader": "bigquery",
    "schema_fields": "bigquery",
    "BIGQUERY_EMULATOR_HOST": "clients",
    "STORAGE_EMULATOR_HOST": "clients",
    "bigquery_client": "clients",
    "storage_client": "clients",
    "GcsBlobStore": "storage",
}


__getattr__ = lazy_attributes(__name__, _HOMES)


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
