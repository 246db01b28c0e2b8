"""The local cloud: fake GCS and the BigQuery emulator, started together, sharing their storage.

    with LocalStack(project="linehaul-dev") as stack:
        store = stack.blob_store()            # linehaul.gcp adapters wired to the emulators
        loader = stack.table_loader()
        subprocess.run([...], env={**os.environ, **stack.env})   # or a child that builds its own clients

Everything listens on 127.0.0.1, on ports the kernel picked. Data lives in a temporary directory removed on
stop, or in ``data_dir`` (kept, and found again on the next start: objects in ``data_dir/gcs``, BigQuery's
DuckDB database in ``data_dir/bigquery``).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from linehaul.local._processes import LocalStackError, Startable
from linehaul.local.servers import BigQueryServer, BigQuerySubprocess, FakeGcsServer, InProcessBigQuery

if TYPE_CHECKING:
    from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader, GcsBlobStore
    from linehaul.gcp.clients import BigQueryClient, StorageClient

__all__ = ["DEFAULT_PROJECT", "LocalStack"]

DEFAULT_PROJECT = "linehaul-local"

BigQueryMode = Literal["thread", "process"]


class LocalStack(Startable):
    """fake-gcs-server (a child process) and bqemulator (a thread of this process, or a child process).

    ``compat=False`` runs the BigQuery emulator without :mod:`linehaul.local.bqcompat`, to see upstream
    behaviour (in thread mode only while no patched emulator ran in this process). A failed start stops
    whatever had started and raises LocalStackError.
    """

    def __init__(
        self,
        *,
        project: str = DEFAULT_PROJECT,
        data_dir: Path | None = None,
        bigquery_mode: BigQueryMode = "thread",
        compat: bool = True,
    ) -> None:
        self.project = project
        self._data_dir = data_dir
        self._bigquery_mode = bigquery_mode
        self._compat = compat
        self._temporary: Path | None = None
        self._gcs: FakeGcsServer | None = None
        self._bigquery: BigQueryServer | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start both emulators; return once both answer."""
        if self._gcs is not None:
            raise LocalStackError("the local stack is already running")
        try:
            root = self._data_dir or Path(tempfile.mkdtemp(prefix="linehaul-local-"))
            self._temporary = None if self._data_dir else root
            gcs_root = root / "gcs"  # fake-gcs-server's -filesystem-root and bqemulator's gcs_local_root
            self._gcs = FakeGcsServer(gcs_root)
            self._gcs.start()
            bigquery_data = None if self._data_dir is None else self._data_dir / "bigquery"
            server_type = InProcessBigQuery if self._bigquery_mode == "thread" else BigQuerySubprocess
            self._bigquery = server_type(
                project=self.project, gcs_root=gcs_root, data_dir=bigquery_data, compat=self._compat
            )
            self._bigquery.start(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop both emulators and remove temporary data (idempotent)."""
        bigquery, gcs, temporary = self._bigquery, self._gcs, self._temporary
        self._bigquery = self._gcs = self._temporary = None
        try:
            if bigquery is not None:
                bigquery.stop()
        finally:
            if gcs is not None:
                gcs.stop()
            if temporary is not None:
                shutil.rmtree(temporary, ignore_errors=True)

    @property
    def gcs_root(self) -> Path:
        """The directory holding the objects (read-only for anything but fake-gcs-server)."""
        return self._running_gcs().root

    @property
    def gcs_url(self) -> str:
        return self._running_gcs().url

    @property
    def bq_url(self) -> str:
        if self._bigquery is None:
            raise LocalStackError("the local stack is not running")
        return self._bigquery.url

    @property
    def pids(self) -> dict[str, int]:
        """Process ids of the emulators that run as child processes."""
        servers: dict[str, Any] = {"fake-gcs-server": self._gcs, "bqemulator": self._bigquery}
        pids = {name: getattr(server, "pid", None) for name, server in servers.items()}
        return {name: pid for name, pid in pids.items() if pid is not None}

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point Google's client libraries (and linehaul.gcp) at the emulators."""
        from linehaul.gcp.clients import BIGQUERY_EMULATOR_HOST, STORAGE_EMULATOR_HOST

        return {
            STORAGE_EMULATOR_HOST: self.gcs_url,
            BIGQUERY_EMULATOR_HOST: self.bq_url,
            "GOOGLE_CLOUD_PROJECT": self.project,
        }

    def storage_client(self) -> StorageClient:
        """A ``google.cloud.storage.Client`` of fake GCS (anonymous credentials)."""
        from linehaul.gcp.clients import storage_client

        return storage_client(self.project, endpoint=self.gcs_url)

    def bigquery_client(self) -> BigQueryClient:
        """A ``google.cloud.bigquery.Client`` of the BigQuery emulator (anonymous credentials)."""
        from linehaul.gcp.clients import bigquery_client

        return bigquery_client(self.project, endpoint=self.bq_url)

    def blob_store(self) -> GcsBlobStore:
        from linehaul.gcp import GcsBlobStore

        return GcsBlobStore(self.storage_client())

    def table_loader(self) -> BigQueryTableLoader:
        from linehaul.gcp import BigQueryTableLoader

        return BigQueryTableLoader(self.bigquery_client())

    def bigquery_admin(self) -> BigQueryAdmin:
        from linehaul.gcp import BigQueryAdmin

        return BigQueryAdmin(self.bigquery_client())

    def _running_gcs(self) -> FakeGcsServer:
        if self._gcs is None:
            raise LocalStackError("the local stack is not running")
        return self._gcs
