"""The fast lane needs only the core dependencies: it passes in a fresh environment that holds linehaul, its
core dependencies and the test tools, nothing else, made as a user makes it:

    python3 -m venv core && core/bin/pip install -e . pytest hypothesis pyyaml && core/bin/pytest --fast

A test that needs an extra, a dev tool or the local cloud and is not listed in tests/lanes.py fails here.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.deploy.rehearsal import base_python, isolated_environment
from tests.lanes import ROOT

pytestmark = pytest.mark.slow

TEST_TOOLS = ("pytest", "hypothesis", "pyyaml")


def _extras_only() -> set[NormalizedName]:
    """The packages that pyproject's extras name and the core environment must not hold."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    named = {
        canonicalize_name(Requirement(requirement).name)
        for requirements in project["optional-dependencies"].values()
        for requirement in requirements
    }
    return named - {canonicalize_name(name) for name in (*TEST_TOOLS, project["name"])}


def _run(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def test_the_fast_lane_passes_with_only_the_core_dependencies(tmp_path: Path) -> None:
    venv = tmp_path / "core"
    environment = {
        name: value for name, value in isolated_environment(venv).items() if not name.startswith("PYTEST")
    }
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    for command in (
        [str(base_python()), "-m", "venv", str(venv)],
        [*pip, "install", "--quiet", "-e", str(ROOT), *TEST_TOOLS],
    ):
        done = _run(command, environment)
        assert done.returncode == 0, done.stdout + done.stderr
    frozen = _run([*pip, "list", "--format=freeze"], environment).stdout.splitlines()
    installed = {canonicalize_name(line.split("==")[0]) for line in frozen}
    assert installed & _extras_only() == set()

    lane = _run([python, "-m", "pytest", "--fast", "-q", "-p", "no:cacheprovider"], environment)

    assert lane.returncode == 0, "\n".join((lane.stdout + lane.stderr).splitlines()[-60:])
    assert " passed" in lane.stdout.splitlines()[-1], lane.stdout[-2000:]
