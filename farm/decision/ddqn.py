"""Double DQN, batched across agents.

Read top to bottom: the settings (:class:`farm.decision.config.DDQNConfig`, one docstring per
field), exploration and the double-Q target as pure functions, then the learner (online and
target networks, Adam, replay buffer) and the policy that wraps learners for an agent type.

Double DQN (van Hasselt et al., 2016): the *online* network picks the next action, the
*target* network scores it, which removes the max-operator's overestimation of plain DQN.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from farm.core.actions import NUM_ACTIONS
from farm.decision.adam import Adam
from farm.decision.config import DDQNConfig, DecisionConfig, SharingMode, TargetUpdate
from farm.decision.learning import PooledPolicy, seeded_init
from farm.decision.networks import build_network, forward_in_chunks, mask_invalid
from farm.decision.replay_buffer import ReplayBuffer
from farm.decision.transitions import TransitionBatch, TransitionPairer

__all__ = ["DDQNConfig", "DDQNLearner", "DDQNPolicy", "double_q_targets", "random_valid_actions"]


def random_valid_actions(action_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row drawn uniformly among the row's valid ones.

    ``(n, A) bool -> (n,) int64``. Invalid actions score -1, valid ones a uniform draw in
    [0, 1), so argmax never lands on an invalid action.
    """
    scores = rng.random(action_mask.shape)  # [n, A]
    scores[~action_mask] = -1.0
    return scores.argmax(axis=1).astype(np.int64)


