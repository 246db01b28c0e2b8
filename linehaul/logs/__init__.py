"""Reading CDN logs from files: plain or gzip, paths and globs, converted on one process or several.

* :mod:`linehaul.logs.files`: stream a log (gzip by content) in blocks of whole lines; :class:`LogFileError`;
* :mod:`linehaul.logs.paths`: what a person types (paths, globs, ``-``) → the files to read;
* :mod:`linehaul.logs.blocks`: convert one block (the columnar path or the line converter), row codecs;
* :mod:`linehaul.logs.parallel`: convert many files block by block, on ``jobs`` processes, in input order;
* :mod:`linehaul.logs.counts`: :class:`ReadCounts`, the one record of where lines went;
* :mod:`linehaul.logs.sample`: deterministic sample logs for demos, tests and benchmarks.

The parsing core (the package root) has no I/O; this package is where files and processes come in.
"""

from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import BLOCK_SIZE, STDIN, LogFileError, read_blocks, stream_blocks
from linehaul.logs.paths import expand_paths

__all__ = [
    "BLOCK_SIZE",
    "STDIN",
    "LogFileError",
    "ReadCounts",
    "expand_paths",
    "read_blocks",
    "stream_blocks",
]
