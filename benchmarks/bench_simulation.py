"""End to end: a full run, each stage of the step loop, and the steps-per-second throughput.

The reference world is :data:`REFERENCE_AGENTS` agents in a 100x100 world at medium resource
density, random policies, logging to a SQLite file in a temporary directory (the log stage is
part of what a user's run pays for). Per-agent-count scaling lives in ``bench_scalability``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .common import ONE_WARMUP_CALL, simulation_config

try:
    from farm import Simulation, run_simulation
except ImportError:  # a commit older than the step loop
    Simulation = run_simulation = None
# The loop's stages in order, where the engine names them.
try:
    from farm.core.simulation import Stage
except ImportError:  # a commit whose step loop has the six stages of STAGES
    Stage = None

# The six stages of one step, in loop order (methods of farm.Simulation), before the engine had
# a Stage enum.
STAGES = ("observe", "decide", "act", "regenerate_resources", "update_spatial_index", "log_step")
# Every stage some commit has, in loop order: StageTime's params (identical on every commit).
ALL_STAGES = ("observe", "decide", "act", "learn", "regenerate_resources", "update_spatial_index", "log_step",
              "update_observation_channels")
REFERENCE_AGENTS = 300
RUN_STEPS = 200  # steps of one full run
WARMUP_STEPS = 5  # steps run before a stage is timed, so every stage sees a lived-in world
TARGET_STEPS = 60  # timed steps of the engine speed target


def _require_engine() -> None:
    if Simulation is None:
        raise NotImplementedError("farm.Simulation is not available at this commit")


def stage_order() -> tuple[str, ...]:
    """The stages ``Simulation.step`` runs at this commit, in loop order."""
    return tuple(stage.value for stage in Stage) if Stage is not None else STAGES


def reference_config(db_path: str | None):
    """The reference world, logging to ``db_path`` (None: no logging)."""
    return simulation_config(agents=REFERENCE_AGENTS, world=100.0, density="medium", seed=42, storage__db_path=db_path)


class FullRun:
    """``farm.run_simulation`` for :data:`RUN_STEPS` steps: build, run, log, close."""

    version = 1
    timeout = 300
    number = 1  # 0.4 s per run; setup gives every run a fresh database directory
    repeat = (3, 6, 3.0)
    warmup_time = ONE_WARMUP_CALL

    def setup(self):
        _require_engine()
        self._tmp = tempfile.TemporaryDirectory(prefix="asv-farm-")
        self.config = reference_config(str(Path(self._tmp.name) / "run.db"))

    def teardown(self):
        # asv runs teardown even after setup raised NotImplementedError.
        if hasattr(self, "_tmp"):
            self._tmp.cleanup()

    def time_run(self):
        run_simulation(self.config, RUN_STEPS)

    def peakmem_run(self):
        run_simulation(self.config, RUN_STEPS)

    def track_steps_per_second(self):
        """Median over three runs of the steps per second the run reports (larger is better)."""
        rates = []
        for attempt in range(3):
            config = reference_config(str(Path(self._tmp.name) / f"rate{attempt}.db"))
            rates.append(run_simulation(config, RUN_STEPS).steps_per_second)
        return statistics.median(rates)

    track_steps_per_second.unit = "steps/s"


class StageTime:
    """One call of one stage (or of the whole ``step``), on a fresh simulation each call.

    ``setup`` builds the reference world, runs :data:`WARMUP_STEPS` steps and then the stages
    that precede ``stage`` in this commit's loop (:func:`stage_order`), so every timed call sees
    the same state. A stage this commit does not have is skipped.

    Version 2: the stages ``learn`` and ``update_observation_channels`` joined the loop, and the
    end-of-step channel update left ``log_step``; the preceding stages come from the engine's own
    order. The call consumes its setup (it advances the simulation), so ``number = 1``: each
    sample is one call on a fresh world (building one costs ~0.2 s, which rules out averaging
    several calls per sample).
    """

    version = 2
    params = [list(ALL_STAGES) + ["step"]]
    param_names = ["stage"]
    number = 1
    # Each sample builds a world: (10, 15, 2.0) until issue 13 cut repeats, (6, 10, 1.0) until its
    # second cut (asv took the 10 samples at every stage: the 1 s limit never stopped it).
    repeat = (6, 6, 1.0)
    warmup_time = ONE_WARMUP_CALL
    timeout = 180

    def setup(self, stage):
        _require_engine()
        order = stage_order()
        if stage != "step" and (stage not in order or getattr(Simulation, stage, None) is None):
            raise NotImplementedError(f"Simulation has no stage {stage!r} at this commit")
        self._tmp = tempfile.TemporaryDirectory(prefix="asv-farm-")
        self.sim = Simulation(reference_config(str(Path(self._tmp.name) / "run.db")))
        self.sim.run(WARMUP_STEPS)
        if stage != "step":
            for earlier in order[: order.index(stage)]:
                getattr(self.sim, earlier)()
        self.call = getattr(self.sim, stage)

    def teardown(self, stage):
        if hasattr(self, "sim"):
            self.sim.close()
            self._tmp.cleanup()

    def time_stage(self, stage):
        self.call()


class EngineSpeedTarget:
    """The engine's speed target: median wall time of one step with 1 000 agents and 1 000
    resource nodes, random policies, logging off, observations included (target <= 2.5 ms).

    The population cap is the initial 1 000, so births cannot grow the world being timed; the
    :data:`TARGET_STEPS` timed steps follow :data:`WARMUP_STEPS` untimed ones.
    """

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 180

    def setup(self):
        _require_engine()
        self.config = simulation_config(
            agents=1_000, world=100.0, seed=42, resources__count=1_000, agents__max_population=1_000
        )

    def track_median_step_ms(self):
        """Median milliseconds per ``step()`` over :data:`TARGET_STEPS` steps (smaller is better)."""
        with Simulation(self.config) as sim:
            sim.run(WARMUP_STEPS)
            times = []
            for _ in range(TARGET_STEPS):
                started = time.perf_counter()
                sim.step()
                times.append(time.perf_counter() - started)
        return 1e3 * statistics.median(times)

    track_median_step_ms.unit = "ms"
