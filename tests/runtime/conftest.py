"""The functions' runtime, served by functions-framework, runs against the local cloud: its fixtures
(tests/cloud.py)."""

from __future__ import annotations

import pytest

from tests import lanes


def pytest_configure(config: pytest.Config) -> None:
    lanes.use_local_cloud(config)
