"""The deployer's grants (deploy/deployer-role.yaml, deploy/deployer-condition.yaml, docs/pipeline.md's "The
deployer") against what deploy/cloudbuild.yaml does: a permission for every kind of command the build runs,
the project-wide grants limited to the roles the build grants there, and nothing that edits the project's
IAM policy at large, administers roles or deletes data. Pure: the files are read as data."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.cloudbuild import (
    DOCS,
    PLACEHOLDERS,
    ROOT,
    Command,
    Grant,
    config_commands,
    doc_commands,
    grants,
    load_config,
    section,
    shell_commands,
)

ROLE = ROOT / "deploy" / "deployer-role.yaml"
CONDITION = ROOT / "deploy" / "deployer-condition.yaml"
DEPLOYER = "serviceAccount:linehaul-deployer@PROJECT.iam.gserviceaccount.com"

# What each kind of command of the build needs (the first words of a command; the longest prefix applies).
# Commands of the build that are none of these, nor local (shell, pip, the packaging script), fail the test:
# a new kind of step needs its permissions here and in the role.
NEEDS: dict[Command, set[str]] = {
    ("gcloud", "services", "enable"): {"serviceusage.services.enable"},
    ("gcloud", "storage", "buckets", "describe"): {"storage.buckets.get"},
    ("gcloud", "storage", "buckets", "create"): {"storage.buckets.create"},
    ("gcloud", "storage", "buckets", "update"): {"storage.buckets.update"},
    ("gcloud", "storage", "buckets", "add-iam-policy-binding"): {
        "storage.buckets.getIamPolicy",
        "storage.buckets.setIamPolicy",
    },
    ("python3", "deploy/guard.py"): {"cloudfunctions.functions.list", "storage.buckets.get"},
    ("linehaul", "schema", "apply"): {
        "bigquery.datasets.create",
        "bigquery.datasets.get",
        "bigquery.tables.create",
        "bigquery.tables.get",
        "bigquery.tables.update",
    },
    ("gcloud", "iam", "service-accounts", "describe"): {"iam.serviceAccounts.get"},
    ("gcloud", "iam", "service-accounts", "create"): {"iam.serviceAccounts.create"},
    ("bq", "query"): {
        "bigquery.jobs.create",
        "bigquery.datasets.getIamPolicy",
        "bigquery.datasets.setIamPolicy",
    },
    ("gcloud", "functions", "deploy"): {
        "cloudfunctions.functions.create",
        "cloudfunctions.functions.get",
        "cloudfunctions.functions.update",
        "cloudfunctions.functions.sourceCodeSet",
        "cloudfunctions.operations.get",
        "iam.serviceAccounts.actAs",
    },
    ("gcloud", "functions", "add-invoker-policy-binding"): {
        "run.services.getIamPolicy",
        "run.services.setIamPolicy",
    },
    ("gcloud", "pubsub", "topics", "describe"): {"pubsub.topics.get"},
    ("gcloud", "pubsub", "topics", "create"): {"pubsub.topics.create"},
    ("gcloud", "scheduler", "jobs", "describe"): {"cloudscheduler.jobs.get"},
    ("gcloud", "scheduler", "jobs", "create"): {"cloudscheduler.jobs.create"},
    ("gcloud", "scheduler", "jobs", "update"): {"cloudscheduler.jobs.update"},
    ("gcloud", "logging", "metrics", "describe"): {"logging.logMetrics.get"},
    ("gcloud", "logging", "metrics", "create"): {"logging.logMetrics.create"},
    ("gcloud", "logging", "metrics", "update"): {"logging.logMetrics.update"},
    ("gcloud", "alpha", "monitoring", "policies", "list"): {"monitoring.alertPolicies.list"},
    ("gcloud", "alpha", "monitoring", "policies", "create"): {"monitoring.alertPolicies.create"},
    ("gcloud", "alpha", "monitoring", "policies", "update"): {"monitoring.alertPolicies.update"},
    # granted by the conditional Project IAM Admin (test_project_grants_are_limited_to_the_builds_roles)
    ("gcloud", "projects", "add-iam-policy-binding"): set(),
}
# The local commands of the build and its scripts (shell built-ins and utilities, pip, the packaging script).
LOCAL = ("[", "echo", "exit", "for", "read", "cd", "set", "trap", "mktemp", "basename", "bash",
         "python3 -m pip", "python3 -", "BUILD_ISOLATION=0", "name=", "key=", "existing=", "rendered=",
         "channels=")  # fmt: skip
# Never: the project's IAM policy at large, roles, keys, or deleting what the pipeline holds.
FORBIDDEN = re.compile(
    r"^(resourcemanager\.projects\.setIamPolicy|iam\.roles\..*|iam\.serviceAccountKeys\..*|.*\.delete)$"
)


def _role() -> set[str]:
    role: dict[str, Any] = yaml.safe_load(ROLE.read_text())
    return set(role["includedPermissions"])


def _build_commands() -> list[Command]:
    """The config's commands and those of the scripts it runs (deploy/monitoring/apply)."""
    commands = config_commands(load_config(), PLACEHOLDERS)
    script = (ROOT / "deploy" / "monitoring" / "apply").read_text()
    return commands + shell_commands(script.split("<<'PY'")[0] + script.split("\nPY\n")[1])


