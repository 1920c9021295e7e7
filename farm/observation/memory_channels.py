"""Memory channels (PERSISTENT): TRAILS, DAMAGE_HEAT, ALLY_SIGNAL, KNOWN_EMPTY.

Each is a world-sized layer (or one per observer type) updated once per step by
:meth:`~farm.observation.builder.ObservationBuilder.end_step` from that step's
:class:`~farm.core.records.StepLog`: every value first decays, ``value *= 1 - decay`` (the
channel's ``*_decay`` config), then the step's deposits are added and the result is capped at 1.

- TRAILS: each agent whose MOVE succeeded deposits 1 on the cell it moved to (one layer, all
  agents).
- DAMAGE_HEAT: each ATTACK interaction deposits ``damage / max_health`` on the target's cell
  (one layer: everyone sees where fighting happens).
- ALLY_SIGNAL: each agent that chose SHARE or DEFEND deposits 1 on its cell in the layer of every
  observer type that counts it as an ally (``ALLY_MATRIX``); an observer reads its type's layer
  (independent agents have no allies and read zeros).
- KNOWN_EMPTY: team memory of cells seen empty. For observer type ``t``, a cell is *seen* in a
  step when it lies within ``visibility_radius`` of the cell of an agent of type ``t`` or of one
  of ``t``'s allies. Seen cells holding no resource (no node with a positive amount, nearest
  cell) become 1, seen cells holding one become 0, unseen cells decay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from farm.core.actions import Action
from farm.core.records import InteractionKind
from farm.core.state import ALLY_MATRIX
from farm.observation.channel import Channel, ChannelLifetime
from farm.observation.registry import register_channel

if TYPE_CHECKING:
    from farm.core.records import StepLog

__all__ = ["Trails", "DamageHeat", "AllySignal", "KnownEmpty"]

_TYPES = ALLY_MATRIX.shape[0]
# _TEAM_MATRIX[t, b]: agents of type b belong to observer type t's team (its own type or an ally).
_TEAM_MATRIX = np.eye(_TYPES, dtype=bool) | ALLY_MATRIX


class _Memory(Channel):
    lifetime = ChannelLifetime.PERSISTENT
    decay_field = ""

    @property
    def decay(self) -> float:
        return float(getattr(self.context.config, self.decay_field))

    def log_cells(self, step_log: "StepLog") -> tuple[np.ndarray, np.ndarray]:
        """Cells ``(gy, gx)`` of every row of ``step_log``, computed once per log for all channels."""
        cached = self.context.per_build.get("log_cells")
        if cached is None or cached[0] is not step_log:
            cached = (step_log, *self.context.grid.cells_of(step_log.positions))
            self.context.per_build["log_cells"] = cached  # the memory channels of one step share it
        return cached[1], cached[2]

    def deposit(self, layer_index: np.ndarray, positions: np.ndarray, amounts: np.ndarray) -> None:
        """Decay every layer, add ``amounts`` at ``positions`` into ``layer_index``, cap at 1."""
        gy, gx = self.context.grid.cells_of(positions)
        self.deposit_cells(layer_index, gy, gx, amounts)

    def deposit_cells(self, layer_index: np.ndarray, gy: np.ndarray, gx: np.ndarray, amounts: np.ndarray) -> None:
        """:meth:`deposit` at world cells ``(gy, gx)`` (each ``(k,) int64``) instead of positions."""
        grid = self.context.grid
        layers = self.layers
        cells = layers.shape[1] * layers.shape[2]
        layers *= np.float32(1.0 - self.decay)
        if len(gy):
            index = np.asarray(layer_index, dtype=np.int64) * cells + grid.padded_flat(gy, gx)
            added = np.bincount(index, np.asarray(amounts, dtype=np.float64), minlength=len(layers) * cells)
            layers.reshape(-1)[:] += added.astype(np.float32)
        np.minimum(layers, np.float32(1.0), out=layers)


class Trails(_Memory):
    """Where agents moved recently."""

    decay_field = "trails_decay"

    def end_step(self, step_log: "StepLog") -> None:
        """Deposit 1 at the positions of the agents that moved successfully this step."""
        moved = np.flatnonzero((step_log.actions == Action.MOVE) & step_log.action_success)
        gy, gx = self.log_cells(step_log)
        self.deposit_cells(np.zeros(moved.size, dtype=np.int64), gy[moved], gx[moved], np.ones(moved.size))


class DamageHeat(_Memory):
    """Where damage was dealt recently."""

    decay_field = "damage_heat_decay"

    def end_step(self, step_log: "StepLog") -> None:
        """Deposit, at each attacked agent's position, the damage it took / max_health."""
        attacks = step_log.interaction_kinds == InteractionKind.ATTACK
        targets = step_log.interaction_targets[attacks]
        rows = np.searchsorted(step_log.agent_ids, targets)
        rows = np.minimum(rows, max(len(step_log.agent_ids) - 1, 0))
        found = (step_log.agent_ids[rows] == targets) if len(step_log.agent_ids) else np.zeros(0, dtype=bool)
        amounts = step_log.interaction_amounts[attacks][found] / self.context.max_health
        gy, gx = self.log_cells(step_log)
        hit = rows[found]
        self.deposit_cells(np.zeros(len(amounts), dtype=np.int64), gy[hit], gx[hit], amounts)


