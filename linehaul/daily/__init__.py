"""The daily tables: downloads per UTC day and project, overall and by each field analysts count by.

Every download statistic people look at (pypistats.org, pepy.tech, badges, pypinfo) is a count of
``file_downloads`` rows per project and day by one field. The publisher keeps those counts, exactly, in
tables beside the rows (:mod:`linehaul.pipeline.daily` says when; :mod:`linehaul.gcp.daily` runs the jobs),
``linehaul stats --bigquery`` answers from them where they suffice (:mod:`linehaul.analysis.daily`), and
``linehaul aggregate`` writes the same tables from logs (:mod:`linehaul.daily.offline`).

- :mod:`linehaul.daily.shape`: which tables, their columns (``schemas/*_daily.json``), their layout;
- :mod:`linehaul.daily.sql`: the SQL that computes a day's aggregates, and reads them back as rows of
  ``file_downloads`` would be read, in either dialect (DuckDB, BigQuery), from the same field definitions
  as ``linehaul stats``.
"""

from linehaul.daily.shape import (
    CLUSTERING_FIELDS,
    DAILY_TABLES,
    DOWNLOADS,
    OVERALL,
    PARTITION_FIELD,
    WITHOUT_MIRRORS,
    DailyTable,
    daily_table_of,
)

__all__ = [
    "CLUSTERING_FIELDS",
    "DAILY_TABLES",
    "DOWNLOADS",
    "OVERALL",
    "PARTITION_FIELD",
    "WITHOUT_MIRRORS",
    "DailyTable",
    "daily_table_of",
]
