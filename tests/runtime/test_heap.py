"""map_large_buffers: a freed upload part is given back to the system, instead of staying in the heap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from linehaul.runtime.heap import map_large_buffers

_RETAINED_AFTER_FREE = """
import sys
from linehaul.runtime.heap import map_large_buffers

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) >> 10

if sys.argv[1] == "mapped" and not map_large_buffers():
    sys.exit(3)
before = rss_mib()
for _ in range(3):  # parts of 16 MiB, one after the other, as an upload makes them
    part = b"x" * (16 << 20)
    del part
print(rss_mib() - before)
"""


def _retained_mib(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _RETAINED_AFTER_FREE, mode], capture_output=True, text=True, check=False
    )
    if done.returncode == 3:
        pytest.skip("this C library has no mallopt")
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_freed_parts_leave_the_process() -> None:
    if _retained_mib("default") < 12:
        pytest.skip("this allocator gives large blocks back by itself")
    assert _retained_mib("mapped") < 4


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        map_large_buffers(0)
