"""Instruction counts of each component's workload: tracks that do not drift with machine load.

Every ``track_*_instructions`` value is the number of user-space instructions (callgrind's
``Ir``) one call of the workload executes, counted under valgrind with ASLR off, one thread for
BLAS/OpenMP/torch and ``PYTHONHASHSEED=0``; interpreter start-up, imports, setup and one warm-up
call are not counted (see ``benchmarks/_valgrind.py``). Two runs of one commit agree within
0.5 %, so a 1-5 % change is visible and ``asv find`` can bisect it.

Each class's ``setup_cache`` runs all of its workloads in ONE valgrind child and returns the
counts; the tracks only read them. The torch workloads (the decision forward and the simulation
steps, whose AgentFarm preset decides with DDQN) share one child, so torch is imported once.
Where valgrind is missing every track skips with one line: ``apt-get install -y valgrind``.

Workloads (seeded, built with ``benchmarks/common.py``):

- ``RadiusQueryInstructions``: one batched ``query_radius`` of 1 000 uniform points, radius 5,
  against an index of 1 000 other uniform points in a 100x100 world, per index kind.
- ``ObservationBuildInstructions``: one observation build of 1 000 agents, all 13 channels,
  radius 5, bilinear resources from the RAM grid (one node amount changes first, as in a step).
- ``LogInsertInstructions``: 5 steps of 1 000 agents logged (10 555 rows) and flushed to an
  in-memory SQLite log.
- ``DecisionForwardInstructions``: a greedy DDQN ``act`` with the default MLP over 1 000
  observations of 13x11x11.
- ``RegenerationInstructions``: one ``regenerate()`` of 25 000 nodes (500x500 world at dense
  density, array storage, probabilistic).
- ``StepInstructions``: ``Simulation.step`` of ``SimulationConfig()`` ("light", mean of 10 steps
  after 6) and of ``SimulationConfig.preset("agentfarm")`` logging to a file (mean of 2 steps
  after 6: one of them trains).

Not in the default selection of ``tools/asv_history.py run``: the whole module takes about two
minutes per commit. Run it with ``--bench bench_instructions``.
"""

from __future__ import annotations

import itertools

import numpy as np

from ._valgrind import Workload, count_workloads

# Index kinds of farm.spatial.make_index (fixed: params must not depend on the commit).
INDEX_KINDS = ["kdtree", "quadtree", "spatial_hash", "brute_force"]
STEP_CONFIGS = ["light", "agentfarm"]
WORLD = 100.0
QUERY_POINTS = 1_000
QUERY_RADIUS = 5.0
OBSERVATION_AGENTS = 1_000
LOG_AGENTS = 1_000
LOG_STEPS = 5  # steps logged and flushed per counted call
DECISION_BATCH = 1_000
DECISION_OBS_SHAPE = (13, 11, 11)  # the AgentFarm preset's view: 13 channels, radius 5
STEP_WARMUP = 5  # steps run before the warm-up call and the counted steps
STEP_CALLS = {"light": 10, "agentfarm": 2}
UNIT = "instructions"
TIMEOUT = 600  # seconds for one valgrind child (torch's is the longest, ~1-2 min)


# ---------------------------------------------------------------------------------- builders
# Each returns the zero-argument callable whose instructions are counted; run in the child.


def _radius_query(kind: str):
    try:
        from farm.spatial import make_index
    except ImportError:
        raise NotImplementedError("farm.spatial.make_index is not available at this commit") from None
    from .common import uniform_positions

    try:
        index = make_index(kind, uniform_positions(QUERY_POINTS, WORLD, WORLD, seed=11), bounds=(WORLD, WORLD))
    except ValueError as exc:  # a kind this commit does not offer
        raise NotImplementedError(str(exc)) from None
    queries = uniform_positions(QUERY_POINTS, WORLD, WORLD, seed=12)
    return lambda: index.query_radius(queries, QUERY_RADIUS)


def _observation_build():
    try:
        from farm.config import WorldConfig
        from farm.observation import ObservationConfig, make_observation_builder
        from farm.observation.config import ALL_CHANNELS
    except ImportError:
        raise NotImplementedError("farm.observation's 13-channel builder is not available at this commit") from None
    from .common import observation_inputs

    try:
        config = ObservationConfig(radius=5, channels=tuple(ALL_CHANNELS), interpolation="bilinear",
                                   resource_source="grid")
    except (TypeError, ValueError) as exc:
        raise NotImplementedError(f"ObservationConfig lacks bilinear grid sources: {exc}") from None
    state, resources = observation_inputs(OBSERVATION_AGENTS, world=WORLD)
    builder = make_observation_builder(config, WorldConfig(WORLD, WORLD), state, resources)
    toggle = itertools.cycle([11.0, 10.0])

    def build():
        resources.amounts[0] = next(toggle)  # one node changes, so grid sources re-splat
        return builder.build()

    return build


def _log_insert():
    try:
        from farm.storage import StorageConfig, make_logger
    except ImportError:
        raise NotImplementedError("farm.storage.make_logger is not available at this commit") from None
    from .common import require_flush_wait, step_logs

    logger = make_logger(StorageConfig(db_path=":memory:"), "{}", 0)
    require_flush_wait(logger)
    logs = step_logs(LOG_STEPS * 8, agents=LOG_AGENTS, seed=5)
    chunks = iter([logs[i:i + LOG_STEPS] for i in range(0, len(logs), LOG_STEPS)])

    def insert():
        for log in next(chunks):  # later calls log later steps (step ids stay unique)
            logger.log_step(log)
        logger.flush(wait=True)

    return insert


