"""World-feature channels (STATIC, filled once).

OBSTACLES, TERRAIN_COST, VISIBILITY, GOAL, LANDMARKS:

- OBSTACLES: 1 on cells outside the world (the world's edges are its only walls: the engine
  clips every move to the world), 0 inside.
- TERRAIN_COST: a smooth deterministic field in ``[0, 1]``: value noise drawn from
  ``feature_seed`` on a lattice ``terrain_scale`` cells apart, bilinearly interpolated at each
  cell centre. Outside the world: 1 (impassable).
- VISIBILITY: 1 on cells that lie inside the world and whose centre is within
  ``visibility_radius`` cells of the observer's cell centre (Euclidean), else 0.
- GOAL: ``max(0, 1 - d / diagonal)``, ``d`` the distance from the cell centre to ``goal`` (world
  centre by default), ``diagonal`` the world's diagonal: a gradient that rises toward the goal.
- LANDMARKS: 1 on each cell holding a landmark (``landmarks``, or ``landmark_count`` positions
  drawn uniformly from ``feature_seed``), else 0.
"""

from __future__ import annotations

import math

import numpy as np

from farm.observation.channel import Channel, ChannelLifetime, ObservationContext
from farm.observation.registry import register_channel

__all__ = ["Obstacles", "TerrainCost", "Visibility", "Goal", "Landmarks", "terrain_lattice", "landmark_positions"]

# Stream ids under ``feature_seed``: each static feature draws from its own generator.
_TERRAIN_STREAM = 0
_LANDMARK_STREAM = 1


def terrain_lattice(context: ObservationContext) -> np.ndarray:
    """``(ly, lx) float64`` lattice values in ``[0, 1)``.

    Lattice point ``(a, b)`` sits at cell coordinate ``(a * scale, b * scale)``.
    """
    cfg, grid = context.config, context.grid
    ly = int(math.ceil(grid.rows / cfg.terrain_scale)) + 2
    lx = int(math.ceil(grid.cols / cfg.terrain_scale)) + 2
    return np.random.default_rng([cfg.feature_seed, _TERRAIN_STREAM]).random((ly, lx))


def landmark_positions(context: ObservationContext) -> np.ndarray:
    """``(k, 2) float64`` landmark world positions."""
    cfg, grid = context.config, context.grid
    if cfg.landmarks:
        return np.asarray(cfg.landmarks, dtype=np.float64).reshape(-1, 2)
    rng = np.random.default_rng([cfg.feature_seed, _LANDMARK_STREAM])
    return rng.random((cfg.landmark_count, 2)) * np.array([grid.width, grid.height])


class _StaticChannel(Channel):
    lifetime = ChannelLifetime.STATIC

    def cell_value(self, gy: int, gx: int) -> float:
        """Value of in-world cell ``(gy, gx)``, by the plain definition (reference)."""
        raise NotImplementedError

    def reference(self, row: int) -> np.ndarray:
        grid = self.context.grid
        r, s = grid.radius, grid.size
        x, y = self.context.state.positions[row]
        cx = min(max(int(math.floor(x)), 0), grid.cols - 1)
        cy = min(max(int(math.floor(y)), 0), grid.rows - 1)
        out = np.full((s, s), self.pad_value)
        for i in range(s):
            for j in range(s):
                wy, wx = cy - r + i, cx - r + j
                if 0 <= wy < grid.rows and 0 <= wx < grid.cols:
                    out[i, j] = self.cell_value(wy, wx)
        return out


class Obstacles(_StaticChannel):
    """1 outside the world, 0 inside."""

    pad_value = 1.0

    def cell_value(self, gy: int, gx: int) -> float:
        """0: every in-world cell is free."""
        return 0.0


