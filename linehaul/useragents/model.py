"""What a user agent tells us: the ``details`` record of a row, and the named outcomes of classifying.

Every field is optional; ``None`` always means "the agent did not say". The shapes and names follow the
``details`` column of the public ``bigquery-public-data.pypi`` tables (see ``schemas/``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_quote: Callable[[str], str] = json.encoder.encode_basestring  # json.dumps' own, for ensure_ascii=False
__all__ = [
    "UNKNOWN",
    "Classification",
    "Distro",
    "Ignored",
    "Implementation",
    "Installer",
    "LibC",
    "System",
    "Unknown",
    "Unusable",
    "UserAgent",
]


@dataclass(frozen=True, slots=True)
class Installer:
    """The tool that made the request. ``subcommand`` is shell-joined (``install 'a b'``)."""

    name: str | None = None
    version: str | None = None
    subcommand: str | None = None


@dataclass(frozen=True, slots=True)
class Implementation:
    """The Python implementation (``CPython``, ``PyPy``, ...) and its own version."""

    name: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class LibC:
    """The C library of a Linux distribution (``glibc``, ``musl``) and its version."""

    lib: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Distro:
    """The operating system distribution: ``id`` is a codename such as ``jammy``."""

    name: str | None = None
    version: str | None = None
    id: str | None = None
    libc: LibC | None = None


@dataclass(frozen=True, slots=True)
class System:
    """The kernel or operating system family (``Linux``, ``Darwin``, ``Windows``) and its release."""

    name: str | None = None
    release: str | None = None


@dataclass(frozen=True, slots=True)
class UserAgent:
    """Everything a user agent says about the client; the ``details`` record of a row."""

    installer: Installer | None = None
    python: str | None = None
    implementation: Implementation | None = None
    distro: Distro | None = None
    system: System | None = None
    cpu: str | None = None
    openssl_version: str | None = None
    setuptools_version: str | None = None
    rustc_version: str | None = None
    ci: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``details`` record as BigQuery row data: every column present, ``None`` for no value."""
        installer, implementation, distro, system = (
            self.installer,
            self.implementation,
            self.distro,
            self.system,
        )
        libc = distro.libc if distro is not None else None
        return {
            "installer": None
            if installer is None
            else {"name": installer.name, "version": installer.version, "subcommand": installer.subcommand},
            "python": self.python,
            "implementation": None
            if implementation is None
            else {"name": implementation.name, "version": implementation.version},
            "distro": None
            if distro is None
            else {
                "name": distro.name,
                "version": distro.version,
                "id": distro.id,
                "libc": None if libc is None else {"lib": libc.lib, "version": libc.version},
            },
            "system": None if system is None else {"name": system.name, "release": system.release},
            "cpu": self.cpu,
            "openssl_version": self.openssl_version,
            "setuptools_version": self.setuptools_version,
            "rustc_version": self.rustc_version,
            "ci": self.ci,
        }

    def to_json(self) -> str:
        """``json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))``, built directly."""
        installer, implementation, distro, system = (
            self.installer,
            self.implementation,
            self.distro,
            self.system,
        )
        libc = distro.libc if distro is not None else None
        ci = "null" if self.ci is None else "true" if self.ci else "false"
        return (
            '{"installer":'
            + (
                "null"
                if installer is None
                else f'{{"name":{_j(installer.name)},"version":{_j(installer.version)},'
                f'"subcommand":{_j(installer.subcommand)}}}'
            )
            + f',"python":{_j(self.python)},"implementation":'
            + (
                "null"
                if implementation is None
                else f'{{"name":{_j(implementation.name)},"version":{_j(implementation.version)}}}'
            )
            + ',"distro":'
            + (
                "null"
                if distro is None
                else f'{{"name":{_j(distro.name)},"version":{_j(distro.version)},"id":{_j(distro.id)},"libc":'
                + ("null" if libc is None else f'{{"lib":{_j(libc.lib)},"version":{_j(libc.version)}}}')
                + "}"
            )
            + ',"system":'
            + ("null" if system is None else f'{{"name":{_j(system.name)},"release":{_j(system.release)}}}')
            + f',"cpu":{_j(self.cpu)},"openssl_version":{_j(self.openssl_version)},'
            f'"setuptools_version":{_j(self.setuptools_version)},"rustc_version":{_j(self.rustc_version)},'
            f'"ci":{ci}}}'
        )


def _j(value: str | None) -> str:
    return "null" if value is None else _quote(value)


@dataclass(frozen=True, slots=True)
class Ignored:
    """An agent that production Linehaul deliberately drops (monitoring, crawlers, ``(null)``, ...).

    ``rule`` names the ignore pattern that matched. A line with an ignored agent gives no row.
    """

    rule: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """An agent that no rule recognises: its line still gives a row, with no details."""


@dataclass(frozen=True, slots=True)
class Unusable:
    """An agent that claims a structured format but breaks it in a way production cannot store.

    For example ``pip/20.0 {"installer": 5}``: production Linehaul fails on it and drops the line,
    so linehaul rejects the line too, with ``reason``.
    """

    reason: str


UNKNOWN = Unknown()

Classification = UserAgent | Ignored | Unknown | Unusable
"""What classifying a user agent gives: exactly one of these, never ``None``."""
