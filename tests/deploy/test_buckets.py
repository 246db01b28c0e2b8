"""The staging bucket's lifecycle rules (deploy/staging-lifecycle.json) against the pipeline's names and
docs/pipeline.md: they delete markers, upload parts and kept lines after the stated times, and never a staged
file, a quarantined object or the lease. Pure."""

from __future__ import annotations

import json
import re
from typing import Any

from linehaul.pipeline.naming import LOCK, loaded_marker, parts_prefix, quarantine_prefix, staged_prefix
from linehaul.tables import Output
from tests.deploy.cloudbuild import DOCS, ROOT, SAMPLES, load_config, section, step_commands

RULES = ROOT / "deploy" / "staging-lifecycle.json"


def _ages() -> dict[str, int]:
    """Days after which each prefix is deleted."""
    rules: list[dict[str, Any]] = json.loads(RULES.read_text())["rule"]
    assert all(rule["action"] == {"type": "Delete"} for rule in rules)
    assert all(set(rule["condition"]) == {"age", "matchesPrefix"} for rule in rules)
    return {
        prefix: rule["condition"]["age"] for rule in rules for prefix in rule["condition"]["matchesPrefix"]
    }


def test_the_rules_delete_markers_parts_and_kept_lines_only() -> None:
    kept = {staged_prefix(Output.UNPROCESSED), staged_prefix(Output.IGNORED)}
    never = [*(staged_prefix(output) for output in Output.of_rows()), quarantine_prefix(), LOCK]

    assert set(_ages()) == {loaded_marker(""), parts_prefix(), *kept}
    assert not any(name.startswith(prefix) for prefix in _ages() for name in never)


def test_markers_outlive_the_retry_window() -> None:
    assert _ages()[loaded_marker("")] > 1  # days; a redelivered event comes within 24 hours


def test_the_docs_state_the_same_times() -> None:
    lifecycle = section(DOCS.read_text(), "### Memory and lifecycle rules")
    stated: dict[str, int] = {}
    for cells, days in re.findall(r"^\| ([^|]+) \| (\d+) days \|", lifecycle, re.MULTILINE):
        for prefix in re.findall(r"`([^`]+/)`", cells):
            stated[prefix] = int(days)

    assert stated == _ages()


def test_the_build_sets_them_on_the_staging_bucket() -> None:
    (buckets,) = (step for step in load_config()["steps"] if step["id"] == "buckets")
    updates = [command for command in step_commands(buckets, SAMPLES) if command[:4][-1] == "update"]

    assert updates == [
        (
            "gcloud", "storage", "buckets", "update", f"gs://{SAMPLES['_STAGING_BUCKET']}",
            f"--lifecycle-file={RULES.relative_to(ROOT)}",
        )
    ]  # fmt: skip
