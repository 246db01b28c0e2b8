"""Throughput and memory of the parsing core: read + parse + classify + serialize, on one core.

    python benchmarks/bench_parse.py CORPUS.log.gz [CORPUS ...] [--repeat 3] [--reference PYTHON]

Each corpus is measured in a fresh child process (cold caches, its own peak RSS), for:

* ``core``: ``read_blocks`` + ``block_converter(NDJSON)``, the path of ``linehaul parse`` and the ingestor
  (the line converter), minus writing the output files (each block's NDJSON bytes are made, then dropped);
* ``columnar path, NDJSON``: the same bytes made by the columnar path (:mod:`linehaul.columnar`), which
  NDJSON does not use: measured here to show why;
* ``Arrow tables``: the rows as Arrow tables (``linehaul.analysis.arrow.ARROW``, the work of
  ``parse --format parquet`` and ``stats`` on logs before the Parquet writer), by the line converter and
  Arrow's JSON reader, and by the columnar path (which serves it where pyarrow is installed);
* ``baseline``: a minimal split-and-dump (``line.split("|")`` and ``json.dumps`` of a flat dict) over the
  same decompressed lines, no validation, no classification: the floor the issue compares against;
* ``library``: ``dumps_row(to_row(parse_line(line)))`` per line (the first 100,000 lines), the simple path;
* ``production`` (with ``--reference``): production Linehaul 1.0.3's per-line work, timed by
  ``../shared/conformance/ref_ingest.py`` with that Python (a venv with ``linehaul==1.0.3``; the
  conformance script makes one under ``~/.cache/linehaul-conformance/ref-venv``).

Corpora come from ``../shared/bench/gen_corpus.py --lines N --seed S --out FILE`` (or ``linehaul sample``).
Prints a Markdown table; the latest figures are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

REF_INGEST = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "ref_ingest.py"
LIBRARY_LINES = 100_000


def _peak_rss_mib() -> float:
    """This process's peak resident memory, MiB. Linux's VmHWM where there is one: ``ru_maxrss`` carries
    the parent's peak over into a child it starts (through fork and exec), hiding a smaller peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _blocks_module() -> Any:
    """Where the codecs and block converters are: ``linehaul.logs.blocks``, or in a checkout from before
    they moved there, ``linehaul.logs.parallel``."""
    try:
        from linehaul.logs import blocks
    except ImportError:
        from linehaul.logs import parallel

        return parallel
    return blocks


