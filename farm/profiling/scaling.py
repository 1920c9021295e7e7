"""Scaling experiments: stage time and memory against agent count, query time against density.

Each returns :class:`~farm.profiling.plots.Series` (measured points; the fitted exponent is a
property of the series).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Sequence

import numpy as np

from farm.profiling.plots import Series
from farm.profiling.workload import LIGHT, workload_config

__all__ = ["stage_seconds_vs_agents", "memory_vs_agents", "query_seconds_vs_density"]


def stage_seconds_vs_agents(
    agent_counts: Sequence[int], steps: int, repeats: int = 1, world: float = 100.0, seed: int = 42, preset: str = LIGHT
) -> list[Series]:
    """Seconds per step of each stage against the agent count.

    Every stage in ``sim.stage_seconds`` (and of the whole step) against
    the initial agent count; the minimum over ``repeats`` runs (the least disturbed one).
    ``preset``: the workload (:func:`~farm.profiling.workload.workload_config`).
    """
    from farm import Simulation

    per_stage: dict[str, list[float]] = {}
    totals: list[float] = []
    for agents in agent_counts:
        best: dict[str, float] = {}
        best_total = np.inf
        for _ in range(repeats):
            with Simulation(workload_config(agents, world, seed, preset=preset)) as sim:
                start = time.perf_counter()
                sim.run(steps)
                best_total = min(best_total, (time.perf_counter() - start) / steps)
                for stage, seconds in sim.stage_seconds.items():
                    best[stage] = min(best.get(stage, np.inf), seconds / steps)
        for stage, seconds in best.items():
            per_stage.setdefault(stage, []).append(seconds)
        totals.append(best_total)
    x = np.asarray(agent_counts, dtype=np.float64)
    series = [Series("whole step", x, np.asarray(totals))]
    series += [Series(stage, x, np.asarray(values)) for stage, values in per_stage.items() if len(values) == len(x)]
    return series


def memory_vs_agents(agent_counts: Sequence[int], steps: int, world: float = 100.0, seed: int = 42,
                     preset: str = LIGHT) -> list[Series]:
    """Python-heap memory of a simulation against the agent count.

    Peak Python-heap memory (tracemalloc, MiB; numpy buffers included) of building and running
    a simulation, and what stays allocated while it is alive, against the initial agent count.
    ``preset``: the workload (:func:`~farm.profiling.workload.workload_config`).
    """
    from farm import Simulation

    peaks, resident = [], []
    for agents in agent_counts:
        config = workload_config(agents, world, seed, preset=preset)
        tracemalloc.start(1)
        try:
            base, _ = tracemalloc.get_traced_memory()
            with Simulation(config) as sim:
                sim.run(steps)
                alive, _ = tracemalloc.get_traced_memory()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peaks.append((peak - base) / 1024**2)
        resident.append((alive - base) / 1024**2)
    x = np.asarray(agent_counts, dtype=np.float64)
    return [Series("peak during run", x, np.asarray(peaks)), Series("held by live simulation", x, np.asarray(resident))]


def query_seconds_vs_density(
    entity_counts: Sequence[int],
    kinds: Sequence[object] | None = None,
    world: float = 100.0,
    radius: float = 5.0,
    query_count: int = 500,
    repeats: int = 3,
    seed: int = 7,
) -> tuple[list[Series], dict[str, str]]:
    """Microseconds per query point of each spatial index against density.

    A batched ``query_radius`` against entity density
    (entities per square world unit), one series per index kind; best of ``repeats``.

    Returns the series and, for each kind this build cannot make, the reason (its ValueError).
    """
    from farm.spatial import make_index
    from farm.spatial.config import SpatialIndexKind

    kinds = list(SpatialIndexKind) if kinds is None else list(kinds)
    rng = np.random.default_rng(seed)
    queries = rng.random((query_count, 2)) * world
    area = world * world
    series, unavailable = [], {}
    for kind in kinds:
        label = str(getattr(kind, "value", kind))
        try:
            make_index(kind, queries[:2], bounds=(world, world))
        except ValueError as exc:
            unavailable[label] = str(exc)
            continue
        micros = []
        for count in entity_counts:
            points = np.random.default_rng(seed + count).random((count, 2)) * world
            index = make_index(kind, points, bounds=(world, world))
            index.query_radius(queries[:8], radius)  # warm caches / lazy builds
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                index.query_radius(queries, radius)
                best = min(best, time.perf_counter() - start)
            micros.append(best / query_count * 1e6)
        series.append(Series(label, np.asarray(entity_counts, dtype=np.float64) / area, np.asarray(micros)))
    return series, unavailable
