"""deploy/monitoring/ against the build, the functions' names and docs/operations.md's runbook. Pure; which
log lines each metric counts is proved on the rehearsed functions' own lines in test_rehearsal.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from linehaul.pipeline.publish_report import PublishReport
from tests.deploy.cloudbuild import PLACEHOLDERS, ROOT, config_commands, deploys, load_config, section
from tests.deploy.monitoring import (
    METRIC_TYPE,
    alerts,
    entry,
    matches,
    metrics,
    metrics_of,
    parse,
    payload_fields,
    service_of,
)

OPERATIONS = ROOT / "docs" / "operations.md"


def test_every_metric_counts_lines_of_a_deployed_function() -> None:
    deployed = set(deploys(config_commands(load_config(), PLACEHOLDERS)))

    for name, metric in metrics().items():
        terms = parse(metric["filter"])
        assert ("resource", "type") in {term.path for term in terms}, name
        assert service_of(metric) in deployed, name
        assert payload_fields(metric["filter"]), f"{name} reads no field the functions write"


def test_a_distribution_extracts_a_field_its_filter_requires() -> None:
    distributions = {name: metric for name, metric in metrics().items() if "valueExtractor" in metric}

    assert distributions
    for name, metric in distributions.items():
        assert metric["metricDescriptor"]["valueType"] == "DISTRIBUTION", name
        assert payload_fields(metric["valueExtractor"]) <= payload_fields(metric["filter"]), name


def test_every_alert_reads_metrics_that_exist_and_every_metric_has_an_alert() -> None:
    used = set()
    for key, alert in alerts().items():
        read = metrics_of(alert)
        assert read, key
        assert read <= set(metrics()), key
        used |= read
    assert used == set(metrics())


def test_alerts_are_found_again_by_their_label() -> None:
    found = alerts()

    assert all(alert["userLabels"] == {"linehaul_alert": key} for key, alert in found.items())
    assert len({alert["displayName"] for alert in found.values()}) == len(found)


def _runbook_entries() -> list[str]:
    runbook = section(OPERATIONS.read_text(), "## Runbook")
    return re.findall(r"^### (.+)$", runbook, re.MULTILINE)


def test_the_runbook_has_one_entry_per_alert_and_each_alert_points_at_it() -> None:
    headings = {
        alert["displayName"].removeprefix("linehaul ").capitalize(): alert for alert in alerts().values()
    }

    assert sorted(_runbook_entries()) == sorted(headings)
    for heading, alert in headings.items():
        assert f'docs/operations.md, "{heading}"' in alert["documentation"]["content"]


def test_the_build_applies_them_with_the_channels_given() -> None:
    (step,) = (step for step in load_config()["steps"] if step["id"] == "monitoring")

    assert step["args"] == ["deploy/monitoring/apply", "${_ALERT_CHANNELS}"]


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ('jsonPayload.quarantined:"quarantine/"', {"quarantined": ["quarantine/processed/x"]}, True),
        ('jsonPayload.quarantined:"quarantine/"', {"quarantined": []}, False),
        ("jsonPayload.lease:*", {"lease": "held"}, True),
        ("jsonPayload.lease_taken_over.owner:*", {"lease_taken_over": None}, False),
        ("jsonPayload.oldest_staged_seconds>=0", {"oldest_staged_seconds": 12.5}, True),
        ("jsonPayload.oldest_staged_seconds>=0", {"oldest_staged_seconds": None}, False),
        ("severity>=WARNING", {"severity": "ERROR"}, True),
        ("severity>=WARNING", {"severity": "INFO"}, False),
        ('jsonPayload."@type"="x" AND severity=ERROR', {"@type": "x", "severity": "ERROR"}, True),
        ('jsonPayload."@type"="x" AND severity=ERROR', {"@type": "x", "severity": "WARNING"}, False),
    ],
)
def test_the_filter_subset(text: str, line: dict[str, Any], expected: bool) -> None:
    assert matches(text, entry("linehaul-publisher", line)) is expected


@pytest.mark.parametrize("text", ['a="x" OR b="y"', 'NOT a="x"', 'a=~"x.*"', "a"])
def test_filters_outside_the_subset_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        parse(text)


def test_metric_types_are_user_defined_log_based_metrics() -> None:
    for alert in alerts().values():
        for condition in alert["conditions"]:
            (kind,) = (key for key in condition if key.startswith("condition"))
            assert METRIC_TYPE in condition[kind]["filter"]


def test_the_lease_metric_reads_the_field_the_publisher_writes() -> None:
    (path,) = {term.path for term in parse(metrics()["linehaul-lease-taken-over"]["filter"])} - {
        ("resource", "type"),
        ("resource", "labels", "service_name"),
    }
    assert path[0] == "jsonPayload"
    assert path[1] in PublishReport().log_record()
