"""The simultaneous consumption rule, as a pure function over arrays.

Both :meth:`farm.resources.manager.ResourceManager.consume` and the engine's GATHER rule
(:func:`farm.core.rules.gather`) apply it, so there is one copy of the arithmetic.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ConsumptionSplit", "split_requests"]


class ConsumptionSplit(NamedTuple):
    """What :func:`split_requests` grants.

    Attributes:
        granted: ``(k,) float64`` what each request receives.
        drawn_nodes: ``(u,) int64`` the distinct nodes asked, ascending.
        taken: ``(u,) float64`` what each of ``drawn_nodes`` loses.
    """

    granted: np.ndarray
    drawn_nodes: np.ndarray
    taken: np.ndarray


def split_requests(nodes: np.ndarray, requests: np.ndarray, amounts: np.ndarray) -> ConsumptionSplit:
    """Grant ``requests`` on ``nodes`` all at once against the node ``amounts``.

    Rule: when the requests on one node add up to no more than its amount, each is granted in
    full; otherwise the node is emptied and split in proportion to the requests.

    Args:
        nodes: ``(k,) int64`` node asked by each request.
        requests: ``(k,) float64`` amount asked by each request.
        amounts: ``(m,) float64`` current amount of every node (not modified).

    Returns:
        :class:`ConsumptionSplit`; the caller subtracts ``taken`` from ``drawn_nodes``.
    """
    if nodes.size == 0:
        empty_f = np.zeros(0, dtype=np.float64)
        return ConsumptionSplit(empty_f, np.zeros(0, dtype=np.int64), empty_f)
    unique, inverse = np.unique(nodes, return_inverse=True)
    totals = np.bincount(inverse, weights=requests)
    available = amounts[unique]
    over = totals > available
    scale = np.ones_like(totals)
    scale[over] = available[over] / totals[over]
    return ConsumptionSplit(requests * scale[inverse], unique, np.minimum(totals, available))
