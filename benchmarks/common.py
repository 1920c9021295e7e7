"""Seeded data builders and the helpers every benchmark module shares.

DATA BUILDERS ARE APPEND ONLY. Changing what an existing builder returns silently rewrites the
benchmark history; add a new builder (or a new keyword with the old default) instead. Helpers
(the section at the end) may grow, but never change a builder's output.

Every builder takes an explicit literal seed and returns the same data on every commit. Imports
of ``farm`` are guarded: this module imports on commits that predate any farm API.

Convention for NEW benchmarks (existing class, method and parameter names are history keys and
stay as they are, even where they break these rules):

- Imports: ``from .common import ...`` (relative: it works under asv, which imports the suite as
  the package ``benchmarks``, and under ``tests/bench/walk_benchmarks.py``). Guard every ``farm``
  import with ``try/except ImportError`` and set the missing names to ``None``.
- Skip rule: ``setup`` raises ``NotImplementedError("<api> is not available at this commit")``
  when an API is missing or a combination is left out (keep left-out combinations as data, e.g. a
  ``SKIPPED`` set); ``teardown`` tolerates a skipped setup. ``params`` never depend on what is
  importable. Every class sets ``version`` (start at ``1``; bump it when what the benchmark
  measures changes, never for a cosmetic edit).
- Names: one module ``bench_<topic>.py`` per component, one class per operation family; the
  class of a component's issue targets is ``Targets``; the size axis is ``param_names``
  ``"entities"`` (points, agents, nodes or rows: say which in the class docstring).
- Caching: build data once per process with :func:`memoize` (asv re-runs ``setup`` before every
  timed call, so a memoized setup is free). Never mutate memoized data in a benchmark.
- Best-of: a ``track_`` that times both sides of a ratio, or a minimum that must ignore load, uses
  :func:`best_of` over :func:`timed` measures with its default :data:`BEST_OF_REPEATS`.
- Timing: a ``time_`` whose call takes under 1 ms sets ``number`` (calls per sample, so that a
  sample lasts about :data:`SAMPLE_SECONDS`; :func:`calls_per_sample` computes it), ``repeat``
  and ``warmup_time``. A benchmark whose call consumes its setup (closes, flushes, advances a
  simulation) says ``number = 1`` unless each call should be averaged over several fresh setups:
  asv_runner 0.3.2 (pinned) re-runs ``setup`` before every call, also when ``number > 1``.
"""

from __future__ import annotations

import functools
import math
import sys
import timeit
from collections.abc import Callable
from typing import TypeVar

import numpy as np

T = TypeVar("T")

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


def require_flush_wait(logger) -> None:
    """Raise NotImplementedError where ``logger.flush`` cannot wait for the background writer.

    Two commits (93fd2e3, 37aa365) had an asynchronous writer and a ``flush()`` without ``wait``:
    a benchmark there cannot tell when its rows are committed, so it skips."""
    import inspect

    if "wait" not in inspect.signature(logger.flush).parameters:
        raise NotImplementedError("SimulationLogger.flush(wait=...) is not available at this commit")


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


# --- helpers: one way to cache, to take a best-of, to size a sample (append only) ------------

BEST_OF_REPEATS = 5  # rounds of every best-of measure in the suite
SAMPLE_SECONDS = 0.002  # wall time one asv sample of a sub-millisecond ``time_`` aims at
# A ``warmup_time`` that makes asv run exactly one untimed call (with its setup) before sampling:
# enough for first-call effects (lazy imports, torch kernels) when every call gets a fresh setup.
ONE_WARMUP_CALL = 1e-6


def memoize(builder: Callable[..., T]) -> Callable[..., T]:
    """``builder`` cached per process by its (hashable) arguments.

    asv runs every parameter combination in a fresh process and calls ``setup`` before every
    timed call, so a memoized builder makes repeated setups free. A builder that raises (for
    example ``NotImplementedError`` at an old commit) is not cached. The cached object is shared:
    a benchmark must not mutate it unless the mutation is part of what it measures.

    Args:
        builder: a function of hashable arguments.

    Returns:
        The memoized function.
    """
    return functools.cache(builder)


def timed(call: Callable[[], object], number: int = 1) -> Callable[[], float]:
    """A measure for :func:`best_of`: mean wall seconds of one ``call()`` over ``number``
    back-to-back calls (``timeit``: garbage collection off while timing).

    Args:
        call: the code to time, no arguments.
        number: calls per measurement.

    Returns:
        A function of no arguments returning seconds per call.
    """
    return lambda: timeit.timeit(call, number=number) / number


def best_of(*measures: Callable[[], float], repeat: int = BEST_OF_REPEATS) -> float | tuple[float, ...]:
    """The smallest value of each measure over ``repeat`` rounds.

    The measures alternate within a round (first, second, ..., first, ...), so the two sides of
    a ratio see the same machine load; the minimum ignores time stolen by other processes.

    Args:
        measures: functions of no arguments returning a value to minimize (seconds): a
            :func:`timed` call, or a function that times a section itself.
        repeat: rounds.

    Returns:
        The best value of the one measure, or a tuple with one best value per measure.
    """
    best = [float("inf")] * len(measures)
    for _ in range(repeat):
        for index, measure in enumerate(measures):
            best[index] = min(best[index], measure())
    return best[0] if len(measures) == 1 else tuple(best)


def calibrate(call: Callable[[], object], sample_seconds: float = SAMPLE_SECONDS,
              most: int = 1_000) -> tuple[int, float]:
    """``(calls per sample, seconds of the first call)``: see :func:`calls_per_sample`.

    The first call is the coldest one; a benchmark can also size its number of samples by it.
    """
    first = timeit.timeit(call, number=1)
    if first >= sample_seconds:
        return 1, first
    seconds = min(timeit.repeat(call, number=1, repeat=3))
    return min(most, max(1, math.ceil(sample_seconds / max(seconds, 1e-9)))), first


def calls_per_sample(call: Callable[[], object], sample_seconds: float = SAMPLE_SECONDS, most: int = 1_000) -> int:
    """Calls per asv sample so that one sample lasts about ``sample_seconds``.

    asv calibrates ``number`` itself only for classes without ``setup``; a benchmark with a
    (memoized) setup computes it once with this and sets ``self.number`` in ``setup``. The call is
    timed once (a call already as long as a sample gives 1 at once), then three more times; the
    best time counts.

    Args:
        call: one benchmark call, no arguments.
        sample_seconds: target wall time of one sample.
        most: upper bound on the result.

    Returns:
        ``ceil(sample_seconds / seconds per call)`` clipped to ``[1, most]``.
    """
    return calibrate(call, sample_seconds, most)[0]


def in_fork_server() -> bool:
    """Whether this process is asv_runner's fork server (``asv run --launch-method forkserver``).

    The server imports the whole suite once and forks one child per benchmark and parameter
    combination (``tools/asv_history.py`` launches every benchmark but the ``peakmem_`` ones this
    way). One-time lazy work done at import when this is true is paid once by the server instead
    of once per child; spawned processes (the ``peakmem_`` benchmarks, asv's default launch) and
    asv's discovery never do it, so no peak and no timed call changes.

    Returns:
        True in the fork server (asv starts it as ``<runner script> run_server DIR SOCKET``).
    """
    return sys.argv[1:2] == ["run_server"]
