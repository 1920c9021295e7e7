"""Resource regeneration: time and peak memory per storage backend, algorithm and node count.

``Regeneration`` builds one :class:`farm.resources.manager.ResourceManager` per process (setup is
memoized with ``common.memoize``, so the per-call setup asv runs is free) and times
``regenerate()`` calls: ``number`` calls per sample, each timed alone (asv_runner 0.3.2 re-runs the
memoized setup between them), averaged; successive calls keep regenerating the same nodes.
``DefaultRegeneration`` is the regeneration of the default 100x100 medium-density world;
``LargeWorldRegeneration`` that of the grid's largest world (500x500, dense), the benchmark the
regression drill (``tools/regression_drill.py``) bisects with ``asv find``.
"""

from __future__ import annotations

import weakref

import numpy as np

from .common import best_of, calls_per_sample, memoize, timed

try:
    from farm.resources.config import ResourceConfig
    from farm.resources.manager import ResourceManager
except ImportError:  # a commit older than the resource manager
    ResourceConfig = ResourceManager = None

STORAGES = ["list", "array", "memmap"]
REGENERATIONS = ["probabilistic", "deterministic"]
NODE_COUNTS = [1_000, 100_000]
WORLD = 1_000.0  # node count is explicit; the world only bounds placement


def build_manager(storage: str, regeneration: str, nodes: int | None, world: float, density: str = "medium",
                  seed: int = 7):
    """A manager whose nodes start at half their cap (so regeneration has room to work),
    closed at interpreter exit (memmap files live in a temporary directory). ``nodes`` None:
    the ``density`` preset for a square ``world``."""
    if ResourceManager is None:
        raise NotImplementedError("farm.resources.manager.ResourceManager is not available at this commit")
    config = ResourceConfig(count=nodes, density=density, storage=storage, regeneration=regeneration,
                            initial_amount=15.0, max_amount=30.0)
    manager = ResourceManager(config, world, world, np.random.default_rng(seed))
    weakref.finalize(manager, manager.close)
    return manager


# One manager per process and argument set: asv re-runs setup before every timed call.
_shared_manager = memoize(build_manager)


@memoize
def _regenerate_calls(storage: str, regeneration: str, nodes: int) -> int:
    """Calls per sample of ``Regeneration``: 20 for calls up to 0.5 ms (as always), fewer for
    slower ones, so a sample lasts about 10 ms (one call from 10 ms up)."""
    manager = _shared_manager(storage, regeneration, nodes, WORLD)
    return calls_per_sample(manager.regenerate, sample_seconds=0.01, most=20)


class Regeneration:
    """One ``regenerate()`` call; ``peakmem_regenerate`` adds the built nodes to the floor."""

    version = 1
    params = [STORAGES, REGENERATIONS, NODE_COUNTS]
    param_names = ["storage", "regeneration", "nodes"]
    number = 20  # calls per sample (4 us to 0.5 ms per call); setup lowers it for slower calls
    repeat = (5, 6, 1.0)  # (5, 10, 1.0) until issue 13's second cut: 6 samples of 20 calls
    warmup_time = 0.05
    rounds = 1
    timeout = 120

    def setup(self, storage, regeneration, nodes):
        self.manager = _shared_manager(storage, regeneration, nodes, WORLD)
        self.number = _regenerate_calls(storage, regeneration, nodes)

    def time_regenerate(self, storage, regeneration, nodes):
        self.manager.regenerate()

    def peakmem_regenerate(self, storage, regeneration, nodes):
        self.manager.regenerate()


class DefaultRegeneration:
    """``regenerate()`` of the default world: 100x100, medium density (300 nodes), array backend,
    probabilistic regeneration."""

    version = 1
    number = 200  # 4.5 us per call
    repeat = (10, 20, 1.0)
    warmup_time = 0.05

    def setup(self):
        self.manager = _shared_manager("array", "probabilistic", None, 100.0)

    def time_regenerate(self):
        self.manager.regenerate()


