"""Regeneration algorithms: which nodes gain how much this step."""

from __future__ import annotations

import numpy as np

from farm.resources.config import RegenerationKind

__all__ = ["regeneration_plan"]


def regeneration_plan(
    kind: RegenerationKind, count: int, regen_rate: float, regen_amount: float, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """Return ``(mask (count,) bool, increment)`` for one step.

    PROBABILISTIC draws one uniform per node (always ``count`` draws, so the random stream does
    not depend on amounts) and selects nodes with ``u < regen_rate``; each gains ``regen_amount``.
    DETERMINISTIC selects every node and adds ``regen_rate * regen_amount``.
    """
    if kind is RegenerationKind.PROBABILISTIC:
        return rng.random(count) < regen_rate, float(regen_amount)
    return np.ones(count, dtype=np.bool_), float(regen_rate * regen_amount)
