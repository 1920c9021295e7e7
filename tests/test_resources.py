"""ResourceManager: the three storage backends agree bit for bit; rules by hand."""

import numpy as np
import pytest

from farm.resources.config import RegenerationKind, ResourceConfig, ResourceStorage
from farm.resources.manager import ResourceManager
from farm.spatial import make_index


def _manager(storage, seed=3, **kw):
    config = ResourceConfig(storage=storage, count=kw.pop("count", 200), **kw)
    return ResourceManager(config, 100.0, 100.0, np.random.default_rng(seed), lambda p: make_index("kdtree", p))


@pytest.mark.parametrize("regeneration", list(RegenerationKind))
def test_backends_give_identical_results(regeneration):
    managers = [_manager(s, regeneration=regeneration, initial_amount=5.0, regen_rate=0.3) for s in ResourceStorage]
    rng = np.random.default_rng(11)
    try:
        for _ in range(40):
            nodes = rng.integers(0, 200, size=60)
            requests = rng.random(60) * 4
            granted = [m.consume(nodes, requests) for m in managers]
            for m in managers:
                m.regenerate()
            for other in granted[1:]:
                assert np.array_equal(granted[0], other)
            for m in managers[1:]:
                assert np.array_equal(managers[0].amounts, m.amounts)
        assert managers[0].amounts.max() <= 30.0
    finally:
        for m in managers:
            m.close()


def test_consume_rule_full_grant_or_proportional_split():
    m = _manager(ResourceStorage.ARRAY, count=2, initial_amount=6.0)
    granted = m.consume(np.array([0, 0, 1]), np.array([2.0, 6.0, 1.0]))
    np.testing.assert_allclose(granted, [1.5, 4.5, 1.0])
    np.testing.assert_allclose(m.amounts, [0.0, 5.0])


def test_regeneration_caps_at_max_and_deterministic_adds_rate_times_amount():
    m = _manager(ResourceStorage.ARRAY, count=3, initial_amount=29.5, regeneration="deterministic",
                 regen_rate=0.5, regen_amount=2.0)
    m.consume(np.array([1]), np.array([10.0]))
    m.regenerate()
    np.testing.assert_allclose(m.amounts, [30.0, 20.5, 30.0])


def test_probabilistic_regeneration_rate_is_respected():
    m = _manager(ResourceStorage.ARRAY, count=20000, initial_amount=0.0, regen_rate=0.25)
    m.regenerate()
    assert abs((m.amounts > 0).mean() - 0.25) < 0.02


def test_memmap_backend_leaves_no_file_and_still_works(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    m = _manager(ResourceStorage.MEMMAP, initial_amount=5.0)
    try:
        assert list(tmp_path.iterdir()) == []  # unlinked as soon as mapped
        m.consume(np.array([0, 1]), np.array([2.0, 9.0]))
        m.regenerate()
        reference = _manager(ResourceStorage.ARRAY, initial_amount=5.0)
        reference.consume(np.array([0, 1]), np.array([2.0, 9.0]))
        reference.regenerate()
        assert np.array_equal(m.amounts, reference.amounts)
    finally:
        m.close()
        m.close()


def test_nearest_nonempty_matches_brute_force():
    m = _manager(ResourceStorage.ARRAY, count=300)
    rng = np.random.default_rng(5)
    m.consume(rng.integers(0, 300, 100), np.full(100, 100.0))
    points = rng.random((200, 2)) * 100
    got = m.nearest_nonempty(points, 8.0)
    amounts, pos = m.amounts, m.positions
    for p, g in zip(points, got):
        d2 = ((pos - p) ** 2).sum(axis=1)
        d2[(amounts <= 0) | (d2 > 64.0)] = np.inf
        expected = -1 if np.isinf(d2.min()) else int(np.argmin(d2))
        assert g == expected
