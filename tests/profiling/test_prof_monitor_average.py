"""monitor_resources' average RSS, per-core CPU and background-thread CPU, against blocks whose
memory and threads are known."""

from __future__ import annotations

import mmap
import threading
import time

import numpy as np
import psutil
import pytest

from farm.utils.profiling_utils import (
    ResourceUsage,
    monitor_resources,
    per_core_percent,
    time_weighted_mean,
)

MIB = 1024**2


def _fresh_pages(n_bytes: int) -> mmap.mmap:
    """Anonymous memory with every page touched, so RSS grows by ``n_bytes``."""
    region = mmap.mmap(-1, n_bytes)
    view = np.frombuffer(region, dtype=np.uint8)
    view[:: mmap.PAGESIZE] = 1
    del view
    return region


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds  # CPU time, so descheduling on a loaded machine does not cut it short
    while time.thread_time() < end:
        pass


def test_time_weighted_mean_against_hand_computed_areas():
    # A step from 0 to 10 at t = 1 (linear between samples), held to t = 4: area 0.5*10 + 3*10 = 35.
    times = np.array([0.0, 1.0, 2.0, 4.0])
    values = np.array([0, 10, 10, 10], dtype=np.int64)
    assert time_weighted_mean(times, values) == round(35 / 4)
    # Uneven spacing: the long interval weighs more than the many short ones.
    times = np.array([0.0, 0.1, 0.2, 0.3, 10.3])
    values = np.array([100, 100, 100, 0, 0], dtype=np.int64)
    assert time_weighted_mean(times, values) == round((0.2 * 100 + 0.1 * 50) / 10.3)
    assert time_weighted_mean(np.array([0.0]), np.array([7])) == 7
    assert time_weighted_mean(np.zeros(0), np.zeros(0, dtype=np.int64)) == 0


def test_average_rss_of_a_block_that_holds_200_mib_most_of_the_time():
    with monitor_resources("hold") as monitor:
        block = _fresh_pages(200 * MIB)
        time.sleep(0.5)
        block.close()
        time.sleep(0.05)
    usage = monitor.result
    # Held for > 80 % of the block: the mean is well above the start, below the peak.
    assert usage.average_rss_bytes >= usage.rss_start_bytes + 100 * MIB
    assert usage.average_rss_bytes <= usage.peak_rss_bytes
    # and the end reading (after the unmap) is well below the mean: a start/end average would miss it.
    assert usage.average_rss_bytes >= usage.rss_end_bytes + 100 * MIB
    assert usage.average_rss_bytes == time_weighted_mean(usage.sample_times, usage.sample_rss)


def test_average_rss_of_an_idle_block_equals_its_readings():
    with monitor_resources("idle") as monitor:
        time.sleep(0.1)
    usage = monitor.result
    assert usage.sample_rss.min() <= usage.average_rss_bytes <= usage.sample_rss.max()


def test_a_spinning_second_thread_shows_in_background_cpu():
    worker = threading.Thread(target=_spin, args=(0.4,), name="spinner")
    with monitor_resources("thread") as monitor:
        worker.start()
        worker.join()  # the thread has ended when the block exits: its time must still count
    usage = monitor.result
    assert usage.background_thread_cpu_seconds >= 0.3
    assert usage.background_thread_cpu_seconds <= usage.cpu_seconds + 1e-9


def test_work_on_the_main_thread_is_not_background():
    with monitor_resources("main") as monitor:
        _spin(0.4)
    usage = monitor.result
    assert usage.cpu_seconds >= 0.3
    assert usage.background_thread_cpu_seconds < 0.15  # the sampler's own ticks are excluded


def test_per_core_cpu_has_one_figure_per_cpu_within_0_and_100():
    with monitor_resources("cores") as monitor:
        _spin(0.3)
    cores = monitor.result.per_core_cpu_percent
    assert len(cores) == psutil.cpu_count(logical=True)
    assert all(0.0 <= c <= 100.0 + 1e-9 for c in cores)
    # One busy thread for the whole block: the cores together were busy at least ~ one core's worth.
    assert sum(cores) >= 50.0


def test_per_core_percent_against_hand_computed_deltas():
    start = [(10.0, 100.0), (50.0, 100.0), (0.0, 5.0)]
    end = [(15.0, 110.0), (50.0, 110.0), (0.0, 5.0)]
    assert per_core_percent(start, end) == pytest.approx((50.0, 0.0, 0.0))


def test_per_core_percent_stays_within_0_and_100_when_iowait_goes_back():
    """Linux's per-CPU iowait can decrease between readings: busy (total - idle - iowait) then
    grows by more than the total, or shrinks."""
    start = [(10.0, 100.0), (50.0, 100.0)]
    end = [(25.0, 110.0), (48.0, 110.0)]  # busy +15 in 10 s of total; busy -2
    assert per_core_percent(start, end) == pytest.approx((100.0, 0.0))


def test_summary_line_names_every_figure():
    usage = ResourceUsage(
        name="run", wall_seconds=2.0, cpu_seconds=3.0, rss_start_bytes=100 * MIB, rss_end_bytes=130 * MIB,
        peak_rss_bytes=150 * MIB, read_bytes=None, write_bytes=None, sample_times=np.zeros(2),
        sample_rss=np.zeros(2, dtype=np.int64), average_rss_bytes=120 * MIB, per_core_cpu_percent=(90.0, 61.0),
        background_thread_cpu_seconds=1.25,
    )
    assert usage.summary_line() == (
        "wall 2.000 s, CPU 150 % (cores 90 % / 61 %), peak RSS 150.0 MiB, avg RSS 120.0 MiB, "
        "RSS +30.0 MiB, background threads CPU 1.25 s"
    )
