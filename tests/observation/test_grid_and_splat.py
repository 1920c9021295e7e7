"""World-to-cell mapping and hand-computed bilinear / nearest splats."""

import numpy as np
import pytest
from observation_fixtures import make_builder, make_resources, make_state

from farm.observation import WorldGrid


def test_cells_of_maps_floor_and_clips_the_far_edge():
    grid = WorldGrid(10.0, 5.0, 2)
    gy, gx = grid.cells_of(np.array([[0.0, 0.0], [3.7, 4.2], [10.0, 5.0], [9.999, 0.5]]))
    assert gx.tolist() == [0, 3, 9, 9] and gy.tolist() == [0, 4, 4, 0]
    assert grid.padded_shape == (9, 14) and grid.size == 5


@pytest.mark.parametrize("source", ["grid", "spatial", "memmap"])
def test_bilinear_splat_hand_computed(source):
    # Node at (2.75, 3.25) with amount 15 of max 30 -> value 0.5.
    # u = 2.25: columns 2, 3 with weights 0.75, 0.25; v = 2.75: rows 2, 3 with weights 0.25, 0.75.
    state = make_state([[4.5, 4.5]])  # agent cell (4, 4), radius 3 -> view rows/cols 1..7
    resources = make_resources([[2.75, 3.25]], [15.0])
    with make_builder(state, resources, 10.0, 10.0, radius=3, channels=("RESOURCES",),
                      interpolation="bilinear", resource_source=source) as b:
        view = b.build()[0, 0]
    expected = np.zeros((7, 7))
    # world cell (gy, gx) -> view (gy - 4 + 3, gx - 4 + 3)
    expected[1, 1] = 0.5 * 0.25 * 0.75
    expected[1, 2] = 0.5 * 0.25 * 0.25
    expected[2, 1] = 0.5 * 0.75 * 0.75
    expected[2, 2] = 0.5 * 0.75 * 0.25
    np.testing.assert_allclose(view, expected, atol=1e-7)
    assert view.sum() == pytest.approx(0.5)


def test_bilinear_weights_outside_the_world_are_dropped():
    state = make_state([[0.5, 0.5]])
    resources = make_resources([[0.2, 0.2]], [30.0])  # u = v = -0.3: only cell (0, 0) is inside
    with make_builder(state, resources, 10.0, 10.0, radius=2, channels=("RESOURCES",),
                      interpolation="bilinear") as b:
        view = b.build()[0, 0]
    assert view[2, 2] == pytest.approx(0.7 * 0.7)
    assert view.sum() == pytest.approx(0.49)


@pytest.mark.parametrize("source", ["grid", "spatial", "memmap"])
def test_nearest_splat_sums_overlapping_nodes(source):
    state = make_state([[5.0, 5.0]])
    resources = make_resources([[6.2, 4.9], [6.9, 4.1], [5.0, 5.0]], [3.0, 6.0, 30.0])
    with make_builder(state, resources, 10.0, 10.0, radius=1, channels=("RESOURCES",),
                      resource_source=source) as b:
        view = b.build()[0, 0]
    expected = np.zeros((3, 3))
    expected[0, 2] = (3.0 + 6.0) / 30.0  # world cell (4, 6): one row below (-y), one column right
    expected[1, 1] = 1.0
    np.testing.assert_allclose(view, expected, atol=1e-7)


def test_view_axes_rows_follow_y_columns_follow_x():
    state = make_state([[5.5, 5.5], [7.5, 5.5], [5.5, 8.5]], types=[1, 1, 1])
    with make_builder(state, make_resources(np.zeros((0, 2))), 10.0, 10.0, radius=3,
                      channels=("ENEMIES_HP",)) as b:
        view = b.build()[0, 0]
    assert view[3, 5] > 0 and view[6, 3] > 0 and np.count_nonzero(view) == 2


@pytest.mark.parametrize("width, height, radius, visibility", [
    (100, 100, 5, 5), (37.5, 20, 3, 2.5), (12, 30, 4, 9), (5, 5, 2, 0), (64, 8, 6, 4.2),
])
def test_cells_near_marks_exactly_the_disk_around_each_cell(width, height, radius, visibility):
    """Brute force: every cell plus every disk offset, kept when inside the world."""
    grid = WorldGrid(width, height, radius)
    rng = np.random.default_rng(radius)
    for n in (0, 1, 40):
        gy = rng.integers(0, grid.rows, n)
        gx = rng.integers(0, grid.cols, n)
        dy, dx = grid.disk_offsets(visibility)
        expected = np.zeros((grid.rows, grid.cols), dtype=bool)
        for y, x in zip(gy.tolist(), gx.tolist()):
            for a, b in zip(dy.tolist(), dx.tolist()):
                if 0 <= y + a < grid.rows and 0 <= x + b < grid.cols:
                    expected[y + a, x + b] = True
        np.testing.assert_array_equal(grid.cells_near(gy, gx, visibility), expected)


def test_cells_near_groups_is_cells_near_of_each_group():
    grid = WorldGrid(40, 30, 5)
    rng = np.random.default_rng(3)
    gy, gx = rng.integers(0, grid.rows, 60), rng.integers(0, grid.cols, 60)
    groups = rng.integers(0, 4, 60)
    got = grid.cells_near_groups(groups, gy, gx, 4.5, 5)
    assert got.shape == (5, grid.rows, grid.cols)
    for g in range(5):
        np.testing.assert_array_equal(got[g], grid.cells_near(gy[groups == g], gx[groups == g], 4.5))
    assert not got[4].any()
