"""The local cloud's own tests: its fixtures (tests/cloud.py)."""

from __future__ import annotations

import pytest

from tests import lanes


def pytest_configure(config: pytest.Config) -> None:
    lanes.use_local_cloud(config)
