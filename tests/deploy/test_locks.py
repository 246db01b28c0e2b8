"""Each function's lock agrees with pyproject.toml: every runtime dependency is locked, hashed, in range."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.deploy.locks import (
    FUNCTIONS,
    ROOT,
    Pin,
    disagreements,
    load_pyproject,
    read_inputs,
    read_lock,
)


def _lock(function: str) -> dict[str, Pin]:
    return read_lock((ROOT / "functions" / function / "requirements.lock").read_text())


def _inputs(function: str) -> str:
    return (ROOT / "functions" / function / "requirements.in").read_text()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_lock_agrees_with_pyproject(function: str) -> None:
    lock = _lock(function)

    assert disagreements(load_pyproject(), read_inputs(_inputs(function)), lock) == []
    assert "functions-framework" in lock  # what the runtime starts the function with


def test_only_the_publisher_installs_bigquery() -> None:
    assert "google-cloud-bigquery" not in _lock("ingestor")
    assert "google-cloud-bigquery" in _lock("publisher")


def test_a_runtime_dependency_missing_from_the_lock_is_named() -> None:
    pyproject = load_pyproject()
    pyproject["project"]["dependencies"].append("left-pad>=1")

    problems = disagreements(pyproject, read_inputs(_inputs("ingestor")), _lock("ingestor"))

    assert problems == ["left-pad>=1 (pyproject.toml's dependencies) is not locked"]


def test_a_locked_version_outside_pyproject_range_is_named() -> None:
    pyproject: dict[str, Any] = copy.deepcopy(load_pyproject())
    lock = _lock("publisher")
    pyproject["project"]["dependencies"] = ["packaging>=999", "isal>=1.6"]

    problems = disagreements(pyproject, read_inputs(_inputs("publisher")), lock)

    assert problems == [
        f"packaging=={lock['packaging'].version} is locked, but pyproject.toml's dependencies require "
        "packaging>=999"
    ]


def test_a_requirement_that_differs_from_the_gcp_extra_is_named() -> None:
    inputs = read_inputs("google-cloud-storage>=2.0\nfunctions-framework==3.10.2\nleft-pad\n")

    problems = disagreements(load_pyproject(), inputs, _lock("ingestor"))

    assert problems == [
        "google-cloud-storage>=2.0 differs from pyproject.toml's google-cloud-storage>=2.18 (the gcp extra)",
        "left-pad is in no pyproject.toml extra of gcp, local",
    ]


def test_a_pin_without_hash_and_linehaul_itself_are_named() -> None:
    lock = {**_lock("ingestor"), "linehaul": Pin("linehaul", "0.1.0", 1), "idna": Pin("idna", "3.20", 0)}

    problems = disagreements(load_pyproject(), read_inputs(_inputs("ingestor")), lock)

    assert problems == [
        "linehaul itself is locked: scripts/package-functions adds its wheel",
        "idna==3.20 has no hash",
    ]


def test_markers_for_other_platforms_do_not_require_a_pin() -> None:
    pyproject = load_pyproject()
    pyproject["project"]["dependencies"].append("pywin32>=300; sys_platform == 'win32'")

    assert disagreements(pyproject, read_inputs(_inputs("ingestor")), _lock("ingestor")) == []
