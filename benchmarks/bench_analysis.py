"""Wall time of ``linehaul parse`` on 1 and 2 processes, NDJSON and Parquet, of ``linehaul stats`` on the
logs and on parse's Parquet output, and the size of the outputs; or, with ``--query-export``, of
``linehaul query ... --csv`` against DuckDB's own ``COPY``.

    python benchmarks/bench_analysis.py CORPUS.log.gz [--repeat 3] [--jobs 1 2] [--project requests]
    python benchmarks/bench_analysis.py --query-export [--lines 300000] [--repeat 5]

Each run is ``python -m linehaul ...`` in a fresh process, timed from outside (start-up, reading,
converting, writing: what a person waits for); the best of ``--repeat`` runs counts, as the machine may
be shared. ``linehaul stats --project P --by python`` is timed on the log (logs → Parquet → DuckDB, with
the most jobs, once) and on the Parquet output of parse (``--stats-repeat`` runs, 5 by default: the
target is 0.5 s). Then the sizes of the gzipped log, the NDJSON rows and the Parquet files. Prints
Markdown tables; the latest figures are in benchmarks/README.md. Corpora come from
``../shared/bench/gen_corpus.py --lines N --seed S --out FILE``.

``--query-export`` writes a ``linehaul sample`` of ``--lines`` lines over 30 days, its Parquet (``parse
--format parquet``), and times, in turn and ``--repeat`` times each, in fresh processes whose standard
output is a file: ``linehaul query PQ "SELECT * FROM file_downloads" --csv`` (every row, records flattened
into dotted columns), the same with ``--ndjson``, and DuckDB's own ``COPY`` of the same query to CSV (a
``python -c`` that imports duckdb and runs it: records written as DuckDB's text), and of the flattened
query (the very CSV linehaul writes). Each with its peak RSS (the child's ``ru_maxrss``); the ratio of the
best runs is linehaul's time over DuckDB's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(command: list[str], stdout: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of ``command`` in a fresh process writing to ``stdout``."""
    with open(stdout, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{command} failed: {process.stderr.read().decode() if process.stderr else ''}")
    if process.stderr:
        process.stderr.close()
    return elapsed, usage.ru_maxrss * 1024


_DESCRIBE = """
import json, sys, duckdb
from linehaul.analysis.exports import flat_columns
relation = duckdb.connect().sql(sys.argv[1])
rows = duckdb.connect().sql(f"SELECT count(*) FROM ({sys.argv[1]})").fetchall()[0][0]
print(json.dumps([rows, ", ".join(flat_columns(relation.columns, relation.types))]))
"""


def _query_export(lines: int, repeat: int) -> None:
    """linehaul query --csv (and --ndjson) of every row against DuckDB's own COPY (see the module doc)."""
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-query-") as scratch:
        work = Path(scratch)
        log = work / "sample.log.gz"
        subprocess.run(
            [python, "-m", "linehaul", "sample", str(log), "--lines", str(lines), "--start", "2026-10-01",
             "--days", "30"], check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [
                python,
                "-m",
                "linehaul",
                "parse",
                "--format",
                "parquet",
                "-q",
                "-o",
                str(work / "pq"),
                str(log),
            ],
            check=True,
            capture_output=True,
        )
        parquet = work / "pq" / "file_downloads.parquet"
        source = f"SELECT * FROM read_parquet('{parquet}')"
        # in a child: Linux counts the memory a process had when it forked in its children's peak RSS
        described = subprocess.run(
            [python, "-c", _DESCRIBE, source], check=True, capture_output=True, text=True
        ).stdout
        rows, flat = json.loads(described)
        copy = "import duckdb; c = duckdb.connect(); c.execute(\"SET TimeZone = 'UTC'\"); c.execute({!r})"
        commands = {
            "linehaul query --csv": [python, "-m", "linehaul", "query", str(work / "pq"),
                                     "SELECT * FROM file_downloads", "--csv"],
            "linehaul query --ndjson": [python, "-m", "linehaul", "query", str(work / "pq"),
                                        "SELECT * FROM file_downloads", "--ndjson"],
            "DuckDB COPY, the same query": [python, "-c", copy.format(
                f"COPY ({source}) TO '/dev/stdout' (FORMAT csv, HEADER true)")],
            "DuckDB COPY, flattened as linehaul": [python, "-c", copy.format(
                f"COPY (SELECT {flat} FROM ({source}) AS q) TO '/dev/stdout' (FORMAT csv, HEADER true)")],
        }  # fmt: skip
        runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
        for _ in range(repeat):  # in turn, so that the machine's moods fall on all of them alike
            for name, command in commands.items():
                runs[name].append(_child(command, work / "out"))
                if name == "linehaul query --csv":
                    written = (work / "out").read_bytes().count(b"\n") - 1  # the header aside
        size = _mib(parquet.stat().st_size)
        print(
            f"{lines:,}-line sample: {rows:,} rows of file_downloads ({size} Parquet), {written:,} CSV rows"
        )
        print(f"written; {os.cpu_count()} cores, best of {repeat}\n")
        print("| command | best wall s | runs (s) | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for name, measured in runs.items():
            shown = ", ".join(f"{seconds:.2f}" for seconds, _ in measured)
            peak = max(size for _, size in measured) / (1 << 20)
            print(f"| {name} | {min(seconds for seconds, _ in measured):.2f} | {shown} | {peak:,.0f} |")
        ours = min(seconds for seconds, _ in runs["linehaul query --csv"])
        theirs = min(seconds for seconds, _ in runs["DuckDB COPY, the same query"])
        print(f"\nlinehaul query --csv / DuckDB COPY (best runs): {ours / theirs:.2f}x")


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
    parser.add_argument("corpus", metavar="CORPUS", nargs="?")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best counts")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="process counts to compare")
    parser.add_argument("--project", default="requests", help="the project of the stats question")
    parser.add_argument("--stats-repeat", type=int, default=5, help="runs of stats on Parquet (best counts)")
    parser.add_argument(
        "--query-export", action="store_true", help="time query --csv against DuckDB's COPY instead"
    )
    parser.add_argument("--lines", type=int, default=300_000, help="lines of the sample of --query-export")
    args = parser.parse_args()
    if args.query_export:
        _query_export(args.lines, args.repeat)
        return 0
    if args.corpus is None:
        parser.error("give the CORPUS, or --query-export")
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
