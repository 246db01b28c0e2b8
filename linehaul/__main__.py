"""``python -m linehaul``: the same as the ``linehaul`` command."""

import sys

from linehaul.cli import main

sys.exit(main())
