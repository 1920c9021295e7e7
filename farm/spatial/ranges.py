"""Vectorized expansion of integer ranges, the inner step of every candidate search."""

from __future__ import annotations

import numpy as np

__all__ = ["expand_ranges"]


def expand_ranges(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand integer ranges into one flat array.

    For ``(r,)`` ranges ``[starts[i], stops[i])`` return ``(owner, values)``, both ``(total,) int64``:
    ``values`` lists every range's integers in order and ``owner`` the range each came from.
    """
    lengths = stops - starts
    lengths = np.maximum(lengths, 0, out=lengths) if lengths.dtype.kind == "i" else np.maximum(lengths, 0)
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(starts), dtype=np.int64), lengths)
    if total == 0:
        return owner, np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift = np.repeat(starts - (ends - lengths), lengths)
    values = np.arange(total, dtype=np.int64) + shift
    return owner, values
