"""tools/copy_thread_ab.py: both arms measured in one simulation, the threshold put back, bad input one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "copy_thread_ab.py"
sys.path.insert(0, str(TOOL.parent))

import copy_thread_ab  # noqa: E402


def test_the_arms_alternate_in_blocks_and_only_the_worker_arm_copies_on_the_worker(every_frame_copy_on_the_worker):
    from farm.decision import frames

    submitted = every_frame_copy_on_the_worker  # 30 agents write far less than 1 MiB: threshold 0
    result = copy_thread_ab.compare(agents=30, learning="off", steps=6, warmup=2, block=2)
    assert [result[arm]["steps"] for arm in copy_thread_ab.ARMS] == [4, 2]  # worker, inline, worker blocks
    assert len(submitted) == 3 * (2 + 4)  # three learners: the warm-up (as found) and the worker arm, never inline
    assert frames.BACKGROUND_COPY_BYTES == 0  # the threshold it found, put back
    for arm in copy_thread_ab.ARMS:
        row = result[arm]
        assert row["step_ms"] > 0 and row["mean_step_ms"] > 0 and row["stages_ms"]["learn"] > 0


@pytest.mark.parametrize("argv, message", [
    (["--agents", "0"], "must be a positive integer, got '0'"),
    (["--learning", "maybe"], "invalid choice: 'maybe'"),
])
def test_bad_input_is_one_line_with_exit_2(argv, message):
    done = subprocess.run([sys.executable, str(TOOL), *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert message in done.stderr.strip().splitlines()[-1]
