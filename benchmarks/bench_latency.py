"""Latency percentiles: time per simulation step, and per single-point spatial query.

A median hides the steps that stall: a log flush, a training step, the replay buffer filling for
the first time, a rebuild after births. ``StepLatency`` runs each workload for
:data:`MEASURED_STEPS` steps after :data:`WARMUP_STEPS` and reports the p50 / p95 / p99 of the
per-step wall time, so a stall that happens in more than 1 % of the steps moves p99.

Workloads, at 100 and 1 000 agents:

* ``light``: the engine's default configuration (random policy, 4 channels, no log);
* ``agentfarm``: ``SimulationConfig.preset("agentfarm")`` (13 channels, shared DDQN MLP learning
  as it acts, the SQLite log in a temporary file, balanced profile).

Both in the 100x100 world with the population held at its initial count (:data:`SUSTAINING`: dense
resource nodes regenerating by 1 every step, the cap at the initial count; the same values as
``farm.profiling.soak.SUSTAINING_RESOURCES``), otherwise 1 000 agents starve to under a hundred
within 200 steps and the "1 000-agent" figure would be a small run's.

``QueryLatency``: p50 / p95 / p99 of one ``query_radius(point, 5)`` call on 1 000 uniform points,
per index kind, over :data:`SINGLE_QUERIES` calls timed one by one.

Every figure comes from one run done in ``setup_cache`` (once per commit, about 30 s in all);
the ``track_*`` methods only read it. Commits without the preset API are skipped.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import positions

try:
    from farm import Simulation
    from farm.config import SimulationConfig
except ImportError:  # a commit older than the engine
    Simulation = SimulationConfig = None

try:
    from farm.spatial import make_index
except ImportError:  # a commit older than the spatial package
    make_index = None

WORKLOADS = ["light", "agentfarm"]
AGENT_COUNTS = [100, 1_000]
WARMUP_STEPS = 20
MEASURED_STEPS = 400
# Resources that hold the population near its cap (see the module docstring).
SUSTAINING = {
    "resources.density": "dense",
    "resources.regeneration": "deterministic",
    "resources.regen_rate": 1.0,
    "resources.regen_amount": 1.0,
}

INDEX_KINDS = ["kdtree", "quadtree", "spatial_hash", "brute_force"]
INDEXED_POINTS = 1_000
QUERY_RADIUS = 5.0
SINGLE_QUERIES = 2_000
WORLD = 100.0


def _has_preset() -> bool:
    return SimulationConfig is not None and hasattr(SimulationConfig, "preset")


def _config(workload: str, agents: int, db_path: str):
    base, extra = divmod(agents, 3)
    counts = [base + (1 if i < extra else 0) for i in range(3)]
    changes = {
        "seed": 42,
        "agents.system": counts[0],
        "agents.independent": counts[1],
        "agents.control": counts[2],
        "agents.max_population": agents,
        **SUSTAINING,
    }
    if workload == "agentfarm":
        changes["storage.db_path"] = db_path
        return SimulationConfig.preset("agentfarm").with_overrides(changes)
    return SimulationConfig().with_overrides(changes)


def step_seconds(workload: str, agents: int, warmup: int = WARMUP_STEPS, steps: int = MEASURED_STEPS) -> np.ndarray:
    """``(steps,) float64`` wall time of each ``sim.step()`` after ``warmup`` steps."""
    work = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    try:
        with Simulation(_config(workload, agents, str(work / "run.db"))) as sim:
            for _ in range(warmup):
                sim.step()
            out = np.empty(steps, dtype=np.float64)
            clock = time.perf_counter
            for i in range(steps):
                t0 = clock()
                sim.step()
                out[i] = clock() - t0
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def single_query_seconds(kind: str, queries: int = SINGLE_QUERIES) -> np.ndarray:
    """``(queries,) float64`` wall time of each single-point ``query_radius`` call."""
    index = make_index(kind, positions(INDEXED_POINTS, "uniform", WORLD, WORLD, seed=11), bounds=(WORLD, WORLD))
    points = positions(queries, "uniform", WORLD, WORLD, seed=12)
    index.query_radius(points[0], QUERY_RADIUS)  # any lazy build happens outside the timed calls
    out = np.empty(queries, dtype=np.float64)
    clock = time.perf_counter
    for i in range(queries):
        point = points[i]
        t0 = clock()
        index.query_radius(point, QUERY_RADIUS)
        out[i] = clock() - t0
    return out


def _percentiles(seconds: np.ndarray) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(seconds, q)) for q in (50, 95, 99)}


class StepLatency:
    """Per-step wall time percentiles (seconds) by workload and agent count."""

    version = 1
    params = [WORKLOADS, AGENT_COUNTS]
    param_names = ["workload", "agents"]
    unit = "seconds"
    rounds = 1
    repeat = 1
    number = 1
    timeout = 600

    def setup_cache(self):
        # Never None: asv_runner passes a None cache to no method, which breaks the signatures.
        if not _has_preset():
            return {"skip": "SimulationConfig.preset is not available at this commit"}
        return {(w, a): _percentiles(step_seconds(w, a)) for w in WORKLOADS for a in AGENT_COUNTS}

    setup_cache.timeout = 600

    def setup(self, cache, workload, agents):
        if "skip" in cache:
            raise NotImplementedError(cache["skip"])

    def track_step_p50(self, cache, workload, agents):
        return cache[(workload, agents)]["p50"]

    def track_step_p95(self, cache, workload, agents):
        return cache[(workload, agents)]["p95"]

    def track_step_p99(self, cache, workload, agents):
        return cache[(workload, agents)]["p99"]


class QueryLatency:
    """Single-point radius query latency percentiles (seconds) by index kind."""

    version = 1
    params = [INDEX_KINDS]
    param_names = ["index"]
    unit = "seconds"
    rounds = 1
    repeat = 1
    number = 1
    timeout = 300

    def setup_cache(self):
        if make_index is None or not _has_preset():
            return {"skip": "farm.spatial.make_index or the preset API is not available at this commit"}
        out = {}
        for kind in INDEX_KINDS:
            try:
                out[kind] = _percentiles(single_query_seconds(kind))
            except ValueError:  # a kind this commit does not have
                continue
        return out

    setup_cache.timeout = 300

    def setup(self, cache, index):
        if "skip" in cache or index not in cache:
            raise NotImplementedError(cache.get("skip", f"index kind {index!r} is not available at this commit"))

    def track_query_p50(self, cache, index):
        return cache[index]["p50"]

    def track_query_p95(self, cache, index):
        return cache[index]["p95"]

    def track_query_p99(self, cache, index):
        return cache[index]["p99"]
