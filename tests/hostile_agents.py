"""Hostile user agents: valid pip, uv and hatch agents whose JSON puts what strangers can send in every field
the rules read (lone and paired surrogate escapes, control escapes, U+2028, numbers, booleans, arrays and
objects where strings go, huge numbers, very long strings, duplicate keys).

The same catalogue feeds the Hypothesis strategies (``tests/property/test_hostile_agents.py``) and a
deterministic corpus of such lines mixed with ordinary ones, for conformance with production::

    python -m tests.hostile_agents --lines 20000 --seed 1 --out hostile.log.gz
    ../shared/conformance/run --corpus hostile.log.gz
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from linehaul.logs.sample import sample_lines

FIELDS = (
    ("installer", "name"),
    ("installer", "version"),
    ("installer", "subcommand"),
    ("python",),
    ("implementation", "name"),
    ("implementation", "version"),
    ("distro", "name"),
    ("distro", "version"),
    ("distro", "id"),
    ("distro", "libc", "lib"),
    ("distro", "libc", "version"),
    ("system", "name"),
    ("system", "release"),
    ("cpu",),
    ("openssl_version",),
    ("setuptools_version",),
    ("rustc_version",),
    ("ci",),
)
"""Every path of the agent JSON that the rules read."""

HOSTILE_VALUES = (
    r'"\ud800"',  # a lone high surrogate
    r'"\udcc3"',  # a lone low surrogate: pip's escape of the byte 0xc3 decoded with surrogateescape
    r'"Ubuntu \udcc3\udca9 22.04"',
    r'"a\udfffb"',
    r'"\ud83d\ude00"',  # a valid pair: U+1F600
    r'"\ud83D\uDE00 mixed case"',
    r'"\ude00\ud83d"',  # a pair the wrong way round: two lone surrogates
    r'"\ud83d\ud83d"',
    r'"\ud800\u0000"',
    r'"\u0000"',
    r'"\u0001\u001f\u007f"',
    r'"\b\f\n\r\t"',
    r'"\u2028\u2029"',
    r'"\"quoted\" \\ back\/slash"',
    r'"\u00e9\u4e2d"',
    '"é中\U0001f600"',
    '""',
    "12345678901234567890123456789012345678901234567890",
    "1e400",
    "-1e-400",
    "-0.0",
    "3.10",
    "0",
    "true",
    "false",
    "null",
    "[]",
    r'["\ud800", 1, null, true, "ok"]',
    '["install", "--user", "a b"]',
    "{}",
    r'{"\ud800": "\udc00"}',
    r'{"name": "\udcff"}',
    "[[[[[[[[[[]]]]]]]]]]",
    "[" * 150 + '"deep"' + "]" * 150,  # deep, within linehaul's bound (200 levels: deeper is refused)
    '"' + "x" * 5000 + '"',
    '"' + r"\udcc3" * 300 + '"',
)
"""JSON texts of values a stranger may put where the rules read one."""

PREFIXES = ("pip/25.0.1 ", "pip/9.0.1 ", "uv/0.5.11 ", "uv/0.1.22 ")
"""Agents whose JSON the rules read (pip >= 6, uv >= 0.1.22); hatch's is ``Hatch/<v> <JSON> HTTPX/<v>``."""

_ORDINARY = {
    ("installer", "name"): '"pip"',
    ("installer", "version"): '"25.0.1"',
    ("python",): '"3.12.4"',
    ("system", "name"): '"Linux"',
    ("cpu",): '"x86_64"',
}


def agent_json(values: Sequence[tuple[tuple[str, ...], str]]) -> str:
    """The JSON text of an agent with each (path, value text) set, in order; a path given twice gives a
    duplicate key (JSON's last one wins, as Python's decoder reads it)."""
    tree: list[tuple[str, object]] = []
    for path, value in values:
        _put(tree, path, value)
    return _text(tree)


def _put(tree: list[tuple[str, object]], path: tuple[str, ...], value: str) -> None:
    key, rest = path[0], path[1:]
    if not rest:
        tree.append((key, value))
        return
    for existing_key, child in tree:
        if existing_key == key and isinstance(child, list):
            _put(child, rest, value)
            return
    child_tree: list[tuple[str, object]] = []
    tree.append((key, child_tree))
    _put(child_tree, rest, value)


def _text(tree: list[tuple[str, object]]) -> str:
    parts = [f'"{key}":{_text(child) if isinstance(child, list) else child}' for key, child in tree]
    return "{" + ",".join(parts) + "}"


def hostile_agent(prefix: str, values: Sequence[tuple[tuple[str, ...], str]]) -> str:
    """A whole user agent: ``prefix`` (one of :data:`PREFIXES`, or ``"Hatch/"``) and the JSON."""
    text = agent_json(values)
    return f"Hatch/1.15.0 {text} HTTPX/0.28.1" if prefix.startswith("Hatch/") else prefix + text


def line_with_agent(agent: str, simple: bool = False, second: int = 29) -> str:
    """A valid download (or simple) line of 8 Jan 2021 with ``agent``."""
    date = f"Fri, 08 Jan 2021 00:02:{second % 60:02d} GMT"
    if simple:
        return f"simple|{date}|US|/simple/requests/|TLSv1.3|TLS_AES_128_GCM_SHA256||||{agent}"
    return (
        f"download|{date}|US|/packages/ab/cd/requests-2.25.1.tar.gz|TLSv1.3|TLS_AES_128_GCM_SHA256|"
        f"requests|2.25.1|sdist|{agent}"
    )


def random_hostile_line(rng: random.Random) -> str:
    """One hostile line: ordinary fields, and one to four hostile values in a pip, uv or hatch agent."""
    values = list(_ORDINARY.items()) if rng.random() < 0.5 else []
    for _ in range(rng.randint(1, 4)):
        values.append((rng.choice(FIELDS), rng.choice(HOSTILE_VALUES)))
    prefix = rng.choice([*PREFIXES, "Hatch/"])
    return line_with_agent(
        hostile_agent(prefix, values), simple=rng.random() < 0.25, second=rng.randrange(60)
    )


def corpus_lines(lines: int, seed: int, hostile_share: float = 0.2) -> list[str]:
    """``lines`` lines: ordinary sample lines with about ``hostile_share`` of hostile ones among them."""
    rng = random.Random(seed)
    ordinary = iter(sample_lines(lines, seed=seed))
    return [
        random_hostile_line(rng) if rng.random() < hostile_share else next(ordinary) for _ in range(lines)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--share", type=float, default=0.2, help="the share of hostile lines (0.2)")
    parser.add_argument("--out", type=Path, required=True, help="the log to write (gzip if it ends in .gz)")
    args = parser.parse_args(argv)
    data = "".join(line + "\n" for line in corpus_lines(args.lines, args.seed, args.share)).encode()
    args.out.write_bytes(gzip.compress(data, mtime=0) if args.out.suffix == ".gz" else data)
    print(f"wrote {args.lines} lines to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
