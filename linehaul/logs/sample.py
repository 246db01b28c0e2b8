"""A deterministic, realistic sample CDN log, for demos, tests and benchmarks.

``write_sample(path, lines=..., seed=...)`` writes ``lines`` lines (gzip when the name ends in ``.gz``):
about 75% downloads and 25% simple-index requests spread evenly over ``days`` days (one by default) from
``start``, with pip and uv JSON agents, the other clients production recognises, browsers, ignored bots,
unknown agents and about 0.5% malformed lines. The same (lines, seed, start, days) always gives the same
bytes.

What a line holds is plausible as a whole, as on PyPI: each agent runs one Python (most on 3.10 to 3.12,
few on 2.7, which come last in popularity), and a download is of a version of its project that this
Python can install (numpy 2.1 from 3.10 on, 1.16.6 on 2.7; no pydantic on 2.7) and of a file its client
fetches: installers take wheels (built for their Python and platform when the project is compiled) and
now and then a source distribution; Homebrew and operating-system ports take sources; mirrors take every
kind of file, old eggs and Windows installers of old versions included; browsers and scripts take wheels
and sources. A file's URL is the same for each of its downloads, with a digest of its name where PyPI
has that of its content.
"""

from __future__ import annotations

import enum
import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast

__all__ = ["DEFAULT_START", "sample_lines", "write_sample"]

Python = tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Project:
    """A project: its current versions (``{}`` is a patch number) and the lowest Python they support;
    for older Pythons, the last version that supports each (``(2, 7): "1.16.6"``: up to 2.7); whether its
    wheels are built per Python and platform (``"cp"``), once for all Pythons 3 (``"abi3"``), or pure."""

    name: str
    versions: str
    requires: Python
    older: tuple[tuple[Python, str], ...] = ()
    wheels: str = "pure"

    def version(self, python: Python | None, patch: int) -> str | None:
        """A version this Python can install (any Python: a current one); None: there is none."""
        if python is None or python >= self.requires:
            return self.versions.format(patch)
        return next((version for up_to, version in self.older if python <= up_to), None)


_PROJECTS = (
    _Project("boto3", "1.35.{}", (3, 8), (((3, 7), "1.33.13"),)),
    _Project("requests", "2.32.{}", (3, 8), (((3, 7), "2.31.0"), ((2, 7), "2.27.1"))),
    _Project("numpy", "2.1.{}", (3, 10), (((3, 9), "1.26.4"), ((3, 8), "1.24.4"), ((2, 7), "1.16.6")), "cp"),
    _Project("urllib3", "2.2.{}", (3, 8), (((3, 7), "2.0.7"), ((2, 7), "1.26.20"))),
    _Project("setuptools", "75.{}.0", (3, 8), (((3, 7), "68.0.0"), ((2, 7), "44.1.1"))),
    _Project("packaging", "24.{}", (3, 8), (((3, 7), "24.0"), ((2, 7), "20.9"))),
    _Project("pandas", "2.2.{}", (3, 9), (((3, 8), "2.0.3"), ((2, 7), "0.24.2")), "cp"),
    _Project("pydantic", "2.9.{}", (3, 8)),
    _Project("cryptography", "43.0.{}", (3, 7), (((2, 7), "3.3.2"),), "abi3"),
    _Project("typing-extensions", "4.12.{}", (3, 8), (((3, 7), "4.7.1"), ((2, 7), "3.10.0.2"))),
    _Project("pyyaml", "6.0.{}", (3, 8), (((3, 7), "6.0.1"), ((2, 7), "5.4.1")), "cp"),
    _Project("six", "1.16.{}", (2, 7)),
    _Project("certifi", "2024.8.{}", (3, 6), (((2, 7), "2020.4.5.1"),)),
    _Project("click", "8.1.{}", (3, 7), (((2, 7), "7.1.2"),)),
    _Project("attrs", "24.2.{}", (3, 7), (((2, 7), "21.4.0"),)),
    _Project("pytest", "8.3.{}", (3, 8), (((3, 7), "7.4.4"), ((2, 7), "4.6.11"))),
    _Project("linehaul", "1.0.{}", (3, 8)),
    _Project("zope-interface", "7.{}", (3, 8), (((3, 7), "6.0"), ((2, 7), "5.5.2")), "cp"),
)

_PLATFORMS = {  # (system, cpu) → the platform tag of a wheel built for it
    ("Linux", "x86_64"): "manylinux_2_17_x86_64.manylinux2014_x86_64",
    ("Linux", "aarch64"): "manylinux_2_17_aarch64.manylinux2014_aarch64",
    ("Darwin", "arm64"): "macosx_11_0_arm64",
    ("Windows", "AMD64"): "win_amd64",
}
_PY27_PLATFORMS = {"manylinux_2_17_x86_64.manylinux2014_x86_64": ("cp27mu", "manylinux1_x86_64"),
                   "win_amd64": ("cp27m", "win_amd64")}  # fmt: skip


