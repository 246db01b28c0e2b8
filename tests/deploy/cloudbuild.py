"""deploy/cloudbuild.yaml and docs/pipeline.md's "Deploying" read as data: commands, deployments, grants.

Both say the same things in two forms: Cloud Build steps (``args`` lists, or ``bash -c`` scripts) and the
shell commands of the docs' code blocks. Each is turned into plain commands (tuples of words), with the
config's substitutions rendered as the docs' placeholders (``${_LOG_BUCKET}`` as ``LOG_BUCKET``) or as
sample values that the settings' validation accepts. From commands come the deployments (:class:`Deploy`)
and the IAM grants (:class:`Grant`), which the tests compare with each other, with the roles table and with
the code.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "deploy" / "cloudbuild.yaml"
DOCS = ROOT / "docs" / "pipeline.md"

BUILT_IN = frozenset({"PROJECT_ID", "PROJECT_NUMBER"})  # Cloud Build's own substitutions used here
# The docs' placeholders for the config's substitutions.
PLACEHOLDERS = {
    "PROJECT_ID": "PROJECT",
    "PROJECT_NUMBER": "PROJECT_NUMBER",
    "_REGION": "REGION",
    "_LOG_BUCKET": "LOG_BUCKET",
    "_STAGING_BUCKET": "STAGING_BUCKET",
    "_DATASET": "DATASET",
    "_BUCKET_LOCATION": "BUCKET_LOCATION",
    "_ALERT_CHANNELS": "ALERT_CHANNELS",
}
# Values a real deployment may have, which the settings accept (placeholders are not valid bucket names).
SAMPLES = {
    "PROJECT_ID": "linehaul-prod",
    "PROJECT_NUMBER": "123456789012",
    "_REGION": "us-central1",
    "_LOG_BUCKET": "linehaul-prod-logs",
    "_STAGING_BUCKET": "linehaul-prod-staging",
    "_DATASET": "pypi",
    "_BUCKET_LOCATION": "US",
    "_ALERT_CHANNELS": "projects/linehaul-prod/notificationChannels/1234567890",
}

Command = tuple[str, ...]

_REFERENCE = re.compile(r"\$\$|\$\{(\w+)\}|\$(\w+)")
_PUNCTUATION = "();<>|&\n"  # shell operators, and line ends: each separates commands
_SHELL_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done"})
_SQL_GRANT = re.compile(r"GRANT\s+`([^`]+)`\s+ON\s+SCHEMA\s+`([^`]+)`\s+TO\s+\"([^\"]+)\"")


@dataclass(frozen=True, slots=True)
class Grant:
    """An IAM role granted to ``member`` on ``scope``: ``gs://BUCKET``, ``project P``, ``dataset P.D``, ..."""

    member: str
    role: str
    scope: str


@dataclass(frozen=True, slots=True)
class Deploy:
    """One ``gcloud functions deploy NAME --flag=value ...``; flags in order, a bare flag with value ""."""

    name: str
    flags: tuple[tuple[str, str], ...]

    def values(self, flag: str) -> list[str]:
        return [value for name, value in self.flags if name == flag]

    def value(self, flag: str) -> str:
        (value,) = self.values(flag)
        return value

    def environment(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.value("--set-env-vars").split(","))
        return dict(pairs)


def load_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    return config


