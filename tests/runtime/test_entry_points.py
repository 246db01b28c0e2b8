"""The entry points named in linehaul/runtime/entry_points.py are the functions linehaul defines, one for
each folder of functions/ (that deploy/cloudbuild.yaml deploys each one's main.py with its entry point, a
function main.py makes: tests/deploy/test_cloudbuild.py)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from linehaul.runtime.entry_points import ENTRY_POINTS, EntryPoint

FUNCTIONS = Path(__file__).parents[2] / "functions"


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=lambda entry: entry.folder)
def test_the_module_defines_the_function_under_its_name(entry: EntryPoint) -> None:
    function = getattr(importlib.import_module(entry.module), entry.name)
    assert (function.__name__, function.__module__) == (entry.name, entry.module)


def test_every_deployed_function_has_an_entry_point() -> None:
    assert sorted(path.parent.name for path in FUNCTIONS.glob("*/main.py")) == sorted(
        entry.folder for entry in ENTRY_POINTS
    )
