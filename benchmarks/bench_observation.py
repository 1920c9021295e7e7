"""Observation building: batched vs reference time per agent, memory, resource vs agent layers.

Every builder sees the same seeded world (``common.observation_inputs``: 100x100, 300 resource
nodes). A timed "build" is one step's work: one node amount changes (so grid sources re-splat, as
in the engine where gathering and regeneration change amounts every step), then every agent's
observation is built.

- ``BuildTime``: µs per agent of the batched ``build`` and of the reference ``build_one`` (on a
  few agents, reported per agent), all 13 channels, over radius x interpolation x source x agents.
- ``BuildMemory``: peak RSS of a build and tracemalloc bytes allocated per observation.
- ``ResourceLayer`` / ``AgentLayers``: the RESOURCES channel alone and the three agent channels
  alone, to see each layer's share.
- ``Targets``: the issue's three targets at R=5, 1 000 agents, all 13 channels, each side measured
  in the same process: batched µs/agent (<= 3), batched/reference time per agent (<= 0.02, i.e.
  >= 50x faster), batched extra memory / output size (<= 2).
"""

from __future__ import annotations

import tracemalloc
import weakref

import numpy as np

from .common import best_of, memoize, observation_inputs, timed

try:
    from farm.config import WorldConfig
    from farm.observation import ObservationConfig, make_observation_builder
    from farm.observation.config import ALL_CHANNELS
except ImportError as exc:  # a commit older than the multi-channel observation package
    WorldConfig = ObservationConfig = make_observation_builder = ALL_CHANNELS = None
    _MISSING = str(exc)
else:
    _MISSING = ""

RADII = [5, 10, 20]
INTERPOLATIONS = ["nearest", "bilinear"]
SOURCES = ["spatial", "memmap"]  # world-grid source kept on disk vs per-agent spatial queries
AGENT_COUNTS = [100, 1_000]
WORLD = 100.0
AGENT_CHANNELS = ("SELF_HP", "ALLIES_HP", "ENEMIES_HP")
REFERENCE_AGENTS = 3  # the reference is timed on this many agents and reported per agent
# Rounds of the reference's best-of: it is the slow per-agent code (up to ~0.1 s a round at R=20),
# so it keeps the 2 rounds it always had instead of common.BEST_OF_REPEATS.
REFERENCE_REPEATS = 2


