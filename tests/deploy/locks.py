"""The functions' locked requirements, read as data, and where they disagree with pyproject.toml.

``functions/<name>/requirements.lock`` is written by ``scripts/lock-functions`` (``uv pip compile
--generate-hashes``): one ``name==version`` line per package, each followed by its ``--hash=sha256:...``
lines. ``functions/<name>/requirements.in`` names what the function needs besides linehaul's own runtime
dependencies, each line copied from pyproject.toml's ``gcp`` or ``local`` extra. :func:`disagreements` says,
in words, every way in which a lock and its inputs fail pyproject.toml; an empty list means they agree.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
FUNCTIONS = ("ingestor", "publisher")
# The extras a requirements.in may draw from: the Google Cloud clients, and functions-framework (local).
SOURCE_EXTRAS = ("gcp", "local")
# Markers are evaluated for the runtime the locks are for: python311 on Linux x86_64.
RUNTIME = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
}

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Pin:
    """One locked package: its canonical name, exact version and how many hashes the lock allows."""

    name: str
    version: str
    hashes: int


def read_lock(text: str) -> dict[str, Pin]:
    """The pins of a lock (or of a packaged requirements.txt), by canonical name; hashes counted per pin."""
    pins: dict[str, Pin] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            current = canonicalize_name(match["name"])
            pins[current] = Pin(current, match["version"], 0)
        elif current is not None and _HASH.search(line):
            pin = pins[current]
            pins[current] = Pin(pin.name, pin.version, pin.hashes + len(_HASH.findall(line)))
        elif not line.startswith(" "):
            current = None
    return pins


def read_inputs(text: str) -> list[Requirement]:
    """The requirements of a requirements.in: one per line, comments and blank lines skipped."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [Requirement(line) for line in lines if line]


def load_pyproject(root: Path = ROOT) -> dict[str, Any]:
    with (root / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def disagreements(
    pyproject: Mapping[str, Any], inputs: Sequence[Requirement], lock: Mapping[str, Pin]
) -> list[str]:
    """Every way ``lock`` and ``inputs`` (one function's) disagree with ``pyproject``; [] when they agree."""
    project = pyproject["project"]
    problems: list[str] = []
    for requirement in map(Requirement, project["dependencies"]):
        if requirement.marker is None or requirement.marker.evaluate(RUNTIME):
            problems += _check_pin(requirement, lock, "pyproject.toml's dependencies")
    extras: dict[str, tuple[str, Requirement]] = {}  # the first extra that names a package owns it
    for extra in SOURCE_EXTRAS:
        for requirement in map(Requirement, project["optional-dependencies"][extra]):
            extras.setdefault(canonicalize_name(requirement.name), (extra, requirement))
    for requirement in inputs:
        name = canonicalize_name(requirement.name)
        if name not in extras:
            problems.append(f"{requirement} is in no pyproject.toml extra of {', '.join(SOURCE_EXTRAS)}")
            continue
        extra, declared = extras[name]
        if (requirement.specifier, requirement.extras) != (declared.specifier, declared.extras):
            problems.append(f"{requirement} differs from pyproject.toml's {declared} (the {extra} extra)")
        problems += _check_pin(declared, lock, f"pyproject.toml's {extra} extra")
    if canonicalize_name(project["name"]) in lock:
        problems.append(f"{project['name']} itself is locked: scripts/package-functions adds its wheel")
    problems += [f"{pin.name}=={pin.version} has no hash" for pin in lock.values() if pin.hashes == 0]
    return problems


def _check_pin(requirement: Requirement, lock: Mapping[str, Pin], source: str) -> list[str]:
    pin = lock.get(canonicalize_name(requirement.name))
    if pin is None:
        return [f"{requirement} ({source}) is not locked"]
    if not requirement.specifier.contains(pin.version, prereleases=True):
        return [f"{pin.name}=={pin.version} is locked, but {source} require {requirement}"]
    return []
