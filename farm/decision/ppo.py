"""Proximal Policy Optimisation (clipped surrogate), batched across agents.

Read top to bottom: the settings (:class:`farm.decision.config.PPOConfig`, one docstring per
field), GAE as a pure function, the rollout buffer, then the learner (one actor-critic network:
``A`` action logits and one state value) and the policy that wraps learners for an agent type.

Agents are born and die during a rollout, so the rollout is stored step by step with agent ids
and laid out densely as ``[T, K]`` (steps x distinct agents) only for GAE; the cells where an
agent was not alive are padding and never reach the loss.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from farm.core.actions import NUM_ACTIONS
from farm.decision.adam import Adam
from farm.decision.config import DecisionConfig, PPOConfig
from farm.decision.learning import PooledPolicy, seeded_init
from farm.decision.networks import build_network, forward_in_chunks, mask_invalid
from farm.decision.transitions import match_ids

__all__ = ["PPOConfig", "compute_gae", "RolloutBuffer", "Rollout", "PPOLearner", "PPOPolicy"]


def compute_gae(
    rewards: np.ndarray,
    values: np.ndarray,
    dones: np.ndarray,
    last_values: np.ndarray,
    gamma: float,
    gae_lambda: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimation over ``T`` steps of ``N`` agents.

    Args:
        rewards: ``[T, N]`` reward of each transition.
        values: ``[T, N]``; ``values[t]`` estimates the state agent ``n`` acted in.
        dones: ``[T, N] bool``; True when transition ``t`` ended the agent's life (nothing is
            bootstrapped past it).
        last_values: ``[N]`` value of each agent's state after step ``T - 1``.
        gamma: discount factor.
        gae_lambda: GAE's ``lambda``, the trade-off between bias and variance.

    Returns:
        ``(advantages [T, N], returns [T, N])`` float64, where
        ``delta_t = r_t + gamma * (1 - d_t) * V_{t+1} - V_t`` and
        ``A_t = delta_t + gamma * lambda * (1 - d_t) * A_{t+1}``;
        ``returns = advantages + values``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    nonterminal = 1.0 - np.asarray(dones, dtype=np.float64)  # [T, N]
    advantages = np.zeros_like(rewards)  # [T, N]
    next_advantage = np.zeros(rewards.shape[1:], dtype=np.float64)  # [N]
    next_values = np.asarray(last_values, dtype=np.float64)  # [N]
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_values * nonterminal[t] - values[t]  # [N]
        next_advantage = delta + gamma * gae_lambda * nonterminal[t] * next_advantage  # [N]
        advantages[t] = next_advantage
        next_values = values[t]
    return advantages, advantages + values


class Rollout(NamedTuple):
    """A rollout's ``M`` transitions, flat (step-major, then row order within a step).

    observations ``(M, C, H, W) float32``; action_masks ``(M, A) bool``; actions ``(M,) int64``;
    logprobs, values ``(M,) float32`` at acting time; advantages, returns ``(M,) float32``.
    """

    observations: np.ndarray
    action_masks: np.ndarray
    actions: np.ndarray
    logprobs: np.ndarray
    values: np.ndarray
    advantages: np.ndarray
    returns: np.ndarray


class RolloutBuffer:
    """The steps of one rollout, each a set of rows with agent ids."""

    FIELDS = ("agent_ids", "observations", "action_masks", "actions", "logprobs", "values", "rewards", "dones")

    def __init__(self) -> None:
        self.steps: list[dict[str, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.steps)

    def add(self, **rows: np.ndarray) -> None:
        """Append one step; keyword arrays as in :attr:`FIELDS`, each with ``n`` rows."""
        self.steps.append({name: np.array(rows[name]) for name in self.FIELDS})

    def clear(self) -> None:
        """Drop every stored step."""
        self.steps = []

    def finish(self, next_ids: np.ndarray, next_values: np.ndarray, gamma: float, gae_lambda: float) -> Rollout:
        """Advantages and returns by GAE.

        ``next_ids (k,)``/``next_values (k,)``: the value of each agent's state after the last
        step (agents missing there bootstrap nothing).
        """
        keys = np.unique(np.concatenate([step["agent_ids"] for step in self.steps]))  # [K]
        num_steps, num_agents = len(self.steps), keys.size
        rewards = np.zeros((num_steps, num_agents))  # [T, K]
        values = np.zeros((num_steps, num_agents))  # [T, K]
        dones = np.ones((num_steps, num_agents), dtype=np.bool_)  # [T, K]; padding cuts the chain
        columns = []
        for t, step in enumerate(self.steps):
            cols = np.searchsorted(keys, step["agent_ids"])  # [n_t]
            rewards[t, cols] = step["rewards"]
            values[t, cols] = step["values"]
            dones[t, cols] = step["dones"]
            columns.append(cols)
        last_values = np.zeros(num_agents)  # [K]
        found, rows = match_ids(keys, np.asarray(next_ids, dtype=np.int64))
        last_values[found] = np.asarray(next_values)[rows]
        advantages, returns = compute_gae(rewards, values, dones, last_values, gamma, gae_lambda)

        def flat(name: str) -> np.ndarray:
            return np.concatenate([step[name] for step in self.steps])

        return Rollout(
            observations=flat("observations"),
            action_masks=flat("action_masks"),
            actions=flat("actions"),
            logprobs=flat("logprobs"),
            values=flat("values"),
            advantages=np.concatenate([advantages[t, cols] for t, cols in enumerate(columns)]).astype(np.float32),
            returns=np.concatenate([returns[t, cols] for t, cols in enumerate(columns)]).astype(np.float32),
        )


class PPOLearner:
    """An actor-critic network (``A`` logits and a value from one torso), Adam, a rollout.

    ``record`` evaluates the acting network on this step's rows (log-probabilities of the
    taken actions, values); when the rollout holds ``rollout_steps`` steps those values
    bootstrap it, and ``update_epochs`` epochs of minibatch updates run before the step is
    stored in the next rollout.
    """

    def __init__(
        self,
        decision_config: DecisionConfig,
        obs_shape: tuple[int, int, int],
        seed_sequence: np.random.SeedSequence,
        num_actions: int = NUM_ACTIONS,
    ) -> None:
        self.config: PPOConfig = decision_config.ppo
        self.num_actions = num_actions
        init_seed, rng_seed = seed_sequence.spawn(2)
        with seeded_init(init_seed):
            self.network = build_network(decision_config.network, obs_shape, num_actions + 1)
        # torch.optim.Adam's update without its torch._dynamo import: see farm.decision.adam.
        self.optimizer = Adam(list(self.network.parameters()), lr=self.config.learning_rate, eps=1e-5)
        self.rng = np.random.default_rng(rng_seed)
        self.rollout = RolloutBuffer()
        self.updates = 0

    def _evaluate(self, observations: torch.Tensor, action_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(log-probabilities [n, A] with -inf at invalid actions, values [n])``."""
        out = self.network(observations)  # [n, A + 1]
        logprobs = torch.log_softmax(mask_invalid(out[:, : self.num_actions], action_mask), dim=1)  # [n, A]
        return logprobs, out[:, self.num_actions]

    def act(self, observations: np.ndarray, action_mask: np.ndarray) -> np.ndarray:
        """Sample from the masked policy: ``(n, C, H, W), (n, A) bool -> (n,) int64``.

        Sampling is Gumbel-max with the learner's numpy generator.
        """
        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(observations, dtype=np.float32))
            out = forward_in_chunks(self.network, batch)  # [n, A + 1]
        logits = out[:, : self.num_actions].numpy().astype(np.float64)  # [n, A]
        scores = np.where(action_mask, logits + self.rng.gumbel(size=logits.shape), -np.inf)  # [n, A]
        return scores.argmax(axis=1).astype(np.int64)

    def record(self, agent_ids, observations, action_mask, actions, rewards, dones) -> dict[str, float]:
        """Store one step's rows in the rollout; update once it is full. The metrics, or ``{}``."""
        observations = np.ascontiguousarray(observations, dtype=np.float32)
        actions = np.asarray(actions, dtype=np.int64)
        with torch.inference_mode():
            logprobs, values = self._evaluate(torch.from_numpy(observations), torch.from_numpy(action_mask))
            taken = logprobs.gather(1, torch.from_numpy(actions).unsqueeze(1)).squeeze(1)  # [n]
        values = values.numpy().copy()
        metrics: dict[str, float] = {}
        if len(self.rollout) >= self.config.rollout_steps:
            metrics = self.update(self.rollout.finish(agent_ids, values, self.config.gamma, self.config.gae_lambda))
            self.rollout.clear()
        self.rollout.add(
            agent_ids=np.asarray(agent_ids, dtype=np.int64), observations=observations, action_masks=action_mask,
            actions=actions, logprobs=taken.numpy(), values=values,
            rewards=np.asarray(rewards, dtype=np.float64), dones=np.asarray(dones, dtype=np.bool_),
        )
        return metrics

    def update(self, rollout: Rollout) -> dict[str, float]:
        """``update_epochs`` passes of clipped-surrogate + value + entropy minibatch steps."""
        cfg = self.config
        observations = torch.from_numpy(rollout.observations)  # [M, C, H, W]
        masks = torch.from_numpy(rollout.action_masks)  # [M, A]
        actions = torch.from_numpy(rollout.actions)  # [M]
        old_logprobs = torch.from_numpy(rollout.logprobs)  # [M]
        advantages = torch.from_numpy(rollout.advantages)  # [M]
        returns = torch.from_numpy(rollout.returns)  # [M]
        total = actions.shape[0]
        minibatch_size = max(1, -(-total // cfg.num_minibatches))
        sums = {
            "loss": 0.0, "policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "clip_fraction": 0.0
        }
        minibatches = 0
        for _ in range(cfg.update_epochs):
            order = torch.from_numpy(self.rng.permutation(total))
            for start in range(0, total, minibatch_size):
                rows = order[start : start + minibatch_size]  # [b]
                logprobs, values = self._evaluate(observations[rows], masks[rows])  # [b, A], [b]
                new_logprobs = logprobs.gather(1, actions[rows].unsqueeze(1)).squeeze(1)  # [b]
                entropy = -(logprobs.exp() * logprobs.masked_fill(~masks[rows], 0.0)).sum(dim=1)  # [b]
                log_ratio = new_logprobs - old_logprobs[rows]  # [b]
                ratio = log_ratio.exp()  # [b]
                adv = advantages[rows]  # [b]
                if cfg.normalize_advantages:
                    adv = (adv - adv.mean()) / (adv.std(unbiased=False) + 1e-8)
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)).mean()
                value_loss = 0.5 * (values - returns[rows]).pow(2).mean()
                loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy.mean()
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.network.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    sums["loss"] += float(loss)
                    sums["policy_loss"] += float(policy_loss)
                    sums["value_loss"] += float(value_loss)
                    sums["entropy"] += float(entropy.mean())
                    sums["approx_kl"] += float(((ratio - 1) - log_ratio).mean())
                    sums["clip_fraction"] += float(((ratio - 1).abs() > cfg.clip_coef).float().mean())
                minibatches += 1
        self.updates += 1
        metrics = {key: value / minibatches for key, value in sums.items()}
        metrics["rollout_transitions"] = float(total)
        return metrics

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, random state and update count, for a checkpoint."""
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": self.rng.bit_generator.state,
            "updates": self.updates,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = state["rng"]
        self.updates = int(state["updates"])


class PPOPolicy(PooledPolicy):
    """PPO for one agent type: one learner (SHARED) or one per agent (PER_AGENT).

    Implements :class:`farm.decision.base.LearningPolicy`. Metrics on update steps: ``loss``,
    ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl``, ``clip_fraction``,
    ``rollout_transitions``.
    """

    def __init__(self, decision_config: DecisionConfig, obs_shape: tuple[int, int, int], seed: int, name: str = "ppo"):
        obs_shape = tuple(int(d) for d in obs_shape)
        self.obs_shape = obs_shape
        super().__init__(
            decision_config, seed, lambda seed_sequence: PPOLearner(decision_config, obs_shape, seed_sequence), name
        )
