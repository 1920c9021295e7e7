"""Pairing each agent's transition with its next observation, by agent id. No torch here.

The loop hands a learning policy, once per step, the rows it acted for: the observation each
agent acted on, the action and the reward it earned, and whether it died. The observation that
*follows* an action only arrives with the next step's call, so a transition stays pending until
then. Agents are born and die between calls, so rows are matched by id, never by position.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["CompletedTransitions", "TransitionPairer", "match_ids"]


def match_ids(wanted: np.ndarray, agent_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``wanted (k,)`` sits in ``agent_ids (n,)`` (unique ids, any order).

    Returns ``(found (k,) bool, rows (found.sum(),) int64)``: ``agent_ids[rows] ==
    wanted[found]``.
    """
    if wanted.size == 0 or agent_ids.size == 0:
        return np.zeros(wanted.shape[0], dtype=np.bool_), np.empty(0, dtype=np.int64)
    sorter = np.argsort(agent_ids, kind="stable")
    sorted_ids = agent_ids[sorter]
    positions = np.minimum(np.searchsorted(sorted_ids, wanted), sorted_ids.size - 1)
    found = sorted_ids[positions] == wanted
    return found, sorter[positions[found]].astype(np.int64)


class CompletedTransitions(NamedTuple):
    """``k`` finished transitions: observations, next_observations ``(k, C, H, W) float32``;
    actions ``(k,) int64``; rewards ``(k,) float32``; dones ``(k,) bool``; next_action_masks
    ``(k, A) bool``. A done transition's next observation and mask are placeholders."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    dones: np.ndarray
    next_action_masks: np.ndarray


class TransitionPairer:
    """Keeps each live agent's last ``(observation, action, reward)`` until its next
    observation arrives. Transitions of agents that vanish without a ``done`` are dropped."""

    def __init__(self, obs_shape: tuple[int, ...]) -> None:
        self.pending_ids = np.empty(0, dtype=np.int64)  # (p,)
        self.pending_observations = np.empty((0,) + tuple(obs_shape), dtype=np.float32)  # (p, C, H, W)
        self.pending_actions = np.empty(0, dtype=np.int64)  # (p,)
        self.pending_rewards = np.empty(0, dtype=np.float32)  # (p,)

    def pair(
        self,
        agent_ids: np.ndarray,
        observations: np.ndarray,
        action_mask: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
    ) -> CompletedTransitions:
        """Take this step's rows; return the transitions that are now complete: the pending
        ones whose agent shows up again (its observation now is their next observation),
        followed by this step's terminal ones."""
        agent_ids = np.asarray(agent_ids, dtype=np.int64)
        dones = np.asarray(dones, dtype=np.bool_)
        found, rows = match_ids(self.pending_ids, agent_ids)
        terminal = np.flatnonzero(dones)
        completed = CompletedTransitions(
            observations=np.concatenate([self.pending_observations[found], observations[terminal]]),
            actions=np.concatenate([self.pending_actions[found], np.asarray(actions, dtype=np.int64)[terminal]]),
            rewards=np.concatenate([self.pending_rewards[found], np.asarray(rewards, dtype=np.float32)[terminal]]),
            next_observations=np.concatenate([observations[rows], observations[terminal]]),
            dones=np.concatenate([np.zeros(rows.size, dtype=np.bool_), np.ones(terminal.size, dtype=np.bool_)]),
            next_action_masks=np.concatenate([action_mask[rows], action_mask[terminal]]),
        )
        living = ~dones
        self.pending_ids = agent_ids[living]
        self.pending_observations = np.asarray(observations[living], dtype=np.float32)
        self.pending_actions = np.asarray(actions, dtype=np.int64)[living]
        self.pending_rewards = np.asarray(rewards, dtype=np.float32)[living]
        return completed
