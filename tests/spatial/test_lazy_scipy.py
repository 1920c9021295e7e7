"""scipy is imported when a KD-tree is first built, not by ``import farm`` (about 0.5 s here)."""

PROGRAM = """
import sys
import numpy as np
import farm, farm.cli, farm.config, farm.preflight, farm.spatial, farm.observation, farm.storage, farm.resources
from farm.spatial import make_index
points = np.random.default_rng(0).random((50, 2)) * 10
for kind in ("quadtree", "spatial_hash", "brute_force"):
    make_index(kind, points, (10.0, 10.0)).query_radius(points[:3], 1.0)
assert not any(name.split(".")[0] == "scipy" for name in sys.modules), "scipy imported before a KD-tree was built"
tree = make_index("kdtree", points, (10.0, 10.0))
tree.query_radius(points[:3], 1.0)
assert "scipy.spatial" in sys.modules
print("ok")
"""


def test_scipy_is_imported_by_the_first_kdtree_only(fresh_python):
    fresh_python(PROGRAM)
