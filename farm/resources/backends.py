"""Where resource node amounts live: three interchangeable backends with identical results.

Each backend stores the ``(m,)`` amounts and implements the two mutating operations with the
same float64 arithmetic in the same order, so every backend yields bit-identical amounts:

* ``add_capped(mask, increment, cap)``: ``amount = min(amount + increment, cap)`` where mask.
* ``subtract(nodes, taken)``: ``amount = max(amount - taken, 0)`` for unique ``nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from farm.utils.scratch_memmap import scratch_memmap

__all__ = ["ResourceNode", "ListBackend", "ArrayBackend", "MemmapBackend"]


@dataclass
class ResourceNode:
    """One node of the list backend: the plain, obviously correct reference."""

    x: float
    y: float
    amount: float
    max_amount: float


class ListBackend:
    """A Python list of :class:`ResourceNode` objects; every operation is a plain loop."""

    def __init__(self, positions: np.ndarray, amounts: np.ndarray, max_amount: float) -> None:
        self.nodes = [
            ResourceNode(float(x), float(y), float(a), float(max_amount))
            for (x, y), a in zip(positions.tolist(), amounts.tolist())
        ]

    @property
    def amounts(self) -> np.ndarray:
        """``(m,) float64`` copy of the node amounts (writes to it do not reach the nodes)."""
        return np.array([node.amount for node in self.nodes], dtype=np.float64)

    def add_capped(self, mask: np.ndarray, increment: float) -> None:
        """Add ``increment`` to the selected nodes, capped at their ``max_amount``.

        Args:
            mask: ``(m,) bool``, the nodes that regenerate.
            increment: amount added to each selected node.
        """
        for node, selected in zip(self.nodes, mask.tolist()):
            if selected:
                node.amount = min(node.amount + increment, node.max_amount)

    def subtract(self, nodes: np.ndarray, taken: np.ndarray) -> None:
        """Take ``taken`` from ``nodes``, floored at zero.

        Args:
            nodes: ``(k,) int`` unique node indices.
            taken: ``(k,) float64`` amount taken from each.
        """
        for index, amount in zip(nodes.tolist(), taken.tolist()):
            node = self.nodes[index]
            node.amount = max(node.amount - amount, 0.0)

    def close(self) -> None:
        """Drop the nodes."""
        self.nodes = []


class ArrayBackend:
    """A numpy array in RAM (the default)."""

    def __init__(self, positions: np.ndarray, amounts: np.ndarray, max_amount: float) -> None:
        self._amounts = np.array(amounts, dtype=np.float64)
        self.max_amount = float(max_amount)

    @property
    def amounts(self) -> np.ndarray:
        """``(m,) float64`` node amounts (the stored array itself, not a copy)."""
        return self._amounts

    def add_capped(self, mask: np.ndarray, increment: float) -> None:
        """Add ``increment`` to the nodes where ``mask (m,) bool`` is set, capped at ``max_amount``."""
        self._amounts[mask] = np.minimum(self._amounts[mask] + increment, self.max_amount)

    def subtract(self, nodes: np.ndarray, taken: np.ndarray) -> None:
        """Take ``taken (k,)`` from the unique ``nodes (k,)``, floored at zero."""
        self._amounts[nodes] = np.maximum(self._amounts[nodes] - taken, 0.0)

    def close(self) -> None:
        """Nothing to release: the array is freed with the backend."""


class MemmapBackend(ArrayBackend):
    """The amounts in a memmap on a scratch file that no exit leaves behind (see scratch_memmap)."""

    def __init__(self, positions: np.ndarray, amounts: np.ndarray, max_amount: float) -> None:
        self.max_amount = float(max_amount)
        count = max(int(np.asarray(amounts).shape[0]), 1)  # memmap cannot map an empty file
        self._file = scratch_memmap("farm-resources-", ".f64", np.float64, (count,))
        self._amounts = self._file[: np.asarray(amounts).shape[0]]
        self._amounts[:] = amounts

    def close(self) -> None:
        """Drop the mapping (its scratch file goes with it); a second call does nothing."""
        if getattr(self, "_file", None) is not None:
            del self._amounts
            self._file = None
