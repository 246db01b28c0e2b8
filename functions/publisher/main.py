"""Cloud Function ``load_processed_files_into_bigquery``: publish staged NDJSON into BigQuery, exactly once.

The function is made by :func:`linehaul.runtime.publisher.publisher_function` (see that module for the
trigger and the configuration); this directory deploys it with the linehaul wheel (docs/pipeline.md,
"Deploying").
"""

from linehaul.runtime.publisher import publisher_function

load_processed_files_into_bigquery = publisher_function()
