"""Shared strategies and a brute-force truth for the spatial tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

WORLD = 20.0

# (kind, options) pairs: small capacities and cells exercise deep trees and many cells.
INDEX_VARIANTS = [
    ("kdtree", {}),
    ("kdtree", {"leaf_size": 1}),
    ("quadtree", {}),
    ("quadtree", {"capacity": 1, "max_depth": 5}),
    ("spatial_hash", {}),
    ("spatial_hash", {"cell_size": 1.5}),
]
VARIANT_IDS = [
    f"{kind}-{'-'.join(f'{k}{v}' for k, v in options.items()) or 'default'}" for kind, options in INDEX_VARIANTS
]

# Coordinates that produce duplicates, exact-distance ties and points on the world edges.
coordinates = st.one_of(
    st.integers(0, int(WORLD)).map(float),
    st.sampled_from([0.0, WORLD, WORLD / 2]),
    st.floats(0.0, WORLD, allow_nan=False, allow_infinity=False),
)
points = st.lists(st.tuples(coordinates, coordinates), min_size=0, max_size=40).map(
    lambda rows: np.array(rows, dtype=np.float64).reshape(-1, 2)
)
query_points = st.lists(
    st.tuples(st.floats(-5.0, WORLD + 5.0, allow_nan=False), st.floats(-5.0, WORLD + 5.0, allow_nan=False))
    | st.tuples(coordinates, coordinates),
    min_size=0,
    max_size=12,
).map(lambda rows: np.array(rows, dtype=np.float64).reshape(-1, 2))
radii = st.one_of(
    st.just(0.0), st.integers(0, 8).map(float), st.floats(0.0, 30.0, allow_nan=False), st.just(np.sqrt(2.0))
)


def truth_radius(positions: np.ndarray, queries: np.ndarray, radius: float) -> list[list[int]]:
    """Neighbour lists by a plain loop: ``dx*dx + dy*dy <= r*r``."""
    result = []
    for qx, qy in queries:
        row = []
        for j, (x, y) in enumerate(positions):
            dx, dy = qx - x, qy - y
            if dx * dx + dy * dy <= radius * radius:
                row.append(j)
        result.append(row)
    return result


def truth_nearest(positions: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """``(m, k)`` rows of the k nearest by (squared distance, row), padded with -1."""
    out = np.full((len(queries), k), -1, dtype=np.int64)
    for i, (qx, qy) in enumerate(queries):
        ranked = sorted(
            range(len(positions)), key=lambda j: ((qx - positions[j, 0]) ** 2 + (qy - positions[j, 1]) ** 2, j)
        )
        out[i, : min(k, len(ranked))] = ranked[:k]
    return out


def truth_range(positions: np.ndarray, box: tuple[float, float, float, float]) -> list[int]:
    xmin, ymin, xmax, ymax = box
    return [j for j, (x, y) in enumerate(positions) if xmin <= x <= xmax and ymin <= y <= ymax]
