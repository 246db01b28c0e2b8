"""A deployment rehearsal: install a packaged function directory the way the Cloud Functions build does.

:func:`install` copies ``build/functions/<name>/`` (as ``scripts/package-functions`` writes it) into a
directory of its own, creates a fresh virtual environment there with the base Python (never the checkout's
``.venv``, never ``--system-site-packages``) and runs ``pip install --require-hashes -r requirements.txt`` in
the copy. Every command gets :func:`isolated_environment`: nothing in it points into the checkout, so whatever
the function then imports comes from what its own ``requirements.txt`` installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.deploy.locks import ROOT

# Variables that would make a Python see more than its own environment, or pip another one.
_LEAKY = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "VIRTUAL_ENV",
    "PIP_TARGET",
    "PIP_PREFIX",
)


def base_python() -> Path:
    """The interpreter the checkout's environment was made from: a venv of it has none of the checkout's
    packages. (``sys.executable`` is the checkout's ``.venv/bin/python``.)"""
    for name in (f"python{sys.version_info.major}.{sys.version_info.minor}", "python3"):
        candidate = Path(sys.base_prefix) / "bin" / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no python3 in {sys.base_prefix}/bin")


def isolated_environment(venv: Path, base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``base`` without anything that points into the checkout or widens Python's view; ``venv/bin`` first on
    PATH. The machine's pip settings (its index, certificates) stay: the install needs them."""
    checkout = str(ROOT)
    environment = {
        name: value
        for name, value in base.items()
        if name not in _LEAKY and name != "PATH" and checkout not in value
    }
    path = [entry for entry in base.get("PATH", "").split(os.pathsep) if entry and checkout not in entry]
    environment["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    return environment


@dataclass(frozen=True, slots=True)
class Installed:
    """A function directory installed on its own: the copy, its virtual environment, how long pip took."""

    name: str
    directory: Path
    venv: Path
    install_seconds: float
    environment: dict[str, str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def functions_framework(self) -> Path:
        return self.venv / "bin" / "functions-framework"

    def run(self, *args: str) -> str:
        """Run a command of the environment in the function's directory; its output (stdout)."""
        return _run([str(self.venv / "bin" / args[0]), *args[1:]], self.directory, self.environment)

    def frozen(self) -> dict[str, str]:
        """``pip freeze`` of the environment: version by canonical name; a direct URL for ``name @ url``."""
        packages: dict[str, str] = {}
        for line in self.run("python", "-m", "pip", "freeze").splitlines():
            name, separator, version = line.partition("==") if "==" in line else line.partition(" @ ")
            if separator:
                packages[canonicalize_name(name)] = version
        return packages


def install(packaged: Path, name: str, workspace: Path) -> Installed:
    """Copy ``packaged/<name>`` to ``workspace/<name>``; a fresh ``workspace/<name>-venv``; pip install."""
    directory = workspace / name
    venv = workspace / f"{name}-venv"
    shutil.copytree(packaged / name, directory)
    environment = isolated_environment(venv)
    _run([str(base_python()), "-m", "venv", str(venv)], workspace, environment)
    started = time.monotonic()
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, "--require-hashes", "-r", "requirements.txt"], directory, environment)
    return Installed(name, directory, venv, time.monotonic() - started, environment)


def _run(command: Sequence[str], cwd: Path, environment: Mapping[str, str]) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=dict(environment), capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout
