"""The name README.md gives for reading log files: :mod:`linehaul.logs.files` is the module."""

from linehaul.logs.files import BLOCK_SIZE, LogFileError, gunzip, line_blocks, read_blocks, stream_blocks

__all__ = ["BLOCK_SIZE", "LogFileError", "gunzip", "line_blocks", "read_blocks", "stream_blocks"]
