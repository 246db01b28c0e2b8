"""The cloud pipeline: ingest one CDN log into staged NDJSON, publish staged files into BigQuery.

All I/O goes through the ports in :mod:`linehaul.pipeline.ports`.
"""
