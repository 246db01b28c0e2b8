"""A deterministic, realistic sample CDN log, for demos, tests and benchmarks.

``write_sample(path, lines=..., seed=...)`` writes ``lines`` lines (gzip when the name ends in ``.gz``):
about 75% downloads and 25% simple-index requests spread evenly over ``days`` days (one by default) from
``start``, with pip and uv JSON agents, the other clients production recognises, browsers, ignored bots,
unknown agents and about 0.5% malformed lines. The same (lines, seed, start, days) always gives the same
bytes.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, cast

__all__ = ["DEFAULT_START", "sample_lines", "write_sample"]

_PROJECTS = [
    ("boto3", "1.35.{}"),
    ("requests", "2.32.{}"),
    ("numpy", "2.1.{}"),
    ("urllib3", "2.2.{}"),
    ("setuptools", "75.{}.0"),
    ("packaging", "24.{}"),
    ("pandas", "2.2.{}"),
    ("pydantic", "2.9.{}"),
    ("cryptography", "43.0.{}"),
    ("typing-extensions", "4.12.{}"),
    ("pyyaml", "6.0.{}"),
    ("six", "1.16.{}"),
    ("certifi", "2024.8.{}"),
    ("click", "8.1.{}"),
    ("attrs", "24.2.{}"),
    ("pytest", "8.3.{}"),
    ("linehaul", "1.0.{}"),
    ("zope-interface", "7.{}"),
]
_PACKAGE_FILES = [
    ("bdist_wheel", "{f}-{v}-py3-none-any.whl"),
    ("bdist_wheel", "{f}-{v}-cp312-cp312-manylinux_2_17_x86_64.whl"),
    ("sdist", "{f}-{v}.tar.gz"),
    ("bdist_egg", "{f}-{v}-py2.7.egg"),
    ("bdist_wininst", "{f}-{v}.win32.exe"),
]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]  # RFC 1123 names, whatever the locale
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_COUNTRIES = ["US"] * 8 + ["DE", "CN", "GB", "IN", "JP", "FR", "BR", "NL", "SG", "CA", ""]
_TLS = (
    ["TLSv1.3|TLS_AES_128_GCM_SHA256"] * 4 + ["TLSv1.2|ECDHE-RSA-AES128-GCM-SHA256"] * 3 + ["(null)|(null)"]
)
_PYTHONS = ["3.12.4", "3.11.9", "3.10.14", "3.9.19", "3.13.0", "3.8.18", "2.7.18"]
_SYSTEMS = [
    (
        "Linux",
        "6.8.0-1014-azure",
        "x86_64",
        {"name": "Ubuntu", "version": "22.04", "id": "jammy", "libc": {"lib": "glibc", "version": "2.35"}},
    ),
    (
        "Linux",
        "5.15.0-1064-aws",
        "aarch64",
        {
            "name": "Debian GNU/Linux",
            "version": "12",
            "id": "bookworm",
            "libc": {"lib": "glibc", "version": "2.36"},
        },
    ),
    ("Darwin", "23.5.0", "arm64", {"name": "macOS", "version": "14.5"}),
    ("Windows", "10", "AMD64", None),
]
_OTHER_AGENTS = [
    "poetry/1.8.3 CPython/3.12.4 Linux/6.8.0-1014-azure",
    "pdm/2.19.1 CPython/3.11.9",
    "twine/5.1.1 CPython/3.12.4",
    "python-requests/2.32.3",
    "conda/24.7.1 requests/2.32.2 CPython/3.11.9 Linux/6.8.0 ubuntu/22.04 glibc/2.35",
    "bandersnatch/6.5.0 (CPython 3.11.9-final0, Linux x86_64)",
    "Bazel/release 7.3.2",
    "pex/2.3.1",
    "Homebrew/4.3.5 (Macintosh; Intel Mac OS X 14.5) curl/8.6.0",
    "Homebrew/4.4.2 (Macintosh; arm64 Mac OS X 15.1) curl/8.7.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
    "curl/8.5.0",
    "Wget/1.21.2",
    "Python-urllib/3.6 setuptools/40.8.0",
    "Python-urllib/3.12",
    "devpi-server/6.11.0 (py3.11.9; linux)",
    "Nexus/3.68.1-02 (OSS; Linux; 5.15.0-107-generic; amd64; 17.0.11)",
    "Artifactory/7.77.8",
    "pip/1.5.6 CPython/2.7.6 Linux/3.13.0",
    "fetch libfetch/2.0",
    "python-httpx/0.27.0",
    "Go-http-client/2.0",
    "Datadog Agent/7.52.0",
    "(null)",
]


def _pip_agent(rng: random.Random) -> str:
    system, release, cpu, distro = rng.choice(_SYSTEMS)
    python = rng.choice(_PYTHONS)
    data: dict[str, object] = {
        "ci": rng.choice([True, None]),
        "cpu": cpu,
        "implementation": {"name": "CPython", "version": python},
        "installer": {"name": "pip", "version": rng.choice(["24.2", "24.0", "23.3.2", "22.0.4", "21.3.1"])},
        "python": python,
        "system": {"name": system, "release": release},
    }
    if distro:
        data["distro"] = distro
    if rng.random() < 0.8:
        data["openssl_version"] = "OpenSSL 3.0.2 15 Mar 2022"
        data["setuptools_version"] = rng.choice(["69.5.1", "75.1.0", "65.5.0"])
    version = data["installer"]["version"]  # type: ignore[index]
    return f"pip/{version} {json.dumps(data, separators=(',', ':'), sort_keys=True)}"


def _uv_agent(rng: random.Random) -> str:
    system, release, cpu, distro = rng.choice(_SYSTEMS)
    python, version = rng.choice(_PYTHONS[:5]), rng.choice(["0.4.30", "0.5.11", "0.8.22"])
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
    return f"uv/{version} {json.dumps(data, separators=(',', ':'))}"


def _agents(rng: random.Random) -> list[str]:
    """A pool of agents, most popular first."""
    pool = [_pip_agent(rng) for _ in range(60)] + [_uv_agent(rng) for _ in range(25)] + _OTHER_AGENTS
    rng.shuffle(pool)
    return pool


def _malformed(rng: random.Random, line: str) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return line[: rng.randrange(1, len(line))]
    if kind == 1:
        return line.replace("|", "||", 1)
    if kind == 2:
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
        project, versions = rng.choice(_PROJECTS)
        if rng.random() < 0.25:
            line = f"simple|{date}|{country}|/simple/{project}/|{tls}||||{agent}"
        else:
            version = versions.format(rng.randrange(8))
            package_type, pattern = rng.choice(_PACKAGE_FILES)
            filename = pattern.format(f=project.replace("-", "_"), v=version)
            digest = f"{rng.getrandbits(256):064x}"
            url = f"/packages/{digest[:2]}/{digest[2:4]}/{digest[4:]}/{filename}"
            line = f"download|{date}|{country}|{url}|{tls}|{project}|{version}|{package_type}|{agent}"
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