def references(text: str) -> set[str]:
    """The substitutions a piece of the config refers to (``$$`` is Cloud Build's escaped ``$``)."""
    return {match[1] or match[2] for match in _REFERENCE.finditer(text) if match[0] != "$$"}


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` as Cloud Build runs it: substitutions replaced by ``values``, ``$$`` by ``$``."""
    return _REFERENCE.sub(lambda match: "$" if match[0] == "$$" else values[match[1] or match[2]], text)


def step_commands(step: Mapping[str, Any], values: Mapping[str, str]) -> list[Command]:
    """The commands one Cloud Build step runs, rendered with ``values``."""
    args = [render(str(arg), values) for arg in step.get("args", [])]
    entrypoint = step.get("entrypoint", "")
    if entrypoint in ("bash", "sh") and args[:1] == ["-c"]:
        return shell_commands(args[1])
    return [(entrypoint, *args)]


def config_commands(config: Mapping[str, Any], values: Mapping[str, str]) -> list[Command]:
    return [command for step in config["steps"] for command in step_commands(step, values)]


def shell_commands(script: str) -> list[Command]:
    """The simple commands of a shell script: split at ``;``, ``&&``, ``||``, ``|`` and line ends, without
    redirections, comments and the keywords of ``if`` and ``for``."""
    lines = (line for line in script.replace("\\\n", " ").splitlines() if not line.lstrip().startswith("#"))
    lexer = shlex.shlex("\n".join(lines), posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace, lexer.whitespace_split, lexer.commenters = " \t\r", True, ""
    commands: list[Command] = []
    words: list[str] = []
    redirected = commented = False
    for token in lexer:
        if commented:  # an inline comment, to the end of its line
            commented = "\n" not in token or not set(token) <= set(_PUNCTUATION)
            if not commented:
                commands.append(tuple(words))
                words = []
        elif token.startswith("#"):
            commented = True
        elif redirected:  # the target of a redirection: a file, or a file descriptor after >&
            redirected = False
        elif token and set(token) <= set(_PUNCTUATION):
            if "<" in token or ">" in token:
                redirected = True
                if words and words[-1].isdigit():  # the 2 of 2>&1
                    words.pop()
            else:
                commands.append(tuple(words))
                words = []
        else:
            words.append(token)
    commands.append(tuple(words))
    stripped = (_without_keywords(command) for command in commands)
    return [command for command in stripped if command]


def _without_keywords(command: Command) -> Command:
    while command and command[0] in _SHELL_KEYWORDS:
        command = command[1:]
    return command


def section(text: str, heading: str) -> str:
    """The part of a Markdown page under ``heading`` (a whole heading line), up to the next heading of its
    level or above (lines in code blocks, such as shell comments, are not headings)."""
    level = len(heading.split(" ", 1)[0])
    lines = text.splitlines(keepends=True)
    start = lines.index(heading + "\n")
    fenced = False
    for number in range(start + 1, len(lines)):
        line = lines[number]
        fenced ^= line.startswith("```")
        hashes = len(line) - len(line.lstrip("#"))
        if not fenced and 0 < hashes <= level and line[hashes : hashes + 1] == " ":
            return "".join(lines[start:number])
    return "".join(lines[start:])


def doc_commands(markdown: str) -> list[Command]:
    """The commands of every ``sh`` code block of ``markdown``."""
    blocks = re.findall(r"^```sh\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    return [command for block in blocks for command in shell_commands(block)]


def flags(command: Command) -> tuple[tuple[str, str], ...]:
    """``--name=value`` words as (name, value), and bare ``--name`` words as (name, "")."""
    pairs = (word.partition("=") for word in command if word.startswith("--"))
    return tuple((name, value) for name, _, value in pairs)


def positionals(command: Command) -> list[str]:
    return [word for word in command if not word.startswith("-")]


def deploys(commands: Iterable[Command]) -> dict[str, Deploy]:
    """Every ``gcloud functions deploy``, by function name."""
    found = {}
    for command in commands:
        if command[:3] == ("gcloud", "functions", "deploy"):
            name = positionals(command)[3]
            found[name] = Deploy(name, flags(command))
    return found


def grants(commands: Iterable[Command]) -> set[Grant]:
    """Every IAM grant among ``commands``; ValueError for a command that grants in a way not read here."""
    found = set()
    for command in commands:
        options = dict(flags(command))
        words = positionals(command)
        if command[:4] == ("gcloud", "storage", "buckets", "add-iam-policy-binding"):
            found.add(Grant(options["--member"], options["--role"], words[4]))
        elif command[:3] == ("gcloud", "projects", "add-iam-policy-binding"):
            found.add(Grant(options["--member"], options["--role"], f"project {words[3]}"))
        elif command[:4] == ("gcloud", "iam", "service-accounts", "add-iam-policy-binding"):
            found.add(Grant(options["--member"], options["--role"], f"service account {words[4]}"))
        elif command[:3] == ("gcloud", "functions", "add-invoker-policy-binding"):
            found.add(Grant(options["--member"], "roles/run.invoker", f"function {words[3]}"))
        elif command[:2] == ("bq", "query") and (match := _SQL_GRANT.search(command[-1])):
            found.add(Grant(match[3], match[1], f"dataset {match[2]}"))
        elif any("iam-policy-binding" in word or "GRANT" in word for word in command):
            raise ValueError(f"a grant that tests/deploy/cloudbuild.py cannot read: {shlex.join(command)}")
    return found


def roles_table(markdown: str) -> set[Grant]:
    """The grants of the first table of ``markdown`` whose header is ``| account | role | on | why |``."""
    table = markdown[markdown.index("| account | role | on | why |") :].split("\n\n", 1)[0]
    found = set()
    for row in table.splitlines()[2:]:
        account, role, scope, _why = (cell.strip().replace("`", "") for cell in row.strip("|").split("|"))
        found.add(Grant(f"serviceAccount:{account}", role, scope))
    return found
