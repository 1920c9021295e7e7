"""Initial positions of resource nodes."""

from __future__ import annotations

import numpy as np

from farm.resources.config import Placement

__all__ = ["place_nodes"]


def place_nodes(
    count: int, width: float, height: float, placement: Placement, rng: np.random.Generator,
    cluster_count: int = 5, cluster_spread: float = 0.08,
) -> np.ndarray:
    """``(count, 2) float64`` node positions inside ``[0, width] x [0, height]``.

    UNIFORM draws each coordinate uniformly. CLUSTERED draws ``cluster_count`` centres uniformly,
    assigns each node a centre uniformly, adds Gaussian noise of standard deviation
    ``cluster_spread * min(width, height)`` and clips to the world.
    """
    extent = np.array([width, height], dtype=np.float64)
    if placement is Placement.UNIFORM:
        return rng.random((count, 2)) * extent
    centres = rng.random((cluster_count, 2)) * extent
    labels = rng.integers(0, cluster_count, size=count)
    noise = rng.normal(0.0, cluster_spread * min(width, height), size=(count, 2))
    return np.clip(centres[labels] + noise, 0.0, extent)
