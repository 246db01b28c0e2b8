"""The pipeline on a flaky local cloud: every row once, and how long until nothing is left to publish.

    python benchmarks/bench_flaky.py CORPUS.log.gz [--logs 24] [--lines 30000] [--fail 0.10] [--seed 1]

Splits the first ``--lines`` lines of the corpus (``../shared/bench/gen_corpus.py``) into ``--logs`` gzipped
logs, then runs :func:`linehaul.testing.settle.settle`: both functions served locally behind flaky HTTP
proxies failing ``--fail`` of the requests to fake GCS and the BigQuery emulator (half before the backend
acts, half after), every storage event delivered twice, publisher messages with ``continue_publishing=true``
every second, ``LOCK_SECONDS=600``. Prints what failed, the runs, the rows per table against the counts of
parsing the same lines, and the seconds until the pipeline settled (or ``--max-runs`` messages were sent).
Exits 0 only if it settled with every row loaded exactly once.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import sys
import tempfile
from pathlib import Path


def split_corpus(corpus: str, lines: int, logs: int, directory: Path) -> list[Path]:
    """The first ``lines`` lines of ``corpus`` as ``logs`` gzipped logs of consecutive lines."""
    from linehaul.logs.files import read_blocks

    head = list(
        itertools.islice((line for block in read_blocks(corpus) for line in block.splitlines()), lines)
    )
    size = -(-len(head) // logs)
    paths = []
    for number in range(logs):
        path = directory / f"cdn-{number:03d}.log.gz"
        path.write_bytes(
            gzip.compress(b"\n".join(head[number * size : (number + 1) * size]) + b"\n", mtime=0)
        )
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--logs", type=int, default=24)
    parser.add_argument("--lines", type=int, default=30_000)
    parser.add_argument("--fail", type=float, default=0.10, help="fraction of requests failed (half after)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lock-seconds", type=float, default=600.0)
    parser.add_argument("--max-runs", type=int, default=240, help="publisher messages before giving up")
    args = parser.parse_args()
    from linehaul.local import LocalStack
    from linehaul.testing.settle import FlakyPlan, settle

    plan = FlakyPlan(
        fail_before=args.fail / 2,
        fail_after=args.fail / 2,
        seed=args.seed,
        lock_seconds=args.lock_seconds,
        max_runs=args.max_runs,
    )
    with tempfile.TemporaryDirectory() as directory:
        logs = split_corpus(args.corpus, args.lines, args.logs, Path(directory))
        with LocalStack(project="linehaul-bench") as stack:
            report = settle(stack, logs, plan)
    print(f"{args.logs} logs, {args.lines:,} lines of {Path(args.corpus).name}: {report.expected.line()}")
    for line in report.lines():
        print(line)
    return 0 if report.settled and report.exactly_once else 1


if __name__ == "__main__":
    sys.exit(main())
