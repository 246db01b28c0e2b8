"""Wall time of ``linehaul backfill`` on local logs with 1 and 2 worker processes, beside ``linehaul parse``.

    python benchmarks/bench_backfill.py LOG... [--repeat 3] [--workers 1 2]

Each run is ``python -m linehaul backfill --quiet --workers N --input LOG... --staging DIR`` in a fresh
process, timed from outside (start-up, Beam's set-up, reading, converting, staging: what a person waits
for); the runs alternate between the worker counts and the best of ``--repeat`` counts, as the machine may
be shared. Every run must stage the same bytes (checked). For reference, ``linehaul parse --jobs 1`` on the
same logs: one process, no Beam. Also the largest peak RSS of any process of a run (Beam's workers
included). Prints a Markdown table; the latest figures are in benchmarks/README.md.
Logs come from ``../shared/bench/gen_corpus.py --lines N --seed S --out FILE`` (one seed per log).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Runs a command and prints the largest peak RSS (KiB) among it and the processes it waited for (Beam's
# workers): RUSAGE_CHILDREN of a fresh process counts that command's processes only.
_PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _run(arguments: list[str]) -> tuple[float, str, int]:
    """(wall seconds, the summary line, peak RSS in MiB of any of its processes) of ``linehaul ARGUMENTS``."""
    started = time.perf_counter()
    command = [sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "linehaul", *arguments]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    *_, summary, peak = done.stdout.strip().splitlines()
    return time.perf_counter() - started, summary, int(peak) >> 10


def _digest(directory: Path) -> str:
    """One hash of every file under ``directory``: names and bytes."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(directory)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logs", nargs="+", metavar="LOG")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    args = parser.parse_args()
    logs = [str(Path(log).resolve()) for log in args.logs]
    size = sum(Path(log).stat().st_size for log in logs)
    print(f"{len(logs)} logs, {size / (1 << 20):,.1f} MiB gzipped, {os.cpu_count()} cores\n")
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as scratch:
        parse_runs = [
            _run(["parse", "--quiet", "-o", f"{scratch}/parsed", *logs]) for _ in range(args.repeat)
        ]
        lines = int(dict(part.split("=") for part in parse_runs[0][1].split())["lines"])
        runs: dict[int, list[float]] = {workers: [] for workers in args.workers}
        peaks: dict[int, int] = dict.fromkeys(args.workers, 0)
        digests = set()
        for _ in range(args.repeat):
            for workers in args.workers:
                staging = Path(scratch) / "staging"
                arguments = ["backfill", "--quiet", "--workers", str(workers), "--staging", str(staging)]
                seconds, summary, peak = _run([*arguments, "--input", *logs])
                assert f"lines={lines} " in summary, summary
                runs[workers].append(seconds)
                peaks[workers] = max(peaks[workers], peak)
                digests.add(_digest(staging))
                shutil.rmtree(staging)
        assert len(digests) == 1, "every run stages the same bytes"
        print(f"{lines:,} lines\n")
        print("| command | best wall s | lines/s | runs (s) | peak RSS of a process |")
        print("|---|---:|---:|---:|---:|")
        best_parse = min(seconds for seconds, _, _ in parse_runs)
        shown = ", ".join(f"{seconds:.2f}" for seconds, _, _ in parse_runs)
        peak = max(peak for _, _, peak in parse_runs)
        row = f"| parse --jobs 1 (no Beam) | {best_parse:.2f} | {lines / best_parse:,.0f} | {shown} |"
        print(f"{row} {peak} MiB |")
        for workers, timings in runs.items():
            shown = ", ".join(f"{run:.2f}" for run in timings)
            best = min(timings)
            row = f"| backfill --workers {workers} | {best:.2f} | {lines / best:,.0f} | {shown} |"
            print(f"{row} {peaks[workers]} MiB |")
        if len(runs) == 2:
            one, two = (min(timings) for timings in runs.values())
            print(f"\nspeed-up of {args.workers[1]} workers over {args.workers[0]}: {one / two:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
