"""The code checks run as part of the suite: ruff (lint and format), mypy --strict, and the guide's
module size (at most 400 lines in a module of the package and the functions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_checks_pass(command: list[str]) -> None:
    result = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


MOST_LINES = 400


def test_no_module_is_over_the_size_the_guide_asks() -> None:
    modules = [*(ROOT / "linehaul").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
    assert modules
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in modules}
    assert {path: lines for path, lines in sizes.items() if lines > MOST_LINES} == {}