def _needs(command: Command) -> set[str] | None:
    known = [prefix for prefix in NEEDS if command[: len(prefix)] == prefix]
    return NEEDS[max(known, key=len)] if known else None


def test_every_command_of_the_build_is_granted_what_it_needs() -> None:
    role = _role()
    unknown = []
    for command in _build_commands():
        needed = _needs(command)
        if needed is None:
            if not " ".join(command).startswith(LOCAL):
                unknown.append(command)
            continue
        assert needed <= role, (command[:4], needed - role)
    assert unknown == []


def test_the_role_grants_nothing_dangerous_and_nothing_twice() -> None:
    role: dict[str, Any] = yaml.safe_load(ROLE.read_text())
    permissions = role["includedPermissions"]

    assert [permission for permission in permissions if FORBIDDEN.match(permission)] == []
    assert len(permissions) == len(set(permissions))


def test_project_grants_are_limited_to_the_builds_roles() -> None:
    condition: dict[str, Any] = yaml.safe_load(CONDITION.read_text())
    (listed,) = re.findall(r"hasOnly\(\[([^\]]*)\]\)", condition["expression"])
    allowed = set(re.findall(r'"([^"]+)"', listed))
    granted = {grant.role for grant in grants(config_commands(load_config(), PLACEHOLDERS))}
    on_project = {
        grant.role
        for grant in grants(config_commands(load_config(), PLACEHOLDERS))
        if grant.scope == "project PROJECT"
    }

    assert "iam.googleapis.com/modifiedGrantsByRole" in condition["expression"]
    assert allowed == on_project
    assert on_project < granted


def test_the_documented_setup_grants_the_deployer_its_role_and_the_conditional_iam_admin() -> None:
    setup = doc_commands(section(DOCS.read_text(), "## The deployer"))
    to_deployer = {grant for grant in grants(setup) if grant.member == DEPLOYER}
    (conditional,) = (
        command for command in setup if "--role=roles/resourcemanager.projectIamAdmin" in command
    )

    assert to_deployer == {
        Grant(DEPLOYER, "projects/PROJECT/roles/linehaulDeployer", "project PROJECT"),
        Grant(DEPLOYER, "roles/resourcemanager.projectIamAdmin", "project PROJECT"),
    }
    assert f"--condition-from-file={CONDITION.relative_to(ROOT)}" in conditional
    assert ("gcloud", "iam", "roles", "create", "linehaulDeployer", "--project=PROJECT",
            f"--file={ROLE.relative_to(ROOT)}") in setup  # fmt: skip


def test_the_build_runs_as_the_deployer() -> None:
    assert load_config()["serviceAccount"] == (
        "projects/${PROJECT_ID}/serviceAccounts/linehaul-deployer@${PROJECT_ID}.iam.gserviceaccount.com"
    )


@pytest.mark.parametrize("prefix", list(NEEDS))
def test_each_kind_of_command_listed_is_one_the_build_runs(prefix: Command) -> None:
    assert any(command[: len(prefix)] == prefix for command in _build_commands()), prefix
