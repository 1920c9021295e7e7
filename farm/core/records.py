"""What the loop hands to the log stage each step: plain numpy columns, no row objects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["StepLog", "InteractionKind"]

from enum import IntEnum


class InteractionKind(IntEnum):
    """Kinds of the ``interactions`` rows. GATHER targets a resource node index."""

    GATHER = 0
    SHARE = 1
    ATTACK = 2
    REPRODUCE = 3


@dataclass(frozen=True)
class StepLog:
    """Everything one step produced, as columns.

    Per-agent columns describe the ``n`` agents that acted this step (including those that died
    during it), in row order, after the act stage.

    Attributes:
        step: step number, 0-based.
        agent_ids: ``(n,) int64``.
        agent_types: ``(n,) int8``.
        positions: ``(n, 2) float64``.
        resources, health, rewards: ``(n,) float64``.
        starvation: ``(n,) int32``.
        actions: ``(n,) int8`` :class:`~farm.core.actions.Action` values.
        action_targets: ``(n,) int64`` target agent id (SHARE, ATTACK), resource node index
            (GATHER), child id (REPRODUCE), else -1.
        action_success: ``(n,) bool``.
        born_ids, born_types, born_parent_ids, born_generations: newborns this step ``(b,)``.
        died_ids: ``(d,)`` agents that died this step.
        interaction_sources, interaction_targets: ``(k,) int64``; interaction_kinds ``(k,) int8``
            :class:`InteractionKind`; interaction_amounts ``(k,) float64``.
        resource_amounts: ``(m,) float64`` node amounts after regeneration, or None on steps
            the resource interval skips.
        population_by_type: ``(3,) int64`` after the step.
        total_resources: resources held by agents plus those in nodes, after the step.
        step_duration: wall seconds of the step so far (observe..update index).
        training_metrics: agent-type name -> metric name -> value, for steps that trained.
    """

    step: int
    agent_ids: np.ndarray
    agent_types: np.ndarray
    positions: np.ndarray
    resources: np.ndarray
    health: np.ndarray
    starvation: np.ndarray
    rewards: np.ndarray
    actions: np.ndarray
    action_targets: np.ndarray
    action_success: np.ndarray
    born_ids: np.ndarray
    born_types: np.ndarray
    born_parent_ids: np.ndarray
    born_generations: np.ndarray
    died_ids: np.ndarray
    interaction_sources: np.ndarray
    interaction_targets: np.ndarray
    interaction_kinds: np.ndarray
    interaction_amounts: np.ndarray
    resource_amounts: np.ndarray | None
    population_by_type: np.ndarray
    total_resources: float
    step_duration: float
    training_metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def mean_reward(self) -> float:
        """Mean reward of the agents that acted (0.0 when none did)."""
        return float(self.rewards.mean()) if self.rewards.size else 0.0
