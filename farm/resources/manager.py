"""ResourceManager: resource nodes, their regeneration, consumption and lookups."""

from __future__ import annotations

import numpy as np

from farm.resources.backends import ArrayBackend, ListBackend, MemmapBackend
from farm.resources.config import ResourceConfig, ResourceStorage
from farm.resources.consumption import split_requests
from farm.resources.placement import place_nodes
from farm.resources.regeneration import regeneration_plan

__all__ = ["ResourceManager"]

_BACKENDS = {
    ResourceStorage.LIST: ListBackend,
    ResourceStorage.ARRAY: ArrayBackend,
    ResourceStorage.MEMMAP: MemmapBackend,
}


class ResourceManager:
    """Resource nodes of one world. Positions never move; amounts live in a backend.

    Args:
        config: the resources section.
        width, height: world extent.
        rng: the generator used for placement and for every regeneration draw.
        spatial_index_factory: ``f(positions) -> index`` with ``query_radius``; the manager keeps
            the index it returns as :attr:`index` for nearest-resource lookups.
    """

    def __init__(self, config: ResourceConfig, width: float, height: float, rng: np.random.Generator,
                 spatial_index_factory=None) -> None:
        self.config = config
        self.rng = rng
        count = config.node_count(width, height)
        self._positions = place_nodes(
            count, width, height, config.placement, rng, config.cluster_count, config.cluster_spread
        )
        self._positions.setflags(write=False)
        start = np.full(count, config.start_amount, dtype=np.float64)
        self.backend = _BACKENDS[config.storage](self._positions, start, config.max_amount)
        self.index = spatial_index_factory(self._positions) if spatial_index_factory is not None else None

    @property
    def positions(self) -> np.ndarray:
        """``(m, 2) float64`` node positions (read-only)."""
        return self._positions

    @property
    def amounts(self) -> np.ndarray:
        """``(m,) float64`` current amounts (a live view for array backends; a fresh copy for LIST)."""
        return self.backend.amounts

    @property
    def max_amount(self) -> float:
        """Cap of every node's amount."""
        return float(self.config.max_amount)

    def __len__(self) -> int:
        return int(self._positions.shape[0])

    def total(self) -> float:
        """Sum of all node amounts."""
        return float(self.amounts.sum())

    def regenerate(self) -> None:
        """One step of the configured regeneration algorithm, capped at ``max_amount``."""
        mask, increment = regeneration_plan(
            self.config.regeneration, len(self), self.config.regen_rate, self.config.regen_amount, self.rng
        )
        self.backend.add_capped(mask, increment)

    def withdraw(self, nodes: np.ndarray, amounts: np.ndarray) -> None:
        """Subtract ``amounts (u,)`` from the distinct ``nodes (u,)``, as :func:`split_requests` grants them."""
        if nodes.size:
            self.backend.subtract(nodes, amounts)

    def consume(self, nodes: np.ndarray, requests: np.ndarray) -> np.ndarray:
        """Take ``requests (k,)`` from ``nodes (k,)`` simultaneously; returns ``granted (k,)``.

        Rule: when the requests on one node add up to no more than its amount, each is granted in
        full; otherwise the node is emptied and split in proportion to the requests.
        """
        split = split_requests(np.asarray(nodes, dtype=np.int64), np.asarray(requests, dtype=np.float64), self.amounts)
        self.withdraw(split.drawn_nodes, split.taken)
        return split.granted

    def nearest_nonempty(self, points: np.ndarray, radius: float) -> np.ndarray:
        """Nearest non-empty node within ``radius`` of each point.

        ``(n,) int64`` index of the nearest node with amount > 0 within ``radius`` of each
        point (ties: lower index), or -1.
        """
        from farm.core.targets import nearest_in_neighbors

        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        neighbors = self.index.query_radius(points, radius)
        valid = self.amounts[neighbors.indices] > 0
        return nearest_in_neighbors(points, self._positions, neighbors, valid, radius)

    def close(self) -> None:
        """Release the backend's storage (the memmap backend removes its temporary files)."""
        self.backend.close()
