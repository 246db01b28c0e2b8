"""deploy/cloudbuild.yaml against the code and docs/pipeline.md: what it deploys runs, and grants no more.

Pure: the config and the page are read as data (tests/deploy/cloudbuild.py); nothing is deployed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from linehaul.pipeline import settings as settings_module
from linehaul.pipeline.settings import ConfigError, PublishSettings
from linehaul.runtime.entry_points import ENTRY_POINTS
from linehaul.tables import Table
from tests.deploy.cloudbuild import (
    BUILT_IN,
    CONFIG,
    DOCS,
    PLACEHOLDERS,
    ROOT,
    SAMPLES,
    Command,
    Deploy,
    Grant,
    config_commands,
    deploys,
    doc_commands,
    flags,
    grants,
    load_config,
    references,
    roles_table,
    section,
    step_commands,
)
from tests.deploy.locks import FUNCTIONS

DEPLOYING = section(DOCS.read_text(), "## Deploying")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_config()


@pytest.fixture(scope="module")
def commands(config: dict[str, Any]) -> list[Command]:
    """The config's commands with the docs' placeholders for its substitutions."""
    return config_commands(config, PLACEHOLDERS)


@pytest.fixture(scope="module")
def sample_deploys(config: dict[str, Any]) -> dict[str, Deploy]:
    """The config's deployments with values that a real project could have."""
    return deploys(config_commands(config, SAMPLES))


def _function(name: str) -> str:
    return f"linehaul-{name}"


def _account(name: str) -> str:
    return f"{_function(name)}@PROJECT.iam.gserviceaccount.com"


def _runtime_source(name: str) -> str:
    """The module of linehaul.runtime that functions/<name>/main.py makes its function with."""
    tree = ast.parse((ROOT / "functions" / name / "main.py").read_text())
    (module,) = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("linehaul.runtime.")
    }
    assert module is not None
    return (ROOT / (module.replace(".", "/") + ".py")).read_text()


