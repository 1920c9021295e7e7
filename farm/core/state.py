"""Agent state as a structure of arrays.

Rows are the agents alive at the start of a step. Within a step an agent may be flagged dead
(``alive[i] = False``); at the end of the step :meth:`AgentState.compact` drops dead rows and
:meth:`AgentState.append` adds newborns. Agent ids are stable, strictly increasing in row order
and never reused, so ``np.searchsorted(state.ids, ids)`` maps ids to rows.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

__all__ = ["AgentType", "AgentState", "ALLY_MATRIX", "NUM_AGENT_TYPES"]


class AgentType(IntEnum):
    """The three agent populations of AgentFarm."""

    SYSTEM = 0
    INDEPENDENT = 1
    CONTROL = 2


# The number of agent types: the length of every per-type column (population counts, policies).
NUM_AGENT_TYPES = len(AgentType)

# ALLY_MATRIX[a, b] is True when an agent of type a counts an agent of type b as an ally.
# System agents cooperate with system agents, control agents with control agents;
# independent agents have no allies.
ALLY_MATRIX = np.array(
    [
        [True, False, False],
        [False, False, False],
        [False, False, True],
    ]
)

_FIELDS: dict[str, tuple[type, tuple[int, ...]]] = {
    "ids": (np.int64, ()),
    "positions": (np.float64, (2,)),
    "resources": (np.float64, ()),
    "health": (np.float64, ()),
    "starvation": (np.int32, ()),
    "age": (np.int32, ()),
    "generation": (np.int32, ()),
    "parent_ids": (np.int64, ()),
    "agent_types": (np.int8, ()),
    "alive": (np.bool_, ()),
}


class AgentState:
    """Structure-of-arrays state of the live agents.

    Attributes:
        ids: ``(n,) int64`` stable agent ids, strictly increasing.
        positions: ``(n, 2) float64`` world coordinates ``(x, y)``.
        resources: ``(n,) float64`` resource level (never negative).
        health: ``(n,) float64`` health in ``[0, max_health]``.
        starvation: ``(n,) int32`` consecutive steps spent with no resources.
        age: ``(n,) int32`` steps lived.
        generation: ``(n,) int32`` 0 for initial agents, parent's + 1 for offspring.
        parent_ids: ``(n,) int64`` parent's id, -1 for initial agents.
        agent_types: ``(n,) int8`` :class:`AgentType` values.
        alive: ``(n,) bool`` False only between a death and the end-of-step compaction.
        next_id: the id the next newborn gets.
    """

    FIELDS = tuple(_FIELDS)

    def __init__(self) -> None:
        """An empty state (no agents; the first newborn gets id 0)."""
        for name, (dtype, tail) in _FIELDS.items():
            setattr(self, name, np.empty((0,) + tail, dtype=dtype))
        self.next_id = 0

    def __len__(self) -> int:
        """Number of rows (agents alive at the start of the step)."""
        return int(self.ids.shape[0])

    @property
    def count(self) -> int:
        """Number of rows, as ``len(state)``."""
        return len(self)

    def rows_of(self, agent_ids: np.ndarray) -> np.ndarray:
        """Rows of ``agent_ids`` (each must be present). ``(k,) int64``."""
        agent_ids = np.asarray(agent_ids, dtype=np.int64)
        rows = np.searchsorted(self.ids, agent_ids)
        if rows.size and (np.any(rows >= len(self)) or np.any(self.ids[np.minimum(rows, len(self) - 1)] != agent_ids)):
            missing = agent_ids[(rows >= len(self)) | (self.ids[np.minimum(rows, max(len(self) - 1, 0))] != agent_ids)]
            raise KeyError(f"agent ids not alive: {missing[:5].tolist()}")
        return rows

    def append(
        self,
        positions: np.ndarray,
        agent_types: np.ndarray,
        resources: np.ndarray,
        health: np.ndarray,
        generation: np.ndarray,
        parent_ids: np.ndarray,
    ) -> np.ndarray:
        """Add ``k`` new agents with fresh ids; returns their ids ``(k,) int64``."""
        k = int(np.asarray(agent_types).shape[0])
        new_ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        new = {
            "ids": new_ids,
            "positions": np.asarray(positions, dtype=np.float64).reshape(k, 2),
            "resources": np.asarray(resources, dtype=np.float64),
            "health": np.asarray(health, dtype=np.float64),
            "starvation": np.zeros(k, dtype=np.int32),
            "age": np.zeros(k, dtype=np.int32),
            "generation": np.asarray(generation, dtype=np.int32),
            "parent_ids": np.asarray(parent_ids, dtype=np.int64),
            "agent_types": np.asarray(agent_types, dtype=np.int8),
            "alive": np.ones(k, dtype=np.bool_),
        }
        for name in self.FIELDS:
            setattr(self, name, np.concatenate([getattr(self, name), new[name]]))
        return new_ids

    def compact(self) -> np.ndarray:
        """Drop rows whose ``alive`` flag is False; returns the dropped ids."""
        keep = self.alive
        if keep.all():
            return np.empty(0, dtype=np.int64)
        dropped = self.ids[~keep]
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name)[keep])
        return dropped

    def copy(self) -> "AgentState":
        """A deep copy: every array copied, same ``next_id``."""
        other = AgentState()
        for name in self.FIELDS:
            setattr(other, name, getattr(self, name).copy())
        other.next_id = self.next_id
        return other

    def equals(self, other: "AgentState") -> bool:
        """Bit-for-bit equality of every array and of ``next_id``."""
        return self.next_id == other.next_id and all(
            np.array_equal(getattr(self, n), getattr(other, n)) for n in self.FIELDS
        )

    def population_by_type(self) -> np.ndarray:
        """Live agents per :class:`AgentType`.

        Returns:
            ``(NUM_AGENT_TYPES,) int64`` counts, indexed by type value.
        """
        return np.bincount(self.agent_types[self.alive], minlength=NUM_AGENT_TYPES).astype(np.int64)
