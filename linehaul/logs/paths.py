"""What a person types → the log files to read: paths, quoted globs (``**`` crosses directories), ``-``."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

from linehaul.logs.files import STDIN, LogFileError

__all__ = ["STDIN", "expand_paths"]

_GLOB_CHARACTERS = frozenset("*?[")


def expand_paths(patterns: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files to read, in order: a pattern with ``*``, ``?`` or ``[`` gives its matches, sorted
    (``**`` crosses directories); ``-`` is stdin; any other path is kept as it is. A file named twice
    is read once.

    Raises :class:`~linehaul.logs.files.LogFileError` naming a pattern that matches no file, a path that
    does not exist or is not a regular file, or ``-`` given twice: nothing is read before all are checked.
    """
    paths: list[str] = []
    for pattern in (os.fspath(pattern) for pattern in patterns):
        if pattern == STDIN:
            if STDIN in paths:
                raise LogFileError(STDIN, "stdin can be read only once")
            paths.append(pattern)
            continue
        if _GLOB_CHARACTERS.intersection(pattern) and not os.path.exists(pattern):
            matches = sorted(path for path in glob.glob(pattern, recursive=True) if os.path.isfile(path))
            if not matches:
                raise LogFileError(pattern, "no file matches this pattern")
        elif not os.path.exists(pattern):
            raise LogFileError(pattern, "no such file")
        elif not os.path.isfile(pattern):
            raise LogFileError(pattern, "not a regular file (a directory?)")
        else:
            matches = [pattern]
        paths += [path for path in matches if path not in paths]
    return paths
