"""scipy's cKDTree, imported on first use.

``import farm`` (configs, the CLI and its up-front checks, the quadtree and spatial-hash indexes,
the decision and storage layers) never needs scipy; importing ``scipy.spatial`` costs about
0.5 s and 25 MiB on the 2-core reference machine. The KD-tree index and the resource channel's
nearby-node splat call :func:`ckdtree` when they build a tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

__all__ = ["ckdtree"]


def ckdtree() -> type[cKDTree]:
    """``scipy.spatial.cKDTree`` (imported at the first call; later calls are a dict lookup)."""
    from scipy.spatial import cKDTree

    return cKDTree
