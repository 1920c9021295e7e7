"""Pairing each agent's transition with its next observation, by agent id. No torch here.

The loop hands a learning policy, once per step, the rows it acted for: the observation each
agent acted on, the action and the reward it earned, and whether it died. The observation that
*follows* an action only arrives with the next step's call, so a transition stays pending until
then. Agents are born and die between calls, so rows are matched by id, never by position.

Observations are never copied here: the caller stores each one once (a frame of a
:class:`farm.decision.frames.FrameStore`) and the pairer handles frame ids.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["TransitionBatch", "PairedTransitions", "TransitionPairer", "match_ids"]


def match_ids(wanted: np.ndarray, agent_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``wanted (k,)`` sits in ``agent_ids (n,)`` (unique ids, any order).

    Returns ``(found (k,) bool, rows (found.sum(),) int64)``: ``agent_ids[rows] ==
    wanted[found]``.
    """
    if wanted.size == 0 or agent_ids.size == 0:
        return np.zeros(wanted.shape[0], dtype=np.bool_), np.empty(0, dtype=np.int64)
    if agent_ids.size > 1 and bool((agent_ids[1:] > agent_ids[:-1]).all()):
        sorter, sorted_ids = None, agent_ids  # the engine's rows are in increasing id order
    else:
        sorter = np.argsort(agent_ids, kind="stable")
        sorted_ids = agent_ids[sorter]
    positions = np.minimum(np.searchsorted(sorted_ids, wanted), sorted_ids.size - 1)
    found = sorted_ids[positions] == wanted
    rows = positions[found] if sorter is None else sorter[positions[found]]
    return found, rows.astype(np.int64)


class TransitionBatch(NamedTuple):
    """``B`` transitions with their observations (fresh arrays, safe to hand to torch).

    observations, next_observations: ``(B, C, H, W) float32``; actions ``(B,) int64``;
    rewards ``(B,) float32``; dones ``(B,) bool``; next_action_masks ``(B, A) bool``. A done
    transition's next observation and mask are placeholders (its own observation and mask).
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    dones: np.ndarray
    next_action_masks: np.ndarray


class PairedTransitions(NamedTuple):
    """``k`` finished transitions whose observations are frame ids.

    frames, next_frames: ``(k,) int64`` ids of the observation acted on and of the next one
    (a done transition's own frame, as placeholder); actions ``(k,) int64``; rewards ``(k,)
    float32``; dones ``(k,) bool``; next_action_masks ``(k, A) bool``.
    """

    frames: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_frames: np.ndarray
    dones: np.ndarray
    next_action_masks: np.ndarray


class TransitionPairer:
    """Keeps each live agent's last ``(frame id, action, reward)`` until its next observation.

    Transitions of agents that vanish without a ``done`` are dropped.
    """

    def __init__(self) -> None:
        self.pending_ids = np.empty(0, dtype=np.int64)  # (p,)
        self.pending_frames = np.empty(0, dtype=np.int64)  # (p,)
        self.pending_actions = np.empty(0, dtype=np.int64)  # (p,)
        self.pending_rewards = np.empty(0, dtype=np.float32)  # (p,)

    def pair(
        self,
        agent_ids: np.ndarray,
        frames: np.ndarray,
        action_mask: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
    ) -> PairedTransitions:
        """Take this step's rows; return the transitions that are now complete.

        ``frames (n,) int64`` says where each row's observation is stored. The complete
        transitions are the pending ones whose agent shows up again (its frame now is their next
        frame), followed by this step's terminal ones. Their arrays may be views of this call's
        arguments or of the pairer's last pending state: store them before the next call.
        """
        agent_ids = np.asarray(agent_ids, dtype=np.int64)
        frames = np.asarray(frames, dtype=np.int64)
        dones = np.asarray(dones, dtype=np.bool_)
        actions = np.asarray(actions, dtype=np.int64)
        rewards = np.asarray(rewards, dtype=np.float32)
        action_mask = np.asarray(action_mask)
        found, rows = self._returning(agent_ids)
        found_frames = self.pending_frames[found]  # the frames their agents acted on
        matched = found_frames.shape[0]
        terminal = np.flatnonzero(dones)
        if terminal.size:
            done_column = np.zeros(matched + terminal.size, dtype=np.bool_)
            done_column[matched:] = True
            completed = PairedTransitions(
                frames=np.concatenate([found_frames, frames[terminal]]),
                actions=np.concatenate([self.pending_actions[found], actions[terminal]]),
                rewards=np.concatenate([self.pending_rewards[found], rewards[terminal]]),
                next_frames=np.concatenate([frames[rows], frames[terminal]]),
                dones=done_column,
                next_action_masks=np.concatenate([action_mask[rows], action_mask[terminal]]),
            )
            living = ~dones
            self.pending_ids, self.pending_frames = agent_ids[living], frames[living]
            self.pending_actions, self.pending_rewards = actions[living], rewards[living]
        else:
            completed = PairedTransitions(
                frames=found_frames,
                actions=self.pending_actions[found],
                rewards=self.pending_rewards[found],
                next_frames=frames[rows],
                dones=np.zeros(matched, dtype=np.bool_),
                next_action_masks=action_mask[rows],
            )
            self.pending_ids, self.pending_frames = agent_ids.copy(), frames.copy()
            self.pending_actions, self.pending_rewards = actions.copy(), rewards.copy()
        return completed

    def _returning(self, agent_ids: np.ndarray) -> tuple[slice | np.ndarray, slice | np.ndarray]:
        """Which pending transitions' agents are in ``agent_ids (n,)``, and at which rows.

        Returns ``(found, rows)``, indexes such that ``self.pending_ids[found] ==
        agent_ids[rows]``. The engine's rows are the survivors of the previous call in the same
        order followed by the newborns, so the pending ids are usually the first rows: then both
        are slices and nothing is searched (:func:`match_ids` otherwise).
        """
        p = self.pending_ids.shape[0]
        if p <= agent_ids.shape[0] and bool((agent_ids[:p] == self.pending_ids).all()):
            return slice(None), slice(0, p)
        return match_ids(self.pending_ids, agent_ids)
