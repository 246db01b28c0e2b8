"""CPU of the ingestor's core per line, with the columnar path and with the line converter.

    python benchmarks/bench_ingest_core.py CORPUS.log.gz [CORPUS ...] [--repeat 3]

Each run is ``ingest_log`` of the corpus in a fresh child process against the in-memory blob store
(``linehaul.pipeline.memory``): the ingestor's own work (the first look at the days, reading, converting,
writing the outputs into memory) without a storage server, whose CPU ``bench_ingest.py`` measures. The
child's CPU time (user + system) of the ingest alone counts, the best of ``--repeat`` runs; the switch
is ``LINEHAUL_COLUMNAR`` (``0``: the line converter, as without pyarrow). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, resource, sys, time
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.memory import MemoryBlobStore
from linehaul.pipeline.settings import IngestSettings
store = MemoryBlobStore()
with open(sys.argv[1], "rb") as log:
    store.put("logs", "2026/11/01/cdn.log.gz", log.read())
started, cpu = time.perf_counter(), time.process_time()
report = ingest_log(store, "logs", "2026/11/01/cdn.log.gz", IngestSettings(result_bucket="staging"))
cpu, seconds = time.process_time() - cpu, time.perf_counter() - started
peak = next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"lines": report.counts.lines, "cpu": cpu, "seconds": seconds, "rss": peak}))
"""


def _run(corpus: str, columnar: str) -> dict[str, float]:
    environment = {**os.environ, "LINEHAUL_COLUMNAR": columnar}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, corpus], capture_output=True, text=True, check=True, env=environment
    )
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", metavar="CORPUS")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path; the least CPU counts")
    args = parser.parse_args()
    print("| corpus | path | lines | CPU s | CPU µs/line | wall s | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for corpus in args.corpora:
        for name, switch in (("line converter", "0"), ("columnar path", "1")):
            runs = [_run(corpus, switch) for _ in range(args.repeat)]
            best = min(runs, key=lambda run: run["cpu"])
            cells = [Path(corpus).name, name, f"{int(best['lines']):,}", f"{best['cpu']:.2f}"]
            cells += [
                f"{best['cpu'] / best['lines'] * 1e6:.1f}",
                f"{best['seconds']:.2f}",
                f"{best['rss']:.0f}",
            ]
            print("| " + " | ".join(cells) + " |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
