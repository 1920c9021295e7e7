"""The interface between the step loop and whatever chooses actions."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Policy", "LearningPolicy", "AgentAwarePolicy"]


@runtime_checkable
class Policy(Protocol):
    """Chooses one action per agent, for a batch of agents of one type.

    ``act(observations, action_mask)``:
        observations: ``(n, C, H, W) float32``, one row per live agent of this policy's type.
        action_mask: ``(n, NUM_ACTIONS) bool``; True where the action is allowed. MOVE, DEFEND
            and PASS are always allowed, so every row has at least one True.
        returns: ``(n,) int64`` actions; ``action_mask[i, actions[i]]`` is always True.

    A policy that decides from the mask alone sets the class attribute
    ``reads_observations = False``; the loop then passes a read-only all-zero array of the same
    shape instead of copying every agent's observation (the attribute defaults to True).
    """

    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """``(n,) int64`` actions for ``observations (n, C, H, W)`` and ``action_mask (n, A) bool``."""


@runtime_checkable
class LearningPolicy(Policy, Protocol):
    """A policy that learns from what its actions earned.

    The loop calls ``record`` once per step, after the act stage, with the same rows it passed
    to ``act``: ``agent_ids (n,) int64``, the observations and mask, the chosen ``actions``,
    ``rewards (n,) float64`` and ``dones (n,) bool`` (the agent died this step). A policy pairs
    an agent's transition with its next observation by agent id. It returns training metrics
    (e.g. ``{"loss": ..., "epsilon": ...}``) for steps on which it trained, else ``{}``.
    """

    def record(
        self,
        agent_ids: np.ndarray,
        observations: np.ndarray,
        action_mask: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
    ) -> dict[str, float]:
        """Store one step's transitions and train where due.

        Returns:
            Training metrics for a step on which the policy trained, else ``{}``.
        """


@runtime_checkable
class AgentAwarePolicy(Protocol):
    """A policy whose choice depends on which agent each row is (e.g. one network per agent).

    The loop prefers ``act_agents(agent_ids (n,) int64, observations, action_mask)`` over
    ``act`` when a policy has it; arrays and the result are as in :class:`Policy`.
    """

    def act_agents(self, agent_ids: np.ndarray, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """``(n,) int64`` actions for the agents ``agent_ids (n,) int64``, as :meth:`Policy.act`."""
