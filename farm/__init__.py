"""AgentFarm: a multi-agent simulation engine built for measurement.

Public entry points: :class:`SimulationConfig`, :class:`Simulation`, :func:`run_simulation`.
"""

from farm.config import SimulationConfig, load_config
from farm.core.actions import Action
from farm.core.simulation import RunSummary, Simulation, Stage, run_simulation
from farm.core.state import AgentState, AgentType

__version__ = "0.1.0"

__all__ = [
    "SimulationConfig", "load_config", "Simulation", "run_simulation", "RunSummary", "Stage",
    "Action", "AgentType", "AgentState",
]
