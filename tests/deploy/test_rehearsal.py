"""Deployment rehearsal: each packaged function, installed on its own as Cloud Functions installs it, runs.

``scripts/package-functions`` writes both function directories into a temporary directory; each is copied,
installed into a fresh virtual environment with ``pip install --require-hashes -r requirements.txt`` and
served by that environment's ``functions-framework`` from the copy, with the entry point and environment
that deploy/cloudbuild.yaml deploys. A generated log then goes through both functions on the local cloud:
staged by the rehearsed ingestor, loaded by the rehearsed publisher, and the rows in the BigQuery emulator
are those ``linehaul parse`` writes. Run with ``-s`` to see the install times and counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from linehaul.cli import main
from linehaul.gcp import BigQueryAdmin, GcsBlobStore
from linehaul.gcp.tables import apply_schemas
from linehaul.local import FunctionServer, LocalStack
from linehaul.pipeline.naming import partition_in, staged_output, staged_prefix
from linehaul.rows import FILE_DOWNLOADS, SIMPLE_REQUESTS
from linehaul.sample import write_sample
from linehaul.tables import Output
from tests.cloud import PROJECT, canonical_row
from tests.deploy.cloudbuild import PLACEHOLDERS, Deploy, config_commands, deploys, load_config
from tests.deploy.locks import FUNCTIONS, ROOT, read_lock
from tests.deploy.rehearsal import Installed, install

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LINES = 3000
_ROUNDS = 5  # publisher messages per partition before giving up on one that does not empty


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``scripts/package-functions OUTPUT``: the directories a deployment uploads."""
    output = tmp_path_factory.mktemp("packaged")
    script = [str(ROOT / "scripts" / "package-functions"), str(output)]
    result = subprocess.run(script, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    return output


@pytest.fixture(scope="module")
def installed(packaged: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Installed]:
    """Each function installed on its own (two environments: the locks differ)."""
    workspace = tmp_path_factory.mktemp("deployed")
    done = {name: install(packaged, name, workspace) for name in FUNCTIONS}
    for name, function in done.items():
        print(f"\nrehearsal: {name}: pip install --require-hashes took {function.install_seconds:.1f} s")
    return done


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_environment_holds_exactly_the_lock_and_the_wheel(
    name: str, installed: dict[str, Installed]
) -> None:
    function = installed[name]
    locked = read_lock((function.directory / "requirements.txt").read_text())
    frozen = function.frozen()
    linehaul_url = frozen.pop("linehaul")
    location = function.run("python", "-c", "import linehaul, sys; print(linehaul.__file__); print(sys.path)")
    module, search_path = location.splitlines()

    assert frozen == {pin.name: pin.version for pin in locked.values()}
    assert linehaul_url.startswith(f"file://{function.directory}/wheels/linehaul-")
    assert Path(module).is_relative_to(function.venv / "lib")
    assert str(ROOT) not in search_path


def _parse(log: Path, output: Path) -> dict[str, int]:
    """``linehaul parse``'s summary counts for ``log``; its outputs in ``output``."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["parse", "-o", str(output), str(log)]) == 0
    return {key: int(float(value)) for key, value in (part.split("=") for part in printed.getvalue().split())}


def _staged_rows(store: GcsBlobStore, bucket: str, output: Output) -> int:
    names = [
        info.name for info in store.list(bucket, staged_prefix(output)) if staged_output(info.name) is output
    ]
    return sum(store.get(bucket, name)[0].count(b"\n") for name in names)


def _deployed(values: dict[str, str]) -> dict[str, Deploy]:
    """deploy/cloudbuild.yaml's deployments, its substitutions given ``values``."""
    return {
        name.removeprefix("linehaul-"): deploy
        for name, deploy in deploys(config_commands(load_config(), {**PLACEHOLDERS, **values})).items()
    }


@contextlib.contextmanager
def _serve(function: Installed, deploy: Deploy, stack: LocalStack) -> Iterator[FunctionServer]:
    """The function as deployed: its environment's functions-framework, in its directory, with the
    deployment's entry point and variables, pointed at the local cloud, and nothing else."""
    environment = {**function.environment, **stack.env, **deploy.environment()}
    server = FunctionServer(
        Path("main.py"),
        deploy.value("--entry-point"),
        env=environment,
        project=stack.project,
        framework=[str(function.functions_framework)],
        cwd=function.directory,
        inherit_env=False,
    )
    with server:
        yield server


def test_the_rehearsed_functions_stage_and_load_a_log(
    installed: dict[str, Installed],
    local_stack: LocalStack,
    bigquery_admin: BigQueryAdmin,
    dataset: str,
    tmp_path: Path,
) -> None:
    logs, staging = f"logs-{uuid.uuid4().hex[:12]}", f"staging-{uuid.uuid4().hex[:12]}"
    for bucket in (logs, staging):
        local_stack.storage_client().create_bucket(bucket)
    tables = {FILE_DOWNLOADS: FILE_DOWNLOADS, SIMPLE_REQUESTS: SIMPLE_REQUESTS}
    apply_schemas(bigquery_admin, PROJECT, dataset, tables)
    deployed = _deployed(
        {"PROJECT_ID": PROJECT, "_LOG_BUCKET": logs, "_STAGING_BUCKET": staging, "_DATASET": dataset}
    )
    log = write_sample(tmp_path / "cdn.log.gz", lines=LINES, seed=15, start=datetime(2021, 1, 7, tzinfo=UTC))
    parsed = _parse(log, tmp_path / "parsed")
    store = local_stack.blob_store()
    name = f"2021/01/07/{log.name}"

    generation = store.put(logs, name, log.read_bytes(), content_type="application/gzip")
    with _serve(installed["ingestor"], deployed["ingestor"], local_stack) as ingestor:
        delivery = ingestor.storage_finalized(logs, name, generation, size=log.stat().st_size)
        assert delivery.ok, ingestor.output()
    staged = {output: _staged_rows(store, staging, output) for output in Output.of_rows()}
    names = [info.name for info in store.list(staging, staged_prefix(Output.DOWNLOADS))]
    partitions = sorted({partition for name in names if (partition := partition_in(name)) is not None})
    with _serve(installed["publisher"], deployed["publisher"], local_stack) as publisher:
        for partition in partitions:
            for _ in range(_ROUNDS):
                attributes = {"partition": partition, "continue_publishing": "true"}
                delivery = publisher.pubsub_message(b"publish", attributes)
                assert delivery.ok, publisher.output()
                if not any(True for _ in store.list(staging, staged_prefix(Output.DOWNLOADS, partition))):
                    break
    loaded = {table: bigquery_admin.query(f"SELECT * FROM `{PROJECT}.{dataset}.{table}`") for table in tables}
    print(
        f"\nrehearsal: lines={LINES} staged: downloads={staged[Output.DOWNLOADS]} "
        f"simple={staged[Output.SIMPLE]} "
        f"in {len(partitions)} partition(s); loaded: file_downloads={len(loaded[FILE_DOWNLOADS])} "
        f"simple_requests={len(loaded[SIMPLE_REQUESTS])}; linehaul parse: "
        f"file_downloads={parsed['file_downloads']} simple_requests={parsed['simple_requests']}"
    )

    assert list(store.list(logs, "")) == []  # ingested, then deleted
    assert (staged[Output.DOWNLOADS], staged[Output.SIMPLE]) == (
        parsed["file_downloads"],
        parsed["simple_requests"],
    )
    assert list(store.list(staging, staged_prefix(Output.DOWNLOADS))) == []
    for table, rows in loaded.items():
        expected = (tmp_path / "parsed" / f"{table}.ndjson").read_text().splitlines()
        assert sorted(map(canonical_row, rows)) == sorted(
            canonical_row(json.loads(line)) for line in expected
        ), table
    assert len(loaded[FILE_DOWNLOADS]) == parsed["file_downloads"] > 0
    assert len(loaded[SIMPLE_REQUESTS]) == parsed["simple_requests"] > 0
