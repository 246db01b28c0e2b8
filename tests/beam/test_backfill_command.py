"""``linehaul backfill`` as users run it: two worker processes, a line per log, a summary, exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from linehaul.cli import main
from tests.beam.helpers import parsed, staged


def _summary(text: str) -> dict[str, str]:
    return dict(part.split("=") for part in text.strip().splitlines()[-1].split())


def test_a_local_backfill_on_two_workers_stages_what_parse_writes(
    logs: list[Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pattern = str(logs[0].parent / "cdn-*")

    status = main(["backfill", "--input", pattern, "--staging", str(tmp_path / "staging"), "--workers", "2"])

    out, err = capfd.readouterr()
    assert status == 0, err
    for log in logs:
        assert staged(tmp_path / "staging", log) == parsed(log, tmp_path / log.name), log.name
        assert f"linehaul backfill: staged {log} -> " in err  # a worker's line per log
    capfd.readouterr()
    assert main(["parse", "--quiet", "-o", str(tmp_path / "all"), *map(str, logs)]) == 0
    parse = _summary(capfd.readouterr().out)
    backfill = _summary(out)
    assert backfill["files"] == "4"
    for count in ("lines", "file_downloads", "simple_requests", "unprocessed", "ignored"):
        assert backfill[count] == parse[count], count
    assert backfill["quarantined"] == "0"


def test_shell_expanded_inputs_and_quiet(
    logs: list[Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    arguments = ["backfill", "--quiet", "--staging", str(tmp_path), "--input", *map(str, logs[:2])]

    assert main([*arguments, "--", "--direct_running_mode", "in_memory"]) == 0

    out, err = capfd.readouterr()
    assert err == ""
    assert _summary(out)["files"] == "2"
    assert sorted(path.name for path in tmp_path.glob("processed/*/downloads-*")) == [
        "downloads-cdn-new.json",
        "downloads-cdn-old.json",
    ]


def test_a_damaged_log_gives_exit_status_1_and_is_named(
    logs: list[Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    damaged = tmp_path / "cdn-cut.log.gz"
    damaged.write_bytes(logs[0].read_bytes()[:5000])

    status = main(
        ["backfill", "--input", str(damaged), "--staging", str(tmp_path / "staging"), "--workers", "1"]
    )

    out, err = capfd.readouterr()
    assert status == 1
    assert f"quarantined (damaged; its readable lines staged): {damaged}: the gzip data is cut short" in err
    assert _summary(out)["quarantined"] == "1"
    assert damaged.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--input", "/no/such/dir/*.log.gz"], "/no/such/dir/*.log.gz: matches no file"),
        (["--runner", "DataflowRunner"], "--extra_package"),
        (["--workers", "0"], "--workers 0"),
        (["--", "--no_such_option"], "not Beam pipeline options: --no_such_option"),
        (["--staging", "gs://bucket/prefix"], "bucket's root"),
    ],
)
def test_usage_errors_say_what_is_wrong(
    logs: list[Path], tmp_path: Path, capfd: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    defaults = {"--input": str(logs[0]), "--staging": str(tmp_path)}
    given = [argument for argument in arguments if argument in defaults]
    chosen = [item for key, value in defaults.items() if key not in given for item in (key, value)]

    assert main(["backfill", *chosen, *arguments]) == 2

    assert message in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_logs_with_the_same_base_name_stop_it_before_it_starts(
    logs: list[Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    for directory in ("a", "b"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "cdn-0.log.gz").write_bytes(logs[0].read_bytes())
    staging = tmp_path / "staging"

    status = main(["backfill", "--input", str(tmp_path / "*" / "cdn-0.log.gz"), "--staging", str(staging)])

    assert status == 2
    assert "base names are shared by several logs" in capfd.readouterr().err
    assert not staging.exists()
