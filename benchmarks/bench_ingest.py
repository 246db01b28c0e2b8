"""The ingestor through fake GCS: wall time, CPU time, peak RSS and Cloud Storage requests, against the
parsing core's own.

    python benchmarks/bench_ingest.py CORPUS.log.gz [CORPUS ...] [--core-runs 3] [--warm]
    python benchmarks/bench_ingest.py CORPUS.log.gz --logs 10 [--rounds 2]

For each corpus: a fake-gcs-server (filesystem backend, in a temporary directory) gets the log uploaded;
a fresh child process runs ``ingest_log`` on it with the real Cloud Storage adapter, given the log's
generation as the function's event gives it, through a proxy that counts its requests by kind
(:func:`linehaul.testing.storage_request_kind`: what Cloud Storage bills per operation); another
fresh child runs the core alone (``read_blocks`` + ``Converter`` on the local file, rows dropped), best of
``--core-runs`` (3) since the machine's noise moves it by 20%. Each child reports its wall time, its own CPU
time (``time.process_time``: user + system of that process, its threads included) and its peak RSS; the
fake GCS server's CPU time during the ingest is read from ``/proc``, so the emulator's share of the wall
time shows. What Cloud Functions bills is the ingesting process: its CPU is compared with the core's.
With ``--warm``, the child is a warm instance: it ingests a copy of the log first, with the function's
:class:`~linehaul.pipeline.ingest.KeptConverters`, and then the log (times and requests of that second
ingest; peak RSS of the whole child). Corpora: ``../shared/bench/gen_corpus.py``. To measure an older
checkout side by side, give it as ``--code DIR``: the ingesting child imports linehaul from there, while the
local cloud and the counting proxy stay this tree's.

With ``--logs N``, a warm instance instead: the corpus cut into N consecutive logs of whole lines, all
uploaded, then ingested one after another in one fresh child process, once with a new converter for each
log (as the ingestor did before issue 16's kept converters) and once with a
:class:`~linehaul.pipeline.ingest.KeptConverters` (as the function now does), alternately ``--rounds``
times; each prints its CPU seconds for the first log and for the others, its peak RSS, and its Cloud
Storage requests per log.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUCKETS = ("bench-logs", "bench-staging")


def _function_store(url: str) -> tuple[Any, Any]:
    """The deployed function's settings and its Cloud Storage adapter, on the fake GCS at ``url``."""
    from linehaul.gcp import GcsBlobStore, storage_client
    from linehaul.pipeline.settings import IngestSettings

    try:
        from linehaul.runtime.heap import map_large_buffers
    except ImportError:  # a checkout before the runtime package, measured side by side
        from linehaul.pipeline.heap import map_large_buffers  # type: ignore[no-redef,import-not-found]

    map_large_buffers()  # as the deployed function does on its first event
    settings = IngestSettings.from_env({"RESULT_BUCKET": BUCKETS[1]})  # as the deployed function reads them
    store = GcsBlobStore(storage_client("bench", endpoint=url), chunk_size=settings.upload_chunk_mb << 20)
    return settings, store


def _ingest(url: str, name: str, generation: int, warm_up: tuple[str, str, int] | None) -> dict[str, float]:
    """``ingest_log`` of one log (through the fake GCS at ``url``), as the single-log table reports it: with
    a new converter, or, after ``warm_up`` (another URL of the fake GCS, a log's name and generation), with
    the converters that log left (a warm instance)."""
    from linehaul.pipeline.ingest import KeptConverters

    converters = None
    if warm_up is not None:
        converters, (direct, warm_name, warm_generation) = KeptConverters(), warm_up
        _ingest_each(direct, [(warm_name, warm_generation)], converters)
    run = _ingest_each(url, [(name, generation)], converters)
    return {"lines": run["lines"][0], "seconds": run["seconds"][0], "cpu": run["cpu"][0], "rss": run["rss"]}


