"""Object storage on this machine: the pipeline's :class:`~linehaul.pipeline.ports.BlobStore` port over
local directories (:class:`~linehaul.stores.directory.DirectoryStore`), and one store that serves local
paths and Cloud Storage buckets alike (:class:`~linehaul.stores.locations.LocationStore`, for backfills).

Cloud Storage itself is served by :mod:`linehaul.gcp`; the in-memory store for tests is
:mod:`linehaul.testing.memory`.
"""