def double_q_targets(
    rewards: torch.Tensor,
    dones: torch.Tensor,
    next_q_online: torch.Tensor,
    next_q_target: torch.Tensor,
    next_action_mask: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """TD targets ``r + gamma * (1 - done) * Q_target(s', argmax_a' Q_online(s', a'))``.

    rewards ``[B] float32``, dones ``[B] bool``, next_q_online and next_q_target ``[B, A]``,
    next_action_mask ``[B, A] bool`` (the argmax only considers valid next actions).
    Returns ``[B] float32``.
    """
    next_actions = mask_invalid(next_q_online, next_action_mask).argmax(dim=1)  # [B]
    next_values = next_q_target.gather(1, next_actions.unsqueeze(1)).squeeze(1)  # [B]
    return rewards + gamma * (~dones).to(rewards.dtype) * next_values


class DDQNLearner:
    """Online and target network, Adam, a replay buffer, epsilon-greedy acting.

    ``record`` pairs transitions by agent id, stores them, and runs one training step every
    ``train_every`` calls once ``learning_starts`` transitions are stored.
    """

    def __init__(
        self,
        decision_config: DecisionConfig,
        obs_shape: tuple[int, int, int],
        seed_sequence: np.random.SeedSequence,
        buffer_size: int,
        num_actions: int = NUM_ACTIONS,
    ) -> None:
        self.config: DDQNConfig = decision_config.ddqn
        self.num_actions = num_actions
        init_seed, rng_seed = seed_sequence.spawn(2)
        with seeded_init(init_seed):
            self.online = build_network(decision_config.network, obs_shape, num_actions)
        self.target = copy.deepcopy(self.online)
        self.target.requires_grad_(False)
        # The parameter tensors, listed once (loading a state dict copies into these same tensors).
        self._online_parameters = list(self.online.parameters())
        self._target_parameters = list(self.target.parameters())
        # torch.optim.Adam's update without torch.optim.Optimizer, whose first step imports
        # torch._dynamo (~70 MiB); see farm.decision.adam. foreach: one call per Adam operation for
        # all the parameters instead of a Python loop over them (the same per-tensor CPU kernels).
        self.optimizer = Adam(self._online_parameters, lr=self.config.learning_rate, foreach=True)
        self.rng = np.random.default_rng(rng_seed)
        self.buffer = ReplayBuffer(buffer_size, obs_shape, num_actions)
        self.pairer = TransitionPairer()
        self.record_calls = 0
        self.train_steps = 0

    @property
    def epsilon(self) -> float:
        """The exploration rate at the current number of ``record`` calls."""
        return self.config.epsilon_at(self.record_calls)

    def q_values(self, observations: np.ndarray) -> np.ndarray:
        """``(n, A) float32`` online Q-values (no masking)."""
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(observations, dtype=np.float32))
            return forward_in_chunks(self.online, batch).numpy()

    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Epsilon-greedy over valid actions: ``(n, C, H, W), (n, A) bool -> (n,) int64``."""
        n = observations.shape[0]
        q = self.q_values(observations)  # [n, A]
        actions = np.where(action_mask, q, -np.inf).argmax(axis=1).astype(np.int64)  # [n]
        explore = self.rng.random(n) < self.epsilon  # [n]
        if explore.any():
            actions[explore] = random_valid_actions(action_mask[explore], self.rng)
        return actions

    def record(self, agent_ids, observations, action_mask, actions, rewards, dones) -> dict[str, float]:
        """Store this step's transitions and train where due.

        Each observation is stored once, as a frame of the replay buffer. Returns the training
        metrics, or ``{}``.
        """
        start = self.buffer.frames.written  # this step's observations become these frames
        frames = np.arange(start, start + len(agent_ids), dtype=np.int64)
        completed = self.pairer.pair(agent_ids, frames, action_mask, actions, rewards, dones)
        held = self.buffer.size_after(completed.actions.shape[0])
        trains = held >= max(self.config.learning_starts, 1) and (self.record_calls + 1) % self.config.train_every == 0
        # A training step samples the frames at once: copy them here rather than wait for the worker.
        self.buffer.add_frames(observations, completed, self.pairer.pending_frames, background=not trains)
        self.record_calls += 1
        if trains:
            return self.train_step()
        return {}

    def train_step(self) -> dict[str, float]:
        """One gradient step on a batch sampled from the replay buffer."""
        return self.train_on(self.buffer.sample(self.config.batch_size, self.rng))

    def train_on(self, batch: TransitionBatch) -> dict[str, float]:
        """One gradient step on ``batch``, then the target sync.

        The step is Huber loss on the double-Q targets, gradient clipping and Adam.
        """
        cfg = self.config
        observations = torch.from_numpy(batch.observations)  # [B, C, H, W]
        next_observations = torch.from_numpy(batch.next_observations)  # [B, C, H, W]
        actions = torch.from_numpy(batch.actions)  # [B]
        rewards = torch.from_numpy(batch.rewards)  # [B]
        dones = torch.from_numpy(batch.dones)  # [B]
        next_mask = torch.from_numpy(batch.next_action_masks)  # [B, A]
        with torch.no_grad():
            next_q_online = self.online(next_observations)  # [B, A]
            next_q_target = self.target(next_observations)  # [B, A]
            targets = double_q_targets(rewards, dones, next_q_online, next_q_target, next_mask, cfg.gamma)  # [B]
        q_taken = self.online(observations).gather(1, actions.unsqueeze(1)).squeeze(1)  # [B]
        loss = F.smooth_l1_loss(q_taken, targets, beta=cfg.huber_delta)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self._online_parameters, cfg.max_grad_norm)
        self.optimizer.step()
        self.train_steps += 1
        self._sync_target()
        return {
            "loss": float(loss.detach()),
            "mean_q": float(q_taken.detach().mean()),
            "epsilon": self.epsilon,
            "grad_norm": float(grad_norm),
            "buffer_size": float(len(self.buffer)),
        }

    def _sync_target(self) -> None:
        cfg = self.config
        if cfg.target_update is TargetUpdate.HARD:
            if self.train_steps % cfg.target_update_every == 0:
                self.target.load_state_dict(self.online.state_dict())
            return
        with torch.no_grad():  # target += tau * (online - target), every parameter in one call
            torch._foreach_lerp_(self._target_parameters, self._online_parameters, cfg.tau)

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimiser, random state and counters, for a checkpoint."""
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "record_calls": self.record_calls,
            "train_steps": self.train_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.record_calls = int(state["record_calls"])
        self.train_steps = int(state["train_steps"])


class DDQNPolicy(PooledPolicy):
    """Double DQN for one agent type: one learner (SHARED) or one per agent (PER_AGENT).

    Implements :class:`farm.decision.base.LearningPolicy`. Metrics on training steps:
    ``loss``, ``mean_q``, ``epsilon``, ``grad_norm``, ``buffer_size``.
    """

    def __init__(self, decision_config: DecisionConfig, obs_shape: tuple[int, int, int], seed: int, name: str = "ddqn"):
        obs_shape = tuple(int(d) for d in obs_shape)
        cfg = decision_config.ddqn
        shared = decision_config.sharing is SharingMode.SHARED
        buffer_size = cfg.buffer_size if shared else cfg.per_agent_buffer_size
        self.obs_shape = obs_shape
        super().__init__(
            decision_config,
            seed,
            lambda seed_sequence: DDQNLearner(decision_config, obs_shape, seed_sequence, buffer_size),
            name,
        )