class _Role(enum.Enum):
    """What files a client fetches."""

    INSTALLER = "installer"  # wheels for its Python and platform, a few sources
    EASY_INSTALL = "easy_install"  # sources and eggs
    SOURCES = "sources"  # Homebrew, operating-system ports: sources only
    MIRROR = "mirror"  # every file, old eggs and Windows installers too
    OTHER = "other"  # browsers, scripts, bots, unknown agents: wheels and sources


_FILE_TYPES = {  # role → (file type, weight)
    _Role.INSTALLER: (("bdist_wheel", 93), ("sdist", 7)),
    _Role.EASY_INSTALL: (("sdist", 80), ("bdist_egg", 20)),
    _Role.SOURCES: (("sdist", 1),),
    _Role.MIRROR: (("bdist_wheel", 75), ("sdist", 20), ("bdist_egg", 3), ("bdist_wininst", 2)),
    _Role.OTHER: (("bdist_wheel", 55), ("sdist", 45)),
}


@dataclass(frozen=True, slots=True)
class _Agent:
    """A user agent, what it fetches, its Python (major, minor; None: unknown) and wheel platform tag."""

    text: str
    role: _Role
    python: Python | None = None
    platform: str | None = None


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]  # RFC 1123 names, whatever the locale
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_COUNTRIES = ["US"] * 8 + ["DE", "CN", "GB", "IN", "JP", "FR", "BR", "NL", "SG", "CA", ""]
_TLS = (
    ["TLSv1.3|TLS_AES_128_GCM_SHA256"] * 4 + ["TLSv1.2|ECDHE-RSA-AES128-GCM-SHA256"] * 3 + ["(null)|(null)"]
)
_PYTHONS = {  # full version → weight (PyPI's downloads lean to 3.10-3.12; 2.7 is a trickle)
    "3.12.4": 28,
    "3.11.9": 22,
    "3.10.14": 16,
    "3.9.19": 12,
    "3.13.0": 10,
    "3.8.18": 9,
    "2.7.18": 3,
}
_PIP_VERSIONS = {  # the pips that run on each Python
    (2, 7): ["20.3.4", "19.3.1"],
    (3, 8): ["24.2", "23.0.1", "21.3.1"],
    (3, 9): ["24.2", "23.0.1", "22.0.4"],
    (3, 10): ["24.2", "24.0", "22.0.4"],
    (3, 11): ["24.2", "24.0", "23.3.2"],
    (3, 12): ["24.2", "24.0", "23.3.2"],
    (3, 13): ["24.2"],
}
_UBUNTU = {"name": "Ubuntu", "version": "22.04", "id": "jammy", "libc": {"lib": "glibc", "version": "2.35"}}
_DEBIAN = {
    "name": "Debian GNU/Linux",
    "version": "12",
    "id": "bookworm",
    "libc": {"lib": "glibc", "version": "2.36"},
}
_CENTOS = {"name": "CentOS Linux", "version": "7", "id": "Core", "libc": {"lib": "glibc", "version": "2.17"}}
_SYSTEMS = [  # (system, release, cpu, distro)
    ("Linux", "6.8.0-1014-azure", "x86_64", _UBUNTU),
    ("Linux", "5.15.0-1064-aws", "aarch64", _DEBIAN),
    ("Darwin", "23.5.0", "arm64", {"name": "macOS", "version": "14.5"}),
    ("Windows", "10", "AMD64", None),
]
_PY27_SYSTEMS = [("Linux", "3.10.0-1160.el7.x86_64", "x86_64", _CENTOS), ("Windows", "10", "AMD64", None)]
_LINUX = _PLATFORMS[("Linux", "x86_64")]
_OTHER_AGENTS = [
    _Agent("poetry/1.8.3 CPython/3.12.4 Linux/6.8.0-1014-azure", _Role.INSTALLER, (3, 12), _LINUX),
    _Agent("pdm/2.19.1 CPython/3.11.9", _Role.INSTALLER, (3, 11)),
    _Agent("twine/5.1.1 CPython/3.12.4", _Role.OTHER, (3, 12)),
    _Agent("python-requests/2.32.3", _Role.OTHER),
    _Agent(
        "conda/24.7.1 requests/2.32.2 CPython/3.11.9 Linux/6.8.0 ubuntu/22.04 glibc/2.35",
        _Role.INSTALLER,
        (3, 11),
        _LINUX,
    ),
    _Agent("bandersnatch/6.5.0 (CPython 3.11.9-final0, Linux x86_64)", _Role.MIRROR),
    _Agent("Bazel/release 7.3.2", _Role.INSTALLER, (3, 11), _LINUX),
    _Agent("pex/2.3.1", _Role.INSTALLER, (3, 12)),
    _Agent("Homebrew/4.3.5 (Macintosh; Intel Mac OS X 14.5) curl/8.6.0", _Role.SOURCES),
    _Agent("Homebrew/4.4.2 (Macintosh; arm64 Mac OS X 15.1) curl/8.7.1", _Role.SOURCES),
    _Agent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
        _Role.OTHER,
    ),
    _Agent("curl/8.5.0", _Role.OTHER),
    _Agent("Wget/1.21.2", _Role.OTHER),
    _Agent("Python-urllib/3.6 setuptools/40.8.0", _Role.EASY_INSTALL, (3, 6)),
    _Agent("Python-urllib/3.12", _Role.OTHER, (3, 12)),
    _Agent("devpi-server/6.11.0 (py3.11.9; linux)", _Role.MIRROR),
    _Agent("Nexus/3.68.1-02 (OSS; Linux; 5.15.0-107-generic; amd64; 17.0.11)", _Role.MIRROR),
    _Agent("Artifactory/7.77.8", _Role.MIRROR),
    _Agent("pip/1.5.6 CPython/2.7.6 Linux/3.13.0", _Role.INSTALLER, (2, 7), _LINUX),
    _Agent("fetch libfetch/2.0", _Role.SOURCES),
    _Agent("python-httpx/0.27.0", _Role.OTHER),
    _Agent("Go-http-client/2.0", _Role.OTHER),
    _Agent("Datadog Agent/7.52.0", _Role.OTHER),
    _Agent("(null)", _Role.OTHER),
]