def _cloud_event_functions(name: str) -> set[str]:
    """The names functions/<name>/main.py defines that are functions decorated with
    @functions_framework.cloud_event in the linehaul.runtime module it makes them with."""
    main = ast.parse((ROOT / "functions" / name / "main.py").read_text())
    defined = {
        target.id
        for node in main.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    decorated = {
        node.name
        for node in ast.walk(ast.parse(_runtime_source(name)))
        if isinstance(node, ast.FunctionDef)
        and "functions_framework.cloud_event" in map(ast.unparse, node.decorator_list)
    }
    return defined & decorated


def _settings_class(name: str) -> Any:
    """The settings class whose ``from_env`` the function of functions/<name>/main.py calls."""
    tree = ast.parse(_runtime_source(name))
    (owner,) = {
        node.func.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "from_env"
        and isinstance(node.func.value, ast.Name)
    }
    return getattr(settings_module, owner)


class _Recording(dict[str, str]):
    """An environment that records every variable read from it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


def _seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)s", value)
    assert match, f"a timeout in seconds, as gcloud takes it: {value}"
    return int(match[1])


def _steps(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from config["steps"]


def test_every_substitution_is_declared_or_built_in_and_used(config: dict[str, Any]) -> None:
    used = references(CONFIG.read_text().split("\nsteps:\n", 1)[1])

    assert used - BUILT_IN == set(config["substitutions"])
    assert used <= set(PLACEHOLDERS) == set(SAMPLES)


def test_the_documented_build_command_sets_every_required_substitution(config: dict[str, Any]) -> None:
    (submit,) = (
        command for command in doc_commands(DEPLOYING) if command[:3] == ("gcloud", "builds", "submit")
    )
    options = dict(flags(submit))
    given = dict(item.split("=", 1) for item in options["--substitutions"].split(","))
    (check,) = (step for step in _steps(config) if step["id"] == "check")
    required = references(" ".join(map(str, check["args"])))

    assert options["--config"] == str(CONFIG.relative_to(ROOT))
    assert required == {name for name, default in config["substitutions"].items() if default == ""} - {
        "_ALERT_CHANNELS"  # optional: no channel, incidents in the console only
    }
    assert required <= set(given) <= set(config["substitutions"])
    assert all(given[name] == PLACEHOLDERS[name] for name in given)


def test_every_tool_of_the_build_is_pinned(config: dict[str, Any]) -> None:
    images = {step["name"] for step in _steps(config)}
    (package,) = (step for step in _steps(config) if step["id"] == "package")
    installs = [command for command in step_commands(package, SAMPLES) if "install" in command]

    assert all(re.search(r":\d+\.\d+\.\d+(-[a-z]+)*$", image) for image in images), images
    assert installs == [
        (
            "python3", "-m", "pip", "install", "--quiet", "--root-user-action=ignore", "--require-hashes",
            "-r", "deploy/build-tools.lock",
        )
    ]  # fmt: skip
    assert ("BUILD_ISOLATION=0", "scripts/package-functions") in step_commands(package, SAMPLES)
    assert "hatchling==" in (ROOT / "deploy" / "build-tools.lock").read_text()


def test_steps_wait_only_for_earlier_steps(config: dict[str, Any]) -> None:
    seen: set[str] = set()
    for step in _steps(config):
        assert set(step.get("waitFor", [])) <= seen, step["id"]
        seen.add(step["id"])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_deploys_its_packaged_directory(
    name: str, config: dict[str, Any], commands: list[Command]
) -> None:
    steps = {step["id"]: step for step in _steps(config)}
    deploy = deploys(commands)[_function(name)]

    assert deploy.value("--source") == f"build/functions/{name}"
    assert ("BUILD_ISOLATION=0", "scripts/package-functions") in step_commands(steps["package"], SAMPLES)
    assert 'build/functions}"' in (ROOT / "scripts" / "package-functions").read_text()  # its default output
    assert "package" in steps[f"deploy-{name}"]["waitFor"]


def test_the_tables_are_made_by_the_linehaul_the_publisher_deploys(config: dict[str, Any]) -> None:
    (tables,) = (step for step in _steps(config) if step["id"] == "tables")
    commands = step_commands(tables, SAMPLES)

    assert commands[:2] == [
        ("cd", "build/functions/publisher"),
        (
            "python3", "-m", "pip", "install", "--quiet", "--root-user-action=ignore", "--require-hashes",
            "-r", "requirements.txt",
        ),
    ]  # fmt: skip
    assert commands[2][:3] == ("linehaul", "schema", "apply")
    assert "package" in tables["waitFor"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_entry_point_is_a_cloud_event_function_of_main(name: str, commands: list[Command]) -> None:
    deploy = deploys(commands)[_function(name)]

    assert deploy.value("--entry-point") in _cloud_event_functions(name)
    assert deploy.value("--entry-point") == {entry.folder: entry.name for entry in ENTRY_POINTS}[name]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_required_variable_is_set_and_every_set_one_is_read(
    name: str, sample_deploys: dict[str, Deploy]
) -> None:
    settings_class = _settings_class(name)
    with pytest.raises(ConfigError) as missing:
        settings_class.from_env({})
    required = {problem.split()[0] for problem in missing.value.problems}
    environment = _Recording(sample_deploys[_function(name)].environment())

    settings_class.from_env(environment)  # valid: no ConfigError

    assert required
    assert required <= set(environment)
    assert set(environment) <= environment.read  # no variable that the function would ignore


def test_the_tables_are_those_the_build_creates(sample_deploys: dict[str, Deploy]) -> None:
    environment = sample_deploys[_function("publisher")].environment()

    assert (environment["BIGQUERY_DOWNLOAD_TABLE"], environment["BIGQUERY_SIMPLE_TABLE"]) == tuple(Table)
    assert environment["BIGQUERY_DATASET"] == f"{SAMPLES['PROJECT_ID']}.{SAMPLES['_DATASET']}"


def test_timeouts_are_below_the_lease_and_above_the_publish_budget(sample_deploys: dict[str, Deploy]) -> None:
    publisher = PublishSettings.from_env(sample_deploys[_function("publisher")].environment())
    timeouts = {name: _seconds(deploy.value("--timeout")) for name, deploy in sample_deploys.items()}

    assert set(timeouts) == {_function(name) for name in FUNCTIONS}
    assert all(timeout < publisher.lock_seconds for timeout in timeouts.values()), timeouts
    assert publisher.time_budget < timeouts[_function("publisher")]


def test_runtime_and_instances(commands: list[Command]) -> None:
    found = deploys(commands)
    lock_script = (ROOT / "scripts" / "lock-functions").read_text()
    (locked_for,) = set(re.findall(r"--python-version (\d+)\.(\d+)", lock_script))  # functions, build tools

    for deploy in found.values():
        assert deploy.values("--gen2") == [""]
        assert deploy.value("--runtime") == "python" + "".join(locked_for)
    assert found[_function("ingestor")].values("--retry") == [""]
    assert found[_function("publisher")].value("--max-instances") == "1"


def test_the_ingestor_is_triggered_by_new_logs_where_the_log_bucket_is(
    config: dict[str, Any], commands: list[Command]
) -> None:
    deploy = deploys(commands)[_function("ingestor")]
    steps = {step["id"]: step for step in _steps(config)}
    (plan,) = {value for name, value in flags(step_commands(steps["guard"], SAMPLES)[0]) if name == "--plan"}
    script = str(steps["deploy-ingestor"]["args"][-1])

    assert sorted(deploy.values("--trigger-event-filters")) == [
        "bucket=LOG_BUCKET",
        "type=google.cloud.storage.object.v1.finalized",
    ]
    assert deploy.value("--trigger-location") == "$location"
    assert script.startswith(f"read -r plan location < {plan}\n")  # what the guard wrote: plan, location
    assert "guard" in steps["deploy-ingestor"]["waitFor"]
    assert "guard" in steps["deploy-publisher"]["waitFor"]


def test_the_scheduler_publishes_to_the_topic_that_triggers_the_publisher(commands: list[Command]) -> None:
    topic = deploys(commands)[_function("publisher")].value("--trigger-topic")
    jobs = [command for command in commands if command[:2] == ("gcloud", "scheduler")]
    created = [command for command in jobs if command[3] == "create"]
    updated = [command for command in jobs if command[3] == "update"]

    assert ("gcloud", "pubsub", "topics", "create", topic) in commands
    assert len(created) == len(updated) == 1
    assert flags(created[0]) == flags(updated[0])  # an existing job is brought to the same settings
    assert dict(flags(created[0]))["--topic"] == topic
    assert dict(flags(created[0]))["--schedule"] == "*/15 * * * *"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_and_its_trigger_run_as_its_own_account(name: str, commands: list[Command]) -> None:
    deploy = deploys(commands)[_function(name)]

    assert deploy.value("--service-account") == deploy.value("--trigger-service-account") == _account(name)
    assert ("gcloud", "iam", "service-accounts", "create", _function(name)) in commands
    assert ("gcloud", "iam", "service-accounts", "create", _function(name)) in doc_commands(DEPLOYING)


def test_the_config_grants_exactly_the_documented_roles(commands: list[Command]) -> None:
    table = roles_table(section(DEPLOYING, "### Roles"))

    assert grants(commands) == table
    assert grants(doc_commands(DEPLOYING)) == table
    assert (
        Grant(f"serviceAccount:{_account('publisher')}", "roles/bigquery.jobUser", "project PROJECT") in table
    )


def test_the_documented_commands_are_the_config_commands(commands: list[Command]) -> None:
    documented = doc_commands(DEPLOYING)
    deployments = (("gcloud", "functions", "deploy"), ("gcloud", "pubsub", "topics", "create"))

    assert deploys(documented) == deploys(commands)
    for command in commands:
        if command[:3] in deployments or command[:4] in deployments or command[:2] == ("linehaul", "schema"):
            assert command in documented
    documented_jobs = [command for command in documented if command[:2] == ("gcloud", "scheduler")]
    assert documented_jobs == [command for command in commands if command[:4] == documented_jobs[0][:4]]


def test_a_grant_that_cannot_be_read_is_refused() -> None:
    hidden = ("gcloud", "iam", "roles", "add-iam-policy-binding", "x", "--role=roles/owner")

    with pytest.raises(ValueError, match="cannot read"):
        grants([hidden])
