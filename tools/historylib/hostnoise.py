"""The host's slow mode: how often, for how long and by how much this machine runs slower than itself.

A fixed pure-Python workload (:func:`probe_seconds`, about 1 ms) is timed back to back for a few
seconds. On a quiet dedicated core every call takes about as long as the fastest one. On the
shared reference host the calls split into two modes: the fast one and one about twice as slow,
in bursts that last from a few milliseconds to seconds (another tenant on the physical core, most
likely). A wall-time benchmark point samples for well under a second, so its median lands in
whichever mode the host is in at that moment; two sessions of one commit can then differ by the
slow mode's factor on any point. :func:`summarize` turns the timeline into the figures that
decide how wide a wall-time threshold must be here, and how many sub-second windows read slow.
:func:`wait_quiet` waits for the fast mode to hold, before a pass of wall-time benchmarks.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

PROBE_ITERATIONS = 20_000  # ~0.9 ms of interpreter work on the reference host
SLOW_ABOVE = 1.3  # a call slower than this multiple of the fastest call is in the slow mode
WINDOW_SECONDS = 0.5  # the sampling window of a typical sub-second asv point
# The host reads quiet after this many probes in a row of QUIET_PROBE_SECONDS each with at most
# QUIET_SLOW_WINDOWS of their half-second windows slow (on 2026-12-03 the median probe read 83 %).
QUIET_PROBES = 3
QUIET_PROBE_SECONDS = 6.0
QUIET_SLOW_WINDOWS = 0.10
QUIET_PAUSE_SECONDS = 5.0  # between probes that read slow
QUIET_REPORT_SECONDS = 600.0  # a progress line this often while waiting


def probe_seconds(iterations: int = PROBE_ITERATIONS) -> float:
    """Wall seconds of one call of a fixed integer loop (no allocation beyond small ints)."""
    start = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i * i
    return time.perf_counter() - start


def record_timeline(seconds: float, iterations: int = PROBE_ITERATIONS) -> list[tuple[float, float]]:
    """``[(start offset s, call duration s)]`` of :func:`probe_seconds` called back to back for
    ``seconds`` of wall time."""
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}")
    origin = time.perf_counter()
    timeline = []
    while (offset := time.perf_counter() - origin) < seconds:
        timeline.append((offset, probe_seconds(iterations)))
    return timeline


@dataclass(frozen=True)
class NoiseSummary:
    """What :func:`summarize` finds in one timeline.

    Attributes:
        calls: probe calls timed.
        span_s: wall seconds the timeline covers.
        fastest_s: the fastest call, the host's fast mode.
        median_over_fastest: median call / fastest call.
        slow_fraction: share of calls slower than ``slow_above`` x the fastest.
        slow_factor: median of (slow call / fastest call); ``nan`` when no call was slow.
        bursts: runs of consecutive slow calls.
        burst_median_s / burst_p90_s / burst_longest_s: wall length of those runs.
        slow_windows: share of ``window_s`` windows whose median call is slow: the chance that a
            point sampled for ``window_s`` reads the slow mode.
        window_s: that window's length.
    """

    calls: int
    span_s: float
    fastest_s: float
    median_over_fastest: float
    slow_fraction: float
    slow_factor: float
    bursts: int
    burst_median_s: float
    burst_p90_s: float
    burst_longest_s: float
    slow_windows: float
    window_s: float


def _bursts(timeline: list[tuple[float, float]], slow: list[bool]) -> list[float]:
    """Wall lengths of the runs of consecutive slow calls (from the first slow call's start to the
    end of the last)."""
    lengths, start = [], None
    for (offset, duration), is_slow in zip(timeline, slow):
        if is_slow and start is None:
            start = offset
        if is_slow:
            end = offset + duration
        elif start is not None:
            lengths.append(end - start)
            start = None
    if start is not None:
        lengths.append(end - start)
    return lengths


def summarize(timeline: list[tuple[float, float]], slow_above: float = SLOW_ABOVE,
              window_s: float = WINDOW_SECONDS) -> NoiseSummary:
    """The slow mode of ``timeline`` (``[(start offset s, duration s)]``, in time order)."""
    if not timeline:
        raise ValueError("an empty timeline has no noise to summarize")
    durations = [d for _, d in timeline]
    fastest = min(durations)
    ratios = [d / fastest for d in durations]
    slow = [r > slow_above for r in ratios]
    slow_ratios = [r for r, s in zip(ratios, slow) if s]
    lengths = sorted(_bursts(timeline, slow))
    windows: dict[int, list[float]] = {}
    for (offset, _), ratio in zip(timeline, ratios):
        windows.setdefault(int(offset // window_s), []).append(ratio)
    window_medians = [statistics.median(v) for v in windows.values()]
    return NoiseSummary(
        calls=len(timeline),
        span_s=timeline[-1][0] + timeline[-1][1] - timeline[0][0],
        fastest_s=fastest,
        median_over_fastest=statistics.median(ratios),
        slow_fraction=sum(slow) / len(slow),
        slow_factor=statistics.median(slow_ratios) if slow_ratios else math.nan,
        bursts=len(lengths),
        burst_median_s=statistics.median(lengths) if lengths else 0.0,
        burst_p90_s=lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))] if lengths else 0.0,
        burst_longest_s=lengths[-1] if lengths else 0.0,
        slow_windows=sum(m > slow_above for m in window_medians) / len(window_medians),
        window_s=window_s,
    )


def measure(seconds: float) -> NoiseSummary:
    """:func:`summarize` of :func:`record_timeline` over ``seconds``: the host's slow mode now."""
    return summarize(record_timeline(seconds))