def _ingest_many(url: str, logs: list[tuple[str, int]], kept: bool) -> dict[str, Any]:
    """``ingest_log`` of each log (name, generation) in turn, in this process, with kept converters or a
    new one per log."""
    from linehaul.pipeline.ingest import KeptConverters

    return _ingest_each(url, logs, KeptConverters() if kept else None)


def _ingest_each(url: str, logs: list[tuple[str, int]], converters: Any) -> dict[str, Any]:
    """``ingest_log`` of each log (name, generation) in turn, with ``converters`` (a new converter per log
    if None): lines, wall and CPU seconds of each, peak RSS of this process."""
    import time

    from bench_parse import _peak_rss_mib

    from linehaul.pipeline.ingest import ingest_log

    settings, store = _function_store(url)
    seconds, cpu, lines = [], [], []
    for name, generation in logs:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = ingest_log(store, BUCKETS[0], name, settings, generation=generation, converters=converters)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        lines.append(report.counts.lines)
    return {"lines": lines, "seconds": seconds, "cpu": cpu, "rss": _peak_rss_mib()}


def _logs(corpus: str, count: int) -> list[bytes]:
    """The corpus cut into ``count`` gzipped logs of consecutive whole lines."""
    import gzip

    lines = gzip.decompress(Path(corpus).read_bytes()).splitlines(keepends=True)
    cuts = [len(lines) * part // count for part in range(count + 1)]
    return [gzip.compress(b"".join(lines[cuts[i] : cuts[i + 1]]), 6) for i in range(count)]


def _warm(corpus: str, count: int, rounds: int, checkout: str | None) -> None:
    """``--logs``: one instance ingesting ``count`` logs, with a new converter per log and with kept ones."""
    logs, stem = _logs(corpus, count), Path(corpus).name.removesuffix(".log.gz")
    names = [f"{stem}/part{number:03}.log.gz" for number in range(count)]
    print("| corpus | logs | converter | lines | CPU s, first log | CPU s, each later (mean) | CPU s, all "
          "| peak RSS MiB | requests per log |\n|---|---:|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    with _fake_gcs() as (server, store):
        for _ in range(rounds):
            for kept in (False, True):
                pairs = zip(names, logs, strict=True)
                uploaded = [(name, store.put(BUCKETS[0], name, log)) for name, log in pairs]
                with _counting(server.url) as proxy:
                    call = f"b._ingest_many({proxy.url!r}, {uploaded!r}, {kept!r})"
                    run = _child(f"import bench_ingest as b; print(json.dumps({call}))", checkout)
                    requests = proxy.counts().requests
                cpu, what = run["cpu"], "kept" if kept else "new per log"
                later = sum(cpu[1:]) / max(1, len(cpu) - 1)
                print(f"| {Path(corpus).name} | {count} | {what} | {sum(run['lines']):,} | {cpu[0]:.2f} "
                      f"| {later:.3f} | {sum(cpu):.2f} | {run['rss']:.0f} "
                      f"| {requests / count:.1f} |")  # fmt: skip
                sys.stdout.flush()


@contextmanager
def _fake_gcs() -> Iterator[tuple[Any, Any]]:
    """A fake-gcs-server (filesystem backend, in a temporary directory) with both buckets, and a store on
    it; stopped at the end."""
    from linehaul.gcp import GcsBlobStore, storage_client
    from linehaul.local.servers import FakeGcsServer

    with tempfile.TemporaryDirectory(prefix="bench-gcs-") as root:
        server = FakeGcsServer(Path(root))
        server.start()
        try:
            client = storage_client("bench", endpoint=server.url)
            for bucket in BUCKETS:
                client.create_bucket(bucket)
            yield server, GcsBlobStore(client)
        finally:
            server.stop()


def _counting(url: str) -> Any:
    """A proxy in front of the fake GCS at ``url`` that fails nothing and counts requests by kind."""
    from linehaul.testing import FlakyProxy, storage_request_kind

    return FlakyProxy(url, classify=storage_request_kind)


def _child(code: str, checkout: str | None = None) -> Any:
    """Run ``code`` in a fresh Python; with linehaul imported from ``checkout``, if given."""
    here = str(Path(__file__).parent)
    script = f"import json, sys; sys.path.insert(0, {here!r}); {code}"
    env = dict(os.environ, PYTHONPATH=checkout) if checkout else None  # and from there: "" comes first
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env, cwd=checkout)
    return json.loads(result.stdout.splitlines()[-1])


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux's /proc), 0 where there is none."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _row(name: str, lines: float, path: str, seconds: float, cpu: float | None, rss: float | None) -> str:
    cells = [name, f"{int(lines):,}", path, f"{seconds:.2f}", f"{lines / seconds:,.0f}"]
    cells += ["" if cpu is None else f"{cpu:.2f}", "" if rss is None else f"{rss:.0f}"]
    return "| " + " | ".join(cells) + " |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", metavar="CORPUS")
    parser.add_argument("--core-runs", type=int, default=3, metavar="N", help="best of N core runs (3)")
    parser.add_argument("--logs", type=int, default=1, metavar="N",
                        help="cut each corpus into N logs for a warm instance (default 1: off)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, metavar="N", help="with --logs: runs of each (2)")
    parser.add_argument("--code", metavar="DIR",
                        help="the ingesting child imports linehaul from this checkout")  # fmt: skip
    parser.add_argument("--warm", action="store_true",
                        help="ingest each corpus in a warm instance (after a copy of it)")  # fmt: skip
    args = parser.parse_args()
    if args.core_runs < 1 or args.logs < 1 or args.rounds < 1:
        parser.error("--core-runs, --logs and --rounds must be at least 1")
    if args.logs > 1:
        for corpus in args.corpora:
            _warm(corpus, args.logs, args.rounds, args.code)
        return 0
    print("| corpus | lines | path | seconds | lines/s | CPU s | peak RSS MiB |")
    print("|---|---:|---|---:|---:|---:|---:|")
    requests: list[tuple[str, Any]] = []
    for corpus in args.corpora:
        name = Path(corpus).name
        with _fake_gcs() as (server, store):
            data = Path(corpus).read_bytes()
            warm_up = None
            if args.warm:  # ingested straight from the fake GCS: its requests are not the log's
                warm_up = (server.url, f"warm-up/{name}", store.put(BUCKETS[0], f"warm-up/{name}", data))
            generation = store.put(BUCKETS[0], name, data)
            del data
            with _counting(server.url) as proxy:
                before = _cpu_seconds(server.pid)
                call = f"b._ingest({proxy.url!r}, {name!r}, {generation!r}, {warm_up!r})"
                ingest = _child(f"import bench_ingest as b; print(json.dumps({call}))", args.code)
                emulator = _cpu_seconds(server.pid) - before
                requests.append((name, proxy.counts()))
        core_runs = [
            _child(f"import bench_parse as b; print(json.dumps(b._core({corpus!r})))")
            for _ in range(args.core_runs)
        ]
        core = min(core_runs, key=lambda run: run["cpu"])
        lines = ingest["lines"]
        print(_row(name, core["lines"], f"core (local file, best of {args.core_runs})", core["seconds"],
                   core["cpu"], core["rss"]))  # fmt: skip
        print(_row(name, lines, "ingestor via fake GCS", ingest["seconds"], ingest["cpu"], ingest["rss"]))
        if warm_up is None:  # a warm child's emulator time is the warm-up's too
            print(_row(name, lines, "fake-gcs-server during the ingest", ingest["seconds"], emulator, None))
        print(f"| {name} | | ingestor CPU / core CPU | | | **{ingest['cpu'] / core['cpu']:.2f}x** | |")
        if warm_up is None:
            share = emulator / ingest["seconds"]
            print(f"| {name} | | emulator CPU / ingest wall time | | | {share:.0%} | |")
        sys.stdout.flush()
    print("\n| corpus | Cloud Storage requests | by kind |\n|---|---:|---|")
    for name, counts in requests:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.kinds.items()))
        print(f"| {name} | {counts.requests} | {kinds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
