"""What DDQN and PPO policies share: shared or per-agent networks, seeding, checkpoints.

A *learner* is one algorithm instance (network(s), optimiser, buffer) acting and learning for a
set of agents. In SHARED mode a policy holds one learner for every agent of its type, so one
batched forward pass acts for all of them. In PER_AGENT mode it holds one learner per agent id,
created lazily the first time an id is seen and dropped when the agent dies.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import torch

from farm.decision.config import DecisionConfig, SharingMode
from farm.utils.allocator import retain_freed_memory

__all__ = ["Learner", "PooledPolicy", "learner_seed", "seeded_init"]

SHARED_KEY = -1


class Learner(Protocol):
    """One algorithm instance. Arrays follow :class:`farm.decision.base.LearningPolicy`."""

    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """``(n,) int64`` actions for ``observations (n, C, H, W)`` and ``action_mask (n, A) bool``."""

    def record(
        self,
        agent_ids: np.ndarray,
        observations: np.ndarray,
        action_mask: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
    ) -> dict[str, float]:
        """Store one step's transitions and train where due; the metrics, or ``{}``."""

    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint needs to restore this learner."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


def learner_seed(seed: int, key: int) -> np.random.SeedSequence:
    """Independent, reproducible seed material for the learner of ``key``.

    ``key`` is an agent id, or ``SHARED_KEY``.
    """
    return np.random.SeedSequence(entropy=int(seed), spawn_key=(int(key) + 1,))


class seeded_init:
    """Context manager: torch's global generator seeded from ``seed_sequence`` inside.

    The generator is restored after, so network initialisation is reproducible and leaves other
    torch users alone.
    """

    def __init__(self, seed_sequence: np.random.SeedSequence) -> None:
        self.torch_seed = int(seed_sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        self._fork = torch.random.fork_rng(devices=[])

    def __enter__(self) -> None:
        self._fork.__enter__()
        torch.manual_seed(self.torch_seed)

    def __exit__(self, *exc: object) -> None:
        self._fork.__exit__(*exc)


class PooledPolicy:
    """A learning policy over shared or per-agent learners.

    Implements :class:`farm.decision.base.LearningPolicy` and
    :class:`farm.decision.base.AgentAwarePolicy` (``act_agents``: per-agent mode must know
    which agent each row is).
    """

    def __init__(
        self,
        decision_config: DecisionConfig,
        seed: int,
        make_learner: Callable[[np.random.SeedSequence], Learner],
        name: str,
    ) -> None:
        torch.set_num_threads(decision_config.torch_threads)
        if decision_config.retain_freed_memory:
            retain_freed_memory()
        self.decision_config = decision_config
        self.seed = int(seed)
        self.name = name
        self.sharing = decision_config.sharing
        self._make_learner = make_learner
        self.learners: dict[int, Learner] = {}
        self.record_calls = 0
        if self.sharing is SharingMode.SHARED:
            self.learners[SHARED_KEY] = make_learner(learner_seed(self.seed, SHARED_KEY))

    # -- acting ----------------------------------------------------------------------------
    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """``(n,) int64`` actions for ``observations (n, C, H, W)``; SHARED mode only.

        Per-agent mode needs the agent ids: use :meth:`act_agents`.
        """
        if self.sharing is not SharingMode.SHARED:
            raise ValueError(f"{self.name}: per-agent mode needs agent ids; call act_agents(agent_ids, ...)")
        return self.learners[SHARED_KEY].act(observations, action_mask)

    def act_agents(self, agent_ids: np.ndarray, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """``(n,) int64`` actions; row ``i`` is agent ``agent_ids[i]``."""
        if self.sharing is SharingMode.SHARED:
            return self.learners[SHARED_KEY].act(observations, action_mask)
        actions = np.empty(len(agent_ids), dtype=np.int64)
        for row, agent_id in enumerate(np.asarray(agent_ids, dtype=np.int64).tolist()):
            one = slice(row, row + 1)
            actions[row] = self._learner_of(agent_id).act(observations[one], action_mask[one])[0]
        return actions

    def _learner_of(self, agent_id: int) -> Learner:
        learner = self.learners.get(agent_id)
        if learner is None:
            learner = self._make_learner(learner_seed(self.seed, agent_id))
            self.learners[agent_id] = learner
        return learner

    # -- learning --------------------------------------------------------------------------
    def record(
        self,
        agent_ids: np.ndarray,
        observations: np.ndarray,
        action_mask: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        dones: np.ndarray,
    ) -> dict[str, float]:
        """Store this step's transitions; train where due.

        Returns the training metrics (means over the learners that trained, per-agent mode), or
        ``{}``.
        """
        self.record_calls += 1
        if self.sharing is SharingMode.SHARED:
            metrics = self.learners[SHARED_KEY].record(agent_ids, observations, action_mask, actions, rewards, dones)
        else:
            metrics = self._record_per_agent(agent_ids, observations, action_mask, actions, rewards, dones)
        every = self.decision_config.checkpoint_every
        if every and self.decision_config.checkpoint_dir and self.record_calls % every == 0:
            self.save_checkpoint(self.checkpoint_path)
        return metrics

    def _record_per_agent(self, agent_ids, observations, action_mask, actions, rewards, dones) -> dict[str, float]:
        agent_ids = np.asarray(agent_ids, dtype=np.int64)
        dones = np.asarray(dones, dtype=np.bool_)
        collected: dict[str, list[float]] = {}
        for row, agent_id in enumerate(agent_ids.tolist()):
            one = slice(row, row + 1)
            metrics = self._learner_of(agent_id).record(
                agent_ids[one], observations[one], action_mask[one], actions[one], rewards[one], dones[one]
            )
            for key, value in metrics.items():
                collected.setdefault(key, []).append(value)
        for agent_id in agent_ids[dones].tolist():
            self.learners.pop(agent_id, None)
        if not collected:
            return {}
        out = {key: float(np.mean(values)) for key, values in collected.items()}
        out["learners_trained"] = float(len(next(iter(collected.values()))))
        return out

    # -- checkpoints -----------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        """``<checkpoint_dir>/<name>.pt``."""
        directory = self.decision_config.checkpoint_dir or "."
        return Path(directory) / f"{self.name}.pt"

    def state_dict(self) -> dict[str, Any]:
        """Name, sharing mode, counter and every learner's state, for a checkpoint."""
        return {
            "name": self.name,
            "sharing": self.sharing.value,
            "record_calls": self.record_calls,
            "learners": {key: learner.state_dict() for key, learner in self.learners.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, rebuilding the learners it lists.

        Raises:
            ValueError: the checkpoint was saved in the other sharing mode.
        """
        if state["sharing"] != self.sharing.value:
            raise ValueError(f"{self.name}: checkpoint is {state['sharing']!r} mode, policy is {self.sharing.value!r}")
        self.record_calls = int(state["record_calls"])
        self.learners = {}
        for key, learner_state in state["learners"].items():
            learner = self._make_learner(learner_seed(self.seed, int(key)))
            learner.load_state_dict(learner_state)
            self.learners[int(key)] = learner

    def save_checkpoint(self, path: str | os.PathLike) -> Path:
        """Write networks, optimisers, counters and random states to ``path``, atomically.

        The replay/rollout buffers are not saved.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".partial")
        torch.save(self.state_dict(), partial)
        os.replace(partial, path)
        return path

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Restore the state :meth:`save_checkpoint` wrote to ``path``."""
        self.load_state_dict(torch.load(Path(path), weights_only=False))
