"""What the stages of one step hand to each other: frozen records of plain numpy arrays.

``observe`` picks :class:`ActionTargets`; each rule of :mod:`farm.core.rules` returns its own
record (:class:`Movement`, :class:`Gathering`, :class:`Sharing`, :class:`Attacks`,
:class:`Upkeep`); ``act`` composes them into an :class:`ActOutcome`, which ``learn`` and
``log_step`` read; ``learn`` returns a :class:`LearnOutcome`.

Rows are the rows of :class:`~farm.core.state.AgentState` at the start of the act stage
(before dead agents are dropped and newborns appended). The records are frozen, but numpy arrays
inside them are not copied: treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from farm.core.records import InteractionKind

__all__ = [
    "ActionTargets",
    "Movement",
    "Gathering",
    "Sharing",
    "Attacks",
    "Upkeep",
    "Interactions",
    "ActOutcome",
    "LearnOutcome",
]

_EMPTY_I64 = np.zeros(0, dtype=np.int64)
_EMPTY_F64 = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ActionTargets:
    """Each agent's target for every targeted action, chosen by ``observe``; -1 where none.

    Attributes:
        move: ``(n,) int64`` nearest non-empty resource node within perception (node index).
        gather: ``(n,) int64`` nearest non-empty resource node within gather range (node index).
        ally: ``(n,) int64`` row of the nearest ally within share range.
        enemy: ``(n,) int64`` row of the nearest non-ally within attack range.
    """

    move: np.ndarray
    gather: np.ndarray
    ally: np.ndarray
    enemy: np.ndarray

    @classmethod
    def none(cls, n: int) -> "ActionTargets":
        """Targets for ``n`` agents, all -1.

        Args:
            n: number of agents.

        Returns:
            An :class:`ActionTargets` whose four arrays are ``(n,) int64`` filled with -1.
        """
        empty = np.full(n, -1, dtype=np.int64)
        return cls(move=empty, gather=empty, ally=empty, enemy=empty)


@dataclass(frozen=True, eq=False)
class Movement:
    """Result of :func:`farm.core.rules.move`.

    Attributes:
        rows: ``(k,) int64`` the moving agents.
        positions: ``(k, 2) float64`` their positions after the move.
        success: ``(k,) bool`` True where the position changed.
    """

    rows: np.ndarray
    positions: np.ndarray
    success: np.ndarray


@dataclass(frozen=True, eq=False)
class Gathering:
    """Result of :func:`farm.core.rules.gather`.

    Attributes:
        rows: ``(k,) int64`` the gathering agents.
        nodes: ``(k,) int64`` the node each one gathers from.
        granted: ``(k,) float64`` what each one receives.
        drawn_nodes: ``(u,) int64`` the distinct nodes gathered from, ascending.
        taken: ``(u,) float64`` what each of those nodes loses (``granted`` summed per node).
    """

    rows: np.ndarray
    nodes: np.ndarray
    granted: np.ndarray
    drawn_nodes: np.ndarray
    taken: np.ndarray


@dataclass(frozen=True, eq=False)
class Sharing:
    """Result of :func:`farm.core.rules.share`.

    Attributes:
        rows: ``(k,) int64`` the giving agents.
        receivers: ``(k,) int64`` the row each one gives to.
        gifts: ``(k,) float64`` what each one gives.
        received: ``(n,) float64`` what every agent receives, summed over givers.
    """

    rows: np.ndarray
    receivers: np.ndarray
    gifts: np.ndarray
    received: np.ndarray


@dataclass(frozen=True, eq=False)
class Attacks:
    """Result of :func:`farm.core.rules.attack`.

    Attributes:
        rows: ``(k,) int64`` the attacking agents.
        victims: ``(k,) int64`` the row each one hits.
        damage: ``(k,) float64`` the damage of each hit after defence.
        damage_taken: ``(n,) float64`` damage every agent takes, summed over hits.
    """

    rows: np.ndarray
    victims: np.ndarray
    damage: np.ndarray
    damage_taken: np.ndarray


@dataclass(frozen=True, eq=False)
class Upkeep:
    """Result of :func:`farm.core.rules.death`: consumption, starvation and death.

    Attributes:
        resources: ``(n,) float64`` resources after consumption (never negative).
        starvation: ``(n,) int32`` updated starvation counters.
        died: ``(n,) bool`` agents that die this step.
    """

    resources: np.ndarray
    starvation: np.ndarray
    died: np.ndarray


@dataclass(frozen=True, eq=False)
class Interactions:
    """One row per agent-to-target interaction of a step.

    Rows come in the order gather, share, attack, reproduce.

    Attributes:
        sources: ``(k,) int64`` acting agent ids.
        targets: ``(k,) int64`` node index (GATHER), agent id (SHARE, ATTACK), child id
            (REPRODUCE).
        kinds: ``(k,) int8`` :class:`~farm.core.records.InteractionKind` values.
        amounts: ``(k,) float64`` resources gathered or given, damage dealt, or cost paid.
    """

    sources: np.ndarray = field(default_factory=lambda: _EMPTY_I64)
    targets: np.ndarray = field(default_factory=lambda: _EMPTY_I64)
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    amounts: np.ndarray = field(default_factory=lambda: _EMPTY_F64)

    @classmethod
    def concatenate(
        cls, parts: list[tuple[np.ndarray, np.ndarray, InteractionKind, np.ndarray]]
    ) -> "Interactions":
        """Stack per-kind parts into columns.

        Args:
            parts: ``(sources (k_i,), targets (k_i,), kind, amounts (k_i,))`` per kind, in order.

        Returns:
            The concatenated :class:`Interactions` (empty columns when ``parts`` is empty).
        """
        if not parts:
            return cls()
        return cls(
            sources=np.concatenate([p[0] for p in parts]).astype(np.int64),
            targets=np.concatenate([p[1] for p in parts]).astype(np.int64),
            kinds=np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts]),
            amounts=np.concatenate([p[3] for p in parts]).astype(np.float64),
        )


@dataclass(frozen=True, eq=False)
class ActOutcome:
    """What the act stage did, with births and deaths.

    Per-agent columns hold the acting agents as they were at the end of the stage, before dead
    rows were dropped and newborns appended.

    Attributes:
        agent_ids: ``(n,) int64`` ids of the agents that acted.
        agent_types: ``(n,) int8``.
        positions: ``(n, 2) float64`` after moving.
        resources: ``(n,) float64`` after every rule and consumption.
        health: ``(n,) float64`` after attacks.
        starvation: ``(n,) int32`` updated counters.
        actions: ``(n,) int64`` the actions chosen by ``decide``.
        action_targets: ``(n,) int64`` node index (GATHER), agent id (SHARE, ATTACK), child id
            (REPRODUCE), else -1.
        action_success: ``(n,) bool``.
        rewards: ``(n,) float64`` what each action earned (see :func:`farm.core.rules.reward`).
        died: ``(n,) bool`` agents that died this step.
        died_ids: ``(d,) int64``.
        born_ids, born_types, born_parent_ids, born_generations: newborns ``(b,)``; int64, int8,
            int64, int32.
        interactions: this step's :class:`Interactions`.
        moved_rows: ``(m,) int64`` rows (before compaction) of the agents that moved.
        population_changed: True when agents died or were born (rows were renumbered).
    """

    agent_ids: np.ndarray
    agent_types: np.ndarray
    positions: np.ndarray
    resources: np.ndarray
    health: np.ndarray
    starvation: np.ndarray
    actions: np.ndarray
    action_targets: np.ndarray
    action_success: np.ndarray
    rewards: np.ndarray
    died: np.ndarray
    died_ids: np.ndarray
    born_ids: np.ndarray
    born_types: np.ndarray
    born_parent_ids: np.ndarray
    born_generations: np.ndarray
    interactions: Interactions
    moved_rows: np.ndarray
    population_changed: bool


@dataclass(frozen=True, eq=False)
class LearnOutcome:
    """What the learn stage did.

    Attributes:
        training_metrics: agent-type name -> metric name -> value, for policies that trained.
    """

    training_metrics: dict[str, dict[str, float]] = field(default_factory=dict)
