"""Private: the JSON that pip >= 6, uv and hatch put in their user agent, read into a :class:`UserAgent`.

Production Linehaul feeds the decoded JSON to cattrs, and its answers are the compatibility contract, quirks
included. These functions reproduce them with plain Python, so that no JSON value reaches a different row:

* a record (``installer``, ``distro``, ...) is read with the ``in`` and ``[]`` operators of whatever the
  JSON holds: keys of an object; a string or an array has no usable key (``"pip"`` gives an empty record)
  unless the key is in it, and then reading it fails; a number, ``true`` or ``null`` where an object is
  expected fails;
* a text field is ``str(value)`` of the decoded value (``3.10`` becomes ``"3.1"``, ``true`` ``"True"``);
* ``ci`` is the truth of the value (``"false"`` is true, ``0`` false);
* ``subcommand`` is ``str`` of each item of whatever it holds (a string gives its characters), then
  shell-joined.

Where production fails, :class:`AgentJsonError` says why, and the line is rejected as production drops it.

One deliberate difference: JSON may escape a lone surrogate (``"\\udcc3"``; pip writes one for a byte of
``/etc/os-release`` that is not UTF-8), which decodes to a code point that is not text: it cannot be written
as UTF-8, and BigQuery refuses its escape. :func:`without_lone_surrogates` puts U+FFFD in its place in every
value (what a UTF-8 decoder puts in place of what it cannot read); a valid pair is the character it encodes.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar

from linehaul._fields import valid_text
from linehaul.useragents.model import Distro, Implementation, Installer, LibC, System, UserAgent

__all__ = [  # _common and _general are tested against each other
    "AgentJsonError",
    "may_escape_surrogates",
    "user_agent_from_json",
    "without_lone_surrogates",
]

_MISSING: Any = object()
_T = TypeVar("_T")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class AgentJsonError(ValueError):
    """The agent's JSON decodes but cannot be read into a ``details`` record."""


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _field(record: Any, key: str, where: str) -> Any:
    """``record[key]`` if ``key in record``, else _MISSING; failing as production fails.

    ``where`` is the JSON path of ``record`` (``""`` for the whole document), for the error message.
    """
    if type(record) is dict:
        return record.get(key, _MISSING)
    what = f"{where!r}" if where else "the JSON"
    try:
        present = key in record
    except TypeError:
        raise AgentJsonError(f"{what} is {_kind(record)}, not an object") from None
    if not present:
        return _MISSING
    try:
        return record[key]
    except (TypeError, KeyError, IndexError):
        raise AgentJsonError(f"{what} is {_kind(record)} containing {key!r}, not an object") from None


def _text(record: Any, key: str, where: str) -> str | None:
    value = _field(record, key, where)
    return None if value is _MISSING or value is None else str(value)


def _nested(record: Any, key: str, where: str, build: Callable[[Any, str], _T]) -> _T | None:
    value = _field(record, key, where)
    return None if value is _MISSING or value is None else build(value, f"{where}.{key}" if where else key)


def _subcommand(record: Any, where: str) -> str | None:
    value = _field(record, "subcommand", where)
    if value is _MISSING or value is None:
        return None
    try:
        words = [str(item) for item in value]
    except TypeError:
        raise AgentJsonError(f"'{where}.subcommand' is {_kind(value)}, not a list") from None
    return shlex.join(words)


def _installer(value: Any, where: str) -> Installer:
    return Installer(_text(value, "name", where), _text(value, "version", where), _subcommand(value, where))


def _implementation(value: Any, where: str) -> Implementation:
    return Implementation(_text(value, "name", where), _text(value, "version", where))


def _libc(value: Any, where: str) -> LibC:
    return LibC(_text(value, "lib", where), _text(value, "version", where))


def _distro(value: Any, where: str) -> Distro:
    return Distro(
        _text(value, "name", where),
        _text(value, "version", where),
        _text(value, "id", where),
        _nested(value, "libc", where, _libc),
    )


def _system(value: Any, where: str) -> System:
    return System(_text(value, "name", where), _text(value, "release", where))


def _scalar(value: Any) -> str | None:
    return value if type(value) is str else None if value is None else str(value)


def _common(data: dict[str, Any]) -> UserAgent | None:
    """The usual case, read quickly: every record is an object or null. None for anything else."""
    installer, implementation = data.get("installer"), data.get("implementation")
    distro, system = data.get("distro"), data.get("system")
    libc = distro.get("libc") if type(distro) is dict else None
    for record in (installer, implementation, distro, system, libc):
        if record is not None and type(record) is not dict:
            return None
    subcommand = installer.get("subcommand") if installer is not None else None
    if subcommand is not None and type(subcommand) is not list:
        return None
    ci = data.get("ci")
    return UserAgent(
        installer=None
        if installer is None
        else Installer(
            _scalar(installer.get("name")),
            _scalar(installer.get("version")),
            None if subcommand is None else shlex.join(str(word) for word in subcommand),
        ),
        python=_scalar(data.get("python")),
        implementation=None
        if implementation is None
        else Implementation(_scalar(implementation.get("name")), _scalar(implementation.get("version"))),
        distro=None
        if distro is None
        else Distro(
            _scalar(distro.get("name")),
            _scalar(distro.get("version")),
            _scalar(distro.get("id")),
            None if libc is None else LibC(_scalar(libc.get("lib")), _scalar(libc.get("version"))),
        ),
        system=None
        if system is None
        else System(_scalar(system.get("name")), _scalar(system.get("release"))),
        cpu=_scalar(data.get("cpu")),
        openssl_version=_scalar(data.get("openssl_version")),
        setuptools_version=_scalar(data.get("setuptools_version")),
        rustc_version=_scalar(data.get("rustc_version")),
        ci=None if ci is None else bool(ci),
    )


def user_agent_from_json(data: Any) -> UserAgent:
    """Read decoded agent JSON into a :class:`UserAgent`, as production Linehaul does."""
    common = _common(data) if type(data) is dict else None
    return common if common is not None else _general(data)


def _general(data: Any) -> UserAgent:
    """Any decoded JSON, quirks included (see the module docstring)."""
    where = ""
    ci = _field(data, "ci", where)
    return UserAgent(
        installer=_nested(data, "installer", where, _installer),
        python=_text(data, "python", where),
        implementation=_nested(data, "implementation", where, _implementation),
        distro=_nested(data, "distro", where, _distro),
        system=_nested(data, "system", where, _system),
        cpu=_text(data, "cpu", where),
        openssl_version=_text(data, "openssl_version", where),
        setuptools_version=_text(data, "setuptools_version", where),
        rustc_version=_text(data, "rustc_version", where),
        ci=None if ci is _MISSING or ci is None else bool(ci),
    )


def may_escape_surrogates(text: str) -> bool:
    """Whether JSON ``text`` may hold an escaped surrogate (``\\ud800``-``\\udfff``): a quick test, true for
    every text that does, and for a few that do not."""
    return "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None


def without_lone_surrogates(details: UserAgent) -> UserAgent:
    """``details`` with every lone surrogate of its text values replaced by U+FFFD (the same object when it
    holds none)."""
    valid: UserAgent = _valid(details)
    return valid


def _valid(value: Any) -> Any:
    """A string, or a record of :mod:`~linehaul.useragents.model`, without lone surrogates."""
    if type(value) is str:
        return valid_text(value)
    if not is_dataclass(value) or isinstance(value, type):
        return value
    changed = {}
    for column in fields(value):
        old = getattr(value, column.name)
        new = _valid(old)
        if new is not old:
            changed[column.name] = new
    return replace(value, **changed) if changed else value
