"""Every index kind against a plain-loop truth, on random point sets (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from farm.spatial import Neighbors, make_index
from tests.spatial.helpers import (
    INDEX_VARIANTS,
    VARIANT_IDS,
    WORLD,
    points,
    query_points,
    radii,
    truth_nearest,
    truth_radius,
    truth_range,
)

FAST = settings(max_examples=60, deadline=None)


@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
@FAST
@given(positions=points, queries=query_points, radius=radii, self_query=st.booleans())
def test_query_radius_matches_truth(kind, options, positions, queries, radius, self_query):
    index = make_index(kind, positions, bounds=(WORLD, WORLD), **options)
    queries = positions if self_query else queries
    result = index.query_radius(queries, radius)
    assert isinstance(result, Neighbors) and len(result) == len(queries)
    assert result.to_lists() == truth_radius(positions, queries, radius)
    assert result.indices.dtype == np.int64 and result.offsets.dtype == np.int64
    assert index.count_radius(queries, radius).tolist() == [
        len(row) for row in truth_radius(positions, queries, radius)
    ]


@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
@FAST
@given(positions=points, queries=query_points, radius=radii)
def test_single_point_query_matches_batched(kind, options, positions, queries, radius):
    index = make_index(kind, positions, bounds=(WORLD, WORLD), **options)
    for query, expected in zip(queries, truth_radius(positions, queries, radius)):
        single = index.query_radius(query, radius)
        assert single.dtype == np.int64 and single.tolist() == expected


@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
@FAST
@given(positions=points, queries=query_points, k=st.integers(1, 6))
def test_query_nearest_matches_truth_with_ties_by_lower_row(kind, options, positions, queries, k):
    index = make_index(kind, positions, bounds=(WORLD, WORLD), **options)
    distances, rows = index.query_nearest(queries, k)
    assert rows.shape == distances.shape == (len(queries), k)
    np.testing.assert_array_equal(rows, truth_nearest(positions, queries, k))
    found = rows >= 0
    expected = np.full(rows.shape, np.inf)
    if found.any():
        diff = queries[np.nonzero(found)[0]] - positions[rows[found]]
        expected[found] = np.sqrt((diff**2).sum(axis=1))
    np.testing.assert_allclose(distances, expected, rtol=1e-12)


@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
@FAST
@given(
    positions=points,
    corner=st.tuples(st.integers(-2, 22), st.integers(-2, 22)),
    size=st.tuples(st.integers(0, 12), st.integers(0, 12)),
)
def test_query_range_matches_truth(kind, options, positions, corner, size):
    index = make_index(kind, positions, bounds=(WORLD, WORLD), **options)
    box = (float(corner[0]), float(corner[1]), float(corner[0] + size[0]), float(corner[1] + size[1]))
    single = index.query_range(box)
    assert single.tolist() == truth_range(positions, box)
    batch = index.query_range(np.array([box, (0.0, 0.0, WORLD, WORLD)]))
    assert batch.to_lists() == [truth_range(positions, box), list(range(len(positions)))]


@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
def test_empty_and_one_point(kind, options):
    empty = make_index(kind, np.zeros((0, 2)), bounds=(WORLD, WORLD), **options)
    assert len(empty) == 0
    assert empty.query_radius(np.array([[1.0, 1.0]]), 5.0).to_lists() == [[]]
    assert empty.query_radius(np.array([1.0, 1.0]), 5.0).tolist() == []
    distances, rows = empty.query_nearest(np.array([[1.0, 1.0]]), 2)
    assert rows.tolist() == [[-1, -1]] and np.isinf(distances).all()
    one = make_index(kind, np.array([[WORLD, 0.0]]), bounds=(WORLD, WORLD), **options)
    assert one.query_radius(np.array([[WORLD, 0.0], [0.0, 0.0]]), 0.0).to_lists() == [[0], []]
    assert one.query_radius(np.array([[0.0, 0.0]]), WORLD).to_lists() == [[0]]
    assert one.query_nearest(np.array([[0.0, 0.0]]), 1)[1].tolist() == [[0]]


@pytest.mark.parametrize(("kind", "options"), INDEX_VARIANTS, ids=VARIANT_IDS)
def test_many_duplicates_and_exact_boundary(kind, options):
    # 3-4-5 triangles put many points at exactly the query radius.
    positions = np.array([[10.0, 10.0]] * 30 + [[13.0, 14.0], [7.0, 6.0], [15.0, 10.0], [10.0, 5.0], [14.0, 13.0]])
    index = make_index(kind, positions, bounds=(WORLD, WORLD), **options)
    queries = np.array([[10.0, 10.0], [13.0, 14.0]])
    for radius in (0.0, 5.0, 4.999999999, 5.000000001):
        assert index.query_radius(queries, radius).to_lists() == truth_radius(positions, queries, radius)
    np.testing.assert_array_equal(index.query_nearest(queries, 33)[1], truth_nearest(positions, queries, 33))


def test_neighbors_rows_and_errors():
    result = Neighbors(np.array([0, 2, 2, 3]), np.array([1, 4, 0]))
    assert len(result) == 3 and result[0].tolist() == [1, 4] and result[1].tolist() == [] and result[-1].tolist() == [0]
    assert result.counts.tolist() == [2, 0, 1]
    with pytest.raises(IndexError):
        result[3]


@pytest.mark.parametrize("num_queries, num_points", [(0, 5), (7, 1), (300, 2000), (70_000, 3), (5, 70_000)])
def test_from_pairs_orders_rows_like_a_sort_of_the_pairs(num_queries, num_points):
    """Both paths of ``Neighbors.from_pairs`` (two radix passes within 16 bits, the combined key
    beyond) give each query's points ascending, as sorting the (query, point) tuples does."""
    rng = np.random.default_rng(num_queries * 31 + num_points)
    universe = max(num_queries, 1) * num_points
    flat = rng.choice(universe, size=min(universe, 5000) if num_queries else 0, replace=False)
    query_rows, point_rows = np.divmod(flat, num_points)
    result = Neighbors.from_pairs(query_rows.astype(np.int64), point_rows.astype(np.int64), num_queries, num_points)
    truth = [[] for _ in range(num_queries)]
    for query, point in sorted(zip(query_rows.tolist(), point_rows.tolist())):
        truth[query].append(point)
    assert result.to_lists() == truth
    assert result.offsets.dtype == np.int64 and result.indices.dtype == np.int64
