"""Test data loading: YAML fixtures under tests/data, checked for stray keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"


def load_yaml(name: str, allowed_keys: set[str]) -> list[dict[str, Any]]:
    """The entries of ``tests/data/<name>``; every key must be one of ``allowed_keys``."""
    entries = yaml.safe_load((DATA / name).read_text())
    assert isinstance(entries, list), f"{name}: expected a list of entries"
    for entry in entries:
        stray = set(entry) - allowed_keys
        assert not stray, f"{name}: stray keys {sorted(stray)} in {entry}"
    return entries


def user_agent_fixtures() -> list[tuple[str, dict[str, Any]]]:
    """(file stem, entry) for every user-agent fixture."""
    keys = {"agent", "rule", "details", "ignored", "unknown", "unusable", "note"}
    return [
        (path.stem, entry)
        for path in sorted((DATA / "useragents").glob("*.yaml"))
        for entry in load_yaml(f"useragents/{path.name}", keys)
    ]


def pruned(value: Any) -> Any:
    """``value`` without None leaves and without records left empty by that."""
    if isinstance(value, dict):
        kept = {key: pruned(item) for key, item in value.items() if item is not None}
        return {key: item for key, item in kept.items() if item != {}}
    return value


def fixture_id(entry: dict[str, Any], key: str) -> str:
    text = str(entry.get(key, ""))
    return text if len(text) <= 60 else text[:57] + "..."
