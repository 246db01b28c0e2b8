"""Shared pieces of the backfill tests: sample logs; what ``linehaul parse`` and a backfill write for one."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from linehaul.beam import BackfillSummary, pipeline_options, run_backfill
from linehaul.cli import main
from linehaul.cli.parse_command import OUTPUT_FILES
from linehaul.logs.sample import sample_lines, write_sample
from linehaul.pipeline.naming import staged_names
from linehaul.tables import Output

IN_PROCESS = ["--direct_running_mode", "in_memory"]  # one process: fast, for the tests of what is staged
ODD_DATE = (
    "download| Thu, 07 Jan 2021 20:54:54 GMT|US|/packages/x/a-1.0.tar.gz|TLSv1.2|AES|a|1.0|sdist|pip/9.0"
)


def backfill(patterns: list[str], staging: Path, **options: bool) -> BackfillSummary:
    return run_backfill(patterns, str(staging), options=pipeline_options(IN_PROCESS, workers=1), **options)


def parsed(log: Path, directory: Path) -> dict[Output, bytes]:
    """What ``linehaul parse`` writes for one log, by output; reasons without their "file" key."""
    assert main(["parse", "--quiet", "-o", str(directory), str(log)]) in (0, 1)
    outputs = {output: (directory / file).read_bytes() for output, file in OUTPUT_FILES.items()}
    reasons = [json.loads(line) for line in outputs[Output.REASONS].splitlines()]
    outputs[Output.REASONS] = b"".join(
        json.dumps({key: value for key, value in reason.items() if key != "file"}).encode() + b"\n"
        for reason in reasons
    )
    return outputs


def staged(staging: Path, log: Path) -> dict[Output, bytes]:
    """What a backfill staged for one log, by output (an output with no lines is not written)."""
    name = log.name.removesuffix(".gz").removesuffix(".log")
    found = sorted(staging.glob(f"processed/*/*-{name}.json")) + sorted(staging.glob(f"*/*/{name}.txt"))
    partitions = {path.parent.name for path in found}
    assert len(partitions) == 1, found
    names = staged_names(partitions.pop(), name).by_output()
    return {output: (staging / where).read_bytes() if (staging / where).exists() else b"" for output, where in
            names.items()}  # fmt: skip


def write_logs(directory: Path) -> list[Path]:
    """Three gzip logs (one of 2019, one whose first date the quick look cannot read) and a plain one."""
    old = write_sample(
        directory / "cdn-old.log.gz", lines=3000, seed=41, start=datetime(2019, 3, 4, tzinfo=UTC)
    )
    new = write_sample(directory / "cdn-new.log.gz", lines=3000, seed=42)
    odd = directory / "cdn-odd.log.gz"
    odd.write_bytes(gzip.compress(("\n".join([ODD_DATE, *sample_lines(2000, seed=43)]) + "\n").encode()))
    plain = write_sample(directory / "cdn-plain.log", lines=1000, seed=44)
    return [old, new, odd, plain]
