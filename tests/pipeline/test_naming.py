"""Every object name is built and read back by linehaul.pipeline.naming."""

from __future__ import annotations

from datetime import date

import pytest

from linehaul.pipeline import naming
from linehaul.tables import Output


def test_staged_names_are_productions_layout() -> None:
    names = naming.staged_names("20210107", "cdn-a")
    assert names.by_output() == {
        Output.DOWNLOADS: "processed/20210107/downloads-cdn-a.json",
        Output.SIMPLE: "processed/20210107/simple-cdn-a.json",
        Output.UNPROCESSED: "unprocessed/20210107/cdn-a.txt",
        Output.REASONS: "unprocessed/20210107/cdn-a.reasons.json",
        Output.IGNORED: "ignored/20210107/cdn-a.txt",
    }


@pytest.mark.parametrize("output", list(Output))
def test_a_staged_name_says_its_output_and_partition(output: Output) -> None:
    name = naming.staged_names("20261101", "log.with.dots")[output]
    assert naming.staged_output(name) is output
    assert naming.partition_in(name) == "20261101"
    assert name.startswith(naming.staged_prefix(output, "20261101"))


@pytest.mark.parametrize(
    "name",
    [
        "publisher.lock",
        "loaded/processed/20261101/downloads-x.json",
        "processed/2026/downloads-x.json",
        "processed/20261301/downloads-x.json",
        "quarantine/processed/20261101/simple-x.json",
        "ingesting/x/simple",
    ],
)
def test_other_objects_are_not_staged_outputs_of_a_partition(name: str) -> None:
    assert naming.partition_in(name) is None


def test_rows_have_processed_prefixes_and_kept_lines_do_not() -> None:
    assert naming.processed_prefix("20261101", Output.SIMPLE) == "processed/20261101/simple-"
    with pytest.raises(ValueError, match="holds no rows"):
        naming.processed_prefix("20261101", Output.IGNORED)


def test_loaded_markers_name_their_staged_file() -> None:
    marker = naming.loaded_marker("processed/20261101/simple-x.json")
    assert naming.is_loaded_marker(marker)
    assert naming.marked_name(marker) == "processed/20261101/simple-x.json"


def test_log_names_and_partitions() -> None:
    assert naming.log_name("2021/01/07/cdn-a.log.gz") == "cdn-a"
    assert naming.log_name("cdn-b.log") == "cdn-b"
    assert naming.log_object_name(date(2021, 1, 7), "cdn-a.log.gz") == "2021/01/07/cdn-a.log.gz"
    assert naming.Partition.of_day(date(2021, 1, 7)) == "20210107"
    assert naming.Partition.of_timestamp("2021-01-07T20:54:54Z") == "20210107"
    assert naming.is_partition("20240229")
    assert not naming.is_partition("20230229")
    assert not naming.is_partition("2024022")
    assert not naming.is_partition("2024-02-2")


def test_a_partition_is_a_real_day_and_its_text() -> None:
    partition = naming.Partition("20240229")
    assert (partition, partition.day, f"{partition}/") == ("20240229", date(2024, 2, 29), "20240229/")
    for text in ("20230229", "2024022", "2024-02-2", ""):
        with pytest.raises(ValueError, match="is not a day written YYYYMMDD"):
            naming.Partition(text)


def test_quarantine_names() -> None:
    assert naming.quarantine_name("logs", "2021/a.log.gz", elsewhere=False) == "quarantine/2021/a.log.gz"
    assert naming.quarantine_name("logs", "a.log.gz", elsewhere=True) == "quarantine/logs/a.log.gz"
    assert naming.quarantine_name("/data/logs", "a.log.gz", elsewhere=True) == "quarantine/data/logs/a.log.gz"
    assert naming.is_quarantined(naming.quarantined_staged_name("processed/20261101/simple-x.json"))


def test_uris_are_written_and_read_back() -> None:
    assert naming.object_uri("bucket", "a/b.json") == "gs://bucket/a/b.json"
    assert naming.object_uri("/data/staging", "a/b.json") == "/data/staging/a/b.json"
    assert naming.split_uri("gs://bucket/a/b.json") == ("bucket", "a/b.json")
    assert naming.split_uri("gs://bucket") == ("bucket", "")
    assert naming.split_uri("gs:///x") is None
    assert naming.split_uri("s3://b/x") is None


def test_spilled_uploads_live_under_one_prefix() -> None:
    key = naming.pending_key("cdn-a", "run1", Output.DOWNLOADS)
    spilled = naming.spilled_name(key)
    assert spilled.startswith(naming.parts_prefix(key))
    assert naming.parts_prefix(key).startswith(naming.parts_prefix())
    assert spilled != naming.spilled_name(naming.pending_key("cdn-a", "run1", Output.SIMPLE))


def test_pending_outputs_of_a_run_live_under_their_log() -> None:
    key = naming.pending_key("cdn-a", "run1", Output.DOWNLOADS)
    assert key.startswith(naming.pending_prefix("cdn-a"))
    assert not key.startswith(naming.pending_prefix("cdn-a-2"))
    assert naming.spilled_name(key).startswith(naming.parts_prefix(naming.pending_prefix("cdn-a")))
    assert not naming.spilled_name(key).startswith(naming.parts_prefix(naming.pending_prefix("cdn-a-2")))
    assert naming.staged_output(naming.spilled_name(key)) is None
