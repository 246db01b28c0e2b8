"""The functions' settings: read from their environment all at once, and written back as it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linehaul.pipeline.settings import TABLE_SETTINGS, ConfigError, IngestSettings, PublishSettings, Setting
from linehaul.tables import Table

_BUCKETS = st.from_regex(r"[a-z0-9][a-z0-9_-]{1,20}[a-z0-9]", fullmatch=True)
_PROJECTS = st.from_regex(r"[a-z][a-z0-9-]{4,20}[a-z0-9]", fullmatch=True)
_NAMES = st.from_regex(r"[A-Za-z0-9_]{1,20}", fullmatch=True)


@given(_BUCKETS, st.none() | _BUCKETS, st.integers(1, 256))
def test_ingest_settings_give_back_their_environment(bucket: str, quarantine: str | None, chunk: int) -> None:
    settings = IngestSettings(staging_bucket=bucket, quarantine_bucket=quarantine, upload_chunk_mb=chunk)
    assert IngestSettings.from_env(settings.to_env()) == settings


@given(
    _PROJECTS,
    _BUCKETS,
    st.lists(st.tuples(_PROJECTS, _NAMES), min_size=1, max_size=3),
    _NAMES,
    _NAMES,
    st.integers(1, 10_000),
    st.floats(1, 3600),
    st.floats(10, 86_400),
    st.floats(0, 86_400),
)
def test_publish_settings_give_back_their_environment(
    project: str,
    bucket: str,
    datasets: list[tuple[str, str]],
    download: str,
    simple: str,
    max_blobs: int,
    budget: float,
    lock: float,
    retry: float,
) -> None:
    settings = PublishSettings(
        project, bucket, tuple(datasets), download, simple, max_blobs, budget, lock, retry
    )
    assert PublishSettings.from_env(settings.to_env()) == settings


def test_the_environment_is_the_settings_variables() -> None:
    ingest = IngestSettings("staging", "quarantine")
    publish = PublishSettings("proj-1", "staging", (("proj-1", "pypi"),), "downloads", "simple")
    assert set(ingest.to_env()) | set(publish.to_env()) == set(Setting)
    assert {table: publish.to_env()[TABLE_SETTINGS[table]] for table in Table} == {
        Table.FILE_DOWNLOADS: "downloads",
        Table.SIMPLE_REQUESTS: "simple",
    }


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as error:
        PublishSettings.from_env({Setting.MAX_BLOBS_PER_RUN: "many", Setting.LOCK_SECONDS: "1"})
    named = {problem.split()[0].split("=")[0] for problem in error.value.problems}
    assert named == {
        Setting.GCP_PROJECT,
        Setting.RESULT_BUCKET,
        Setting.BIGQUERY_DATASET,
        *TABLE_SETTINGS.values(),
        Setting.MAX_BLOBS_PER_RUN,
        Setting.LOCK_SECONDS,
    }
