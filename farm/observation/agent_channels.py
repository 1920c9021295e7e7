"""Agent channels (INSTANT): SELF_HP, ALLIES_HP, ENEMIES_HP.

Values are health / ``max_health``, placed on the cell that holds each agent (nearest cell) and
summed when several agents share a cell.

- SELF_HP: the observer's own health at the centre cell ``(R, R)``, zero elsewhere.
- ALLIES_HP: health of live agents the observer counts as allies (``ALLY_MATRIX[observer_type,
  other_type]``), the observer itself excluded.
- ENEMIES_HP: health of every other live agent (not allies), the observer itself excluded.

Batched layout: three layers per channel, one per observer type ``t``; layer ``t`` sums the
health of agents of every type ``b`` with ``ALLY_MATRIX[t, b]`` (ALLIES) or not (ENEMIES). Each
observer reads its type's layer and subtracts its own health at the centre when its own type is
in that layer.
"""

from __future__ import annotations

import numpy as np

from farm.core.state import ALLY_MATRIX
from farm.observation.channel import Channel, ChannelLifetime, ObservationContext
from farm.observation.registry import register_channel

__all__ = ["SelfHealth", "AlliesHealth", "EnemiesHealth"]

_TYPES = ALLY_MATRIX.shape[0]


def _member_sums(members: tuple[tuple[int, ...], ...], per_type: np.ndarray) -> np.ndarray:
    """Sums of the member types' rows: ``(T, k) float64``.

    Row t sums the rows s in ``members[t]`` (increasing type indices) of ``per_type (T, k)``,
    added in increasing s (the order of a matrix product ``membership @ per_type``, whose 0/1
    terms are exact); zeros where t has no member type.
    """
    out = np.zeros_like(per_type)
    for t, types in enumerate(members):
        if types:
            total = per_type[types[0]].copy()
            for s in types[1:]:
                total += per_type[s]
            out[t] = total
    return out


def _health_per_type_and_cell(context: ObservationContext) -> tuple[np.ndarray, np.ndarray]:
    """This build's occupied cells and the health in them per agent type.

    Returns ``(occupied (k,) int64 flat padded cells, per_type (T, k) float64)``: the health /
    max_health of live agents of type t in cell ``occupied[j]``, summed in agent order. Computed
    once per build (keyed by the build's ``agent_cells``) and shared by ALLIES_HP and ENEMIES_HP.
    """
    per_build = context.per_build
    agent_cells = per_build["agent_cells"]
    cached = per_build.get("health_per_type_and_cell")
    if cached is None or cached[0] is not agent_cells:
        state = context.state
        live = state.alive
        types = state.agent_types[live].astype(np.intp)
        all_gy, all_gx = agent_cells
        flat = context.grid.padded_flat(all_gy[live], all_gx[live])
        health = state.health[live] / context.max_health
        occupied, slot = np.unique(flat, return_inverse=True)  # (k,), (n,)
        k = occupied.size
        per_type = np.bincount(types * k + slot, health, minlength=_TYPES * k).reshape(_TYPES, k)
        cached = (agent_cells, occupied, per_type)
        per_build["health_per_type_and_cell"] = cached
    return cached[1], cached[2]


class SelfHealth(Channel):
    """The observer's own health / max_health at the centre cell."""

    lifetime = ChannelLifetime.INSTANT
    layer_count = 0

    def finish(self, windows: np.ndarray, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> None:
        """Write each observer's health / max_health at the centre cell of its window, in place."""
        r = self.context.grid.radius
        windows[:, r, r] = self.context.state.health[rows] / self.context.max_health

    def reference(self, row: int) -> np.ndarray:
        """``(S, S) float64`` window with the agent's health / max_health at the centre, else 0."""
        s = self.context.grid.size
        out = np.zeros((s, s))
        out[s // 2, s // 2] = self.context.state.health[row] / self.context.max_health
        return out


class _TeamHealth(Channel):
    """Shared code of ALLIES_HP (``allies=True``) and ENEMIES_HP."""

    lifetime = ChannelLifetime.INSTANT
    layer_count = _TYPES
    allies = True

    def bind(self, layers: np.ndarray) -> None:
        super().bind(layers)
        membership = ALLY_MATRIX if self.allies else ~ALLY_MATRIX  # [observer, other]
        self._members = tuple(tuple(np.flatnonzero(row).tolist()) for row in membership)
        # Flat cells the last refresh wrote: the first ``_written_count`` entries of a buffer
        # reused from build to build (it grows only with the number of occupied cells), so a
        # build allocates nothing that outlives it.
        self._written = np.empty(0, dtype=np.int64)
        self._written_count = 0

    def _member(self, observer_type: int, other_types: np.ndarray) -> np.ndarray:
        row = ALLY_MATRIX[observer_type]
        return row[other_types] if self.allies else ~row[other_types]

    def refresh(self) -> None:
        # Only occupied cells are non-zero: clear the cells the previous refresh wrote, then
        # write the new ones. Health per (agent type, occupied cell) in one bincount (agent order
        # within a bin, as over the whole layer), then layer t sums the types t counts as
        # members, in type order: O(agents), not O(world cells).
        occupied, per_type = _health_per_type_and_cell(self.context)
        k = occupied.size
        layers = self.layers.reshape(_TYPES, -1)
        layers[:, self._written[: self._written_count]] = 0.0
        layers[:, occupied] = _member_sums(self._members, per_type)
        if self._written.size < k:
            self._written = np.empty(max(k, 2 * self._written.size), dtype=np.int64)
        self._written[:k] = occupied
        self._written_count = k

    def observer_layer(self, agent_types: np.ndarray) -> np.ndarray:
        return agent_types

    def finish(self, windows: np.ndarray, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> None:
        state = self.context.state
        types = state.agent_types[rows].astype(np.intp)
        self_member = ALLY_MATRIX[types, types] if self.allies else ~ALLY_MATRIX[types, types]
        r = self.context.grid.radius
        own = (state.health[rows] / self.context.max_health).astype(np.float32)
        centre = windows[:, r, r] - np.where(self_member, own, np.float32(0))
        # float32 cancellation may leave a tiny negative where only the observer stands.
        windows[:, r, r] = np.maximum(centre, np.float32(0))

    def reference(self, row: int) -> np.ndarray:
        ctx = self.context
        state = ctx.state
        grid = ctx.grid
        r = grid.radius
        s = grid.size
        out = np.zeros((s, s))
        observer_type = int(state.agent_types[row])
        cy, cx = (int(v[0]) for v in grid.cells_of(state.positions[row : row + 1]))
        for other in range(len(state)):
            if other == row or not state.alive[other]:
                continue
            is_ally = bool(ALLY_MATRIX[observer_type, int(state.agent_types[other])])
            if is_ally != self.allies:
                continue
            oy, ox = (int(v[0]) for v in grid.cells_of(state.positions[other : other + 1]))
            i, j = oy - cy + r, ox - cx + r
            if 0 <= i < s and 0 <= j < s:
                out[i, j] += state.health[other] / ctx.max_health
        return out


class AlliesHealth(_TeamHealth):
    """Health of the observer's allies (self excluded)."""

    allies = True


class EnemiesHealth(_TeamHealth):
    """Health of every other agent that is not an ally (self excluded)."""

    allies = False


register_channel("SELF_HP", SelfHealth)
register_channel("ALLIES_HP", AlliesHealth)
register_channel("ENEMIES_HP", EnemiesHealth)
