"""Process resource monitoring with psutil.

Measures wall time, CPU (total, per core, per thread), RSS (sampled: peak and time-weighted
average) and I/O bytes.

``monitor_resources(name)`` is a context manager. It yields a :class:`ResourceMonitor` whose
``result`` (a frozen :class:`ResourceUsage`) is available once the block exits; nothing is
printed. Peak and average RSS come from a background :class:`RssSampler` thread, so they see
transient peaks inside the block that the start and end readings would miss.
:meth:`ResourceUsage.summary_line` is the one-line form the CLI prints.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psutil

__all__ = [
    "ResourceMonitor",
    "ResourceUsage",
    "RssSampler",
    "monitor_resources",
    "per_core_percent",
    "time_weighted_mean",
]

logger = logging.getLogger(__name__)

DEFAULT_SAMPLE_INTERVAL_S = 0.01


class RssSampler:
    """Samples the resident set size of a process on a daemon thread.

    Args:
        interval_s: seconds between samples (a trade-off: shorter catches briefer peaks and costs
            more of one core; 0.01 s costs well under 1 %).
        pid: process to watch (None: this process).

    After :meth:`stop`, ``times`` is ``(k,) float64`` seconds since :meth:`start` and ``rss`` is
    ``(k,) int64`` bytes, with ``k >= 2`` (a reading at start and one at stop are always taken).
    """

    def __init__(self, interval_s: float = DEFAULT_SAMPLE_INTERVAL_S, pid: int | None = None) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s!r}")
        self.interval_s = float(interval_s)
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._times: list[float] = []
        self._rss: list[int] = []
        self._t0 = 0.0
        self.times = np.zeros(0, dtype=np.float64)
        self.rss = np.zeros(0, dtype=np.int64)

    def _read(self) -> None:
        try:
            rss = self._process.memory_info().rss
        except psutil.Error:  # the watched process has exited
            self._stop.set()
            return
        self._times.append(time.perf_counter() - self._t0)
        self._rss.append(rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._read()

    def start(self) -> "RssSampler":
        """Take the first reading and start the sampling thread.

        Returns:
            This sampler, so ``RssSampler(...).start()`` can be assigned.

        Raises:
            RuntimeError: when it was already started.
        """
        if self._thread is not None:
            raise RuntimeError("RssSampler already started")
        self._t0 = time.perf_counter()
        self._read()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> "RssSampler":
        """Stop the thread, take a last reading and fill :attr:`times` and :attr:`rss`.

        Returns:
            This sampler, with ``times (k,) float64`` (seconds since start) and ``rss (k,) int64``
            (bytes) set.

        Raises:
            RuntimeError: when it was never started.
        """
        if self._thread is None:
            raise RuntimeError("RssSampler was never started")
        self._stop.set()
        self._thread.join()
        self._read()
        self.times = np.asarray(self._times, dtype=np.float64)
        self.rss = np.asarray(self._rss, dtype=np.int64)
        return self

    @property
    def peak_rss(self) -> int:
        """Highest sampled RSS in bytes (0 when there is no sample)."""
        return int(self.rss.max()) if self.rss.size else 0

    @property
    def average_rss(self) -> int:
        """Time-weighted mean RSS in bytes.

        Trapezoids between samples; the single reading when no time has passed.
        """
        return time_weighted_mean(self.times, self.rss)

    @property
    def native_id(self) -> int | None:
        """OS thread id of the sampling thread (None before :meth:`start`)."""
        return None if self._thread is None else self._thread.native_id


def time_weighted_mean(times: np.ndarray, values: np.ndarray) -> int:
    """Mean of a piecewise-linear signal: ``(k,)`` sample ``times`` (ascending) and ``values``.

    Returns:
        The integral of the linear interpolation divided by its duration, rounded to an int; the
        plain mean when the samples span no time; 0 for no samples.
    """
    if values.size == 0:
        return 0
    span = float(times[-1] - times[0]) if times.size else 0.0
    if span <= 0.0:
        return round(float(values.mean()))
    v = values.astype(np.float64)
    area = float(np.sum(np.diff(times) * (v[1:] + v[:-1]) * 0.5))
    return round(area / span)


@dataclass(frozen=True)
class ResourceUsage:
    """What one monitored block used.

    Attributes:
        name: the label given to :func:`monitor_resources`.
        wall_seconds: elapsed wall-clock time.
        cpu_seconds: user + system CPU time of this process (all threads) during the block.
        rss_start_bytes, rss_end_bytes: resident set size at entry and exit.
        peak_rss_bytes: highest sampled RSS during the block (>= both readings above).
        read_bytes, write_bytes: storage I/O during the block; None where psutil cannot tell.
        sample_times: ``(k,) float64`` seconds since entry of each RSS sample.
        sample_rss: ``(k,) int64`` bytes, the RSS at each sample.
        average_rss_bytes: time-weighted mean of the sampled RSS over the block.
        per_core_cpu_percent: ``(c,)`` busy share of each logical CPU of the machine over the
            block, in percent (``psutil.cpu_times(percpu=True)`` deltas: 100 * (1 - idle+iowait /
            total)). Machine-wide: other processes' work shows here too.
        background_thread_cpu_seconds: user + system CPU time of this process's threads other
            than the main thread (and the RSS sampler itself), e.g. an asynchronous log writer,
            torch's intra-op pool. Threads that ended inside the block are included.
    """

    name: str
    wall_seconds: float
    cpu_seconds: float
    rss_start_bytes: int
    rss_end_bytes: int
    peak_rss_bytes: int
    read_bytes: int | None
    write_bytes: int | None
    sample_times: np.ndarray
    sample_rss: np.ndarray
    average_rss_bytes: int = 0
    per_core_cpu_percent: tuple[float, ...] = ()
    background_thread_cpu_seconds: float = 0.0

    @property
    def cpu_percent(self) -> float:
        """CPU time over wall time, in percent (can exceed 100 with several busy threads)."""
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def rss_delta_bytes(self) -> int:
        """RSS at the end minus RSS at the start, in bytes."""
        return self.rss_end_bytes - self.rss_start_bytes

    def summary(self) -> str:
        """One line: ``name: wall 1.234 s, CPU 98 %, RSS +1.2 MiB, peak RSS 120.5 MiB[, I/O ...]``."""
        mib = 1024.0**2
        text = (
            f"{self.name}: wall {self.wall_seconds:.3f} s, CPU {self.cpu_percent:.0f} %, "
            f"RSS {self.rss_delta_bytes / mib:+.1f} MiB, peak RSS {self.peak_rss_bytes / mib:.1f} MiB"
        )
        if self.read_bytes is not None and self.write_bytes is not None:
            text += f", I/O read {self.read_bytes / mib:.2f} MiB / write {self.write_bytes / mib:.2f} MiB"
        return text

    def summary_line(self) -> str:
        """The CLI's one-line resource summary.

        For example ``wall 12.3 s, CPU 104 % (cores 98 % / 31 %), peak RSS
        412.0 MiB, avg RSS 398.5 MiB, RSS +35.2 MiB, background threads CPU 1.20 s``.
        """
        mib = 1024.0**2
        cores = " / ".join(f"{p:.0f} %" for p in self.per_core_cpu_percent) or "n/a"
        return (
            f"wall {self.wall_seconds:.3f} s, CPU {self.cpu_percent:.0f} % (cores {cores}), "
            f"peak RSS {self.peak_rss_bytes / mib:.1f} MiB, avg RSS {self.average_rss_bytes / mib:.1f} MiB, "
            f"RSS {self.rss_delta_bytes / mib:+.1f} MiB, "
            f"background threads CPU {self.background_thread_cpu_seconds:.2f} s"
        )


class ResourceMonitor:
    """Handle yielded by :func:`monitor_resources`; ``result`` exists once the block has exited."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._result: ResourceUsage | None = None

    @property
    def result(self) -> ResourceUsage:
        """The measured usage.

        Raises:
            RuntimeError: while the ``with`` block has not exited.
        """
        if self._result is None:
            raise RuntimeError(f"monitor_resources({self.name!r}): the block has not exited yet")
        return self._result


