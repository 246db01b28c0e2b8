"""The test lanes: every test (``scripts/test``, what CI runs) and the fast lane (``scripts/test --fast``).

The fast lane is the core and unit tests: every test that needs only the core dependencies (pyproject's
``dependencies``, plus pytest, Hypothesis and PyYAML) and no server. It leaves out the paths of
:data:`BEYOND_CORE` (their modules import an extra, a dev tool or the local cloud) and the tests marked
``integration`` or ``slow``; a new test file is in it unless listed here. ``tests/test_lanes.py`` runs the
fast lane in an environment that holds only the core dependencies, so a test that needs more and is not
listed fails there.

Hypothesis draws ``thorough`` examples in every run and ``quick`` ones in the fast lane (or as
``--hypothesis-profile`` says): a test that needs more or fewer examples than usual asks for a multiple of the
loaded profile's count (``max_examples=settings().max_examples * 30``), never for a fixed one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).parents[1]

BEYOND_CORE: dict[str, str] = {
    "tests/analysis": "the analysis extra (pyarrow, DuckDB)",
    "tests/beam": "the beam extra (Apache Beam)",
    "tests/cli/test_status_command.py": "the local cloud",
    "tests/columnar": "the columnar extra (pyarrow)",
    "tests/deploy/test_rehearsal.py": "the local cloud and the package index",
    "tests/gcp": "the local cloud",
    "tests/integration": "the local cloud",
    "tests/local": "the local cloud",
    "tests/logs/test_narrow.py": "the analysis extra",
    "tests/pipeline/test_aggregator_contract.py": "the analysis extra (DuckDB makes in-memory daily rows)",
    "tests/pipeline/test_blob_store_contract.py": "the local cloud, for the fake-gcs cases",
    "tests/pipeline/test_daily.py": "the analysis extra (DuckDB makes in-memory daily rows)",
    "tests/pipeline/test_table_loader_contract.py": "the local cloud, for the emulator cases",
    "tests/property/test_columnar.py": "the columnar extra",
    "tests/property/test_flaky_daily.py": "the analysis extra (DuckDB makes in-memory daily rows)",
    "tests/property/test_hostile_agents.py": "the analysis extra",
    "tests/runtime": "the local extra (functions-framework) and the local cloud",
    "tests/test_lanes.py": "a second pytest run, of the fast lane",
    "tests/test_lone_surrogates.py": "the analysis extra",
    "tests/test_no_line_stops_a_log.py": "the analysis extra",
    "tests/test_quality.py": "the dev tools (ruff, mypy)",
    "tests/test_readme.py": "the analysis extra, for the README's analysis example",
}
"""Test paths (folders or files, from the checkout) outside the fast lane: what each needs beyond the core."""

FAST_MARKERS = ("integration", "slow")
"""Tests marked with one of these are outside the fast lane wherever they are."""

_SHARED_MACHINES = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""The machines are shared: no example may fail for being slow, nor input generation be judged on speed."""
settings.register_profile("thorough", _SHARED_MACHINES, max_examples=100)
settings.register_profile("quick", _SHARED_MACHINES, max_examples=5)


def add_option(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help="run the fast lane: the core and unit tests, with Hypothesis's quick profile (tests/lanes.py)",
    )


def is_fast(config: pytest.Config) -> bool:
    return bool(config.getoption("fast"))


def configure(config: pytest.Config) -> None:
    """Check the lanes' paths; load the lane's Hypothesis profile, unless --hypothesis-profile names one."""
    missing = sorted(path for path in BEYOND_CORE if not (ROOT / path).exists())
    if missing:
        raise pytest.UsageError(f"tests/lanes.py lists paths that do not exist: {', '.join(missing)}")
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile("quick" if is_fast(config) else "thorough")


def beyond_core(path: Path) -> bool:
    """Whether ``path`` is, or is in, a path of :data:`BEYOND_CORE`."""
    return any(path == ROOT / entry or (ROOT / entry) in path.parents for entry in BEYOND_CORE)


def fast_lane_only(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests marked with one of :data:`FAST_MARKERS` (the rest of the fast lane's rule is in
    which paths are collected)."""
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        (left if any(item.get_closest_marker(name) for name in FAST_MARKERS) else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def use_local_cloud(config: pytest.Config) -> None:
    """Load the local cloud's fixtures (tests/cloud.py), once, for a folder whose tests need them; the fast
    lane never does (it runs in an environment without the cloud's packages)."""
    if not is_fast(config):
        config.pluginmanager.import_plugin("tests.cloud")
