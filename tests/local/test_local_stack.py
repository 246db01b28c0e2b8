"""LocalStack itself: it starts, serves on 127.0.0.1, keeps data when asked, and leaves nothing behind."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from linehaul.gcp import BigQueryAdmin, GcsBlobStore, bigquery_client, storage_client
from linehaul.local import LocalStack, LocalStackError
from linehaul.pipeline.ports import JobExistsError, TableRef

pytestmark = pytest.mark.integration

Rows = list[dict[str, Any]]


def listening(url: str) -> bool:
    address = urlsplit(url)
    with socket.socket() as probe:
        return probe.connect_ex((address.hostname or "", address.port or 0)) == 0


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def children_mentioning(text: str) -> list[int]:
    """Child processes of this one whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if parent == os.getpid() and text in command:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_stop_frees_ports_ends_processes_and_removes_data(
    mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    root_logger = logging.getLogger()
    host_logging = (list(root_logger.handlers), root_logger.level)

    with LocalStack(project="linehaul-stop", bigquery_mode=mode) as stack:
        urls, pids, root = (stack.gcs_url, stack.bq_url), stack.pids, stack.gcs_root
        assert all(urlsplit(url).hostname == "127.0.0.1" for url in urls)
        assert all(listening(url) for url in urls)
        assert set(pids) == {"fake-gcs-server"} | ({"bqemulator"} if mode == "process" else set())
        assert root.is_dir()
        # bqemulator's start-up forces its own root logging set-up; in this process it must not stick.
        assert (list(root_logger.handlers), root_logger.level) == host_logging
        logging.getLogger("linehaul.test").warning("still captured")

    assert not any(listening(url) for url in urls)
    assert not any(running(pid) for pid in pids.values())
    assert not root.exists()
    assert "still captured" in caplog.text


def test_a_failed_start_leaves_nothing_running(tmp_path: Path) -> None:
    (tmp_path / "bigquery").write_text("a file where the emulator's data directory should be")

    with pytest.raises(LocalStackError, match="BigQuery emulator did not start"):
        LocalStack(data_dir=tmp_path).start()

    assert children_mentioning(str(tmp_path)) == []


def test_data_dir_keeps_objects_tables_and_job_ids(
    tmp_path: Path, downloads_schema: Rows, downloads: Rows, ndjson: Any
) -> None:
    table = TableRef("linehaul-kept", "pypi", "file_downloads")
    with LocalStack(project=table.project, data_dir=tmp_path) as stack:
        stack.storage_client().create_bucket("staging")
        stack.blob_store().put("staging", "a.ndjson", ndjson(downloads[:5]))
        admin = stack.bigquery_admin()
        admin.ensure_dataset(table.project, table.dataset)
        admin.create_table(table, downloads_schema)
        loader = stack.table_loader()
        loader.start_load("load-a", ["gs://staging/a.ndjson"], table, downloads_schema)
        assert loader.wait("load-a", timeout=60).succeeded

    with LocalStack(project=table.project, data_dir=tmp_path) as stack:
        assert stack.blob_store().get("staging", "a.ndjson")[0] == ndjson(downloads[:5])
        assert stack.bigquery_admin().count_rows(table) == 5
        with pytest.raises(JobExistsError):
            stack.table_loader().start_load("load-a", ["gs://staging/a.ndjson"], table, downloads_schema)


def test_env_points_a_child_process_at_the_emulators(local_stack: LocalStack, bucket: str) -> None:
    local_stack.blob_store().put(bucket, "hello.txt", b"hello")
    script = textwrap.dedent(f"""
        import json, os
        from linehaul.gcp import GcsBlobStore, BigQueryAdmin, bigquery_client, storage_client
        project = os.environ["GOOGLE_CLOUD_PROJECT"]
        data, _ = GcsBlobStore(storage_client(project)).get({bucket!r}, "hello.txt")
        rows = BigQueryAdmin(bigquery_client(project)).query("SELECT 41 + 1 AS answer")
        print(json.dumps([data.decode(), rows[0]["answer"]]))
    """)
    env = {**os.environ, **local_stack.env}

    finished = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )

    assert json.loads(finished.stdout) == ["hello", 42]


def test_unpatched_in_process_emulator_is_refused_once_patched(local_stack: LocalStack) -> None:
    # The session's stack patched bqemulator in this process (unless the suite runs with the patches off).
    if local_stack.pids.get("bqemulator"):
        pytest.skip("the session's emulator runs in a child process: this process is not patched")

    with pytest.raises(LocalStackError, match="patched in this process"):
        LocalStack(compat=False).start()


def test_clients_take_emulator_hosts_with_or_without_a_scheme(local_stack: LocalStack, bucket: str) -> None:
    bare_gcs = local_stack.gcs_url.removeprefix("http://")
    bare_bigquery = local_stack.bq_url.removeprefix("http://")

    store = GcsBlobStore(storage_client(local_stack.project, endpoint=bare_gcs))
    admin = BigQueryAdmin(
        bigquery_client(local_stack.project, environ={"BIGQUERY_EMULATOR_HOST": bare_bigquery})
    )

    store.put(bucket, "a", b"1")
    assert local_stack.blob_store().get(bucket, "a")[0] == b"1"
    assert admin.query("SELECT 'ok' AS answer") == [{"answer": "ok"}]


@pytest.mark.parametrize(
    ("environ", "project"),
    [
        ({"GOOGLE_CLOUD_PROJECT": "from-google"}, "from-google"),
        ({"GCP_PROJECT": "from-gcp"}, "from-gcp"),
        ({}, "_"),
    ],
)
def test_a_storage_client_without_a_project_takes_it_from_the_environment(
    local_stack: LocalStack, bucket: str, environ: dict[str, str], project: str
) -> None:
    client = storage_client(environ={"STORAGE_EMULATOR_HOST": local_stack.gcs_url, **environ})

    GcsBlobStore(client).put(bucket, "a", b"1")  # objects need no project
    assert client.project == project
    assert local_stack.blob_store().get(bucket, "a")[0] == b"1"
