"""deploy/guard.py, which stops a deployment beside production's functions that would ingest or publish
twice (docs/operations.md, "Cutover"). Pure: functions as ``gcloud functions list --format=json`` shows
them."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.guard import Function, UnsafeDeployError, plan

REGION, LOGS = "us-central1", "linehaul-logs"


def _function(name: str, generation: str, trigger: Any, region: str = REGION) -> Function:
    return Function.from_json(
        {
            "name": f"projects/the-psf/locations/{region}/functions/{name}",
            "environment": generation,
            "eventTrigger": trigger,
        }
    )


# production's 1st gen functions (pypi/linehaul-cloud-function's cloudbuild.yaml), as the v2 API shows them
PRODUCTION_INGESTOR = _function(
    "linehaul-ingestor",
    "GEN_1",
    {"eventType": "google.storage.object.finalize", "resource": f"projects/_/buckets/{LOGS}"},
)
PRODUCTION_PUBLISHER = _function(
    "linehaul-publisher", "GEN_1", {"eventType": "google.pubsub.topic.publish", "pubsubTopic": "x"}
)
# ours, as deploy/cloudbuild.yaml deploys them
OUR_INGESTOR = _function(
    "linehaul-ingestor",
    "GEN_2",
    {
        "eventType": "google.cloud.storage.object.v1.finalized",
        "eventFilters": [{"attribute": "bucket", "value": LOGS}],
        "triggerRegion": "us",
    },
)
OUR_PUBLISHER = _function(
    "linehaul-publisher", "GEN_2", {"eventType": "google.cloud.pubsub.topic.v1.messagePublished"}
)


def test_a_project_without_functions_deploys_with_the_trigger_where_the_bucket_is() -> None:
    assert plan([], REGION, LOGS, "US") == "deploy us"
    assert plan([], REGION, LOGS, "EUROPE-WEST1") == "deploy europe-west1"


def test_our_own_functions_are_redeployed() -> None:
    assert plan([OUR_INGESTOR, OUR_PUBLISHER], REGION, LOGS, "US") == "deploy us"


def test_production_s_publisher_must_be_deleted_first() -> None:
    with pytest.raises(UnsafeDeployError, match="1st gen linehaul-publisher still exists in us-central1"):
        plan([PRODUCTION_INGESTOR, PRODUCTION_PUBLISHER], REGION, LOGS, "US")


def test_production_s_ingestor_is_kept_until_the_switch() -> None:
    assert plan([PRODUCTION_INGESTOR, OUR_PUBLISHER], REGION, LOGS, "US") == "keep-production us"


@pytest.mark.parametrize(
    "other",
    [
        _function("linehaul-ingestor", "GEN_1", PRODUCTION_INGESTOR.trigger, region="us-east1"),
        _function("linehaul-ingestor", "GEN_2", OUR_INGESTOR.trigger, region="europe-west1"),
        _function("copy-of-the-ingestor", "GEN_2", OUR_INGESTOR.trigger),
    ],
    ids=["production's in another region", "ours in another region", "another name"],
)
def test_a_second_ingestor_of_the_log_bucket_is_refused(other: Function) -> None:
    with pytest.raises(UnsafeDeployError, match="two ingestors would stage every log twice"):
        plan([other, OUR_PUBLISHER], REGION, LOGS, "US")


def test_functions_of_other_buckets_do_not_matter() -> None:
    images = {"eventFilters": [{"attribute": "bucket", "value": "images"}]}
    elsewhere = _function("thumbnails", "GEN_2", images)
    similar = _function("other", "GEN_1", {"resource": f"projects/_/buckets/{LOGS}-archive"})

    assert plan([elsewhere, similar], REGION, LOGS, "US") == "deploy us"
