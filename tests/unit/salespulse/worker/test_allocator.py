"""glibc's thresholds, fixed: a large block freed does not make later large blocks heap blocks."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

# Counts glibc's blocks that have a mapping of their own, before and after a 1 MiB allocation that
# follows the free of a 4 MiB one (which, left to glibc, raises its mmap threshold to 4 MiB).
PROBE = """
import ctypes, sys
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "fixed":
    from salespulse.worker.allocator import fix_thresholds
    fix_thresholds()
big = bytearray(4 * 2**20)
del big
before = libc.mallinfo2().hblks
block = bytearray(2**20)
print(libc.mallinfo2().hblks - before)
"""


def has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


def mapped_blocks(mode: str, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=environ, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not has_mallinfo2(), reason="needs glibc 2.33 or later")
def test_a_large_block_is_mapped_even_after_a_larger_one_was_freed() -> None:
    assert (mapped_blocks("default"), mapped_blocks("fixed")) == (0, 1)


@pytest.mark.skipif(not has_mallinfo2(), reason="needs glibc 2.33 or later")
def test_a_threshold_set_in_the_environment_is_kept() -> None:
    # 8 MiB, set by the operator: the 1 MiB block comes from the heap, as they asked.
    assert mapped_blocks("fixed", MALLOC_MMAP_THRESHOLD_=str(8 * 2**20)) == 0
