"""Start bqemulator 1.4.0 without the internet, and without taking over the host process's logging.

Offline: at start, ``storage.engine.DuckDBEngine._load_spatial`` runs ``INSTALL spatial`` (a download from
extensions.duckdb.org) and refuses to start when it fails; no setting skips it. :func:`apply_offline_patch`
replaces that method with a plain ``LOAD spatial`` whose failure is ignored: GEOGRAPHY and ``ST_*``
functions then fail when queried, which linehaul never does. The best-effort ``INSTALL avro`` (2.5 s of
waiting offline) is switched off by the ``enable_format_extensions=False`` setting instead, see
:func:`emulator_settings`.

Logging: ``EmulatorServer.start()`` calls ``logging.basicConfig(force=True)``, which replaces the root
logger's handlers and level of whatever process hosts it (pytest's capture, the CLI's own set-up).
:func:`keep_host_logging` puts them back after that call. (Its ``structlog.configure`` stays global;
linehaul does not use structlog.)
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bqemulator.config import LogLevel, PersistenceMode, Settings

from linehaul.local.bqcompat import _replace_attribute, require_pinned_version

__all__ = ["apply_offline_patch", "emulator_settings", "keep_host_logging"]

_PATCHED = "_linehaul_patched"  # attribute marking a function this module installed


def apply_offline_patch() -> None:
    """Let bqemulator start without downloading DuckDB's spatial extension (idempotent)."""
    require_pinned_version()
    from bqemulator.storage.engine import DuckDBEngine

    if getattr(DuckDBEngine._load_spatial, _PATCHED, False):
        return

    def load_installed_spatial(engine: DuckDBEngine) -> None:
        with contextlib.suppress(Exception):  # not installed: only GEOGRAPHY queries will fail
            engine.connection.execute("LOAD spatial")

    setattr(load_installed_spatial, _PATCHED, True)
    _replace_attribute(DuckDBEngine, "_load_spatial", lambda _: load_installed_spatial)


def keep_host_logging() -> None:
    """Make bqemulator's start-up keep the root logger's handlers and level (idempotent)."""
    import bqemulator.server as server

    _replace_attribute(server, "configure_logging", _keeping_host_logging)


def _keeping_host_logging(original: Callable[..., None]) -> Callable[..., None]:
    if getattr(original, _PATCHED, False):
        return original

    @functools.wraps(original)
    def configure_keeping_root(**kwargs: Any) -> None:
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        original(**kwargs)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)

    setattr(configure_keeping_root, _PATCHED, True)
    return configure_keeping_root


def emulator_settings(
    *, project: str, gcs_root: Path, data_dir: Path | None = None, port: int = 0, log_level: str = "warning"
) -> Settings:
    """Settings for one emulator on 127.0.0.1: ``gs://`` URIs read from ``gcs_root``, data kept in
    ``data_dir`` (in memory if None), REST on ``port`` (0: the kernel picks), gRPC on a free port."""
    return Settings(
        rest_host="127.0.0.1",
        rest_port=port,
        grpc_host="127.0.0.1",
        grpc_port=0,  # the default 9060 would collide between two emulators; linehaul uses REST only
        persistence_mode=PersistenceMode.EPHEMERAL if data_dir is None else PersistenceMode.PERSISTENT,
        data_dir=data_dir,
        default_project_id=project,
        gcs_local_root=gcs_root,
        enable_format_extensions=False,  # no INSTALL avro: it waits for the network, and CSV/JSON suffice
        metrics_enabled=False,
        log_level=LogLevel(log_level),
    )