def report(summary: NoiseSummary) -> str:
    """A few lines for a person: the fast mode, the slow mode and what it means for a threshold."""
    s = summary
    lines = [
        f"{s.calls} probe calls over {s.span_s:.1f} s; fastest {s.fastest_s * 1e3:.3f} ms, "
        f"median x{s.median_over_fastest:.2f} of it",
        f"slow mode (> x{SLOW_ABOVE:.1f} the fastest): {s.slow_fraction:.0%} of calls, "
        + (f"median x{s.slow_factor:.2f}" if s.slow_fraction else "none"),
        f"bursts: {s.bursts}, median {s.burst_median_s * 1e3:.1f} ms, p90 {s.burst_p90_s * 1e3:.1f} ms, "
        f"longest {s.burst_longest_s * 1e3:.0f} ms",
        f"{s.window_s:g} s windows whose median reads slow: {s.slow_windows:.0%}",
    ]
    if s.slow_windows > 0:
        lines.append(f"a point sampled for {s.window_s:g} s can read x{s.slow_factor:.2f} in one session and x1 in "
                     "the next: a wall-time threshold below that factor flags drift; instruction tracks do not see it")
    return "\n".join(lines)


def wait_quiet(deadline: float, probe: Callable[[float], NoiseSummary] = measure,
               clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
               probes: int = QUIET_PROBES) -> bool:
    """Probe until ``probes`` probes in a row read at most :data:`QUIET_SLOW_WINDOWS` of
    their windows slow (True), or until ``deadline`` (``clock`` seconds) passes first (False).
    Every :data:`QUIET_REPORT_SECONDS` of waiting, and at the end, one line says what the probes read."""
    started, quiet, shares = clock(), 0, []
    reported = started

    def say(what: str) -> None:
        print(f"{what} after {len(shares)} probe(s) in {(clock() - started) / 60:.1f} min; windows slow: median "
              f"{statistics.median(shares):.0%}, quiet probes {sum(s <= QUIET_SLOW_WINDOWS for s in shares)}",
              flush=True)

    while quiet < probes:
        if clock() >= deadline:
            say("host not quiet by the deadline")
            return False
        shares.append(probe(QUIET_PROBE_SECONDS).slow_windows)
        if shares[-1] <= QUIET_SLOW_WINDOWS:
            quiet += 1
        else:
            quiet = 0
            sleep(QUIET_PAUSE_SECONDS)
        if clock() - reported >= QUIET_REPORT_SECONDS:
            reported = clock()
            say("still waiting for a quiet host")
    if len(shares) > probes:
        say("host quiet")
    return True


class NotQuiet(Exception):
    """The host did not turn quiet before a :class:`QuietRounds` deadline."""


class QuietRounds:
    """Runs measurement rounds only between two quiet probes, for measurements too long to witness
    with a floor of their own (a round of ``tools/perf_report.py`` lasts 10-60 s).

    :meth:`run` waits for one quiet probe (:func:`wait_quiet` with ``probes=1``), runs the round,
    then probes once more: a round the second probe reads slow for is run again. The probe after a
    round serves as the one before the next. ``redone`` counts the rounds run again.
    """

    def __init__(self, deadline: float, probe: Callable[[float], NoiseSummary] = measure,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.deadline, self.probe, self.clock, self.sleep = deadline, probe, clock, sleep
        self.rounds = 0
        self.redone = 0
        self._quiet_now = False  # the last probe, taken right after the last round, read quiet

    def _held(self) -> bool:
        self._quiet_now = self.probe(QUIET_PROBE_SECONDS).slow_windows <= QUIET_SLOW_WINDOWS
        return self._quiet_now

    def run(self, measure_round: Callable[[], object]):
        """``measure_round()``'s result, from a round that began and ended with the host quiet.

        Raises:
            NotQuiet: the deadline passed before such a round.
        """
        while True:
            if not self._quiet_now and not wait_quiet(self.deadline, self.probe, self.clock, self.sleep, probes=1):
                raise NotQuiet("the host did not turn quiet before the deadline")
            result = measure_round()
            if self._held():
                self.rounds += 1
                return result
            self.redone += 1
