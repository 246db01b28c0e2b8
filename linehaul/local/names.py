"""The names of the local cloud's buckets and dataset, shared by ``linehaul local`` and the runner."""

LOGS_BUCKET = "linehaul-logs"
"""Where the CDN's logs land (the ingestor's trigger bucket)."""

STAGING_BUCKET = "linehaul-staging"
"""Where the ingestor stages NDJSON for the publisher (RESULT_BUCKET)."""

DATASET = "pypi"
"""The BigQuery dataset of the two tables."""
