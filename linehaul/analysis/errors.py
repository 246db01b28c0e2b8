"""The errors of the analysis package, one per concern, each with a message a person can act on."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["MissingExtraError", "QueryError", "UnknownFieldError"]


class MissingExtraError(ImportError):
    """pyarrow or duckdb is not installed: the message says which extra to install."""

    def __init__(self, module: str) -> None:
        super().__init__(
            f"offline analysis needs {module}, which is not installed: "
            "pip install 'linehaul[analysis]' (it brings pyarrow and duckdb)",
            name=module,
        )


class QueryError(Exception):
    """SQL that DuckDB refused or could not run: ``str(error)`` is DuckDB's own message."""


class UnknownFieldError(ValueError):
    """A ``--by`` field that ``linehaul stats`` does not know: the message lists the valid ones."""

    def __init__(self, field: str, valid: Sequence[str], why: str = "unknown field") -> None:
        super().__init__(f"{why} {field!r}: choose one of {', '.join(valid)}")
        self.field, self.valid = field, tuple(valid)
