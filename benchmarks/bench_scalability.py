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

from .bench_simulation import stage_order
from .common import ONE_WARMUP_CALL, WORLD_SIZES, simulation_config

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
RUN_LENGTH_BLOCKLIST = {(5_000, 100), (5_000, 1_000)}
STAGES = ("observe", "decide", "act", "regenerate_resources", "update_spatial_index", "log_step")
WARMUP_STEPS = 3
# Agent counts of the complexity fit: large enough that fixed per-call overhead does not hide
# the growth, in the reference 100x100 medium world.
FIT_AGENTS = (100, 200, 500, 1_000, 2_000)
FIT_STEPS = 20
FIT_RUNS = 3


def _require_engine() -> None:
    if Simulation is None:
        raise NotImplementedError("farm.Simulation is not available at this commit")


class StepScaling:
    """One ``step()`` after :data:`WARMUP_STEPS` warm-up steps, at every agents x world x density
    point. ``peakmem_step`` is the process peak: imports, the built world, and the step."""

    version = 1
    params = [AGENT_COUNTS, WORLDS, DENSITIES]
    param_names = ["agents", "world", "density"]
    number = 1  # the call advances the simulation setup built: one step per fresh world
    repeat = (3, 6, 1.0)
    warmup_time = ONE_WARMUP_CALL
    rounds = 1
    timeout = 120

    def setup(self, agents, world, density):
        _require_engine()
        config = simulation_config(agents=agents, world=WORLD_SIZES[world], density=density, seed=42)
        self.sim = Simulation(config)
        self.sim.run(WARMUP_STEPS)

    def teardown(self, agents, world, density):
        if hasattr(self, "sim"):  # asv runs teardown even after a NotImplementedError skip
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
    number = 1
    repeat = (1, 3, 5.0)  # long runs (seconds each) stop after one or two
    warmup_time = 0.0
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


def _timed_run(agents: int, steps: int, by_stage: bool) -> tuple[dict[str, np.ndarray], float]:
    """Per-step wall seconds of one deterministic run in the reference world: of each stage
    (``by_stage``) or of each ``step()`` call; and the mean live population while measured.
    By stage, every stage of this commit's loop runs in order (``stage_order``), so the world
    evolves as it does under ``step()``; stages outside :data:`STAGES` are timed but not fitted."""
    sim = Simulation(simulation_config(agents=agents, world=100.0, density="medium", seed=42))
    names = stage_order() if by_stage else ("step",)
    seconds = {name: np.empty(steps) for name in names}
    population = np.empty(steps)
    try:
        sim.run(WARMUP_STEPS)
        for index in range(steps):
            population[index] = np.count_nonzero(sim.state.alive)
            for name in names:
                call = getattr(sim, name)
                start = time.perf_counter()
                call()
                seconds[name][index] = time.perf_counter() - start
    finally:
        sim.close()
    return seconds, float(population.mean())


def stage_seconds_per_step(agents: int, steps: int = FIT_STEPS, runs: int = FIT_RUNS) -> tuple[dict[str, float], float]:
    """Per-step seconds of each stage and of the whole step, and the mean live population.

    The simulation is deterministic, so ``runs`` repeats see identical states step by step: the
    per-step minimum over repeats removes interference from other processes, and the median over
    steps summarizes the run."""
    best: dict[str, np.ndarray] = {}
    population = float(agents)
    for by_stage in (True, False):
        for _ in range(runs):
            seconds, population = _timed_run(agents, steps, by_stage)
            for name, values in seconds.items():
                best[name] = np.minimum(best[name], values) if name in best else values
    return {name: float(np.median(values)) for name, values in best.items()}, population


def loglog_slope(counts, seconds) -> float:
    """Least-squares slope of ``log(seconds)`` against ``log(counts)``."""
    slope, _intercept = np.polyfit(np.log(np.asarray(counts, float)), np.log(np.asarray(seconds, float)), 1)
    return float(slope)


class ComplexityExponent:
    """Fitted exponent k of ``time ~ agents**k``, per stage and for the whole step: the
    least-squares slope of log per-step time against log live population, over runs starting
    with :data:`FIT_AGENTS` agents."""

    version = 1
    params = [list(STAGES) + ["step"]]
    param_names = ["stage"]
    timeout = 300

    def setup_cache(self):
        if Simulation is None:
            # setup skips on an empty dict; an exception here would count as a failure, and
            # asv passes no cache argument at all for None.
            return {}
        measured = [stage_seconds_per_step(agents) for agents in FIT_AGENTS]
        populations = [population for _, population in measured]
        return {name: loglog_slope(populations, [row[name] for row, _ in measured]) for name in measured[0][0]}

    def setup(self, slopes, stage):
        if not slopes:
            raise NotImplementedError("farm.Simulation is not available at this commit")

    def track_complexity_exponent(self, slopes, stage):
        return slopes[stage]

    track_complexity_exponent.unit = "exponent"
