"""farm.utils.allocator: freed memory is reused, not page-faulted back in.

Each case runs in a fresh interpreter (mallopt is process-wide and cannot be undone). The truth
is the kernel's count of minor page faults. A cycle does what a forward pass does to the heap:
it allocates four 4 MB buffers, touches them and frees them all. glibc by default returns the
freed heap top to the OS, so every cycle faults the ~4 000 pages back in; with the memory
retained, cycles after the first fault (almost) nothing.
"""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc mallopt only"
)

CYCLES = 200
BUFFERS = 4
PAGES_PER_CYCLE = BUFFERS * 4 * 1024 * 1024 // 4096

FAULTS_PER_CYCLE = f"""
import ctypes, resource, sys
from farm.utils.allocator import retain_freed_memory
if sys.argv[1] == "retain":
    assert retain_freed_memory() and retain_freed_memory()
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = {PAGES_PER_CYCLE * 4096 // BUFFERS}
def cycle():
    buffers = [libc.malloc(size) for _ in range({BUFFERS})]
    for buffer in buffers:
        ctypes.memset(buffer, 1, size)
    for buffer in buffers:
        libc.free(buffer)
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range({CYCLES}):
    cycle()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / {CYCLES})
"""


def faults_per_cycle(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_CYCLE, mode], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def test_default_allocator_faults_the_buffer_in_every_cycle():
    assert faults_per_cycle("default") > 0.5 * PAGES_PER_CYCLE


def test_retained_memory_is_reused_without_page_faults():
    assert faults_per_cycle("retain") < 0.01 * PAGES_PER_CYCLE


def test_learning_policy_applies_it_unless_configured_off():
    code = """
import sys
import farm.utils.allocator as allocator
from farm.decision.config import DecisionConfig
from farm.decision.ddqn import DDQNPolicy
DDQNPolicy(DecisionConfig(retain_freed_memory=sys.argv[1] == "on"), (4, 11, 11), seed=0)
print(allocator._applied)
"""
    runs = {mode: subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, check=True)
            for mode in ("on", "off")}
    assert runs["on"].stdout.strip() == "True"
    assert runs["off"].stdout.strip() == "False"


def test_config_rejects_a_non_bool():
    from farm.decision.config import DecisionConfig

    with pytest.raises(ValueError, match="retain_freed_memory must be true or false, got 'yes'"):
        DecisionConfig(retain_freed_memory="yes")
