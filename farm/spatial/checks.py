"""Input checks shared by every index: each raises ``ValueError`` showing the bad value."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Bounds", "parse_bounds", "check_positions", "check_query_points", "check_radius", "check_k", "check_rows"]

# (xmin, ymin, xmax, ymax) of the closed world rectangle.
Bounds = tuple[float, float, float, float]


def parse_bounds(bounds: object) -> Bounds | None:
    """Accept None, ``(width, height)`` (world ``[0, width] x [0, height]``) or ``(xmin, ymin, xmax, ymax)``."""
    if bounds is None:
        return None
    values = tuple(float(v) for v in np.asarray(bounds, dtype=np.float64).ravel())
    if len(values) == 2:
        values = (0.0, 0.0, values[0], values[1])
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[2] < values[0] or values[3] < values[1]:
        raise ValueError(f"bounds must be (width, height) or (xmin, ymin, xmax, ymax) with max >= min, got {bounds!r}")
    return values  # type: ignore[return-value]


def _as_points(name: str, points: object) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim == 1 and array.shape[0] == 2:
        array = array.reshape(1, 2)
    if array.ndim == 2 and array.shape[0] == 0:
        array = array.reshape(0, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got shape {np.shape(points)}")
    return array


def check_positions(name: str, positions: object, bounds: Bounds | None) -> np.ndarray:
    """``(n, 2) float64`` view/copy of ``positions``; rejects NaN/inf and points outside ``bounds``."""
    array = _as_points(name, positions)
    finite = np.isfinite(array)
    if not finite.all():
        row = int(np.nonzero(~finite.all(axis=1))[0][0])
        raise ValueError(f"{name}[{row}] = {tuple(array[row].tolist())} is not finite")
    if bounds is not None and len(array):
        xmin, ymin, xmax, ymax = bounds
        outside = (array[:, 0] < xmin) | (array[:, 0] > xmax) | (array[:, 1] < ymin) | (array[:, 1] > ymax)
        if outside.any():
            row = int(np.nonzero(outside)[0][0])
            raise ValueError(f"{name}[{row}] = {tuple(array[row].tolist())} lies outside the world bounds {bounds}")
    return array


def check_query_points(points: object) -> np.ndarray:
    """``(m, 2) float64`` query points (anywhere, but finite)."""
    return check_positions("points", points, None)


def check_radius(radius: object) -> float:
    """A query radius as a float.

    Args:
        radius: the caller's radius.

    Returns:
        ``float(radius)``.

    Raises:
        ValueError: the radius is negative, NaN or infinite.
    """
    value = float(radius)  # type: ignore[arg-type]
    if not value >= 0.0 or math.isinf(value):
        raise ValueError(f"radius must be a finite non-negative number, got {radius!r}")
    return value


def check_k(k: object) -> int:
    """A neighbour count as an int.

    Args:
        k: the caller's count.

    Returns:
        ``int(k)``.

    Raises:
        ValueError: ``k`` is not an integer ``>= 1`` (bools are rejected).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def check_rows(rows: object, size: int) -> np.ndarray:
    """``(r,) int64`` row indices, each in ``[0, size)``."""
    array = np.asarray(rows)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"rows must be a 1-D integer array, got {rows!r}")
    array = array.astype(np.int64, copy=False)
    if array.size and (array.min() < 0 or array.max() >= size):
        bad = int(array[(array < 0) | (array >= size)][0])
        raise ValueError(f"row {bad} is out of range for an index of {size} points")
    return array
