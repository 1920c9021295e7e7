"""Seeded data builders shared by every benchmark module.

APPEND ONLY. Changing what an existing builder returns silently rewrites the benchmark history;
add a new builder (or a new keyword with the old default) instead.

Every builder takes an explicit literal seed and returns the same data on every commit. Imports
of ``farm`` are guarded: this module imports on commits that predate any farm API.
"""

from __future__ import annotations

import numpy as np

try:
    from farm.config import SimulationConfig
except ImportError:  # a commit older than the config API
    SimulationConfig = None

# World sizes of the scalability grid (square worlds), by name.
WORLD_SIZES = {"50x50": 50.0, "100x100": 100.0, "500x500": 500.0}


def uniform_positions(n: int, width: float = 100.0, height: float = 100.0, seed: int = 0) -> np.ndarray:
    """``(n, 2) float64`` points uniform in ``[0, width] x [0, height]``."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 2)) * np.array([width, height])


def clustered_positions(
    n: int, width: float = 100.0, height: float = 100.0, clusters: int = 5, spread: float = 0.05, seed: int = 0
) -> np.ndarray:
    """``(n, 2) float64`` points in Gaussian clusters (std ``spread * min(width, height)``),
    clipped to the world."""
    rng = np.random.default_rng(seed)
    centres = rng.random((clusters, 2)) * np.array([width, height])
    labels = rng.integers(0, clusters, size=n)
    points = centres[labels] + rng.normal(0.0, spread * min(width, height), size=(n, 2))
    return np.clip(points, 0.0, [width, height])


def positions(n: int, distribution: str, width: float = 100.0, height: float = 100.0, seed: int = 0) -> np.ndarray:
    """Points by distribution name: ``"uniform"`` or ``"clustered"``."""
    if distribution == "uniform":
        return uniform_positions(n, width, height, seed)
    if distribution == "clustered":
        return clustered_positions(n, width, height, seed=seed)
    raise ValueError(f"unknown distribution {distribution!r}")


def simulation_config(
    agents: int = 100,
    world: float = 100.0,
    density: str = "medium",
    seed: int = 42,
    **overrides,
):
    """A :class:`farm.SimulationConfig` with ``agents`` split evenly over the three types
    (remainder to the first types), a square ``world``, a resource ``density`` preset, logging
    off, random policies. ``overrides`` are dotted keys with '__' for '.' (``spatial__index=...``).
    Raises NotImplementedError on commits without the config API."""
    if SimulationConfig is None:
        raise NotImplementedError("farm.config.SimulationConfig is not available at this commit")
    base, extra = divmod(agents, 3)
    counts = [base + (1 if i < extra else 0) for i in range(3)]
    changes = {
        "seed": seed,
        "world.width": float(world),
        "world.height": float(world),
        "agents.system": counts[0],
        "agents.independent": counts[1],
        "agents.control": counts[2],
        "resources.density": density,
    }
    changes.update({key.replace("__", "."): value for key, value in overrides.items()})
    return SimulationConfig().with_overrides(changes)


# --- observation inputs (appended by the observation issue) -------------------------------------

try:
    from farm.core.state import AgentState
except ImportError:  # a commit older than the agent state contract
    AgentState = None


class ResourceArrays:
    """The resource-manager surface observation builders read: ``positions (m, 2) float64``,
    ``amounts (m,) float64``, ``max_amount``."""

    def __init__(self, positions: np.ndarray, amounts: np.ndarray, max_amount: float) -> None:
        self.positions = positions
        self.amounts = amounts
        self.max_amount = max_amount


def observation_inputs(agents: int, nodes: int = 300, world: float = 100.0, seed: int = 11):
    """``(AgentState, ResourceArrays)``: ``agents`` agents of the three types (cycled) uniform in a
    square ``world``, health uniform in [1, 100]; ``nodes`` resource nodes uniform, amounts uniform
    in [0, 30] (max 30). Raises NotImplementedError on commits without the agent state."""
    if AgentState is None:
        raise NotImplementedError("farm.core.state.AgentState is not available at this commit")
    rng = np.random.default_rng(seed)
    state = AgentState()
    state.append(
        positions=rng.random((agents, 2)) * world,
        agent_types=np.arange(agents) % 3,
        resources=np.full(agents, 10.0),
        health=rng.uniform(1.0, 100.0, agents),
        generation=np.zeros(agents),
        parent_ids=np.full(agents, -1),
    )
    resources = ResourceArrays(rng.random((nodes, 2)) * world, rng.uniform(0.0, 30.0, nodes), 30.0)
    return state, resources


# --- step records (appended by the storage issue) ---------------------------------------------

try:
    from farm.core.records import StepLog
except ImportError:  # a commit older than the step record
    StepLog = None


def step_logs(
    steps: int, agents: int = 1_000, nodes: int = 100, resource_interval: int = 10,
    interactions_per_agent: float = 0.1, seed: int = 0,
) -> list:
    """``steps`` seeded :class:`farm.core.records.StepLog` of a population of ``agents`` whose ids
    stay ``0..agents-1`` (no births or deaths), with ``interactions_per_agent * agents``
    interactions per step and ``nodes`` resource amounts every ``resource_interval`` steps.
    Raises NotImplementedError on commits without the step record."""
    if StepLog is None:
        raise NotImplementedError("farm.core.records.StepLog is not available at this commit")
    rng = np.random.default_rng(seed)
    ids = np.arange(agents, dtype=np.int64)
    types = (ids % 3).astype(np.int8)
    population = np.bincount(types, minlength=3).astype(np.int64)
    k = int(round(interactions_per_agent * agents))
    empty_i64 = np.zeros(0, dtype=np.int64)
    logs = []
    for step in range(steps):
        logs.append(
            StepLog(
                step=step, agent_ids=ids, agent_types=types,
                positions=rng.random((agents, 2)) * 100.0,
                resources=rng.random(agents) * 20.0,
                health=rng.random(agents) * 100.0,
                starvation=rng.integers(0, 20, agents).astype(np.int32),
                rewards=rng.normal(size=agents),
                actions=rng.integers(0, 7, agents).astype(np.int8),
                action_targets=rng.integers(-1, agents, agents),
                action_success=rng.random(agents) < 0.5,
                born_ids=empty_i64, born_types=np.zeros(0, dtype=np.int8), born_parent_ids=empty_i64,
                born_generations=np.zeros(0, dtype=np.int32), died_ids=empty_i64,
                interaction_sources=rng.integers(0, agents, k), interaction_targets=rng.integers(0, agents, k),
                interaction_kinds=rng.integers(0, 4, k).astype(np.int8), interaction_amounts=rng.random(k),
                resource_amounts=rng.random(nodes) * 10.0 if step % resource_interval == 0 else None,
                population_by_type=population,
                total_resources=float(rng.random() * 1e4),
                step_duration=0.01,
            )
        )
    return logs


# --- decision inputs (appended by the decision issue) ---------------------------------------


def decision_batch(n: int, obs_shape: tuple[int, int, int] = (4, 11, 11), seed: int = 0):
    """Inputs of a policy's ``act``/``record`` for ``n`` agents: ``(agent_ids (n,) int64,
    observations (n, C, H, W) float32 in [0, 1), action_mask (n, 7) bool, rewards (n,) float64)``.
    MOVE, DEFEND and PASS are always allowed, every other action with probability 1/2."""
    rng = np.random.default_rng(seed)
    observations = rng.random((n,) + tuple(obs_shape), dtype=np.float32)
    action_mask = rng.random((n, 7)) < 0.5
    action_mask[:, [0, 4, 6]] = True
    rewards = rng.normal(0.0, 1.0, size=n)
    return np.arange(n, dtype=np.int64), observations, action_mask, rewards
