"""Fixtures of the backfill tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.beam.helpers import write_logs


@pytest.fixture(scope="package")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_logs(tmp_path_factory.mktemp("logs"))
