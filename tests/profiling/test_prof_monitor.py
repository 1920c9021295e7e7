"""monitor_resources: every figure checked against what the block is known to do."""

from __future__ import annotations

import mmap
import os
import time

import numpy as np
import pytest

from farm.utils.profiling_utils import RssSampler, monitor_resources

MIB = 1024**2


def _fresh_pages(n_bytes: int) -> mmap.mmap:
    """Anonymous memory with every page touched: RSS grows by ``n_bytes`` whatever the allocator
    already holds (freed heap pages from earlier tests would hide a numpy allocation)."""
    region = mmap.mmap(-1, n_bytes)
    view = np.frombuffer(region, dtype=np.uint8)
    view[:: mmap.PAGESIZE] = 1
    del view
    return region


def test_peak_rss_catches_a_transient_allocation_that_start_and_end_miss():
    with monitor_resources("transient") as monitor:
        block = _fresh_pages(80 * MIB)
        time.sleep(0.1)  # several sampler periods
        block.close()  # unmapped: RSS falls back
    usage = monitor.result
    assert usage.peak_rss_bytes >= usage.rss_start_bytes + 60 * MIB
    assert usage.peak_rss_bytes >= usage.rss_end_bytes + 60 * MIB
    assert usage.sample_rss.shape == usage.sample_times.shape and usage.sample_rss.size >= 5
    assert np.all(np.diff(usage.sample_times) >= 0)
    assert usage.peak_rss_bytes == usage.sample_rss.max()


def test_rss_delta_of_memory_kept_alive():
    keep = []
    with monitor_resources("kept") as monitor:
        keep.append(_fresh_pages(40 * MIB))
    assert monitor.result.rss_delta_bytes >= 30 * MIB
    assert monitor.result.rss_delta_bytes == monitor.result.rss_end_bytes - monitor.result.rss_start_bytes
    keep[0].close()


def test_wall_and_cpu_time_of_sleeping_and_spinning():
    with monitor_resources("sleep") as sleeping:
        time.sleep(0.3)
    assert 0.3 <= sleeping.result.wall_seconds < 1.5
    assert sleeping.result.cpu_percent < 50
    with monitor_resources("spin") as spinning:
        # Spin until this process has used 0.2 s of CPU (not wall time: on a loaded machine the
        # spin may be descheduled for most of a wall-clock budget).
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass
    # psutil reads CPU time in clock ticks (10 ms): allow two ticks and float rounding.
    assert spinning.result.cpu_seconds >= 0.2 - 0.02 - 1e-9
    assert spinning.result.cpu_percent == pytest.approx(
        100 * spinning.result.cpu_seconds / spinning.result.wall_seconds
    )


def test_write_bytes_count_a_synced_file(tmp_path):
    with monitor_resources("write") as monitor:
        with open(tmp_path / "blob", "wb") as handle:
            handle.write(os.urandom(4 * MIB))
            handle.flush()
            os.fsync(handle.fileno())
    usage = monitor.result
    if usage.write_bytes is None:
        pytest.skip("psutil cannot read I/O counters on this platform")
    assert usage.write_bytes >= 4 * MIB
    assert "I/O read" in usage.summary()


def test_result_exists_only_after_exit_and_also_when_the_block_raises():
    with pytest.raises(ZeroDivisionError):
        with monitor_resources("fails") as monitor:
            with pytest.raises(RuntimeError, match="has not exited"):
                monitor.result
            1 / 0
    assert monitor.result.name == "fails" and monitor.result.wall_seconds >= 0


def test_sampler_rejects_bad_interval_and_double_start():
    with pytest.raises(ValueError, match="interval_s"):
        RssSampler(0)
    sampler = RssSampler(0.01).start()
    with pytest.raises(RuntimeError):
        sampler.start()
    sampler.stop()
    assert sampler.rss.size >= 2