def _io_bytes(process: psutil.Process) -> tuple[int, int] | None:
    try:
        counters = process.io_counters()
    except (AttributeError, NotImplementedError, psutil.Error):  # not on every platform
        return None
    return int(counters.read_bytes), int(counters.write_bytes)


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _thread_seconds(process: psutil.Process) -> dict[int, float]:
    """User + system CPU seconds of each live thread of ``process``, by OS thread id."""
    try:
        return {t.id: float(t.user_time + t.system_time) for t in process.threads()}
    except (psutil.Error, NotImplementedError):
        return {}


def _core_times() -> list[tuple[float, float]]:
    """``(busy, total)`` CPU seconds of each logical CPU since boot.

    Linux counts guest time inside user time as well, so it is left out of the total.
    """
    out = []
    for t in psutil.cpu_times(percpu=True):
        total = float(sum(t)) - float(getattr(t, "guest", 0.0)) - float(getattr(t, "guest_nice", 0.0))
        idle = float(t.idle) + float(getattr(t, "iowait", 0.0))
        out.append((total - idle, total))
    return out


def per_core_percent(start: list[tuple[float, float]], end: list[tuple[float, float]]) -> tuple[float, ...]:
    """Busy percent of each CPU between two :func:`_core_times` readings, within ``[0, 100]``.

    0 where no time passed. Linux's per-CPU ``iowait`` is not monotonic (it can go back between readings), so the busy
    delta can exceed the total delta or fall below zero on a loaded machine; it is clamped.
    """
    return tuple(
        100.0 * min(max(b1 - b0, 0.0), t1 - t0) / (t1 - t0) if t1 > t0 else 0.0
        for (b0, t0), (b1, t1) in zip(start, end)
    )


