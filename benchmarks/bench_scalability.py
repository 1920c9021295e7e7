"""The scalability grid: how step time and memory grow with agents, world size, density, run length.

Axes (the plan's grid):
- agents: 10 / 50 / 100 / 500 / 1000 initial agents, split evenly over the three types;
- world: 50x50 / 100x100 / 500x500 (square, see ``common.WORLD_SIZES``);
- density: sparse / medium / dense resource-node presets (nodes scale with world area);
- steps: 100 / 500 / 1000 / 5000 steps of one run.

To fit the time budget the grid is split: ``StepScaling`` covers agents x world x density (time
and peak memory of one step; 45 points), ``RunLength`` covers steps x agents at the reference
world (time and peak memory of a whole run, where memory growth over a long run shows; long runs
only at small agent counts). ``ComplexityExponent`` fits the log-log slope of per-step time
against agent count, for each stage and the whole step: 1.0 reads as linear, 2.0 as quadratic.
Logging is off here; its cost is measured in ``bench_simulation`` and ``bench_database``.
"""

from __future__ import annotations

import time

import numpy as np

from .common import WORLD_SIZES, simulation_config

try:
    from farm import Simulation, run_simulation
except ImportError:  # a commit older than the step loop
    Simulation = run_simulation = None

AGENT_COUNTS = [10, 50, 100, 500, 1_000]
WORLDS = list(WORLD_SIZES)  # "50x50", "100x100", "500x500"
DENSITIES = ["sparse", "medium", "dense"]
RUN_LENGTHS = [100, 500, 1_000, 5_000]
RUN_LENGTH_AGENTS = [10, 100, 1_000]
# (steps, agents) points of RunLength that would not fit the budget: long runs at many agents.
RUN_LENGTH_BLOCKLIST = {(5_000, 100), (1_000, 1_000), (5_000, 1_000)}
STAGES = ("observe", "decide", "act", "regenerate_resources", "update_spatial_index", "log_step")
WARMUP_STEPS = 3
# Agent counts of the complexity fit: large enough that fixed per-call overhead does not hide
# the growth, in the reference 100x100 medium world.
FIT_AGENTS = (100, 200, 500, 1_000, 2_000)
FIT_STEPS = 15


def _require_engine() -> None:
    if Simulation is None:
        raise NotImplementedError("farm.Simulation is not available at this commit")


class StepScaling:
    """One ``step()`` after :data:`WARMUP_STEPS` warm-up steps, at every agents x world x density
    point. ``peakmem_step`` is the process peak: imports, the built world, and the step."""

    version = 1
    params = [AGENT_COUNTS, WORLDS, DENSITIES]
    param_names = ["agents", "world", "density"]
    repeat = (5, 10, 2.0)
    rounds = 1
    timeout = 120

    def setup(self, agents, world, density):
        _require_engine()
        config = simulation_config(agents=agents, world=WORLD_SIZES[world], density=density, seed=42)
        self.sim = Simulation(config)
        self.sim.run(WARMUP_STEPS)

    def teardown(self, agents, world, density):
        self.sim.close()

    def time_step(self, agents, world, density):
        self.sim.step()

    def peakmem_step(self, agents, world, density):
        self.sim.step()


class RunLength:
    """A whole ``run_simulation`` of ``steps`` steps in the reference 100x100 medium world."""

    version = 1
    params = [RUN_LENGTHS, RUN_LENGTH_AGENTS]
    param_names = ["steps", "agents"]
    repeat = (1, 3, 20.0)
    rounds = 1
    timeout = 240

    def setup(self, steps, agents):
        _require_engine()
        if (steps, agents) in RUN_LENGTH_BLOCKLIST:
            raise NotImplementedError("outside the time budget")
        self.config = simulation_config(agents=agents, world=100.0, density="medium", seed=42)

    def time_run(self, steps, agents):
        run_simulation(self.config, steps)

    def peakmem_run(self, steps, agents):
        run_simulation(self.config, steps)


def stage_seconds_per_step(agents: int, steps: int = FIT_STEPS) -> dict[str, float]:
    """Median wall seconds per step of each stage and of the whole step, ``agents`` agents in the
    reference world: ``steps`` steps run stage by stage, then ``steps`` whole ``step()`` calls."""
    sim = Simulation(simulation_config(agents=agents, world=100.0, density="medium", seed=42))
    try:
        sim.run(WARMUP_STEPS)
        samples = {name: [] for name in (*STAGES, "step")}
        for _ in range(steps):
            for name in STAGES:
                stage = getattr(sim, name)
                start = time.perf_counter()
                stage()
                samples[name].append(time.perf_counter() - start)
        for _ in range(steps):
            start = time.perf_counter()
            sim.step()
            samples["step"].append(time.perf_counter() - start)
    finally:
        sim.close()
    return {name: float(np.median(values)) for name, values in samples.items()}


def loglog_slope(counts, seconds) -> float:
    """Least-squares slope of ``log(seconds)`` against ``log(counts)``."""
    slope, _intercept = np.polyfit(np.log(np.asarray(counts, float)), np.log(np.asarray(seconds, float)), 1)
    return float(slope)


class ComplexityExponent:
    """Fitted exponent k of ``time ~ agents**k`` over :data:`FIT_AGENTS`, per stage and step."""

    version = 1
    params = [list(STAGES) + ["step"]]
    param_names = ["stage"]
    timeout = 300

    def setup_cache(self):
        if Simulation is None:
            return None  # setup skips; an exception here would count as a failure
        per_count = [stage_seconds_per_step(agents) for agents in FIT_AGENTS]
        return {name: loglog_slope(FIT_AGENTS, [row[name] for row in per_count]) for name in per_count[0]}

    def setup(self, slopes, stage):
        if slopes is None:
            raise NotImplementedError("farm.Simulation is not available at this commit")

    def track_complexity_exponent(self, slopes, stage):
        return slopes[stage]

    track_complexity_exponent.unit = "exponent"