class ObservationSetup:
    """A builder over a seeded world, and a one-step ``build`` that changes one node first."""

    def __init__(self, agents: int, channels, radius: int, interpolation: str = "nearest", source: str = "grid"):
        if make_observation_builder is None:
            raise NotImplementedError(f"farm.observation multi-channel builder is not available: {_MISSING}")
        try:
            config = ObservationConfig(radius=radius, channels=tuple(channels), interpolation=interpolation,
                                       resource_source=source)
        except (TypeError, ValueError) as exc:  # an older config without these fields
            raise NotImplementedError(str(exc)) from None
        self.state, self.resources = observation_inputs(agents, world=WORLD)
        self.builder = make_observation_builder(config, WorldConfig(WORLD, WORLD), self.state, self.resources)
        weakref.finalize(self, self.builder.close)
        self.agents = agents
        self._toggle = 0

    def build(self) -> np.ndarray:
        self._toggle ^= 1
        self.resources.amounts[0] = 10.0 + self._toggle
        return self.builder.build()

    def reference(self) -> None:
        for agent_id in self.state.ids[:REFERENCE_AGENTS]:
            self.builder.build_one(int(agent_id))

    def batched_us_per_agent(self) -> float:
        self.build()
        return best_of(timed(self.build, max(1, 2_000 // self.agents))) * 1e6 / self.agents

    def reference_us_per_agent(self) -> float:
        return best_of(timed(self.reference), repeat=REFERENCE_REPEATS) * 1e6 / REFERENCE_AGENTS

    def traced_build(self) -> tuple[int, int]:
        """``(tracemalloc peak bytes during one build, output bytes)``."""
        self.build()
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            out = self.build()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak, out.nbytes


def prepared(agents, channels, radius, interpolation="nearest", source="grid") -> ObservationSetup:
    """Memoized per process, so asv's per-sample setup calls are free."""
    if make_observation_builder is None:
        raise NotImplementedError(f"farm.observation multi-channel builder is not available: {_MISSING}")
    return _prepared(agents, tuple(channels), radius, interpolation, source)


@memoize
def _prepared(agents, channels: tuple, radius, interpolation, source) -> ObservationSetup:
    return ObservationSetup(agents, channels, radius, interpolation, source)


class BuildTime:
    """µs per agent, batched (one vectorized pass) and reference (plain per-agent code)."""

    version = 1
    params = [RADII, INTERPOLATIONS, SOURCES, AGENT_COUNTS]
    param_names = ["radius", "interpolation", "source", "agents"]
    unit = "µs/agent"
    rounds = 1
    timeout = 180

    def setup(self, radius, interpolation, source, agents):
        self.prep = prepared(agents, ALL_CHANNELS, radius, interpolation, source)

    def track_batched_us_per_agent(self, radius, interpolation, source, agents):
        return self.prep.batched_us_per_agent()

    def track_reference_us_per_agent(self, radius, interpolation, source, agents):
        return self.prep.reference_us_per_agent()


class BuildMemory:
    """Peak RSS of a batched build, and tracemalloc bytes allocated per observation."""

    version = 1
    params = [RADII, INTERPOLATIONS, SOURCES, AGENT_COUNTS]
    param_names = ["radius", "interpolation", "source", "agents"]
    rounds = 1
    timeout = 120

    def setup(self, radius, interpolation, source, agents):
        self.prep = prepared(agents, ALL_CHANNELS, radius, interpolation, source)

    def peakmem_batched_build(self, radius, interpolation, source, agents):
        self.prep.build()

    def track_alloc_bytes_per_observation(self, radius, interpolation, source, agents):
        peak, _ = self.prep.traced_build()
        return peak / agents

    track_alloc_bytes_per_observation.unit = "bytes"


class ResourceLayer:
    """The RESOURCES channel alone: µs per agent by interpolation and source."""

    version = 1
    params = [RADII, INTERPOLATIONS, SOURCES, AGENT_COUNTS]
    param_names = ["radius", "interpolation", "source", "agents"]
    unit = "µs/agent"
    rounds = 1
    timeout = 120

    def setup(self, radius, interpolation, source, agents):
        self.prep = prepared(agents, ("RESOURCES",), radius, interpolation, source)

    def track_resource_layer_us_per_agent(self, radius, interpolation, source, agents):
        return self.prep.batched_us_per_agent()


class AgentLayers:
    """SELF_HP, ALLIES_HP and ENEMIES_HP alone: µs per agent."""

    version = 1
    params = [RADII, AGENT_COUNTS]
    param_names = ["radius", "agents"]
    unit = "µs/agent"
    rounds = 1
    timeout = 120

    def setup(self, radius, agents):
        self.prep = prepared(agents, AGENT_CHANNELS, radius)

    def track_agent_layers_us_per_agent(self, radius, agents):
        return self.prep.batched_us_per_agent()


class Targets:
    """The issue's targets at R=5, 1 000 agents, all 13 channels, per resource source."""

    version = 1
    params = [["spatial", "grid", "memmap"]]
    param_names = ["source"]
    rounds = 1
    timeout = 180

    def setup(self, source):
        self.prep = prepared(1_000, ALL_CHANNELS, 5, "nearest", source)

    def track_batched_us_per_agent(self, source):
        """Target: <= 3 µs per agent."""
        return self.prep.batched_us_per_agent()

    track_batched_us_per_agent.unit = "µs/agent"

    def track_batched_time_over_reference(self, source):
        """Target: <= 0.02, i.e. batched >= 50x faster per agent (batched µs per agent /
        reference µs per agent, same process; larger is worse)."""
        return self.prep.batched_us_per_agent() / self.prep.reference_us_per_agent()

    track_batched_time_over_reference.unit = "ratio"

    def track_extra_memory_over_output(self, source):
        """Target: <= 2 ((tracemalloc peak during a build - output bytes) / output bytes)."""
        peak, output = self.prep.traced_build()
        return (peak - output) / output

    track_extra_memory_over_output.unit = "ratio"
