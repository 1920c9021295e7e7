"""Bad input raises ValueError naming the bad value."""

from __future__ import annotations

import numpy as np
import pytest

from farm.spatial import SpatialConfig, SpatialIndexKind, UpdateMode, make_index

KINDS = [kind.value for kind in SpatialIndexKind]
GOOD = np.array([[1.0, 2.0], [3.0, 4.0]])


@pytest.mark.parametrize("kind", KINDS)
def test_nan_and_out_of_world_positions(kind):
    with pytest.raises(ValueError, match="nan"):
        make_index(kind, np.array([[1.0, 2.0], [np.nan, 1.0]]), bounds=(10, 10))
    with pytest.raises(ValueError, match=r"\(11\.0, 2\.0\).*outside"):
        make_index(kind, np.array([[11.0, 2.0]]), bounds=(10, 10))
    index = make_index(kind, GOOD, bounds=(10, 10))
    with pytest.raises(ValueError, match="-0.5"):
        index.update(np.array([0]), np.array([[-0.5, 1.0]]))
    with pytest.raises(ValueError, match="inf"):
        index.insert(np.array([[np.inf, 1.0]]))
    with pytest.raises(ValueError, match="row 5"):
        index.update(np.array([5]), np.array([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="nan"):
        index.query_radius(np.array([[np.nan, 1.0]]), 1.0)
    with pytest.raises(ValueError, match="nan"):
        index.query_radius(np.array([np.nan, 1.0]), 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_negative_radius_and_bad_k(kind):
    index = make_index(kind, GOOD)
    for radius in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="radius"):
            index.query_radius(GOOD, radius)
        with pytest.raises(ValueError, match="radius"):
            index.query_radius(GOOD[0], radius)
        with pytest.raises(ValueError, match="radius"):
            index.count_radius(GOOD, radius)
    for k in (0, -3, 1.5):
        with pytest.raises(ValueError, match=f"k must be .*{k}"):
            index.query_nearest(GOOD, k)


def test_unknown_kind_and_bad_options():
    with pytest.raises(ValueError, match="octree"):
        make_index("octree", GOOD)
    with pytest.raises(ValueError, match="capacity.*0"):
        make_index("quadtree", GOOD, capacity=0)
    with pytest.raises(ValueError, match="cell_size.*-2"):
        make_index("spatial_hash", GOOD, cell_size=-2.0)
    with pytest.raises(ValueError, match="update_mode.*sometimes"):
        make_index("kdtree", GOOD, update_mode="sometimes")
    with pytest.raises(ValueError, match="bounds"):
        make_index("kdtree", GOOD, bounds=(10, -1))
    with pytest.raises(ValueError, match="range bounds"):
        make_index("kdtree", GOOD).query_range((5.0, 5.0, 1.0, 1.0))
    with pytest.raises(TypeError):
        make_index("kdtree", GOOD, capacity=4)  # a quadtree option


def test_config_validates_and_selects_options():
    with pytest.raises(ValueError, match="spatial.index.*octree"):
        SpatialConfig(index="octree")
    with pytest.raises(ValueError, match="batch_threshold.*0"):
        SpatialConfig(batch_threshold=0)
    with pytest.raises(ValueError, match="quadtree_max_depth.*30"):
        SpatialConfig(quadtree_max_depth=30)
    config = SpatialConfig(index="quadtree", update_mode="immediate", quadtree_capacity=3)
    assert config.index is SpatialIndexKind.QUADTREE and config.update_mode is UpdateMode.IMMEDIATE
    options = config.index_options()
    assert options["capacity"] == 3 and "cell_size" not in options
    for kind in ("kdtree", "quadtree", "spatial_hash"):
        cfg = SpatialConfig(index=kind)
        index = make_index(cfg.index, GOOD, bounds=(10, 10), **cfg.index_options())
        assert index.kind is cfg.index and index.update_mode is cfg.update_mode
