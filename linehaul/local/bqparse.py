"""The emulator parses the same SQL again and again: each parse is kept, and a copy of it given the next time.

bqemulator 1.4.0 parses a query's SQL with sqlglot about twenty times a job (the executor, its rewrites,
the translator, and this package's own patches each parse it again), and a job's time goes mostly to that:
the publisher's aggregation jobs of a month of days spent two thirds of the emulator's CPU in sqlglot's
parser. :func:`remembering_parses` wraps ``sqlglot.dialects.dialect.Dialect.parse``: the trees parsed for a
text (in a dialect, with its settings and the parser's options) are kept, and every later call gets a copy
of them (``Expression.copy``), never the kept trees, so that a caller that changes its tree changes its own.
A text that fails to parse is not kept (the error is raised again each time). At most :data:`KEPT_TEXTS`
texts are kept, the least recently used dropped first.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["KEPT_TEXTS", "remembering_parses"]

KEPT_TEXTS = 1024
"""How many texts' trees are kept (a job's texts are a few, and a test's jobs repeat a few dozen)."""

_Parse = Callable[..., list[Any]]


def remembering_parses(parse: _Parse) -> _Parse:
    """``Dialect.parse`` that keeps what it parsed and gives copies of it (see the module doc)."""
    kept: OrderedDict[Hashable, tuple[Any, ...]] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(parse)
    def parsing(self: Any, sql: str, **options: Any) -> list[Any]:
        key = _key(self, sql, options)
        if key is None:
            return parse(self, sql, **options)
        with lock:
            trees = kept.get(key)
            if trees is not None:
                kept.move_to_end(key)
        if trees is None:
            parsed = parse(self, sql, **options)
            with lock:
                kept[key] = tuple(_copy(tree) for tree in parsed)
                while len(kept) > KEPT_TEXTS:
                    kept.popitem(last=False)
            return parsed
        return [_copy(tree) for tree in trees]

    return parsing


def _key(dialect: Any, sql: str, options: dict[str, Any]) -> Hashable | None:
    """What decides the trees: the dialect, its settings, the text and the parser's options (None when one
    of them cannot be a key: that call is parsed as it comes)."""
    settings = getattr(dialect, "settings", {})
    strategy = getattr(dialect, "normalization_strategy", None)
    key = (type(dialect), strategy, tuple(sorted(settings.items())), sql, tuple(sorted(options.items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _copy(tree: Any) -> Any:
    return None if tree is None else tree.copy()
