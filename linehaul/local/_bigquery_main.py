"""``python -m linehaul.local._bigquery_main OPTIONS_JSON``: run the patched bqemulator until SIGTERM/SIGINT.

The child process of :class:`linehaul.local.servers.BigQuerySubprocess`; OPTIONS_JSON carries ``project``,
``gcs_root``, ``data_dir`` (or null), ``port`` and ``compat`` (apply :mod:`linehaul.local.bqcompat`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    from linehaul.local import bqcompat, bqoffline

    options = json.loads(argv[0])
    bqoffline.apply_offline_patch()
    if options["compat"]:
        bqcompat.apply()
    from bqemulator.server import run_forever

    data_dir = options["data_dir"]
    run_forever(
        bqoffline.emulator_settings(
            project=options["project"],
            gcs_root=Path(options["gcs_root"]),
            data_dir=None if data_dir is None else Path(data_dir),
            port=options["port"],
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
