"""Deployment rehearsal: each packaged function, installed on its own as Cloud Functions installs it, runs.

``scripts/package-functions`` writes both function directories into a temporary directory, as the build's
``package`` step does (the build backend from deploy/build-tools.lock, hashed, no build isolation); each is
copied, installed into a fresh virtual environment with ``pip install --require-hashes -r requirements.txt``
and served by that environment's ``functions-framework`` from the copy, with the entry point and environment
that deploy/cloudbuild.yaml deploys (and Cloud Run's ``K_SERVICE`` and ``K_REVISION``). A generated log then
goes through both functions on the local cloud: staged by the rehearsed ingestor, loaded by the rehearsed
publisher, and the rows in the BigQuery emulator are those ``linehaul parse`` writes.

The alerts: the rehearsed functions also meet what deploy/monitoring/'s metrics count (a failure of each, a
damaged log, a staged file a load job refuses), and each metric's filter, evaluated on the lines they
wrote, selects the lines of exactly the cases it is for: its fields are fields the functions write. Run with
``-s`` to see the install times and counts.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from linehaul.cli import main
from linehaul.gcp import BigQueryAdmin, GcsBlobStore
from linehaul.gcp.schema_apply import apply_schemas
from linehaul.local import FunctionServer, LocalStack
from linehaul.logs.sample import write_sample
from linehaul.pipeline.naming import LOCK, partition_in, staged_output, staged_prefix
from linehaul.tables import Output, Table
from tests.cloud import PROJECT, canonical_row
from tests.deploy.cloudbuild import PLACEHOLDERS, Deploy, config_commands, deploys, load_config
from tests.deploy.locks import FUNCTIONS, ROOT, read_lock
from tests.deploy.monitoring import entry, matches, metrics, payload_fields, read_lines, service_of
from tests.deploy.rehearsal import Installed, base_python, install, isolated_environment

pytestmark = [pytest.mark.slow, pytest.mark.integration]

LINES = 3000
_ROUNDS = 5  # publisher messages per partition before giving up on one that does not empty


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``scripts/package-functions OUTPUT``, as the build's package step runs it: the directories a
    deployment uploads."""
    output, tools = tmp_path_factory.mktemp("packaged"), tmp_path_factory.mktemp("build-tools") / "venv"
    environment = isolated_environment(tools)
    lock = [
        "-m",
        "pip",
        "install",
        "--quiet",
        "--require-hashes",
        "-r",
        str(ROOT / "deploy" / "build-tools.lock"),
    ]
    for command in ([str(base_python()), "-m", "venv", str(tools)], [str(tools / "bin" / "python"), *lock]):
        done = subprocess.run(
            command, env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        assert done.returncode == 0, done.stdout + done.stderr
    script = [str(ROOT / "scripts" / "package-functions"), str(output)]
    environment |= {"BUILD_ISOLATION": "0", "PYTHON": str(tools / "bin" / "python")}
    result = subprocess.run(script, env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL)
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
    deployment's entry point and variables and Cloud Run's service and revision, pointed at the local cloud,
    and nothing else."""
    cloud_run = {"K_SERVICE": deploy.name, "K_REVISION": f"{deploy.name}-00001-reh"}
    environment = {**function.environment, **stack.env, **deploy.environment(), **cloud_run}
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
    tables = {table: table.value for table in Table}
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
        f"in {len(partitions)} partition(s); loaded: file_downloads={len(loaded[Table.FILE_DOWNLOADS])} "
        f"simple_requests={len(loaded[Table.SIMPLE_REQUESTS])}; linehaul parse: "
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
    assert len(loaded[Table.FILE_DOWNLOADS]) == parsed["file_downloads"] > 0
    assert len(loaded[Table.SIMPLE_REQUESTS]) == parsed["simple_requests"] > 0


# -- what the alerts count ----------------------------------------------------------------------------------

# The cases each metric of deploy/monitoring/ is for: its filter must select the lines of these, and no other.
CASES = {
    "linehaul-ingestor-failures": {"an ingestor failure"},
    "linehaul-publisher-failures": {"a publisher failure"},
    "linehaul-quarantined-logs": {"a damaged log"},
    "linehaul-quarantined-staged-files": {"a bad staged file"},
    # a staged file of a partition no run publishes is left: every run that goes through says how old it is
    "linehaul-oldest-staged-seconds": {
        "a log published",
        "a bad staged file",
        "a lease held past its expiry",
    },
    "linehaul-lease-taken-over": {"a lease held past its expiry"},
    "linehaul-publisher-runs": {"a log published", "a bad staged file", "a lease held past its expiry"},
}
# Metrics whose field the functions do not write yet (none).
PENDING: dict[str, str] = {}


@pytest.fixture(scope="module")
def case_lines(
    installed: dict[str, Installed],
    local_stack: LocalStack,
    bigquery_admin: BigQueryAdmin,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, list[dict[str, Any]]]:
    """The log entries (as Cloud Logging stores them) that the rehearsed functions wrote in each case."""
    suffix = uuid.uuid4().hex[:12]
    logs, staging, dataset = f"logs-{suffix}", f"staging-{suffix}", f"alerts_{suffix}"
    for bucket in (logs, staging):
        local_stack.storage_client().create_bucket(bucket)
    bigquery_admin.ensure_dataset(PROJECT, dataset)
    apply_schemas(
        bigquery_admin,
        PROJECT,
        dataset,
        {table: table.value for table in Table},
    )
    values = {"PROJECT_ID": PROJECT, "_LOG_BUCKET": logs, "_STAGING_BUCKET": staging, "_DATASET": dataset}
    deployed = _deployed(values)
    broken = _deployed({**values, "_STAGING_BUCKET": f"missing-{suffix}"})  # every run of these fails
    store = local_stack.blob_store()
    log = write_sample(tmp_path_factory.mktemp("log") / "a.log.gz", lines=600, seed=16,
                       start=datetime(2021, 1, 7, tzinfo=UTC)).read_bytes()  # fmt: skip
    found: dict[str, list[dict[str, Any]]] = {}

    def case(
        name: str, server: FunctionServer, deliver: Callable[[FunctionServer], int], ok: bool = True
    ) -> None:
        before = len(read_lines(server.output(tail=None)))
        status = deliver(server)
        lines = read_lines(server.output(tail=None))[before:]
        assert status == (200 if ok else 503), server.output()
        service = "linehaul-ingestor" if server.target == "process_fastly_log" else "linehaul-publisher"
        found[name] = [entry(service, line) for line in lines]
        print(f"\nrehearsal: {name}: answered {status}, {len(lines)} line(s)")

    def ingest(name: str, data: bytes) -> Callable[[FunctionServer], int]:
        return lambda server: server.storage_finalized(logs, name, store.put(logs, name, data)).status

    def publish(partition: str) -> Callable[[FunctionServer], int]:
        attributes = {"partition": partition, "continue_publishing": "true"}
        return lambda server: server.pubsub_message(b"publish", attributes).status

    with (
        _serve(installed["ingestor"], deployed["ingestor"], local_stack) as ingestor,
        _serve(installed["publisher"], deployed["publisher"], local_stack) as publisher,
    ):
        case("a log ingested", ingestor, ingest("2021/01/07/a.log.gz", log))
        left = "processed/20210109/downloads-left.json"  # a partition no run publishes
        store.copy(staging, "processed/20210107/downloads-a.json", staging, left)
        case("a log published", publisher, publish("20210107"))
        case("a damaged log", ingestor, ingest("2021/01/07/b.log.gz", log[: len(log) // 2]))
        bad = b'{"timestamp": "2021-01-08T00:00:00Z", "url": \n'
        store.put(staging, "processed/20210108/downloads-bad.json", bad, content_type="application/json")
        case("a bad staged file", publisher, publish("20210108"))
        expires = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        lease = {"owner": "a-run-that-died", "expires": expires, "batch": None}
        store.put(staging, LOCK, json.dumps(lease).encode(), content_type="application/json")
        time.sleep(3)  # the run that wrote it held it for 2 s, then died without releasing it
        case("a lease held past its expiry", publisher, publish("20210110"))
    with (
        _serve(installed["ingestor"], broken["ingestor"], local_stack) as ingestor,
        _serve(installed["publisher"], broken["publisher"], local_stack) as publisher,
    ):
        case("an ingestor failure", ingestor, ingest("2021/01/07/c.log.gz", log), ok=False)
        case("a publisher failure", publisher, publish("20210107"), ok=False)
    return found


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, marks=pytest.mark.xfail(reason=PENDING[name])) if name in PENDING else name
     for name in sorted(CASES)],
)  # fmt: skip
def test_each_metric_counts_the_lines_its_cases_write(
    name: str, case_lines: dict[str, list[dict[str, Any]]]
) -> None:
    metric = metrics()[name]
    selected = {
        case: [line for line in lines if matches(metric["filter"], line)]
        for case, lines in case_lines.items()
    }
    extracted = payload_fields(metric.get("valueExtractor", metric["filter"]))

    assert set(CASES) == set(metrics())
    assert {case for case, lines in selected.items() if lines} == CASES[name]
    for lines in selected.values():
        for line in lines:
            assert line["resource"]["labels"]["service_name"] == service_of(metric)
            for field in extracted:
                value: Any = line["jsonPayload"]
                for key in field:
                    value = value[key]
                if "valueExtractor" in metric:
                    assert isinstance(value, int | float), (field, value)
