"""The local cloud's resources, its two buckets and its dataset, by name: shared by ``linehaul local``, the
runner and the settle harness."""

LOGS_BUCKET = "linehaul-logs"
"""Where the CDN's logs land (the ingestor's trigger bucket)."""

STAGING_BUCKET = "linehaul-staging"
"""Where the ingestor stages NDJSON for the publisher (RESULT_BUCKET)."""

DATASET = "pypi"
"""The BigQuery dataset of the two tables."""
