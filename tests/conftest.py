"""Suite-wide settings: the lanes and their Hypothesis profiles (tests/lanes.py). The local cloud's fixtures
(tests/cloud.py) are loaded by the conftest of each folder whose tests need them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import lanes


def pytest_addoption(parser: pytest.Parser) -> None:
    lanes.add_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    lanes.configure(config)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if lanes.is_fast(config) and lanes.beyond_core(collection_path):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if lanes.is_fast(config):
        lanes.fast_lane_only(config, items)