def _background_seconds(cpu_delta: float, threads_start: dict[int, float], threads_end: dict[int, float],
                        excluded: tuple[int | None, ...]) -> float:
    """Process CPU minus the main thread's and the excluded threads' own CPU over the block."""
    own = 0.0
    for tid in excluded:
        if tid is not None and tid in threads_end:
            own += threads_end[tid] - threads_start.get(tid, 0.0)
    return max(0.0, cpu_delta - own)


@contextmanager
def monitor_resources(name: str, sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S) -> Iterator[ResourceMonitor]:
    """Measure the enclosed block; read ``monitor.result`` (a :class:`ResourceUsage`) afterwards.

    The result is also recorded when the block raises, and logged at DEBUG level.
    """
    process = psutil.Process()
    monitor = ResourceMonitor(name)
    main_tid = threading.main_thread().native_id
    io_start = _io_bytes(process)
    sampler = RssSampler(sample_interval_s).start()
    cores_start = _core_times()
    threads_start = _thread_seconds(process)
    cpu_start = _cpu_seconds(process)
    wall_start = time.perf_counter()
    try:
        yield monitor
    finally:
        wall = time.perf_counter() - wall_start
        # Process and per-thread times are read together while the sampler still runs, so the
        # sampler's own CPU can be taken out of the background figure.
        cpu = _cpu_seconds(process) - cpu_start
        threads_end = _thread_seconds(process)
        cores = per_core_percent(cores_start, _core_times())
        background = _background_seconds(cpu, threads_start, threads_end, (main_tid, sampler.native_id))
        sampler.stop()
        io_end = _io_bytes(process)
        read_bytes = write_bytes = None
        if io_start is not None and io_end is not None:
            read_bytes = io_end[0] - io_start[0]
            write_bytes = io_end[1] - io_start[1]
        monitor._result = ResourceUsage(
            name=name,
            wall_seconds=wall,
            cpu_seconds=cpu,
            rss_start_bytes=int(sampler.rss[0]),
            rss_end_bytes=int(sampler.rss[-1]),
            peak_rss_bytes=sampler.peak_rss,
            read_bytes=read_bytes,
            write_bytes=write_bytes,
            sample_times=sampler.times,
            sample_rss=sampler.rss,
            average_rss_bytes=sampler.average_rss,
            per_core_cpu_percent=cores,
            background_thread_cpu_seconds=background,
        )
        logger.debug("%s", monitor._result.summary())
