"""Moves, inserts and removes in both update modes; batching, dirty regions, rebuild counting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farm.spatial import UpdateMode, make_index
from tests.spatial.helpers import INDEX_VARIANTS, VARIANT_IDS, WORLD, coordinates, points, truth_nearest, truth_radius

MODES = [UpdateMode.IMMEDIATE, UpdateMode.BATCHED]

point = st.tuples(coordinates, coordinates)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.lists(st.tuples(st.integers(0, 10_000), point), min_size=1, max_size=8)),
        st.tuples(st.just("insert"), st.lists(point, min_size=0, max_size=5)),
        st.tuples(st.just("remove"), st.lists(st.integers(0, 10_000), min_size=1, max_size=4)),
        st.tuples(st.just("query"), st.none()),
    ),
    max_size=10,
)


def _check(index, truth):
    queries = np.concatenate([truth, np.array([[0.0, 0.0], [WORLD, WORLD], [7.5, 3.0]])])
    for radius in (0.0, 3.0):
        assert index.query_radius(queries, radius).to_lists() == truth_radius(truth, queries, radius)
    np.testing.assert_array_equal(index.query_nearest(queries, 2)[1], truth_nearest(truth, queries, 2))


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
@settings(max_examples=40, deadline=None)
@given(initial=points, ops=operations, threshold=st.integers(1, 12))
def test_updates_match_truth(kind, options, mode, initial, ops, threshold):
    index = make_index(kind, initial, bounds=(WORLD, WORLD), update_mode=mode, batch_threshold=threshold, **options)
    truth = initial.copy()
    for name, payload in ops:
        if name == "move" and len(truth):
            rows = np.array([row % len(truth) for row, _ in payload], dtype=np.int64)
            new = np.array([p for _, p in payload], dtype=np.float64)
            index.update(rows, new)
            for row, p in zip(rows, new):  # the last write to a row wins
                truth[row] = p
        elif name == "insert":
            new = np.array(payload, dtype=np.float64).reshape(-1, 2)
            assert index.insert(new).tolist() == list(range(len(truth), len(truth) + len(new)))
            truth = np.concatenate([truth, new])
        elif name == "remove" and len(truth):
            rows = np.unique(np.array(payload) % len(truth))
            index.remove(rows)
            truth = np.delete(truth, rows, axis=0)
        elif name == "query":
            _check(index, truth)
        assert len(index) == len(truth)
    _check(index, truth)
    np.testing.assert_array_equal(index.positions, truth)


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
def test_nothing_rebuilds_when_nothing_moved(kind, options, mode):
    positions = np.random.default_rng(3).random((200, 2)) * WORLD
    index = make_index(kind, positions, bounds=(WORLD, WORLD), update_mode=mode, **options)
    index.query_radius(positions, 2.0)  # lets the spatial hash pick its cell size from the radius
    before = index.stats()
    for _ in range(3):
        index.build(positions.copy())
        index.update(np.arange(0, 200, 7), positions[::7].copy())  # "moves" to the same place
        index.query_radius(positions, 2.0)
        index.query_nearest(positions[:5], 3)
        index.flush()
    after = index.stats()
    assert after.rebuild_count == before.rebuild_count
    assert after.refresh_count == before.refresh_count
    assert after.dirty_regions == 0 and after.pending_updates == 0


def test_kdtree_rebuilds_once_per_real_change():
    positions = np.random.default_rng(4).random((100, 2)) * WORLD
    index = make_index("kdtree", positions, bounds=(WORLD, WORLD))
    assert index.stats().rebuild_count == 1
    moved = positions.copy()
    moved[5] = (1.0, 1.0)
    index.build(moved)
    assert index.stats().rebuild_count == 2
    index.update(np.array([5]), positions[5:6])  # move back: a real change, one rebuild at the query
    index.update(np.array([6]), np.array([[2.0, 2.0]]))
    assert index.stats().rebuild_count == 2 and index.stats().pending_updates == 2
    index.query_radius(positions, 1.0)
    assert index.stats().rebuild_count == 3


def test_batched_flush_triggers():
    positions = np.random.default_rng(5).random((50, 2)) * WORLD
    index = make_index("quadtree", positions, bounds=(WORLD, WORLD), update_mode="batched", batch_threshold=5)
    index.update(np.array([0, 1]), np.array([[1.0, 1.0], [2.0, 2.0]]))
    stats = index.stats()
    assert stats.pending_updates == 2 and stats.flush_count == 0 and stats.dirty_regions > 0
    index.update(np.array([2, 3, 4]), np.array([[3.0, 3.0]] * 3))  # reaches the threshold
    stats = index.stats()
    assert stats.pending_updates == 0 and stats.flush_count == 1
    index.update(np.array([7]), np.array([[19.0, 19.0]]))
    assert index.query_radius(np.array([[19.0, 19.0]]), 0.0).to_lists() == [[7]]  # flushed at the query
    assert index.stats().flush_count == 2
    index.update(np.array([8]), np.array([[18.0, 18.0]]))
    index.flush()
    assert index.stats().pending_updates == 0 and index.stats().flush_count == 3


def test_immediate_mode_never_queues():
    positions = np.random.default_rng(6).random((50, 2)) * WORLD
    index = make_index("spatial_hash", positions, bounds=(WORLD, WORLD), update_mode=UpdateMode.IMMEDIATE)
    index.update(np.array([0]), np.array([[0.5, 0.5]]))
    assert index.stats().pending_updates == 0 and index.stats().flush_count == 0


def test_dirty_regions_mark_old_and_new_locations():
    positions = np.array([[1.0, 1.0], [15.0, 15.0]])
    index = make_index("kdtree", positions, bounds=(WORLD, WORLD), region_size=5.0, update_mode="batched")
    assert index.dirty_regions.dirty.shape == (5, 5)  # 20 / 5 + 1 regions per side (the far edge)
    index.update(np.array([0]), np.array([[11.0, 6.0]]))
    assert sorted(zip(*np.nonzero(index.dirty_regions.dirty))) == [(0, 0), (1, 2)]
    assert index.stats().dirty_regions == 2
    index.query_radius(positions, 1.0)  # the rebuild starts a clean slate
    assert index.stats().dirty_regions == 0 and index.stats().rebuild_count == 2


def test_quadtree_refreshes_part_until_regions_are_mostly_dirty():
    rng = np.random.default_rng(7)
    positions = rng.random((400, 2)) * WORLD
    index = make_index(
        "quadtree", positions, bounds=(WORLD, WORLD), region_size=2.0, rebuild_fraction=0.5, update_mode="immediate"
    )
    index.update(np.array([0]), np.array([[19.9, 19.9]]))
    assert index.stats().rebuild_count == 1 and index.stats().refresh_count == 1
    index.update(np.arange(400), rng.random((400, 2)) * WORLD)  # touches almost every region
    assert index.stats().rebuild_count == 2 and index.stats().dirty_regions == 0
