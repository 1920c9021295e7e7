"""A deterministic rule-based policy: a fixed priority over the allowed actions."""

from __future__ import annotations

import numpy as np

from farm.core.actions import Action
from farm.core.state import AgentType

__all__ = ["RulePolicy", "PRIORITIES"]

# First allowed action in each type's priority list wins. MOVE is always allowed, so each list
# ends there at the latest.
PRIORITIES = {
    AgentType.SYSTEM: (Action.REPRODUCE, Action.GATHER, Action.SHARE, Action.MOVE),
    AgentType.INDEPENDENT: (Action.REPRODUCE, Action.GATHER, Action.ATTACK, Action.MOVE),
    AgentType.CONTROL: (Action.REPRODUCE, Action.GATHER, Action.MOVE),
}


class RulePolicy:
    """Reproduce when possible, else gather, else the type's social action, else move."""

    reads_observations = False  # decides from the action mask alone

    def __init__(self, agent_type: AgentType) -> None:
        self.priority = np.array(PRIORITIES[agent_type], dtype=np.int64)

    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """The first allowed action of the type's priority list, per row.

        ``action_mask (n, A) bool -> (n,) int64``; the observations are unused.
        """
        allowed = action_mask[:, self.priority]  # [n, P]
        return self.priority[np.argmax(allowed, axis=1)]
