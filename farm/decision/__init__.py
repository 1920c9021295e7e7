"""Policies that choose actions, and the factory the step loop uses."""

from __future__ import annotations

from farm.core.state import AgentType
from farm.decision.base import LearningPolicy, Policy
from farm.decision.config import DecisionConfig, PolicyKind
from farm.decision.random_policy import RandomPolicy
from farm.decision.rule_policy import RulePolicy

__all__ = ["Policy", "LearningPolicy", "PolicyKind", "DecisionConfig", "RandomPolicy", "RulePolicy", "make_policy"]


def make_policy(kind: PolicyKind, decision_config: DecisionConfig, agent_type: AgentType,
                obs_shape: tuple[int, ...], seed: int) -> Policy:
    """The policy of ``kind`` for one agent type, seeded with ``seed``."""
    if kind is PolicyKind.RANDOM:
        return RandomPolicy(agent_type, seed)
    if kind is PolicyKind.RULE:
        return RulePolicy(agent_type)
    raise ValueError(f"decision policy {kind!r} is not available in this build")
