"""Named configurations: the workloads users run, reachable by name from the API and the CLI.

``SimulationConfig.preset("agentfarm")`` (or ``--preset agentfarm``) gives the configuration an
AgentFarm user knows: a 100x100 world of 100 agents, all 13 observation channels at radius 5 with
bilinear resources, a shared DDQN policy with the default MLP for every agent type (learning on),
and the SQLite log written to ``simulation.db`` with the balanced PRAGMA profile.
``"light"`` is the engine's default configuration (random policy, the 4-channel view) that the
component benchmarks use. Flags and overrides apply on top of a preset.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from farm.utils.validation import coerce_enum

if TYPE_CHECKING:  # farm.config imports this module; the name is only needed for annotations
    from farm.config import SimulationConfig

__all__ = ["Preset", "preset_overrides", "preset_config"]


class Preset(Enum):
    """A named workload.

    LIGHT: the engine defaults (30 agents, random policy, 4 channels, no log).
    AGENTFARM: the workload AgentFarm users run (see the module docstring).
    """

    LIGHT = "light"
    AGENTFARM = "agentfarm"


# Agent count of the AgentFarm preset: split evenly over the three types (34/33/33).
AGENTFARM_AGENTS = 100
# Steps the AgentFarm preset's log buffers before a flush (at up to 1 000 agents; beyond, a flush
# comes every ``AGENTFARM_BATCH_ROWS`` rows of one table).
AGENTFARM_FLUSH_STEPS = 10
AGENTFARM_BATCH_ROWS = 10_000


def _agentfarm() -> dict[str, Any]:
    from farm.core.state import NUM_AGENT_TYPES
    from farm.observation.config import ALL_CHANNELS

    base, extra = divmod(AGENTFARM_AGENTS, NUM_AGENT_TYPES)
    counts = [base + (1 if i < extra else 0) for i in range(NUM_AGENT_TYPES)]
    return {
        "world.width": 100.0,
        "world.height": 100.0,
        "agents.system": counts[0],
        "agents.independent": counts[1],
        "agents.control": counts[2],
        "observation.radius": 5,
        "observation.channels": list(ALL_CHANNELS),
        "observation.interpolation": "bilinear",
        "decision.system": "ddqn",
        "decision.independent": "ddqn",
        "decision.control": "ddqn",
        "decision.sharing": "shared",
        "decision.network.kind": "mlp",
        "storage.db_path": "simulation.db",
        "storage.pragma_profile": "balanced",
        # The log's sqlite work (about 5 ms a step at 1 000 agents, most of it inserting rows into
        # the tables and their step indexes) runs on the background writer, where sqlite releases
        # the GIL; the step only copies its columns into the buffers. One transaction per 10 steps
        # instead of one per step (the default batch_size of 1 000 rows is one step at 1 000
        # agents). A killed process loses at most the steps not yet committed, as before: every
        # committed transaction holds whole steps.
        "storage.asynchronous": True,
        "storage.batch_size": AGENTFARM_BATCH_ROWS,
        "storage.flush_interval": AGENTFARM_FLUSH_STEPS,
    }


def preset_overrides(preset: Preset | str) -> dict[str, Any]:
    """The dotted overrides that turn the default configuration into ``preset``."""
    preset = coerce_enum("preset", "name", Preset, preset)
    if preset is Preset.LIGHT:
        return {}
    return _agentfarm()


def preset_config(preset: Preset | str, base: "SimulationConfig | None" = None) -> "SimulationConfig":
    """``base`` (default: ``SimulationConfig()``) with ``preset``'s overrides applied."""
    from farm.config import SimulationConfig

    return (base or SimulationConfig()).with_overrides(preset_overrides(preset))