def _minor(version: str) -> Python:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def _pip_agent(rng: random.Random) -> _Agent:
    python = rng.choices(list(_PYTHONS), list(_PYTHONS.values()))[0]
    minor = _minor(python)
    system, release, cpu, distro = rng.choice(_PY27_SYSTEMS if minor < (3, 0) else _SYSTEMS)
    version = rng.choice(_PIP_VERSIONS[minor])
    data: dict[str, object] = {
        "ci": rng.choice([True, None]),
        "cpu": cpu,
        "implementation": {"name": "CPython", "version": python},
        "installer": {"name": "pip", "version": version},
        "python": python,
        "system": {"name": system, "release": release},
    }
    if distro:
        data["distro"] = distro
    if rng.random() < 0.8:
        if minor < (3, 0):
            data["openssl_version"] = "OpenSSL 1.0.2k-fips  26 Jan 2017"
            data["setuptools_version"] = "44.1.1"
        else:
            data["openssl_version"] = "OpenSSL 3.0.2 15 Mar 2022"
            data["setuptools_version"] = rng.choice(["69.5.1", "75.1.0", "65.5.0"])
    text = f"pip/{version} {json.dumps(data, separators=(',', ':'), sort_keys=True)}"
    return _Agent(text, _Role.INSTALLER, minor, _PLATFORMS[(system, cpu)])


def _uv_agent(rng: random.Random) -> _Agent:
    system, release, cpu, distro = rng.choice(_SYSTEMS)
    python = rng.choices(list(_PYTHONS)[:5], list(_PYTHONS.values())[:5])[0]
    version = rng.choice(["0.4.30", "0.5.11", "0.8.22"])
    data = {
        "installer": {
            "name": "uv",
            "version": version,
            "subcommand": rng.choice([["pip", "install"], ["sync"], None]),
        },
        "python": python,
        "implementation": {"name": "CPython", "version": python},
        "distro": distro,
        "system": {"name": system, "release": release},
        "cpu": cpu,
        "openssl_version": None,
        "setuptools_version": None,
        "rustc_version": None,
        "ci": rng.choice([True, None]),
    }
    text = f"uv/{version} {json.dumps(data, separators=(',', ':'))}"
    return _Agent(text, _Role.INSTALLER, _minor(python), _PLATFORMS[(system, cpu)])


def _agents(rng: random.Random) -> list[_Agent]:
    """A pool of agents, most popular first; those of Python 2 come last (they are few on PyPI)."""
    pool = [_pip_agent(rng) for _ in range(60)] + [_uv_agent(rng) for _ in range(25)] + _OTHER_AGENTS
    rng.shuffle(pool)
    return sorted(pool, key=lambda agent: agent.python is not None and agent.python < (3, 0))


