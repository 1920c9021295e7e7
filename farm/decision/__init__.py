"""Policies that choose actions, and the factory the step loop uses."""

from __future__ import annotations

from farm.core.state import AgentType
from farm.decision.base import AgentAwarePolicy, LearningPolicy, Policy
from farm.decision.config import DecisionConfig, PolicyKind
from farm.decision.random_policy import RandomPolicy
from farm.decision.rule_policy import RulePolicy

__all__ = [
    "Policy",
    "LearningPolicy",
    "AgentAwarePolicy",
    "PolicyKind",
    "DecisionConfig",
    "RandomPolicy",
    "RulePolicy",
    "make_policy",
]


def make_policy(kind: PolicyKind, decision_config: DecisionConfig, agent_type: AgentType,
                obs_shape: tuple[int, ...], seed: int) -> Policy:
    """The policy of ``kind`` for one agent type, seeded with ``seed``.

    DDQN and PPO import torch here, on first use, so a run without learning policies never
    loads it. Their checkpoints are named ``<type>_<kind>`` (e.g. ``system_ddqn.pt``).
    """
    if kind is PolicyKind.RANDOM:
        return RandomPolicy(agent_type, seed)
    if kind is PolicyKind.RULE:
        return RulePolicy(agent_type)
    name = f"{AgentType(agent_type).name.lower()}_{kind.value}"
    if kind is PolicyKind.DDQN:
        from farm.decision.ddqn import DDQNPolicy

        return DDQNPolicy(decision_config, obs_shape, seed, name=name)
    if kind is PolicyKind.PPO:
        from farm.decision.ppo import PPOPolicy

        return PPOPolicy(decision_config, obs_shape, seed, name=name)
    raise ValueError(f"decision policy {kind!r} is not available in this build")
