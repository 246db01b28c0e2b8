"""Wall time of ``linehaul parse`` on 1 and 2 processes, NDJSON and Parquet, of ``linehaul stats`` on the
logs and on parse's Parquet output, and the size of the outputs.

    python benchmarks/bench_analysis.py CORPUS.log.gz [--repeat 3] [--jobs 1 2] [--project requests]

Each run is ``python -m linehaul ...`` in a fresh process, timed from outside (start-up, reading,
converting, writing: what a person waits for); the best of ``--repeat`` runs counts, as the machine may
be shared. ``linehaul stats --project P --by python`` is timed on the log (logs → Parquet → DuckDB, with
the most jobs, once) and on the Parquet output of parse (``--stats-repeat`` runs, 5 by default: the
target is 0.5 s). Then the sizes of the gzipped log, the NDJSON rows and the Parquet files. Prints
Markdown tables; the latest figures are in benchmarks/README.md. Corpora come from
``../shared/bench/gen_corpus.py --lines N --seed S --out FILE``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(arguments: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "linehaul", *arguments], check=True, capture_output=True)
    return time.perf_counter() - started


def _size(directory: Path, suffix: str) -> int:
    return sum(
        path.stat().st_size
        for path in directory.glob(f"*{suffix}")
        if path.name != "unprocessed.reasons.ndjson"
    )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", metavar="CORPUS")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    parser.add_argument("--project", default="requests", help="the project of the stats question")
    parser.add_argument("--stats-repeat", type=int, default=5, help="runs of stats on Parquet (best counts)")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    print(f"corpus {corpus.name}: {_mib(corpus.stat().st_size)} gzipped, {os.cpu_count()} cores\n")
    print("| command | jobs | best wall s | runs (s) |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as scratch:
        outputs = {}
        for output_format in ("ndjson", "parquet"):
            for jobs in args.jobs:
                out = Path(scratch) / f"{output_format}-{jobs}"
                runs = [
                    _wall(
                        ["parse", "--format", output_format, "--jobs", str(jobs), "-o", str(out), str(corpus)]
                    )
                    for _ in range(args.repeat)
                ]
                outputs[output_format] = out
                shown = ", ".join(f"{run:.2f}" for run in runs)
                print(f"| parse --format {output_format} | {jobs} | {min(runs):.2f} | {shown} |")
        jobs = max(args.jobs)
        question = ["--project", args.project, "--by", "python"]
        stats = _wall(["stats", str(corpus), *question, "--jobs", str(jobs)])
        print(f"| stats {' '.join(question)} (from the log) | {jobs} | {stats:.2f} | {stats:.2f} |")
        runs = [_wall(["stats", str(outputs["parquet"]), *question]) for _ in range(args.stats_repeat)]
        shown = ", ".join(f"{run:.2f}" for run in runs)
        print(f"| stats {' '.join(question)} (from parse's Parquet) | 1 | {min(runs):.2f} | {shown} |")
        gz, ndjson, parquet = (
            corpus.stat().st_size,
            _size(outputs["ndjson"], ".ndjson"),
            _size(outputs["parquet"], ".parquet"),
        )
        print("\n| output | size | against the .gz |")
        print("|---|---:|---:|")
        print(f"| gzipped log | {_mib(gz)} | 1.00 |")
        print(f"| NDJSON rows (both tables) | {_mib(ndjson)} | {ndjson / gz:.2f} |")
        print(f"| Parquet rows (both tables, zstd) | {_mib(parquet)} | {parquet / gz:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