def _converted(corpus: str, codec_name: str, columnar: bool) -> dict[str, float]:
    """``read_blocks`` + ``block_converter(codec)``: every block's rows made (NDJSON bytes or Arrow
    tables), then dropped."""
    import os

    os.environ["LINEHAUL_COLUMNAR"] = "1" if columnar else "0"
    from linehaul.logs.files import read_blocks

    blocks = _blocks_module()
    codec: Any = blocks.COLUMNAR_NDJSON if columnar else blocks.NDJSON
    if codec_name == "arrow":
        from linehaul.analysis.arrow import ARROW

        codec = ARROW
    started, cpu = time.perf_counter(), time.process_time()
    if not hasattr(blocks, "block_converter"):  # a checkout before the columnar path, measured side by side
        return _before_columnar(corpus, codec, started, cpu)
    converter, lines = blocks.block_converter(codec), 0
    for block in read_blocks(corpus, converter.block_size):
        lines += converter.convert(corpus, block).counts.lines
    return {"lines": lines, "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu, "rss": _peak_rss_mib()}  # fmt: skip


def _before_columnar(corpus: str, codec: Any, started: float, cpu: float) -> dict[str, float]:
    from linehaul.convert import Converter
    from linehaul.logs.files import read_blocks

    blocks, converter, lines = _blocks_module(), Converter(), 0
    for block in read_blocks(corpus):
        lines += blocks.convert_block(converter, corpus, block, codec.to_rows).counts.lines
    return {"lines": lines, "seconds": time.perf_counter() - started,
            "cpu": time.process_time() - cpu, "rss": _peak_rss_mib()}  # fmt: skip


def _core(corpus: str) -> dict[str, float]:
    return _converted(corpus, "ndjson", columnar=False)


def _columnar(corpus: str) -> dict[str, float]:
    return _converted(corpus, "ndjson", columnar=True)


def _arrow(corpus: str) -> dict[str, float]:
    return _converted(corpus, "arrow", columnar=False)


def _arrow_columnar(corpus: str) -> dict[str, float]:
    return _converted(corpus, "arrow", columnar=True)


def _baseline(corpus: str) -> dict[str, float]:
    from linehaul.logs.files import read_blocks

    started, lines = time.perf_counter(), 0
    keys = ("kind", "date", "country", "url", "protocol", "cipher", "project", "version", "type", "agent")
    for block in read_blocks(corpus):
        text = block.decode(errors="replace")
        dumped = [json.dumps(dict(zip(keys, line.split("|", 9), strict=False))) for line in text.splitlines()]
        lines += len(dumped)
    return {"lines": lines, "seconds": time.perf_counter() - started, "rss": _peak_rss_mib()}


def _library(corpus: str) -> dict[str, float]:
    from linehaul import Ignored, LineError, dumps_row, parse_line, to_row
    from linehaul.logs.files import read_blocks

    raw: list[bytes] = []
    for block in read_blocks(corpus):
        raw += block.split(b"\n")
        if len(raw) > LIBRARY_LINES:
            break
    raw = raw[:LIBRARY_LINES]
    started = time.perf_counter()
    for line in raw:
        try:
            outcome = parse_line(line)
        except LineError:
            continue
        if not isinstance(outcome, Ignored):
            dumps_row(to_row(outcome))
    return {"lines": len(raw), "seconds": time.perf_counter() - started, "rss": _peak_rss_mib()}


def _child(kind: str, corpus: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and return its figures."""
    code = f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_parse as b; "
    code += f"print(json.dumps(b._{kind}({corpus!r})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def _production(python: str, corpus: str) -> dict[str, float]:
    result = subprocess.run(
        [python, str(REF_INGEST), corpus, "--parser-seed", "0"], capture_output=True, text=True
    )
    loop = re.search(r"loop: ([\d.]+) s\s+([\d,]+) lines/s", result.stdout)
    lines = re.search(r"lines: (\d+)", result.stdout)
    rss = re.search(r"peak RSS: ([\d.]+) MiB", result.stdout)
    if not (loop and lines and rss):
        raise SystemExit(f"reference run failed:\n{result.stdout}\n{result.stderr}")
    return {"lines": int(lines[1]), "seconds": float(loop[1]), "rss": float(rss[1])}


def _best_of(corpus: str, repeat: int, kind: str) -> dict[str, float]:
    return min((_child(kind, corpus) for _ in range(repeat)), key=lambda run: run["seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", metavar="CORPUS")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the core per corpus; the best counts")
    parser.add_argument(
        "--reference", metavar="PYTHON", help="a Python with linehaul==1.0.3 for the production row"
    )
    args = parser.parse_args()
    print("| corpus | lines | path | seconds | lines/s | CPU lines/s | peak RSS MiB |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for corpus in args.corpora:
        name = Path(corpus).name

        best_of = partial(_best_of, corpus, args.repeat)
        best = best_of("core")
        figures = {f"core: line converter, NDJSON (best of {args.repeat})": best,
                   f"columnar path, NDJSON (best of {args.repeat})": best_of("columnar"),
                   f"line converter, Arrow tables (best of {args.repeat})": best_of("arrow"),
                   f"columnar path, Arrow tables (best of {args.repeat})": best_of("arrow_columnar"),
                   "baseline split+dump": _child("baseline", corpus),
                   "library parse_line": _child("library", corpus)}  # fmt: skip
        if args.reference:
            figures["production 1.0.3"] = _production(args.reference, corpus)
        for path, run in figures.items():
            rate = run["lines"] / run["seconds"]
            cpu = f"{run['lines'] / run['cpu']:,.0f}" if "cpu" in run else ""
            cells = [name, f"{int(run['lines']):,}", path, f"{run['seconds']:.2f}", f"{rate:,.0f}", cpu]
            print("| " + " | ".join(cells) + f" | {run['rss']:.0f} |")
        if args.reference:
            production = figures["production 1.0.3"]
            ratio = (best["lines"] / best["seconds"]) / (production["lines"] / production["seconds"])
            print(f"| {name} | | core / production | | **{ratio:.0f}x** | | |")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
