"""A seeded random policy whose action preferences depend on the agent type."""

from __future__ import annotations

import numpy as np

from farm.core.actions import NUM_ACTIONS, Action
from farm.core.state import AgentType

__all__ = ["RandomPolicy", "BEHAVIOUR_WEIGHTS"]

# BEHAVIOUR_WEIGHTS[type, action]: relative preference, before masking. System agents lean to
# sharing, independent agents to attacking, control agents have no preference.
BEHAVIOUR_WEIGHTS = np.ones((len(AgentType), NUM_ACTIONS), dtype=np.float64)
BEHAVIOUR_WEIGHTS[AgentType.SYSTEM] = [3.0, 3.0, 2.0, 0.5, 1.0, 1.0, 0.5]
BEHAVIOUR_WEIGHTS[AgentType.INDEPENDENT] = [3.0, 3.0, 0.2, 2.0, 1.0, 1.0, 0.5]
assert BEHAVIOUR_WEIGHTS.shape[1] == len(Action)


class RandomPolicy:
    """Samples each agent's action among the allowed ones, in proportion to its type's weights."""

    reads_observations = False  # decides from the action mask alone

    def __init__(self, agent_type: AgentType, seed: int) -> None:
        self.weights = BEHAVIOUR_WEIGHTS[agent_type]
        self.rng = np.random.default_rng(seed)

    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Draw ``(n,) int64`` allowed actions in proportion to the type's weights.

        Only ``action_mask (n, A) bool`` is read; the observations are unused.
        """
        weights = action_mask * self.weights  # [n, A]
        cumulative = np.cumsum(weights, axis=1)
        draws = self.rng.random(action_mask.shape[0]) * cumulative[:, -1]
        return (cumulative <= draws[:, None]).sum(axis=1).astype(np.int64)