class LargeWorldRegeneration:
    """``regenerate()`` of the scalability grid's largest world: 500x500 at dense density
    (25,000 nodes), array backend, probabilistic regeneration.

    ``track_regenerate_min_seconds`` is the best of 200 five-call batches: the minimum ignores
    time stolen by other processes, so it stays put on a loaded machine (the drill bisects it)."""

    version = 1
    number = 20  # 130 us per call
    repeat = (10, 20, 1.0)
    warmup_time = 0.05

    def setup(self):
        self.manager = _shared_manager("array", "probabilistic", None, 500.0, density="dense")

    def time_regenerate(self):
        self.manager.regenerate()

    def track_regenerate_min_seconds(self):
        return best_of(timed(self.manager.regenerate, 5), repeat=200)

    track_regenerate_min_seconds.unit = "seconds"


# --- consumption and nearest-resource queries per backend (issue 16) ---------------------------
# Self-contained (own builder and constants) so that edits to the classes above never change
# what these measure.

try:
    from farm.spatial import make_index as _make_index
except ImportError:  # a commit older than the spatial package
    _make_index = None

QUERY_STORAGES = ["list", "array", "memmap"]
QUERY_NODE_COUNTS = [1_000, 100_000]
QUERY_WORLD = 1_000.0
QUERY_AGENTS = 1_000  # requests / query points per call, like one step of 1 000 agents
QUERY_RADIUS = 5.0
_QUERY_MANAGERS: dict = {}


def _query_manager(storage: str, nodes: int):
    """A manager of ``nodes`` nodes at full amount (30) with a k-d tree over them, uniform in a
    1000x1000 world, seed 7; one per process and parameter pair."""
    key = (storage, nodes)
    if key not in _QUERY_MANAGERS:
        if ResourceManager is None or _make_index is None:
            raise NotImplementedError("farm.resources.manager / farm.spatial are not available at this commit")
        try:
            config = ResourceConfig(count=nodes, storage=storage, max_amount=30.0)
            manager = ResourceManager(config, QUERY_WORLD, QUERY_WORLD, np.random.default_rng(7),
                                      lambda points: _make_index("kdtree", points, bounds=(QUERY_WORLD, QUERY_WORLD)))
        except (TypeError, ValueError) as exc:  # a commit without these options
            raise NotImplementedError(f"ResourceManager with a spatial index: {exc}") from None
        if not (hasattr(manager, "consume") and hasattr(manager, "nearest_nonempty")):
            manager.close()
            raise NotImplementedError("ResourceManager.consume / nearest_nonempty are not available at this commit")
        weakref.finalize(manager, manager.close)
        _QUERY_MANAGERS[key] = manager
    return _QUERY_MANAGERS[key]


class ConsumeAndNearest:
    """One step's resource traffic of 1 000 agents, per storage backend and node count.

    ``consume``: 1 000 requests of 0.001 on seeded random nodes (duplicates included, so the
    proportional split runs; the amounts drop by under 1 % over the whole benchmark, so every call
    does the same work). ``nearest``: ``nearest_nonempty`` of 1 000 uniform points within r = 5
    (the spatial query plus the backend's amount read). ``peakmem_*`` add each call to the floor of
    the built manager (its backend's node storage).
    """

    version = 1
    params = [QUERY_STORAGES, QUERY_NODE_COUNTS]
    param_names = ["storage", "nodes"]
    number = 10
    repeat = (5, 15, 1.0)  # 15 samples: of 10 calls of 0.6 ms, or of 2 calls of 5-15 ms (100 000 nodes)
    warmup_time = 0.1  # asv's default for CPython, stated (sub-millisecond points, issue 12.4)
    rounds = 1
    timeout = 180

    def setup(self, storage, nodes):
        self.manager = _query_manager(storage, nodes)
        # Calls of 5-15 ms need no averaging within a sample: 2 per sample instead of 10 (issue
        # 13's per-commit budget; ~1 s per point before). Per-call time either way.
        self.number = 10 if nodes < 100_000 else 2
        rng = np.random.default_rng(3)
        self.request_nodes = rng.integers(0, nodes, QUERY_AGENTS)
        self.requests = np.full(QUERY_AGENTS, 0.001)
        self.points = rng.random((QUERY_AGENTS, 2)) * QUERY_WORLD

    def time_consume(self, storage, nodes):
        self.manager.consume(self.request_nodes, self.requests)

    def time_nearest(self, storage, nodes):
        self.manager.nearest_nonempty(self.points, QUERY_RADIUS)

    def peakmem_consume(self, storage, nodes):
        self.manager.consume(self.request_nodes, self.requests)

    def peakmem_nearest(self, storage, nodes):
        self.manager.nearest_nonempty(self.points, QUERY_RADIUS)
