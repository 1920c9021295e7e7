"""Is this host the one that measured the series? Engine-independent floors answer it.

The hosts behind one machine kind differ (on 2026-12-01 one AMD EPYC host ran scipy's cKDTree
and raw sqlite 1.4-3.8x slower than another had days before). Points of two hosts in one series
show the host change as steps on code no commit touched. So before ``run`` adds commits to a
series that already has results, it re-measures a few points that do not depend on the engine
(:data:`FLOOR_POINTS`: scipy and sqlite3 alone) at a commit of the series and compares them with
the stored values (:func:`host_ratio`).
"""

from __future__ import annotations

import statistics

from .proc import ToolError
from .selection import larger_is_better

# Engine-independent points: the scipy cKDTree floor of bench_spatial and raw sqlite executemany.
FLOOR_POINTS = (
    "bench_spatial.IndexBuild.time_build('ckdtree_floor', 10000)",
    "bench_spatial.RadiusQuery.time_batched_radius('ckdtree_floor', 10000, 'uniform', 5.0)",
    "bench_spatial.NearestQuery.time_nearest_k5('ckdtree_floor', 10000, 'uniform')",
    "bench_spatial.UpdateThenQuery.time_update_10_percent_then_query('ckdtree_floor', 10000, 'immediate')",
    "bench_database.RawExecutemanyFloor.track_raw_executemany_rows_per_second",
)
# The floors' run-to-run spread on one host is a few per cent; another host moved them by 40 %+.
HOST_TOLERANCE = 0.15


def host_ratio(stored: dict[str, float], fresh: dict[str, float]) -> tuple[float, int]:
    """Median of fresh/stored over the floor points measured in both (a rate inverted): above 1,
    this host is slower. Returns ``(ratio, points compared)``; ``(nan, 0)`` when none are shared."""
    ratios = []
    for label in FLOOR_POINTS:
        if label in stored and label in fresh and stored[label] > 0 and fresh[label] > 0:
            ratio = fresh[label] / stored[label]
            # a larger-is-better point (the rate) is inverted, so every ratio reads "times slower"
            ratios.append(1.0 / ratio if larger_is_better(label) else ratio)
    return (statistics.median(ratios), len(ratios)) if ratios else (float("nan"), 0)


def check_host(stored: dict[str, float], fresh: dict[str, float], machine: str, commit: str,
               tolerance: float = HOST_TOLERANCE) -> float:
    """The ratio of :func:`host_ratio`, or a one-line :class:`ToolError` when it is outside
    ``1 +- tolerance`` (or nothing could be compared)."""
    ratio, compared = host_ratio(stored, fresh)
    if not compared:
        raise ToolError(f"host check: none of the engine-independent floor points could be measured at {commit[:8]} "
                        f"to compare with {machine!r}'s stored values; pass --accept-host to measure anyway")
    if abs(ratio - 1.0) > tolerance:
        way = "slower" if ratio > 1 else "faster"
        raise ToolError(
            f"host check: this host runs the engine-independent floors x{ratio:.2f} ({way}) against the sitting that "
            f"measured {commit[:8]} in {machine!r} ({compared} points); its points would show the host change as "
            f"regressions. Re-measure the series here first (run --commits <the series' commits> --force) or "
            f"measure under another --machine; --accept-host measures anyway")
    return ratio
