"""The user-agent rules, in the order they are tried; the first rule that answers wins.

A rule is a callable ``rule(agent) -> Classification | None`` with a ``name``; ``None`` means "not mine,
ask the next rule". :data:`DEFAULT_RULES` holds, in this order:

1. production Linehaul's rules, tried in the order its conformance reference tries them (its registry
   shuffled with seed 0), so that the rare agent two rules both claim gets the same answer;
2. production's ignore list (monitoring, crawlers, ``(null)``, ...), which gives :class:`Ignored`;
3. our additions for agents production leaves unknown: hatch, Homebrew on Apple Silicon and Linux,
   ``Python-urllib/3.1x`` (alone or with setuptools/distribute), Artifactory with a build number;
4. the operating system from ua-parser for any agent still unknown.

Because 3 and 4 only see agents that 1 and 2 did not claim, they never change a value production fills.
A rule of 1 may fill a value production leaves empty where the agent carries it (Homebrew's system and
CPU): an enrichment, as for the agents of 3; every value production gives stays the same.
Browsers and OS package managers (rule 1) also get their operating system from ua-parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from linehaul.useragents._versions import in_range
from linehaul.useragents.model import (
    Distro,
    Implementation,
    Installer,
    System,
    UserAgent,
)
from linehaul.useragents.rule_types import (
    Build,
    HatchRule,
    IgnoreRule,
    JsonAgentRule,
    LazyPattern,
    RegexRule,
    Rule,
    Searcher,
    UnknownAgentOsRule,
    with_operating_system,
)

__all__ = ["DEFAULT_RULES"]  # the types of rule it uses are linehaul.useragents.rule_types's


def _regex(
    name: str, *patterns: str | Searcher, starts: tuple[str, ...] = (), needs: str = ""
) -> Callable[[Build], RegexRule]:
    lazy = tuple(LazyPattern(p) if isinstance(p, str) else p for p in patterns)
    return lambda build: RegexRule(name, lazy, build, starts, needs)


def _installer(name: str, version: str | None = None) -> Installer:
    return Installer(name=name, version=version)


# -- 1. production's rules -------------------------------------------------------------------------------


@_regex(
    "setuptools",
    r"^Python-urllib/(?P<python>\d\.\d) setuptools/(?P<version>\S+)$",
    r"^setuptools/(?P<version>\S+) Python-urllib/(?P<python>\d\.\d)$",
    starts=("Python-urllib/", "setuptools/"),
)
def _setuptools(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("setuptools", m["version"]), python=m["python"])


@_regex("pex", r"pex/(?P<version>\S+)$", needs="pex/")
def _pex(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("pex", m["version"]))


@_regex(
    "twine", r"^twine/(?P<version>\S+)(?: .+)? (?P<impl_name>\S+)/(?P<impl_version>\S+)$", starts=("twine/",)
)
def _twine(m: re.Match[str]) -> UserAgent:
    return UserAgent(
        installer=_installer("twine", m["version"]),
        implementation=Implementation(m["impl_name"], m["impl_version"]),
    )


@_regex("requests", r"^python-requests/(?P<version>\S+)(?: .+)?$", starts=("python-requests/",))
def _requests(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("requests", m["version"]))


@_regex("devpi", r"devpi-server/(?P<version>\S+) \(.+\)$", needs="devpi-server/")
def _devpi(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("devpi", m["version"]))


@_regex("z3c.pypimirror", r"^z3c\.pypimirror/(?P<version>\S+)$", starts=("z3c.pypimirror/",))
def _z3c(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("z3c.pypimirror", m["version"]))


@_regex("pdm", r"^pdm/(?P<version>\S+) (?P<impl_name>\S+)/(?P<impl_version>\S+)$", starts=("pdm/",))
def _pdm(m: re.Match[str]) -> UserAgent:
    return UserAgent(
        installer=_installer("pdm", m["version"]),
        implementation=Implementation(m["impl_name"], m["impl_version"]),
    )


@_regex("maturin", r"^maturin/(?P<version>\S+)$", starts=("maturin/",))
def _maturin(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("maturin", m["version"]))


@_regex(
    "distribute",
    r"^Python-urllib/(?P<python>\d\.\d) distribute/(?P<version>\S+)$",
    starts=("Python-urllib/",),
)
def _distribute(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("distribute", m["version"]), python=m["python"])


@_regex("bandersnatch", r"^bandersnatch/(?P<version>\S+) \(.+\)$", starts=("bandersnatch/",))
def _bandersnatch(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("bandersnatch", m["version"]))


@_regex("pep381client", r"^pep381client(?:-proxy)?/(?P<version>\S+)$", starts=("pep381client",))
def _pep381client(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("pep381client", m["version"]))


_OS_STARTS: tuple[str, ...] = ("fetch libfetch/", "libfetch/", "OpenBSD ftp", "MacPorts", "NetBSD-ftp/")
_OS_STARTS += ("slapt-get", "pypi-install/", "slackrepo", "PTXdist", "GARstow/", "xbps/")
_OS_PACKAGE_MANAGERS = LazyPattern(  # production writes ^ in every branch; hoisting it lets re try one place
    r"""^(?:fetch\ libfetch/\S+$ | libfetch/\S+$ | OpenBSD\ ftp$ | MacPorts/? | NetBSD-ftp/ | slapt-get
        | pypi-install/ | slackrepo$ | PTXdist | GARstow/ | xbps/)""",
    re.VERBOSE,
)


@_regex("OS", _OS_PACKAGE_MANAGERS, starts=_OS_STARTS)
def _os_package_manager(m: re.Match[str]) -> UserAgent:
    return with_operating_system(UserAgent(installer=_installer("OS")), m.string)


_MAC = System(name="Darwin")
"""The system of a Homebrew agent on a Mac, as pip and uv report it (Python's ``platform.system()``), so
``--by system`` counts it with theirs. Homebrew says ``Intel`` for the x86_64 processor (``uname -m``,
renamed by brew.sh) and ``arm64`` for Apple Silicon. Its string carries the macOS version (kept in the
distro, as production does), not Darwin's kernel release, so the release stays unknown."""


@_regex(
    "Homebrew",
    r"^Homebrew/(?P<version>\S+) \(Macintosh; Intel (?:Mac OS X|macOS) (?P<osx_version>[^)]+)\)(?: .+)?$",
    starts=("Homebrew/",),
)
def _homebrew(m: re.Match[str]) -> UserAgent:
    # production gives the installer and the distro; the system and the CPU are ours (see _MAC)
    return UserAgent(
        installer=_installer("Homebrew", m["version"]),
        distro=Distro(name="OS X", version=m["osx_version"]),
        system=_MAC,
        cpu="x86_64",
    )


@_regex("Bazel", r"^Bazel/(?:release\s+)?(?P<version>.+)$", starts=("Bazel/",))
def _bazel(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("Bazel", m["version"]))


@_regex(
    "poetry",
    r"^poetry/(?P<version>\S+) (?P<impl_name>\S+)/(?P<impl_version>\S+) "
    r"(?P<system_name>\S+)/(?P<system_release>\S+)?$",
    starts=("poetry/",),
)
def _poetry(m: re.Match[str]) -> UserAgent:
    return UserAgent(
        installer=_installer("poetry", m["version"]),
        implementation=Implementation(m["impl_name"], m["impl_version"]),
        system=System(m["system_name"], m["system_release"]),
    )


@_regex("Nexus", r"^Nexus/(?P<version>\S+)", starts=("Nexus/",))
def _nexus(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("Nexus", m["version"]))


@_regex("conda", r"^conda/(?P<version>\S+)(?: .+)?$", starts=("conda/",))
def _conda(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("conda", m["version"]))


def _known(value: str) -> str | None:
    return None if value.lower() == "unknown" else value


@_regex(
    "pip 1.4-5",
    r"^pip/(?P<version>\S+) (?P<impl_name>\S+)/(?P<impl_version>\S+) "
    r"(?P<system_name>\S+)/(?P<system_release>\S+)$",
    starts=("pip/",),
)
def _pip_1_4(m: re.Match[str]) -> UserAgent | None:
    if not in_range(m["version"], "1.4", below="6"):
        return None
    impl_name, impl_version = _known(m["impl_name"]), _known(m["impl_version"])
    system_name, system_release = _known(m["system_name"]), _known(m["system_release"])
    implementation = Implementation(impl_name, impl_version)
    system = System(system_name, system_release)
    return UserAgent(
        installer=_installer("pip", m["version"]),
        implementation=None if implementation == Implementation() else implementation,
        system=None if system == System() else system,
        # production copies the version even when it says "unknown"
        python=m["impl_version"] if m["impl_name"].lower() == "cpython" else None,
    )


@_regex("Python-urllib", r"^Python-urllib/(?P<python>\d\.\d)$", starts=("Python-urllib/",))
def _urllib(m: re.Match[str]) -> UserAgent:
    return UserAgent(python=m["python"])


@_regex("Artifactory", r"^Artifactory/(?P<version>\S+)$", starts=("Artifactory/",))
def _artifactory(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("Artifactory", m["version"]))


_BROWSERS = LazyPattern(
    r"""^(?: Mozilla | Safari | wget | curl | Opera | aria2 | AndroidDownloadManager
        | com\.apple\.WebKit\.Networking/ | FDM\ \S+ | URL/Emacs | Firefox/ | UCWEB | Links
        | ^okhttp | ^Apache-HttpClient )(?:/|$)""",
    re.IGNORECASE | re.VERBOSE,
)


@_regex("Browser", _BROWSERS)
def _browser(m: re.Match[str]) -> UserAgent:
    return with_operating_system(UserAgent(installer=_installer("Browser")), m.string)


_IGNORED_AT_START = LazyPattern(  # production's ignore list but its one unanchored branch, with ^ hoisted
    r"""^(?:Datadog\ Agent/ | \(null\)$ | WordPress/ | Chef\ (?:Client|Knife)/ | Ruby$
        | Slackbot-LinkExpanding | TextualInlineMedia/ | WeeChat/ | Download\ Master$ | Java/
        | Go\ \d\.\d\ package\ http$ | Go-http-client/ | GNU\ Guile$ | github-olee$ | YisouSpider$
        | Apache\ Ant/ | Salt/ | ansible-httpget$ | ltx71\ -\ \(http://ltx71.com/\) | Scrapy/
        | spectool/ | AWSBrewLinkChecker/ | Y!J-ASR/ | NSIS_Inetc\ \(Mozilla\)$ | Debian\ uscan
        | Pingdom\.com_bot_version_\d+\.\d+_\(https?://www.pingdom.com/\)$
        | MauiBot\ \(crawler\.feedback\+dc@gmail\.com\)$ | inspector\.pypi\.io$)""",
    re.VERBOSE,
)
_IGNORED_ANYWHERE = LazyPattern(r"Nutch")

# -- 3. our additions, for agents production leaves unknown ----------------------------------------------


@_regex(
    "Homebrew (Apple Silicon)",
    r"^Homebrew/(?P<version>\S+) \(Macintosh; (?P<cpu>arm64) (?:Mac OS X|macOS) (?P<macos>[^)]+)\)(?: .+)?$",
    starts=("Homebrew/",),
)
def _homebrew_apple_silicon(m: re.Match[str]) -> UserAgent:
    return UserAgent(
        installer=_installer("Homebrew", m["version"]),
        distro=Distro(name="OS X", version=m["macos"]),
        system=_MAC,
        cpu=m["cpu"],
    )


_DISTRO_NAME_VERSION = re.compile(r"(?P<name>.+?) (?P<version>[0-9][0-9.]*)(?: .*)?")  # for a few agents


@_regex(
    "Homebrew (Linux)",
    r"^Homebrew/(?P<version>\S+) \(Linux; (?P<cpu>\S+) (?P<os>[^)]+)\)(?: .+)?$",
    starts=("Homebrew/",),
)
def _homebrew_linux(m: re.Match[str]) -> UserAgent:
    named = _DISTRO_NAME_VERSION.fullmatch(m["os"])
    distro = Distro(name=named["name"], version=named["version"]) if named else Distro(name=m["os"])
    return UserAgent(
        installer=_installer("Homebrew", m["version"]),
        distro=distro,
        system=System(name="Linux"),
        cpu=m["cpu"],
    )


_TWO_DIGIT_PYTHON = r"\d\d+\.\d+|\d\.\d\d+"  # what production's \d\.\d leaves out: 3.10, 3.12, 10.0


@_regex(
    "setuptools (Python 3.10+)",
    rf"^Python-urllib/(?P<python>{_TWO_DIGIT_PYTHON}) (?P<name>setuptools|distribute)/(?P<version>\S+)$",
    rf"^(?P<name>setuptools)/(?P<version>\S+) Python-urllib/(?P<python>{_TWO_DIGIT_PYTHON})$",
)
def _setuptools_modern(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer(m["name"], m["version"]), python=m["python"])


@_regex(
    "Python-urllib (Python 3.10+)",
    rf"^Python-urllib/(?P<python>{_TWO_DIGIT_PYTHON})$",
    starts=("Python-urllib/",),
)
def _urllib_modern(m: re.Match[str]) -> UserAgent:
    return UserAgent(python=m["python"])


@_regex("Artifactory (with build number)", r"^Artifactory/(?P<version>\S+) [0-9]+$", starts=("Artifactory/",))
def _artifactory_build(m: re.Match[str]) -> UserAgent:
    return UserAgent(installer=_installer("Artifactory", m["version"]))


DEFAULT_RULES: tuple[Rule, ...] = (
    JsonAgentRule("uv", prefix="uv/", lowest="0.1.22"),
    _setuptools,
    _pex,
    _twine,
    _requests,
    _devpi,
    _z3c,
    _pdm,
    _maturin,
    _distribute,
    _bandersnatch,
    _pep381client,
    _os_package_manager,
    _homebrew,
    _bazel,
    _poetry,
    _nexus,
    _conda,
    JsonAgentRule("pip", prefix="pip/", lowest="6"),
    _pip_1_4,
    _urllib,
    _artifactory,
    _browser,
    IgnoreRule("ignore list", (_IGNORED_AT_START, _IGNORED_ANYWHERE)),
    HatchRule(),
    _homebrew_apple_silicon,
    _homebrew_linux,
    _setuptools_modern,
    _urllib_modern,
    _artifactory_build,
    UnknownAgentOsRule(),
)
"""Every rule linehaul uses, in order (see the module docstring)."""
