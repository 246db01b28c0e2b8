"""The name README.md gives for sample logs: :mod:`linehaul.logs.sample` is the module."""

from linehaul.logs.sample import sample_lines, write_sample

__all__ = ["sample_lines", "write_sample"]