def _wheel(project: _Project, version: str, python: Python, platform: str) -> str | None:
    """The name of the wheel of ``version`` this Python and platform take (None: there is none)."""
    name = project.name.replace("-", "_")
    if project.wheels == "pure":
        tags = "py2.py3-none-any" if python < (3, 0) or project.name == "six" else "py3-none-any"
        return f"{name}-{version}-{tags}.whl"
    if python < (3, 0):
        if platform not in _PY27_PLATFORMS:
            return None
        abi, tag = _PY27_PLATFORMS[platform]
        return f"{name}-{version}-cp27-{abi}-{tag}.whl"
    if project.wheels == "abi3":
        lowest = "cp39" if python >= (3, 9) else "cp37"
        return f"{name}-{version}-{lowest}-abi3-{platform}.whl"
    tag = f"cp{python[0]}{python[1]}"
    return f"{name}-{version}-{tag}-{tag}-{platform}.whl"


def _file(rng: random.Random, agent: _Agent, project: _Project, version: str) -> tuple[str, str, str]:
    """(version, package type, file name) of a download of ``project`` by ``agent``."""
    types, weights = zip(*_FILE_TYPES[agent.role], strict=True)
    file_type = rng.choices(types, weights)[0]
    name = project.name.replace("-", "_")
    if file_type in ("bdist_egg", "bdist_wininst"):  # built for Python 2, of the last version that ran there
        python = agent.python if agent.role is _Role.EASY_INSTALL and agent.python else (2, 7)
        old = project.version(python, 0)
        dotted = f"{python[0]}.{python[1]}"
        if old is None:  # no version of it ran there: its source
            return version, "sdist", f"{name}-{version}.tar.gz"
        if file_type == "bdist_egg":
            return old, file_type, f"{name}-{old}-py{dotted}.egg"
        return old, file_type, f"{name}-{old}.win32-py{dotted}.exe"
    if file_type == "bdist_wheel":
        python = agent.python or rng.choice([(3, 10), (3, 11), (3, 12)])
        platform = agent.platform or rng.choice(list(_PLATFORMS.values()))
        wheel = _wheel(project, version, python, platform)
        if wheel is not None:
            return version, file_type, wheel
    return version, "sdist", f"{name}-{version}.tar.gz"


def _download(rng: random.Random, agent: _Agent) -> tuple[str, str, str, str]:
    """(project, version, package type, file name) of a download by ``agent``: of a project and a version
    its Python can install."""
    while True:
        project = rng.choice(_PROJECTS)
        version = project.version(agent.python, rng.randrange(8))
        if version is not None:
            return project.name, *_file(rng, agent, project, version)


def _malformed(rng: random.Random, line: str) -> str:
    damage = rng.randrange(4)
    if damage == 0:
        return line[: rng.randrange(1, len(line))]
    if damage == 1:
        return line.replace("|", "||", 1)
    if damage == 2:
        return "upload|" + line.split("|", 1)[1]
    return ""


DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)
"""The first moment of a sample log, unless another is given."""


def sample_lines(lines: int, seed: int = 1, start: datetime | None = None, days: int = 1) -> Iterator[str]:
    """The sample's lines (without newlines), ``days`` days of them from ``start``."""
    if days < 1:
        raise ValueError(f"a sample spans at least one day, not {days}")
    rng = random.Random(seed)
    start = start or DEFAULT_START
    agents = _agents(rng)
    agent_weights = [1 / (rank + 2) for rank in range(len(agents))]
    step = 86_400 * days / max(lines, 1)
    for number in range(lines):
        moment = start + timedelta(seconds=int(number * step))
        day, month = _DAYS[moment.weekday()], _MONTHS[moment.month - 1]
        date = f"{day}, {moment.day:02d} {month} {moment:%Y %H:%M:%S} GMT"
        country, tls = rng.choice(_COUNTRIES), rng.choice(_TLS)
        agent = rng.choices(agents, agent_weights)[0]
        if rng.random() < 0.25:
            project = rng.choice(_PROJECTS).name
            line = f"simple|{date}|{country}|/simple/{project}/|{tls}||||{agent.text}"
        else:
            project, version, package_type, filename = _download(rng, agent)
            digest = hashlib.blake2b(filename.encode(), digest_size=32).hexdigest()  # a file's, as PyPI's
            url = f"/packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"
            line = f"download|{date}|{country}|{url}|{tls}|{project}|{version}|{package_type}|{agent.text}"
        yield _malformed(rng, line) if rng.random() < 0.005 else line


def write_sample(
    path: Path, lines: int = 10_000, seed: int = 1, start: datetime | None = None, days: int = 1
) -> Path:
    """Write the sample log to ``path`` (gzip if it ends in ``.gz``), streaming; returns ``path``."""
    with open(path, "wb") as raw:
        out: BinaryIO = raw
        if path.name.endswith(".gz"):
            out = cast(BinaryIO, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0))
        batch: list[str] = []
        for line in sample_lines(lines, seed, start, days):
            batch.append(line)
            if len(batch) == 10_000:
                out.write(("\n".join(batch) + "\n").encode())
                batch.clear()
        if batch:
            out.write(("\n".join(batch) + "\n").encode())
        if out is not raw:
            out.close()
    return path
