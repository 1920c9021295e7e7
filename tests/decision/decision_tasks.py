"""Tiny tasks with a known optimum for the learning tests: a contextual bandit and a corridor.

Both drive a policy through the loop's calls (``act``, then ``record``) with agent ids, births
and deaths, like the engine does.
"""

from __future__ import annotations

import numpy as np

from farm.core.actions import NUM_ACTIONS, Action

__all__ = ["ContextualBandit", "Corridor"]


class ContextualBandit:
    """Each step ``n`` fresh one-step agents see a context ``c`` in {0, 1, 2} (one-hot in a
    ``(1, 1, 3)`` view); reward 1 when the action is ``BEST[c]``, else 0; the agent then dies.
    A random action is also masked out in every row (never the best one)."""

    BEST = np.array([Action.GATHER, Action.ATTACK, Action.REPRODUCE])
    obs_shape = (1, 1, 3)

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.next_id = 0

    def observe(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(agent_ids (n,), observations (n, 1, 1, 3), mask (n, 7), contexts (n,))``."""
        ids = np.arange(self.next_id, self.next_id + self.n, dtype=np.int64)
        self.next_id += self.n
        contexts = self.rng.integers(0, 3, size=self.n)
        observations = np.zeros((self.n,) + self.obs_shape, dtype=np.float32)
        observations[np.arange(self.n), 0, 0, contexts] = 1.0
        mask = np.ones((self.n, NUM_ACTIONS), dtype=np.bool_)
        blocked = self.rng.integers(0, NUM_ACTIONS, size=self.n)
        blocked = np.where(blocked == self.BEST[contexts], Action.PASS, blocked)
        mask[np.arange(self.n), blocked] = False
        return ids, observations, mask, contexts

    def run(self, policy, steps: int) -> float:
        """Drive ``policy`` for ``steps`` steps; returns the mean reward of the last quarter."""
        rewards_seen = []
        for _ in range(steps):
            ids, observations, mask, contexts = self.observe()
            actions = policy.act(observations, mask)
            rewards = (actions == self.BEST[contexts]).astype(np.float64)
            policy.record(ids, observations, mask, actions, rewards, np.ones(self.n, dtype=np.bool_))
            rewards_seen.append(rewards.mean())
        return float(np.mean(rewards_seen[-max(1, steps // 4) :]))


class Corridor:
    """``n`` agents in a corridor of ``length`` cells; the view ``(1, 1, length)`` is one-hot of
    the cell. MOVE steps right, DEFEND steps left, PASS stays; every other action is masked.
    Reaching the last cell pays 1 and ends the agent (a new one starts in cells 0..length-3);
    every other step pays 0. The optimum is MOVE everywhere."""

    ALLOWED = (Action.MOVE, Action.DEFEND, Action.PASS)

    def __init__(self, n: int, length: int, seed: int) -> None:
        self.n, self.length = n, length
        self.rng = np.random.default_rng(seed)
        self.ids = np.arange(n, dtype=np.int64)
        self.next_id = n
        self.cells = self.rng.integers(0, length - 2, size=n)

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return (1, 1, self.length)

    def views(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        observations = np.zeros((cells.size,) + self.obs_shape, dtype=np.float32)
        observations[np.arange(cells.size), 0, 0, cells] = 1.0
        mask = np.zeros((cells.size, NUM_ACTIONS), dtype=np.bool_)
        mask[:, list(self.ALLOWED)] = True
        return observations, mask

    def run(self, policy, steps: int) -> int:
        """Drive ``policy`` for ``steps`` steps; returns how many agents reached the goal."""
        arrivals = 0
        for _ in range(steps):
            observations, mask = self.views(self.cells)
            actions = policy.act(observations, mask)
            assert mask[np.arange(self.n), actions].all()
            moves = np.where(actions == Action.MOVE, 1, np.where(actions == Action.DEFEND, -1, 0))
            self.cells = np.clip(self.cells + moves, 0, self.length - 1)
            dones = self.cells == self.length - 1
            policy.record(self.ids, observations, mask, actions, dones.astype(np.float64), dones)
            arrivals += int(dones.sum())
            born = int(dones.sum())
            self.ids = np.concatenate([self.ids[~dones], np.arange(self.next_id, self.next_id + born)])
            self.cells = np.concatenate([self.cells[~dones], self.rng.integers(0, self.length - 2, size=born)])
            self.next_id += born
        return arrivals
