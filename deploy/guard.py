"""Refuse a deployment that would stage a log twice, and say where the ingestor's trigger must live.

deploy/cloudbuild.yaml runs it (step ``guard``) before it deploys a function:

    python3 deploy/guard.py --region REGION --log-bucket LOG_BUCKET --plan build/ingestor-plan

It lists the project's Cloud Functions (``gcloud functions list``, every region, both generations) and the
log bucket's location (``gcloud storage buckets describe``), and writes ``PLAN LOCATION`` to ``--plan``:

* ``deploy``: deploy ``linehaul-ingestor`` (2nd gen) with its Eventarc trigger in LOCATION, the log bucket's
  location in lower case, as Eventarc names it (``us``, ``europe-west1``): a trigger on a bucket must be
  where the bucket is;
* ``keep-production``: production's 1st gen ``linehaul-ingestor`` still ingests the log bucket (in this
  region, so under the same name, which a 2nd gen function cannot take): it stays, ours is not deployed
  yet. docs/operations.md, "Cutover", switches it later.

and fails (exit 1, saying why, before anything is deployed) when

* production's 1st gen ``linehaul-publisher`` still exists in the region: two publishers on one staging
  bucket load files twice, and ours cannot take its name while it exists (delete it first: "Cutover");
* another function than those two ingests the log bucket (production's in another region, a copy): two
  ingestors would stage every log twice.

Pure logic in :func:`plan`; :func:`main` asks gcloud.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INGESTOR, PUBLISHER = "linehaul-ingestor", "linehaul-publisher"


class UnsafeDeployError(Exception):
    """The project holds functions that would make the deployment stage or load data twice."""


@dataclass(frozen=True, slots=True)
class Function:
    """A Cloud Function as ``gcloud functions list --format=json`` shows it."""

    name: str
    region: str
    generation: str  # GEN_1 or GEN_2
    trigger: Any

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Function:
        """From ``projects/P/locations/R/functions/NAME`` and its ``environment`` and ``eventTrigger``."""
        parts = str(data["name"]).split("/")
        return cls(parts[-1], parts[-3], str(data.get("environment", "GEN_1")), data.get("eventTrigger"))

    def watches(self, bucket: str) -> bool:
        """Whether its trigger names ``bucket`` (in any field: 1st and 2nd gen triggers differ)."""
        names = _strings(self.trigger)
        return any(value == bucket or value.endswith(f"/buckets/{bucket}") for value in names)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def plan(functions: Sequence[Function], region: str, log_bucket: str, bucket_location: str) -> str:
    """``deploy LOCATION`` or ``keep-production LOCATION`` (see the module); UnsafeDeployError."""
    location = bucket_location.lower()
    if any(f.name == PUBLISHER and f.region == region and f.generation == "GEN_1" for f in functions):
        raise UnsafeDeployError(
            f"production's 1st gen {PUBLISHER} still exists in {region}: stop and delete it first "
            "(docs/operations.md, Cutover), else two publishers load the staging bucket"
        )
    ours = (INGESTOR, region, "GEN_2")
    watching = [f for f in functions if f.watches(log_bucket) and (f.name, f.region, f.generation) != ours]
    production = [f for f in watching if (f.name, f.region, f.generation) == (INGESTOR, region, "GEN_1")]
    others = [f for f in watching if f not in production]
    if others:
        named = ", ".join(f"{f.name} ({f.generation}, {f.region})" for f in others)
        raise UnsafeDeployError(
            f"{named} already ingests gs://{log_bucket}: two ingestors would stage every log twice; "
            "delete it first (docs/operations.md, Cutover)"
        )
    return f"{'keep-production' if production else 'deploy'} {location}"


def _gcloud(*args: str) -> Any:
    result = subprocess.run(["gcloud", *args, "--format=json"], check=True, capture_output=True, text=True)
    return json.loads(result.stdout or "null")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--log-bucket", required=True)
    parser.add_argument("--plan", required=True, type=Path, help="where to write PLAN LOCATION")
    options = parser.parse_args(argv)
    functions = [Function.from_json(item) for item in _gcloud("functions", "list") or []]
    location = str(_gcloud("storage", "buckets", "describe", f"gs://{options.log_bucket}")["location"])
    try:
        decided = plan(functions, options.region, options.log_bucket, location)
    except UnsafeDeployError as error:
        print(f"deploy/guard.py: {error}", file=sys.stderr)
        return 1
    options.plan.parent.mkdir(parents=True, exist_ok=True)
    options.plan.write_text(decided + "\n")
    print(f"deploy/guard.py: {decided}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
