"""What a user agent tells us: the ``details`` record of a row, and the named outcomes of classifying.

Every field is optional; ``None`` always means "the agent did not say". The shapes and names follow the
``details`` column of the public ``bigquery-public-data.pypi`` tables: :meth:`UserAgent.to_dict` and
:meth:`UserAgent.to_json` are generated from that column's fields in ``schemas/`` (by attribute name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from linehaul._columns import record_json_encoder, record_python_encoder
from linehaul.schema import load_schema
from linehaul.tables import Table

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
        return _details_encoders()[0](self)

    def to_json(self) -> str:
        """``json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))``, built directly."""
        return _details_encoders()[1](self)


@cache
def _details_encoders() -> tuple[Callable[[Any], dict[str, Any]], Callable[[Any], str]]:
    """The encoders of the ``details`` column's record, which both tables share (schemas/*.json)."""
    for column in load_schema(Table.FILE_DOWNLOADS):
        if column["name"] == "details":
            return record_python_encoder(column["fields"]), record_json_encoder(column["fields"])
    raise LookupError("schemas/file_downloads.json has no details column")


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
