"""The publisher on the local cloud: 1,000 staged files (about 1M rows) into the BigQuery emulator.

    python benchmarks/bench_publish.py CORPUS.log.gz [--files 1000]

Converts the corpus (``../shared/bench/gen_corpus.py --lines 1000000``) into rows, stages them in fake GCS as
``--files`` NDJSON files (downloads and simple requests in proportion), then runs the publisher once with
``continue_publishing`` and ``MAX_BLOBS_PER_RUN=1000``, and counts the rows in the emulator.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor

PARTITION = "20210107"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    from linehaul.convert import Converter
    from linehaul.converted import Converted
    from linehaul.local import LocalStack
    from linehaul.local.resources import DATASET, STAGING_BUCKET
    from linehaul.local.runner import provision
    from linehaul.logs.files import read_blocks
    from linehaul.pipeline.ports import TableRef
    from linehaul.pipeline.publish import publish
    from linehaul.pipeline.request import PublishRequest
    from linehaul.pipeline.settings import PublishSettings

    converted, converter = Converted(), Converter()
    for block in read_blocks(args.corpus):
        converter.convert_block(block, converted)
    rows = {"downloads": converted.downloads, "simple": converted.simple}
    total = len(converted.downloads) + len(converted.simple)
    with LocalStack(project="linehaul-bench") as stack:
        provision(stack)
        store = stack.blob_store()
        files: list[tuple[str, bytes]] = []
        for kind, kind_rows in rows.items():
            count = max(1, round(args.files * len(kind_rows) / total))
            size = -(-len(kind_rows) // count)
            for number, start in enumerate(range(0, len(kind_rows), size)):
                name = f"processed/{PARTITION}/{kind}-bench{number:05d}.json"
                files.append((name, ("\n".join(kind_rows[start : start + size]) + "\n").encode()))
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda item: store.put(STAGING_BUCKET, *item), files))
        staged = time.perf_counter() - started
        settings = PublishSettings(
            stack.project, STAGING_BUCKET, ((stack.project, DATASET),), "file_downloads", "simple_requests"
        )
        started = time.perf_counter()
        report = publish(store, stack.table_loader(), settings, PublishRequest(PARTITION, True))
        seconds = time.perf_counter() - started
        admin = stack.bigquery_admin()
        counted = sum(
            admin.count_rows(TableRef(stack.project, DATASET, t))
            for t in ("file_downloads", "simple_requests")
        )
    print(f"staged {len(files)} files ({total:,} rows) in {staged:.1f} s")
    print(
        f"published {report.files} files in {report.batches} batches, {report.jobs_submitted} load jobs: "
        f"{seconds:.1f} s, {counted / seconds:,.0f} rows/s; rows counted in the emulator: {counted:,}"
    )
    return 0 if counted == total else 1


if __name__ == "__main__":
    sys.exit(main())
