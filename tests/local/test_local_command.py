"""``linehaul local up`` as a user runs it: a child process, its printed environment, Ctrl-C to stop."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from linehaul.daily.shape import DAILY_TABLES
from linehaul.gcp import BigQueryAdmin, bigquery_client, storage_client
from linehaul.local.resources import DATASET, LOGS_BUCKET, STAGING_BUCKET
from linehaul.pipeline.ports import TableRef
from linehaul.schema import load_schema
from linehaul.tables import Table

pytestmark = pytest.mark.integration

PROJECT = "linehaul-up"


@contextmanager
def local_up(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Run ``linehaul local up`` until it says it is up; yields the process and what it printed."""
    command = [
        sys.executable,
        "-m",
        "linehaul",
        "local",
        "up",
        "--data-dir",
        str(data_dir),
        "--project",
        PROJECT,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(120, process.kill)  # never let a hung start hang the suite
    watchdog.start()
    try:
        assert process.stdout is not None
        printed: list[str] = []
        for line in process.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("# the local cloud is up"):
                break
        yield process, printed
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def exports(printed: list[str]) -> dict[str, str]:
    found = {}
    for line in printed:
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = value
    return found


def listening(url: str) -> bool:
    address = urlsplit(url)
    with socket.socket() as probe:
        return probe.connect_ex((address.hostname or "", address.port or 0)) == 0


def test_up_provisions_prints_its_environment_stops_on_a_signal_and_finds_its_data_again(
    tmp_path: Path,
) -> None:
    with local_up(tmp_path) as (process, first):
        env = exports(first)
        assert env["GOOGLE_CLOUD_PROJECT"] == PROJECT
        storage = storage_client(PROJECT, environ=env)
        assert {bucket.name for bucket in storage.list_buckets()} == {LOGS_BUCKET, STAGING_BUCKET}
        admin = BigQueryAdmin(bigquery_client(PROJECT, environ=env))
        for table in Table:
            schema = list(load_schema(table))
            assert admin.table_schema(TableRef(PROJECT, DATASET, table)) == schema

        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(30) == 0
    assert not any(listening(url) for url in (env["STORAGE_EMULATOR_HOST"], env["BIGQUERY_EMULATOR_HOST"]))

    with local_up(tmp_path) as (process, again):
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0

    assert [line for line in first if line.startswith("# created")] == [
        f"# created bucket {LOGS_BUCKET}",
        f"# created bucket {STAGING_BUCKET}",
        *(f"# created table {PROJECT}.{DATASET}.{table}" for table in Table),
        *(f"# created table {PROJECT}.{DATASET}.{daily.name}" for daily in DAILY_TABLES),
    ]
    assert not [line for line in again if line.startswith(("# created", "# updated"))]
    assert f"# dataset: {PROJECT}.{DATASET}, tables: {', '.join(Table)}" in again
