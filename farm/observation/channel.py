"""What an observation channel is: world layers, a per-observer layer choice, a per-agent finish.

A channel contributes ``layer_count`` padded world layers (``(K, Hp, Wp)`` float32, see
:mod:`farm.observation.grid`) to the builder's shared stack. The batched builder crops every
agent's window of every channel from that stack in one gather; ``observer_layer`` picks, per
observer, which of the channel's K layers it reads (e.g. by agent type), and ``finish`` applies
per-agent corrections that depend only on the observer's own cell, type and health (e.g. SELF_HP's
centre value). A channel with ``layer_count == 0`` reads zeros and fills its windows in ``finish``.

Lifetimes: STATIC layers are filled once (world features); INSTANT layers are rebuilt by
``refresh`` before every build (agents, resources); PERSISTENT layers are world memories updated
by ``end_step`` once per simulation step (decay, then new deposits).

Each channel also has a ``reference`` method: plain per-agent code, written independently of the
batched path, that the tests use as the oracle. The default reference crops the channel's layers
cell by cell (right for persistent memories, whose world layer *is* the state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from farm.observation.grid import WorldGrid

if TYPE_CHECKING:
    from farm.core.records import StepLog
    from farm.core.state import AgentState
    from farm.observation.config import ObservationConfig

__all__ = ["ChannelLifetime", "ObservationContext", "Channel"]


class ChannelLifetime(Enum):
    """STATIC: filled once. INSTANT: rebuilt every build. PERSISTENT: updated every step, decays."""

    STATIC = "static"
    INSTANT = "instant"
    PERSISTENT = "persistent"


@dataclass(frozen=True)
class ObservationContext:
    """What channels read.

    The config, the cell geometry, live references to the simulation's agent state and resource
    manager (duck-typed: ``.positions (m, 2)``, ``.amounts (m,)``,
    ``.max_amount``), and ``max_health``, the health that reads as 1.0.
    """

    config: "ObservationConfig"
    grid: WorldGrid
    state: "AgentState"
    resources: Any
    max_health: float = 100.0
    # Values computed once and shared by every channel: "agent_cells" holds ``(gy, gx)`` of every
    # row of ``state`` during a build; "log_cells" ``(step_log, gy, gx)``, the cells of the rows
    # of the step log the memory channels were last fed. Any other entry lives only while the
    # channels refresh for one build: the builder drops it before the gather.
    per_build: dict = field(default_factory=dict)


class Channel:
    """Base class of observation channels.

    Subclass, set the class attributes, override what the lifetime needs, and register the class
    with :func:`farm.observation.registry.register_channel`.

    Class attributes:
        lifetime: a :class:`ChannelLifetime`.
        layer_count: K, the world layers this channel keeps in the builder's stack.
        pad_value: value of cells outside the world.
        cacheable: False if ``finish`` depends on anything but the observer's cell, type and
            health (disables the builder's observation cache).
    """

    lifetime: ChannelLifetime = ChannelLifetime.INSTANT
    layer_count: int = 1
    pad_value: float = 0.0
    cacheable: bool = True

    def __init__(self, name: str, context: ObservationContext) -> None:
        self.name = name
        self.context = context
        self.layers = np.empty((0,) + context.grid.padded_shape, dtype=np.float32)

    # -- set-up ---------------------------------------------------------------------------
    def bind(self, layers: np.ndarray) -> None:
        """Receive this channel's ``(K, Hp, Wp)`` slice of the stack and fill static content.

        The pad ring is already set to ``pad_value``, the interior to zero.
        """
        self.layers = layers

    @property
    def interior(self) -> np.ndarray:
        """``(K, rows, cols)`` view of the in-world part of the layers."""
        r = self.context.grid.radius
        grid = self.context.grid
        return self.layers[:, r : r + grid.rows, r : r + grid.cols]

    # -- per build ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild INSTANT layers from the current state (called before every build)."""

    def observer_layer(self, agent_types: np.ndarray) -> np.ndarray | int:
        """Which of the K layers each observer reads: ``(n,) int`` or one int for all."""
        return 0

    def finish(self, windows: np.ndarray, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> None:
        """Per-agent corrections, in place.

        Args:
            windows: ``(n, S, S)`` float32, a view into the output.
            rows: ``(n,)`` state rows of the observers.
            gy: ``(n,)`` cell row of each observer.
            gx: ``(n,)`` cell column of each observer.
        """

    def dirty_cells(self) -> np.ndarray | None:
        """``(Hp, Wp) bool`` cells changed since the previous build outside the stack, or None.

        These are changes that do not show in this channel's stack layers (e.g. data held outside
        the stack).
        """
        return None

    # -- per step -------------------------------------------------------------------------
    def end_step(self, step_log: "StepLog") -> None:
        """Update PERSISTENT layers with one step's events."""

    def close(self) -> None:
        """Release resources (files) this channel holds."""

    # -- reference ------------------------------------------------------------------------
    def reference(self, row: int) -> np.ndarray:
        """``(S, S) float64`` window of the agent in state row ``row``, by plain per-cell code."""
        ctx = self.context
        grid = ctx.grid
        r = grid.radius
        x, y = ctx.state.positions[row]
        cx = min(max(int(np.floor(x)), 0), grid.cols - 1)
        cy = min(max(int(np.floor(y)), 0), grid.rows - 1)
        layer = self.observer_layer(ctx.state.agent_types[row : row + 1])
        k = int(np.asarray(layer).reshape(-1)[0])
        out = np.empty((grid.size, grid.size))
        for i in range(grid.size):
            for j in range(grid.size):
                wy, wx = cy - r + i, cx - r + j
                if 0 <= wy < grid.rows and 0 <= wx < grid.cols:
                    out[i, j] = self.layers[k, wy + r, wx + r]
                else:
                    out[i, j] = self.pad_value
        return out
