"""docs/architecture.md draws every import between linehaul's packages that the code has, and no other.

The table under "Imports between packages" lists, for each package, the packages it imports; the core is
``linehaul/*.py`` and ``linehaul/useragents/``. This test reads every import of the library (at the top of
a module or inside a function) and compares.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
LIBRARY = ROOT / "linehaul"
DOCS = ROOT / "docs" / "architecture.md"
CORE = "core"
_CORE_PACKAGES = {"useragents"}


def _package(module: str) -> str:
    """The package of ``linehaul.x.y`` (``x``), or the core."""
    parts = module.split(".")
    if len(parts) > 1 and (LIBRARY / parts[1]).is_dir() and parts[1] not in _CORE_PACKAGES:
        return parts[1]
    return CORE


def imports_in_code() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in LIBRARY.rglob("*.py"):
        relative = path.relative_to(ROOT).with_suffix("").parts
        source = _package(".".join(relative if len(relative) > 2 else relative[:1]))
        found.setdefault(source, set())
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                if name == "linehaul" or name.startswith("linehaul."):
                    target = _package(name)
                    if target != source:
                        found[source].add(target)
    return found


def imports_drawn() -> dict[str, set[str]]:
    text = DOCS.read_text()
    section = text.split("## Imports between packages", 1)[1].split("\n## ", 1)[0]
    drawn: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            drawn[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", cells[1]))
    return drawn


def test_the_drawing_has_every_import_between_packages_and_no_other() -> None:
    code, drawn = imports_in_code(), imports_drawn()
    assert drawn, "docs/architecture.md has no table under 'Imports between packages'"
    missing = {
        f"{source} -> {target}"
        for source, targets in code.items()
        for target in targets - drawn.get(source, set())
    }
    extra = {
        f"{source} -> {target}"
        for source, targets in drawn.items()
        for target in targets - code.get(source, set())
    }
    assert (missing, extra) == (set(), set()), "docs/architecture.md: (imports not drawn, drawn but gone)"
