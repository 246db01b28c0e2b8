"""Cloud Function ``process_fastly_log``: ingest one CDN log when it lands in the log bucket.

The function is made by :func:`linehaul.runtime.ingestor.ingestor_function` (see that module for the
trigger and the configuration); this directory deploys it with the linehaul wheel (docs/pipeline.md,
"Deploying").
"""

from linehaul.runtime.ingestor import ingestor_function

process_fastly_log = ingestor_function()
