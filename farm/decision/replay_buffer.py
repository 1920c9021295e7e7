"""A numpy ring buffer of transitions for off-policy learning (DDQN). No torch here."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ReplayBuffer", "TransitionBatch"]


class TransitionBatch(NamedTuple):
    """A sample of ``B`` transitions (views of fresh arrays, safe to hand to torch).

    observations, next_observations: ``(B, C, H, W) float32``; actions ``(B,) int64``;
    rewards ``(B,) float32``; dones ``(B,) bool``; next_action_masks ``(B, A) bool``.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    dones: np.ndarray
    next_action_masks: np.ndarray


class ReplayBuffer:
    """Fixed-capacity ring buffer; the oldest transitions are overwritten first.

    All storage is allocated up front (``nbytes`` reports it), so peak memory is known from the
    configuration: about ``capacity * (2 * C * H * W * 4 + A + 14)`` bytes.
    """

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], num_actions: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        self.observations = np.zeros((capacity,) + tuple(obs_shape), dtype=np.float32)  # (N, C, H, W)
        self.next_observations = np.zeros((capacity,) + tuple(obs_shape), dtype=np.float32)  # (N, C, H, W)
        self.actions = np.zeros(capacity, dtype=np.int64)  # (N,)
        self.rewards = np.zeros(capacity, dtype=np.float32)  # (N,)
        self.dones = np.zeros(capacity, dtype=np.bool_)  # (N,)
        self.next_action_masks = np.zeros((capacity, num_actions), dtype=np.bool_)  # (N, A)
        self.position = 0  # next row to write
        self.size = 0

    def __len__(self) -> int:
        return self.size

    @property
    def nbytes(self) -> int:
        return sum(
            a.nbytes
            for a in (
                self.observations, self.next_observations, self.actions,
                self.rewards, self.dones, self.next_action_masks,
            )
        )

    def add(
        self,
        observations: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_observations: np.ndarray,
        dones: np.ndarray,
        next_action_masks: np.ndarray,
    ) -> None:
        """Append ``k`` transitions (arrays with leading dimension ``k``)."""
        k = int(np.shape(actions)[0])
        if k == 0:
            return
        if k > self.capacity:  # only the newest `capacity` rows survive anyway
            keep = slice(k - self.capacity, k)
            observations, actions, rewards = observations[keep], actions[keep], rewards[keep]
            next_observations, dones, next_action_masks = next_observations[keep], dones[keep], next_action_masks[keep]
            k = self.capacity
        rows = (self.position + np.arange(k)) % self.capacity
        self.observations[rows] = observations
        self.next_observations[rows] = next_observations
        self.actions[rows] = actions
        self.rewards[rows] = rewards
        self.dones[rows] = dones
        self.next_action_masks[rows] = next_action_masks
        self.position = int((self.position + k) % self.capacity)
        self.size = min(self.size + k, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> TransitionBatch:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        rows = rng.integers(0, self.size, size=batch_size)
        return TransitionBatch(
            self.observations[rows],
            self.actions[rows],
            self.rewards[rows],
            self.next_observations[rows],
            self.dones[rows],
            self.next_action_masks[rows],
        )