class TerrainCost(_StaticChannel):
    """Seeded smooth terrain cost in [0, 1]; 1 outside the world."""

    pad_value = 1.0

    def bind(self, layers: np.ndarray) -> None:
        """Fill the interior with the lattice bilinearly interpolated at each cell centre."""
        super().bind(layers)
        self._lattice = terrain_lattice(self.context)
        grid, scale = self.context.grid, self.context.config.terrain_scale
        v = (np.arange(grid.rows) + 0.5) / scale
        u = (np.arange(grid.cols) + 0.5) / scale
        y0, x0 = np.floor(v).astype(np.int64), np.floor(u).astype(np.int64)
        fy, fx = (v - y0)[:, None], (u - x0)[None, :]
        lat = self._lattice
        field = (
            lat[np.ix_(y0, x0)] * (1 - fy) * (1 - fx)
            + lat[np.ix_(y0, x0 + 1)] * (1 - fy) * fx
            + lat[np.ix_(y0 + 1, x0)] * fy * (1 - fx)
            + lat[np.ix_(y0 + 1, x0 + 1)] * fy * fx
        )
        self.interior[0] = field

    def cell_value(self, gy: int, gx: int) -> float:
        """The lattice bilinearly interpolated at the centre of cell ``(gy, gx)``."""
        scale = self.context.config.terrain_scale
        v, u = (gy + 0.5) / scale, (gx + 0.5) / scale
        y0, x0 = int(math.floor(v)), int(math.floor(u))
        fy, fx = v - y0, u - x0
        lat = self._lattice
        return float(
            lat[y0, x0] * (1 - fy) * (1 - fx)
            + lat[y0, x0 + 1] * (1 - fy) * fx
            + lat[y0 + 1, x0] * fy * (1 - fx)
            + lat[y0 + 1, x0 + 1] * fy * fx
        )


class Visibility(_StaticChannel):
    """1 on in-world cells within ``visibility_radius`` of the observer's cell, else 0."""

    def bind(self, layers: np.ndarray) -> None:
        """Fill the layer with 1 inside the world; the disk is applied per observer."""
        super().bind(layers)
        self.interior[0] = 1.0  # inside-world mask; the disk is applied per observer
        self._disk = self.context.grid.disk_mask(self.context.config.view_radius)

    def finish(self, windows: np.ndarray, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> None:
        """Multiply each window by the view disk, in place."""
        windows *= self._disk

    def reference(self, row: int) -> np.ndarray:
        """``(S, S) float64``: 1 on in-world cells within the view radius of the agent, else 0."""
        grid = self.context.grid
        r, s = grid.radius, grid.size
        radius = self.context.config.view_radius
        x, y = self.context.state.positions[row]
        cx = min(max(int(math.floor(x)), 0), grid.cols - 1)
        cy = min(max(int(math.floor(y)), 0), grid.rows - 1)
        out = np.zeros((s, s))
        for i in range(s):
            for j in range(s):
                wy, wx = cy - r + i, cx - r + j
                inside = 0 <= wy < grid.rows and 0 <= wx < grid.cols
                if inside and math.hypot(i - r, j - r) <= radius:
                    out[i, j] = 1.0
        return out


class Goal(_StaticChannel):
    """Closeness to the goal: ``max(0, 1 - distance / world diagonal)``."""

    def _goal(self) -> tuple[float, float]:
        grid = self.context.grid
        goal = self.context.config.goal
        return (grid.width / 2.0, grid.height / 2.0) if goal is None else goal

    def bind(self, layers: np.ndarray) -> None:
        """Fill the interior with the closeness to the goal of each cell centre."""
        super().bind(layers)
        grid = self.context.grid
        gx, gy = self._goal()
        ys = (np.arange(grid.rows) + 0.5)[:, None]
        xs = (np.arange(grid.cols) + 0.5)[None, :]
        diagonal = math.hypot(grid.width, grid.height)
        self.interior[0] = np.maximum(0.0, 1.0 - np.hypot(xs - gx, ys - gy) / diagonal)

    def cell_value(self, gy: int, gx: int) -> float:
        """Closeness to the goal of the centre of cell ``(gy, gx)``."""
        goal_x, goal_y = self._goal()
        grid = self.context.grid
        d = math.hypot(gx + 0.5 - goal_x, gy + 0.5 - goal_y)
        return max(0.0, 1.0 - d / math.hypot(grid.width, grid.height))


class Landmarks(_StaticChannel):
    """1 on cells that hold a landmark."""

    def bind(self, layers: np.ndarray) -> None:
        """Set 1 on the cell of each landmark."""
        super().bind(layers)
        self._positions = landmark_positions(self.context)
        gy, gx = self.context.grid.cells_of(self._positions)
        self.interior[0][gy, gx] = 1.0

    def cell_value(self, gy: int, gx: int) -> float:
        """1 if a landmark lies in cell ``(gy, gx)``, else 0."""
        grid = self.context.grid
        for x, y in self._positions:
            if min(max(int(math.floor(x)), 0), grid.cols - 1) == gx and min(
                max(int(math.floor(y)), 0), grid.rows - 1
            ) == gy:
                return 1.0
        return 0.0


register_channel("OBSTACLES", Obstacles)
register_channel("TERRAIN_COST", TerrainCost)
register_channel("VISIBILITY", Visibility)
register_channel("GOAL", Goal)
register_channel("LANDMARKS", Landmarks)
