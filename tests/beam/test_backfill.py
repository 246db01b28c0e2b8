"""Backfills on Beam's local runner, on local files: what they stage, judged against ``linehaul parse``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from linehaul.beam import BackfillError, StageLogs, find_logs, pipeline_options, run_backfill
from linehaul.cli import main
from linehaul.cli.parse_command import OUTPUT_FILES
from linehaul.pipeline.ingest import IngestReport
from linehaul.pipeline.naming import loaded_marker
from linehaul.tables import Output
from tests.beam.helpers import IN_PROCESS, backfill, parsed, staged


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()
    }


def test_a_backfill_stages_exactly_what_parse_writes(logs: list[Path], tmp_path: Path) -> None:
    before = {log: log.read_bytes() for log in logs}

    summary = backfill([str(log) for log in logs], tmp_path / "staging")

    assert {log: log.read_bytes() for log in logs} == before, "a backfill leaves its logs as they were"

    for log in logs:
        assert staged(tmp_path / "staging", log) == parsed(log, tmp_path / log.name), log.name
    assert main(["parse", "--quiet", "-o", str(tmp_path / "all"), *map(str, logs)]) == 0
    assert summary.complete
    assert summary.counts.files == 4
    totals = {
        output: (tmp_path / "all" / file).read_bytes().count(b"\n") for output, file in OUTPUT_FILES.items()
    }
    counts = summary.counts
    assert (counts.file_downloads, counts.simple_requests) == (
        totals[Output.DOWNLOADS],
        totals[Output.SIMPLE],
    )
    assert (counts.unprocessed, counts.ignored) == (totals[Output.UNPROCESSED], totals[Output.IGNORED])
    assert summary.counts.lines == sum(totals[output] for output in Output if output is not Output.REASONS)
    left = [path.relative_to(tmp_path / "staging") for path in (tmp_path / "staging").rglob("*")]
    assert {path.parts[0] for path in left} == {"processed", "unprocessed", "ignored"}  # no ingesting/ spool
    assert not [path for path in left if path.name.startswith(".")], "no temporary files or locks are left"


def test_the_partitions_are_the_days_of_the_earliest_events(logs: list[Path], tmp_path: Path) -> None:
    backfill([str(logs[0]), str(logs[2])], tmp_path)

    assert sorted(path.name for path in (tmp_path / "processed").iterdir()) == ["20190304", "20210107"]


def test_stage_logs_with_apache_beam_testing(logs: list[Path], tmp_path: Path) -> None:
    expected = []
    for log in logs[:2]:
        rows = parsed(log, tmp_path / log.name)
        expected.append(
            (str(log), "ingested", rows[Output.DOWNLOADS].count(b"\n"), rows[Output.SIMPLE].count(b"\n"))
        )

    with test_pipeline.TestPipeline(runner="FnApiRunner", options=PipelineOptions(IN_PROCESS)) as pipeline:
        reports = pipeline | StageLogs([str(logs[0]), str(logs[1])], str(tmp_path / "staging"))
        assert_that(reports | beam.Map(_outline), equal_to(expected))


def _outline(report: IngestReport) -> tuple[str, str, int, int]:
    return report.source, report.outcome, report.counts.file_downloads, report.counts.simple_requests


def test_a_damaged_log_is_copied_to_quarantine_its_readable_lines_staged(
    logs: list[Path], tmp_path: Path
) -> None:
    damaged = tmp_path / "in" / "cdn-cut.log.gz"
    damaged.parent.mkdir()
    damaged.write_bytes(logs[1].read_bytes()[: logs[1].stat().st_size // 2])

    summary = backfill([str(damaged), str(logs[0])], tmp_path / "staging")

    kept = tmp_path / "staging" / "quarantine" / str(damaged).lstrip(os.sep)
    assert kept.read_bytes() == damaged.read_bytes()
    metadata = json.loads((kept.parent / f".{kept.name}.metadata.json").read_text())
    assert metadata["linehaul-damage"] == "the gzip data is cut short (truncated file)"
    assert (summary.counts.files, summary.quarantined, summary.complete) == (2, 1, False)
    assert summary.quarantined_logs == (f"{damaged}: the gzip data is cut short (truncated file)",)
    assert staged(tmp_path / "staging", damaged) == parsed(damaged, tmp_path / "parsed")


def test_a_second_backfill_writes_the_same_files(logs: list[Path], tmp_path: Path) -> None:
    patterns = [str(logs[0].parent / "cdn-*.log*")]
    backfill(patterns, tmp_path)
    first = _files(tmp_path)

    again = backfill(patterns, tmp_path)

    assert _files(tmp_path) == first
    assert again.counts.files == 4


def test_files_the_publisher_loaded_are_not_staged_again(logs: list[Path], tmp_path: Path) -> None:
    backfill([str(logs[0])], tmp_path)
    loaded = sorted(str(path.relative_to(tmp_path)) for path in tmp_path.glob("processed/*/*.json"))
    for name in loaded:  # as the publisher leaves them: loaded, marked, deleted
        (tmp_path / loaded_marker(name)).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / loaded_marker(name)).write_text("loaded")
        (tmp_path / name).unlink()

    again = backfill([str(logs[0])], tmp_path)

    assert list(tmp_path.glob("processed/*/*.json")) == []
    assert again.already_loaded == len(loaded) == 2
    assert again.counts.file_downloads > 0  # counted, not staged


def test_logs_with_the_same_base_name_are_refused(logs: list[Path], tmp_path: Path) -> None:
    for directory in ("a", "b"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "cdn-0.log.gz").write_bytes(logs[0].read_bytes())
    patterns = [str(tmp_path / "*" / "cdn-0.log.gz")]

    with pytest.raises(BackfillError, match=r"a/cdn-0\.log\.gz and .*/b/cdn-0\.log\.gz"):
        find_logs(patterns)
    summary = backfill(patterns, tmp_path / "staging", check=False)  # the pipeline alone stages neither

    assert not (tmp_path / "staging").exists()
    assert (summary.counts.files, summary.conflicts, summary.complete) == (2, 2, False)
    assert summary.conflicting_logs[0].startswith(f"not staged: {tmp_path}/a/cdn-0.log.gz, {tmp_path}/b/")


def test_patterns_must_match_something(tmp_path: Path) -> None:
    with pytest.raises(BackfillError, match="nothing-here"):
        backfill([str(tmp_path / "nothing-here*.log.gz")], tmp_path / "staging")
    with pytest.raises(BackfillError, match="no --input"):
        find_logs([])


def test_relative_patterns_are_read_from_the_current_directory(
    logs: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(logs[0].parent)
    assert find_logs(["cdn-old.log.gz"]) == [str(logs[0])]
    assert backfill(["cdn-old.log.gz"], tmp_path).counts.files == 1


def _option(options: PipelineOptions, name: str) -> object:
    return options.get_all_options()[name]


def test_the_default_runner_is_local_with_a_process_per_core() -> None:
    options = pipeline_options()

    assert _option(options, "runner") == "FnApiRunner"
    assert _option(options, "direct_running_mode") == "multi_processing"
    assert _option(options, "direct_num_workers") == os.cpu_count()
    assert _option(pipeline_options(workers=2), "direct_num_workers") == 2
    assert _option(pipeline_options(["--direct_num_workers", "3"], workers=2), "direct_num_workers") == 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: pipeline_options(["--no_such_option", "1"]), "not Beam pipeline options: --no_such_option"),
        (lambda: pipeline_options(workers=0), "--workers 0"),
        (lambda: pipeline_options(runner="DataflowRunner", workers=2), "max_num_workers"),
        (lambda: pipeline_options(runner="DataflowRunner"), "--extra_package"),
    ],
)
def test_options_that_cannot_work_are_refused(make: Callable[[], PipelineOptions], message: str) -> None:
    with pytest.raises(BackfillError, match=message):
        make()


def test_dataflow_runs_read_and_stage_in_cloud_storage(logs: list[Path], tmp_path: Path) -> None:
    options = pipeline_options(["--extra_package", "dist/linehaul.whl"], runner="DataflowRunner")

    with pytest.raises(BackfillError, match="workers cannot see this machine's files"):
        run_backfill([str(logs[0])], "gs://staging", options=options)
    with pytest.raises(BackfillError, match="workers cannot see"):
        run_backfill(["gs://logs/*.log.gz"], str(tmp_path), options=options)


def test_staging_must_be_a_bucket_root_or_a_directory(logs: list[Path]) -> None:
    with pytest.raises(BackfillError, match="bucket's root"):
        run_backfill([str(logs[0])], "gs://staging/prefix", options=pipeline_options(IN_PROCESS))
