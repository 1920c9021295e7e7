"""The observation builder: batched ``build`` (the loop's path) and reference ``build_one``.

Batched path, per build:

1. INSTANT channels refresh their padded world layers (one bincount each) in a shared stack
   ``(G, Hp, Wp)`` float32 whose layer 0 is all zeros; STATIC layers were filled once,
   PERSISTENT ones are updated by :meth:`ObservationBuilder.end_step`.
2. One fancy-index gather on a sliding-window view of the stack crops every observer's window of
   every channel: ``out[a, c] = stack[layer[a, c], gy[a] : gy[a]+S, gx[a] : gx[a]+S]``, where
   ``layer[a, c]`` is the channel's layer for the observer's type (layer 0 for channels without
   layers).
3. Each channel's ``finish`` applies per-observer corrections to its ``out[:, c]`` in place.

With ``cache`` on, the builder also keeps the previous output, the observers' keys (id, cell,
health, type) and a copy of the stack: an observer whose key is unchanged and whose window
contains no changed cell (stack comparison plus each channel's ``dirty_cells``) gets its previous
observation copied instead of rebuilt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from farm.core.state import NUM_AGENT_TYPES
from farm.observation.channel import Channel, ChannelLifetime, ObservationContext
from farm.observation.grid import WorldGrid
from farm.observation.registry import create_channel

if TYPE_CHECKING:
    from farm.config import WorldConfig
    from farm.core.records import StepLog
    from farm.core.state import AgentState
    from farm.observation.config import ObservationConfig

__all__ = ["ObservationBuilder", "make_observation_builder"]

logger = logging.getLogger(__name__)

_AGENT_TYPES = NUM_AGENT_TYPES
# ``ObservationContext.per_build`` entries read after the channels' refresh: the build's agent
# cells (the gather) and the step log's cells (the memory channels' end of step).
_READ_AFTER_REFRESH = frozenset({"agent_cells", "log_cells"})


class ObservationBuilder:
    """Builds ``(n, C, S, S)`` float32 observations for agents of ``state``.

    Args:
        config: the observation section.
        world: the world section (width, height).
        state: the simulation's :class:`~farm.core.state.AgentState` (read at build time).
        resources: the resource manager (``.positions (m, 2)``, ``.amounts (m,)``,
            ``.max_amount``; read at build time).
        max_health: health that reads as 1.0 in the health channels (``agents.max_health``).
    """

    def __init__(
        self,
        config: "ObservationConfig",
        world: "WorldConfig",
        state: "AgentState",
        resources: Any,
        max_health: float = 100.0,
    ) -> None:
        if not max_health > 0:
            raise ValueError(f"max_health must be positive, got {max_health!r}")
        self.config = config
        self.grid = WorldGrid(float(world.width), float(world.height), config.radius)
        self.context = ObservationContext(config, self.grid, state, resources, float(max_health))
        self.channels: list[Channel] = [create_channel(name, self.context) for name in config.channels]
        hp, wp = self.grid.padded_shape
        total = 1 + sum(ch.layer_count for ch in self.channels)
        self.stack = np.zeros((total, hp, wp), dtype=np.float32)
        r = self.grid.radius
        first = 1
        # layer_table[t, c]: stack layer that an observer of type t reads for channel c.
        self.layer_table = np.zeros((_AGENT_TYPES, len(self.channels)), dtype=np.intp)
        types = np.arange(_AGENT_TYPES, dtype=np.int8)
        for c, ch in enumerate(self.channels):
            k = ch.layer_count
            layers = self.stack[first : first + k]
            if k:
                layers[...] = ch.pad_value
                layers[:, r : r + self.grid.rows, r : r + self.grid.cols] = 0.0
                self.layer_table[:, c] = first + np.broadcast_to(np.asarray(ch.observer_layer(types)), (_AGENT_TYPES,))
            ch.bind(layers)
            first += k
        s = self.grid.size
        self._windows = sliding_window_view(self.stack, (s, s), axis=(1, 2))  # (G, rows, cols, S, S)
        self._instant = [ch for ch in self.channels if ch.lifetime is ChannelLifetime.INSTANT]
        self._finishing = [
            (c, ch) for c, ch in enumerate(self.channels) if type(ch).finish is not Channel.finish
        ]
        self.cache_enabled = config.cache and all(ch.cacheable for ch in self.channels)
        if config.cache and not self.cache_enabled:
            logger.warning("observation cache disabled: a configured channel is not cacheable")
        self._previous: dict[str, np.ndarray] | None = None
        self.last_reused = 0
        self.closed = False

    # -- shape ----------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, S, S)`` of one observation."""
        return (len(self.channels), self.grid.size, self.grid.size)

    @property
    def channel_names(self) -> tuple[str, ...]:
        """The channel names, in output order."""
        return tuple(ch.name for ch in self.channels)

    # -- batched --------------------------------------------------------------------------
    def _rows(self, agent_ids: np.ndarray | None) -> np.ndarray:
        state = self.context.state
        if agent_ids is None:
            return np.flatnonzero(state.alive)
        return state.rows_of(agent_ids)

    def refresh(self) -> None:
        """Rebuild the INSTANT layers from the current state (``build`` calls it).

        What the channels computed for each other while refreshing (``per_build`` entries other
        than :data:`_READ_AFTER_REFRESH`) is dropped once they are done, so that it is not held
        while the gather allocates the output.
        """
        per_build = self.context.per_build
        per_build["agent_cells"] = self.grid.cells_of(self.context.state.positions)
        for ch in self._instant:
            ch.refresh()
        for key in [key for key in per_build if key not in _READ_AFTER_REFRESH]:
            del per_build[key]

    def _gather(self, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
        state = self.context.state
        layer = self.layer_table[state.agent_types[rows].astype(np.intp)]  # [n, C]
        out = self._windows[layer, gy[:, None], gx[:, None]]  # [n, C, S, S]
        for c, ch in self._finishing:
            ch.finish(out[:, c], rows, gy, gx)
        return out

    def build(self, agent_ids: np.ndarray | None = None) -> np.ndarray:
        """Observations of ``agent_ids`` (None: every live agent, in row order).

        Returns:
            ``(n, C, S, S)`` float32, a new array (the caller may keep or modify it).
        """
        return self.build_rows(self._rows(agent_ids))

    def build_rows(self, rows: np.ndarray) -> np.ndarray:
        """Observations of the agents in state rows ``rows`` (``(n,) int``, any order).

        The loop asks for its rows grouped by agent type, so that each type's observations are
        one contiguous slice of the result.

        Returns:
            ``(n, C, S, S)`` float32, a new array; row ``i`` is the agent in state row
            ``rows[i]``.
        """
        self.refresh()
        all_gy, all_gx = self.context.per_build["agent_cells"]
        gy, gx = all_gy[rows], all_gx[rows]
        if not self.cache_enabled:
            return self._gather(rows, gy, gx)
        return self._build_cached(rows, gy, gx)

    def _build_cached(self, rows: np.ndarray, gy: np.ndarray, gx: np.ndarray) -> np.ndarray:
        state = self.context.state
        ids = state.ids[rows]
        health = state.health[rows]
        types = state.agent_types[rows]
        previous = self._previous
        reuse = np.zeros(len(rows), dtype=bool)
        source = np.zeros(len(rows), dtype=np.int64)
        dirty = (self.stack != previous["stack"]).any(axis=0) if previous is not None else None
        for ch in self.channels:
            extra = ch.dirty_cells()
            if extra is not None and dirty is not None:
                dirty |= extra
        if previous is not None and len(previous["ids"]):
            source = np.minimum(np.searchsorted(previous["ids"], ids), len(previous["ids"]) - 1)
            same = (
                (previous["ids"][source] == ids)
                & (previous["gy"][source] == gy)
                & (previous["gx"][source] == gx)
                & (previous["health"][source] == health)
                & (previous["types"][source] == types)
            )
            # Summed-area table of changed cells: a window is clean when its sum is zero.
            s = self.grid.size
            table = np.zeros((dirty.shape[0] + 1, dirty.shape[1] + 1), dtype=np.int64)
            np.cumsum(np.cumsum(dirty, axis=0), axis=1, out=table[1:, 1:])
            changed = table[gy + s, gx + s] - table[gy, gx + s] - table[gy + s, gx] + table[gy, gx]
            reuse = same & (changed == 0)
        out = np.empty((len(rows),) + self.shape, dtype=np.float32)
        fresh = ~reuse
        if fresh.any():
            out[fresh] = self._gather(rows[fresh], gy[fresh], gx[fresh])
        if reuse.any():
            out[reuse] = previous["out"][source[reuse]]
        self.last_reused = int(reuse.sum())
        order = np.argsort(ids, kind="stable")  # looked up by id next build: kept sorted by id
        self._previous = {
            "ids": ids[order],
            "gy": gy[order],
            "gx": gx[order],
            "health": health[order],
            "types": types[order],
            "out": out[order],
            "stack": self.stack.copy(),
        }
        return out

    # -- reference ------------------------------------------------------------------------
    def build_one(self, agent_id: int) -> np.ndarray:
        """Reference observation of one agent: ``(C, S, S)`` float32.

        Built from each channel's plain per-agent code (slow; the oracle of the tests).
        """
        row = int(self.context.state.rows_of(np.array([agent_id]))[0])
        self.refresh()  # the reference reads the same persistent/static world state
        return np.stack([ch.reference(row) for ch in self.channels]).astype(np.float32)

    # -- per step -------------------------------------------------------------------------
    def end_step(self, step_log: "StepLog") -> None:
        """Feed one step's events to the PERSISTENT channels (call once per step, after act)."""
        for ch in self.channels:
            if ch.lifetime is ChannelLifetime.PERSISTENT:
                ch.end_step(step_log)

    def invalidate_cache(self) -> None:
        """Forget the previous observations (the next build rebuilds every agent)."""
        self._previous = None

    def close(self) -> None:
        """Release channel resources (memmap files). Idempotent."""
        if not self.closed:
            self.closed = True
            for ch in self.channels:
                ch.close()

    def __enter__(self) -> "ObservationBuilder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_observation_builder(
    config: "ObservationConfig", world: "WorldConfig", state: "AgentState", resources: Any, max_health: float = 100.0
) -> ObservationBuilder:
    """The builder the simulation loop uses (see :class:`ObservationBuilder`)."""
    return ObservationBuilder(config, world, state, resources, max_health)
