"""Agent-centred multi-channel views (simple form: four channels, nearest-cell resources).

A view is ``(C, S, S) float32`` with ``S = 2R + 1``; cell ``[c, R + dy, R + dx]`` covers the world
cell ``dx`` columns right of and ``dy`` rows above the agent's own cell, where world cell
``(floor(x), floor(y))`` holds position ``(x, y)``. Cells outside the world read 0.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from farm.core.state import ALLY_MATRIX, AgentState
from farm.observation.config import ObservationConfig

__all__ = ["Channel", "GridObservationBuilder", "make_observation_builder", "ObservationConfig"]


class Channel(IntEnum):
    SELF_HP = 0
    ALLIES_HP = 1
    ENEMIES_HP = 2
    RESOURCES = 3


class GridObservationBuilder:
    """Splats entities onto padded world grids, then crops every agent's window in one gather.

    Health is divided by ``max_health`` and resource amounts by the node maximum.
    """

    def __init__(self, config: ObservationConfig, world, state: AgentState, resources, max_health: float = 100.0) -> None:
        self.config = config
        self.state = state
        self.resources = resources
        self.max_health = float(max_health)
        self.radius = config.radius
        self.cols = int(np.ceil(world.width))
        self.rows = int(np.ceil(world.height))
        pad = self.radius
        self._padded_shape = (self.rows + 2 * pad, self.cols + 2 * pad)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(Channel), self.config.size, self.config.size)

    def _cells(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Padded-grid row/col of the cell holding each ``(k, 2)`` position."""
        col = np.minimum(positions[:, 0].astype(np.int64), self.cols - 1) + self.radius
        row = np.minimum(positions[:, 1].astype(np.int64), self.rows - 1) + self.radius
        return row, col

    def _splat(self, row: np.ndarray, col: np.ndarray, values: np.ndarray, layers: np.ndarray | None = None,
               num_layers: int = 1) -> np.ndarray:
        h, w = self._padded_shape
        flat = row * w + col
        if layers is not None:
            flat = flat + layers.astype(np.int64) * (h * w)
        grid = np.bincount(flat, weights=values, minlength=num_layers * h * w)
        return grid.reshape(num_layers, h, w)

    def build(self, agent_ids: np.ndarray | None = None) -> np.ndarray:
        """``(n, C, S, S) float32`` views of ``agent_ids`` (None: every live agent, row order)."""
        state = self.state
        alive = state.alive
        rows_all, cols_all = self._cells(state.positions)
        hp = np.where(alive, state.health / self.max_health, 0.0)
        per_type = self._splat(rows_all, cols_all, hp, state.agent_types, num_layers=len(ALLY_MATRIX))
        total = per_type.sum(axis=0)
        allies_by_observer = np.tensordot(ALLY_MATRIX.astype(np.float64), per_type, axes=1)  # [3, h, w]
        enemies_by_observer = total[None] - allies_by_observer
        r_row, r_col = self._cells(self.resources.positions)
        resource_grid = self._splat(r_row, r_col, self.resources.amounts / self.resources.max_amount)[0]

        sel = np.arange(len(state)) if agent_ids is None else state.rows_of(agent_ids)
        row, col, types = rows_all[sel] - self.radius, cols_all[sel] - self.radius, state.agent_types[sel]
        size = self.config.size
        n = sel.shape[0]
        out = np.zeros((n,) + self.shape, dtype=np.float32)
        if n == 0:
            return out
        windows = sliding_window_view(allies_by_observer, (size, size), axis=(1, 2))
        out[:, Channel.ALLIES_HP] = windows[types, row, col]
        windows = sliding_window_view(enemies_by_observer, (size, size), axis=(1, 2))
        out[:, Channel.ENEMIES_HP] = windows[types, row, col]
        out[:, Channel.RESOURCES] = sliding_window_view(resource_grid, (size, size))[row, col]
        # The agent itself sits at the centre of its own view: move it from the ally or enemy
        # layer (whichever its own type counts it in) to SELF_HP.
        centre = self.radius
        own = hp[sel].astype(np.float32)
        out[:, Channel.SELF_HP, centre, centre] = own
        self_is_ally = ALLY_MATRIX[types, types]
        out[self_is_ally, Channel.ALLIES_HP, centre, centre] -= own[self_is_ally]
        out[~self_is_ally, Channel.ENEMIES_HP, centre, centre] -= own[~self_is_ally]
        np.maximum(out, 0.0, out=out)  # float32 cancellation can leave -0.0 / tiny negatives
        return out


def make_observation_builder(config: ObservationConfig, world, state: AgentState, resources, max_health: float = 100.0):
    """The builder the step loop uses."""
    return GridObservationBuilder(config, world, state, resources, max_health)