def _decision_forward():
    try:
        from farm.decision.config import DDQNConfig, DecisionConfig, NetworkConfig
        from farm.decision.ddqn import DDQNPolicy
    except ImportError:
        raise NotImplementedError("farm.decision.ddqn is not available at this commit") from None
    from .common import decision_batch

    config = DecisionConfig(network=NetworkConfig(kind="mlp"), ddqn=DDQNConfig(epsilon_start=0.0, epsilon_end=0.0))
    policy = DDQNPolicy(config, DECISION_OBS_SHAPE, seed=0)
    _, observations, action_mask, _ = decision_batch(DECISION_BATCH, DECISION_OBS_SHAPE, seed=1)
    return lambda: policy.act(observations, action_mask)


def _regeneration():
    try:
        from farm.resources.config import ResourceConfig
        from farm.resources.manager import ResourceManager
    except ImportError:
        raise NotImplementedError("farm.resources.manager.ResourceManager is not available at this commit") from None

    config = ResourceConfig(density="dense", storage="array", regeneration="probabilistic", initial_amount=15.0,
                            max_amount=30.0)
    manager = ResourceManager(config, 500.0, 500.0, np.random.default_rng(7))
    return manager.regenerate


def _step(name: str):
    try:
        from farm import Simulation, SimulationConfig
    except ImportError:
        raise NotImplementedError("farm.Simulation is not available at this commit") from None
    if name == "light":
        config = SimulationConfig()
    else:
        if not hasattr(SimulationConfig, "preset"):
            raise NotImplementedError("SimulationConfig.preset is not available at this commit")
        config = SimulationConfig.preset(name).with_overrides({"storage.db_path": f"{name}.db"})  # child's cwd
    simulation = Simulation(config)
    simulation.run(STEP_WARMUP)
    return simulation.step


# The module each builder needs: without it the workload skips before valgrind starts.
_REQUIRES = {
    "_radius_query": "farm.spatial",
    "_observation_build": "farm.observation",
    "_log_insert": "farm.storage",
    "_decision_forward": "farm.decision.ddqn",
    "_regeneration": "farm.resources.manager",
    "_step": "farm.core.simulation",
}


def _workload(builder, *args, calls: int = 1, name: str | None = None) -> Workload:
    return Workload(name or builder.__name__.lstrip("_"), f"{__name__}:{builder.__name__}", args, calls,
                    requires=_REQUIRES[builder.__name__])


def _count_torch_workloads(*_):
    """Shared ``setup_cache`` of the decision forward and the steps (one torch import)."""
    workloads = [_workload(_decision_forward)]
    workloads += [_workload(_step, name, calls=STEP_CALLS[name], name=f"step_{name}") for name in STEP_CONFIGS]
    return count_workloads(workloads, timeout=TIMEOUT)


_count_torch_workloads.timeout = TIMEOUT


# -------------------------------------------------------------------------------- benchmarks


class RadiusQueryInstructions:
    """One batched radius query (1 000 points, radius 5, 1 000 indexed points) per index kind."""

    version = 1
    params = (INDEX_KINDS,)
    param_names = ("kind",)
    unit = UNIT
    timeout = TIMEOUT
    rounds = 1
    repeat = 1

    def setup_cache(self):
        return count_workloads([_workload(_radius_query, kind, name=kind) for kind in INDEX_KINDS], timeout=TIMEOUT)

    def setup(self, report, kind):
        self.value = report.value(kind)

    def track_radius_query_instructions(self, report, kind):
        return self.value


class ObservationBuildInstructions:
    """One observation build: 1 000 agents, 13 channels, radius 5, bilinear."""

    version = 1
    unit = UNIT
    timeout = TIMEOUT
    rounds = 1
    repeat = 1

    def setup_cache(self):
        return count_workloads([_workload(_observation_build)], timeout=TIMEOUT)

    def setup(self, report):
        self.value = report.value("observation_build")

    def track_observation_build_instructions(self, report):
        return self.value


class LogInsertInstructions:
    """5 steps of 1 000 agents logged and flushed (in-memory SQLite)."""

    version = 1
    unit = UNIT
    timeout = TIMEOUT
    rounds = 1
    repeat = 1

    def setup_cache(self):
        return count_workloads([_workload(_log_insert)], timeout=TIMEOUT)

    def setup(self, report):
        self.value = report.value("log_insert")

    def track_log_insert_instructions(self, report):
        return self.value


class RegenerationInstructions:
    """One ``regenerate()`` of 25 000 nodes."""

    version = 1
    unit = UNIT
    timeout = TIMEOUT
    rounds = 1
    repeat = 1

    def setup_cache(self):
        return count_workloads([_workload(_regeneration)], timeout=TIMEOUT)

    def setup(self, report):
        self.value = report.value("regeneration")

    def track_regeneration_instructions(self, report):
        return self.value


class DecisionForwardInstructions:
    """A greedy DDQN ``act`` (MLP) over 1 000 observations of 13x11x11."""

    version = 1
    unit = UNIT
    timeout = TIMEOUT
    rounds = 1
    repeat = 1
    setup_cache = _count_torch_workloads

    def setup(self, report):
        self.value = report.value("decision_forward")

    def track_decision_forward_instructions(self, report):
        return self.value


class StepInstructions:
    """One ``Simulation.step`` of the light configuration and of the AgentFarm preset."""

    version = 1
    params = (STEP_CONFIGS,)
    param_names = ("config",)
    unit = UNIT
    timeout = TIMEOUT
    rounds = 1
    repeat = 1
    setup_cache = _count_torch_workloads

    def setup(self, report, config):
        self.value = report.value(f"step_{config}")

    def track_step_instructions(self, report, config):
        return self.value