class AllySignal(_Memory):
    """Where the observer's allies shared or defended recently."""

    decay_field = "ally_signal_decay"
    layer_count = _TYPES

    def observer_layer(self, agent_types: np.ndarray) -> np.ndarray:
        """Each observer reads the layer of its own type: ``(n,) int``."""
        return agent_types

    def end_step(self, step_log: "StepLog") -> None:
        """Deposit 1 where agents shared or defended, in the layer of every type allied with them."""
        signal = np.flatnonzero((step_log.actions == Action.SHARE) | (step_log.actions == Action.DEFEND))
        types = step_log.agent_types[signal].astype(np.intp)
        # Every (observer type t, signalling agent b) pair with ALLY_MATRIX[t, type of b], by t
        # then b: the layer each deposit goes to and the log row it comes from.
        layer_index, pick = np.nonzero(ALLY_MATRIX[:, types])
        agent = signal[pick]  # log rows
        gy, gx = self.log_cells(step_log)
        self.deposit_cells(layer_index, gy[agent], gx[agent], np.ones(len(agent)))


class KnownEmpty(_Memory):
    """Team memory of cells recently seen without resources."""

    decay_field = "known_empty_decay"
    layer_count = _TYPES

    def observer_layer(self, agent_types: np.ndarray) -> np.ndarray:
        """Each observer reads the layer of its own type: ``(n,) int``."""
        return agent_types

    _nodes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (positions, gy, gx)

    def _node_cells(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells ``(gy, gx)`` of the resource nodes at ``positions (m, 2)``, each ``(m,) int64``.

        Kept from step to step while the nodes stay where they are.
        """
        nodes = self._nodes
        if nodes is None or not np.array_equal(nodes[0], positions):
            nodes = (positions.copy(), *self.context.grid.cells_of(positions))
            self._nodes = nodes
        return nodes[1], nodes[2]

    def end_step(self, step_log: "StepLog") -> None:
        """Decay each type's memory, then mark the cells its team sees now.

        Seen cells without resources become 1, seen cells with resources 0.
        """
        grid = self.context.grid
        interior = self.interior  # (T, rows, cols)
        resources = self.context.resources
        amounts = np.asarray(resources.amounts, dtype=np.float64)
        ry, rx = self._node_cells(np.asarray(resources.positions, dtype=np.float64).reshape(-1, 2))
        has_resource = np.zeros((grid.rows, grid.cols), dtype=bool)
        nonempty = amounts > 0
        has_resource[ry[nonempty], rx[nonempty]] = True

        gy, gx = self.log_cells(step_log)
        types = step_log.agent_types.astype(np.intp)
        # Every (team, agent) pair at once: team t sees around its own agents and its allies'.
        team, agent = np.nonzero(_TEAM_MATRIX[:, types])  # [T, n] -> pairs
        seen = grid.cells_near_groups(team, gy[agent], gx[agent], self.context.config.view_radius, _TYPES)
        interior *= np.float32(1.0 - self.decay)
        # Seen cells: 1 without resources, 0 with; unseen cells keep their decayed value.
        np.copyto(interior, (~has_resource).astype(np.float32), where=seen)


register_channel("TRAILS", Trails)
register_channel("DAMAGE_HEAT", DamageHeat)
register_channel("ALLY_SIGNAL", AllySignal)
register_channel("KNOWN_EMPTY", KnownEmpty)
