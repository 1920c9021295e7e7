"""Is this host the one that measured the series? Engine-independent floors answer it.

The hosts behind one machine kind differ (on 2026-12-01 one AMD EPYC host ran scipy's cKDTree
and raw sqlite 1.4-3.8x slower than another had days before). Points of two hosts in one series
show the host change as steps on code no commit touched. So before ``run`` adds commits to a
series that already has results, it re-measures a few points that do not depend on the engine
(:data:`FLOOR_POINTS`: scipy and sqlite3 alone) at a commit of the series and compares them with
the series' stored ones (:func:`host_ratio`; the median over its newest commits, :func:`series_floors`).

The same floors witness each commit's pass (:class:`DriftWitness`): this host kind has a slow
mode, external to the VM, that slows whole processes about twofold for seconds to minutes, so a
host that passed the check before a pass can turn slow within it. ``run`` keeps a commit's new
points only where the floors measured right before its pass and those measured with it (in it,
for the default selection, which holds them; right after it otherwise: :data:`WITNESS_REGEXES`)
read like the series' stored ones.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass

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
# asv --bench regexes selecting exactly those points.
WITNESS_REGEXES = tuple(f"^{re.escape(label)}$" for label in FLOOR_POINTS)
# The floors' run-to-run spread on one host is a few per cent; another host moved them by 40 %+.
HOST_TOLERANCE = 0.15
# The series' floors are the median over this many of its newest commits that have them: one
# sitting can be an outlier (on 2026-12-02 two commits' floors read x0.73 of the 70 before them).
REFERENCE_COMMITS = 10


def series_floors(points_by_commit: list[dict[str, float]]) -> dict[str, float]:
    """``{floor label: median}`` over the commits' stored points (one dict per commit), for each
    :data:`FLOOR_POINTS` label that at least one of them holds."""
    return {label: statistics.median(values) for label in FLOOR_POINTS
            if (values := [points[label] for points in points_by_commit if label in points])}


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
               tolerance: float = HOST_TOLERANCE, host: str = "") -> float:
    """The ratio of :func:`host_ratio`, or a one-line :class:`ToolError` when it is outside
    ``1 +- tolerance`` (or nothing could be compared). ``host`` describes this host's processor
    (:func:`historylib.machine.cpu_identity`) for the refusal."""
    ratio, compared = host_ratio(stored, fresh)
    if not compared:
        raise ToolError(f"host check: none of the engine-independent floor points could be measured at {commit[:8]} "
                        f"to compare with {machine!r}'s stored values; pass --accept-host to measure anyway")
    if abs(ratio - 1.0) > tolerance:
        way = "slower" if ratio > 1 else "faster"
        raise ToolError(
            f"host check: this host{f' ({host})' if host else ''} runs the engine-independent floors x{ratio:.2f} "
            f"({way}) against the stored ones of {machine!r} (to {commit[:8]}; {compared} points); its points would "
            f"show the host change as regressions. Re-measure the series here first (run --commits <the series' "
            f"commits> --force --accept-host) or measure under another --machine; --accept-host measures anyway")
    return ratio


@dataclass(frozen=True)
class DriftWitness:
    """The yardstick of ``run``'s drift check: the series' stored floors.

    Attributes:
        reference: full hash of the series' newest commit with stored floors.
        stored: the series' floors (``{label: value}``): :func:`series_floors` of its newest
            :data:`REFERENCE_COMMITS` commits with floors, ``reference`` the last of them.
    """

    reference: str
    stored: dict[str, float]

    def reason(self, fresh: dict[str, float], commit: str, when: str = "with its pass",
               tolerance: float = HOST_TOLERANCE) -> str | None:
        """Why ``commit``'s points of a pass cannot join the series, or None when they can.

        ``fresh`` holds the floor points measured ``when`` (with ``commit``'s pass, or right
        before it). A median ratio to the stored ones outside ``1 +- tolerance`` says the host
        changed speed around the pass; none compared says nothing, and the points are kept.
        """
        ratio, compared = host_ratio(self.stored, fresh)
        if not compared or abs(ratio - 1.0) <= tolerance:
            return None
        way = "slower" if ratio > 1 else "faster"
        return (f"{commit[:8]}: the engine-independent floors measured {when} read x{ratio:.2f} ({way}) of "
                f"the series' stored ones (to {self.reference[:8]}; {compared} points)")
