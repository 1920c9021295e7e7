"""The helpers of ``benchmarks/common.py`` and a benchmark bug fix, against hand-computed truths."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import common


def test_best_of_takes_each_measures_minimum_and_alternates_them():
    values = {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0])}
    order = []

    def measure(name):
        def call():
            order.append(name)
            return next(values[name])
        return call

    assert common.best_of(measure("a"), measure("b"), repeat=3) == (1.0, 4.0)
    assert order == ["a", "b"] * 3
    assert common.best_of(lambda: 7.0, repeat=2) == 7.0


def test_timed_returns_seconds_per_call():
    calls = []
    seconds = common.timed(lambda: calls.append(time.sleep(0.002)), number=3)()
    assert len(calls) == 3
    assert 0.002 <= seconds < 0.5


def test_memoize_builds_once_per_arguments_and_never_caches_a_failure():
    built = []

    @common.memoize
    def builder(n):
        built.append(n)
        if n < 0:
            raise NotImplementedError("old commit")
        return [n]

    assert builder(2) is builder(2)
    assert built == [2]
    for _ in range(2):
        with pytest.raises(NotImplementedError):
            builder(-1)
    assert built == [2, -1, -1]


def test_calls_per_sample_bounds():
    assert common.calls_per_sample(lambda: time.sleep(0.003), sample_seconds=0.002) == 1
    assert common.calls_per_sample(lambda: None, sample_seconds=0.002, most=50) == 50


def test_index_memory_does_not_count_its_inputs():
    """The figure must not depend on whether the query points were built before (version 1
    built them under tracemalloc on the first call and counted them as index memory)."""
    spatial = pytest.importorskip("benchmarks.bench_spatial")
    if spatial.make_index is None:
        pytest.skip("no spatial package")
    spatial._points.cache_clear()
    first = spatial._structure_bytes(spatial.FLOOR, 1_000)
    second = spatial._structure_bytes(spatial.FLOOR, 1_000)
    query_points_bytes = 1_000 * 2 * 8
    assert abs(first - second) < query_points_bytes / 4


def test_in_fork_server_only_in_asv_runners_server(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmark.py", "run_server", "benchmarks", "/tmp/socket"])
    assert common.in_fork_server()
    for argv in (["benchmark.py", "run", "benchmarks", "bench_x.Cls.time_y"], ["benchmark.py", "discover"], ["-c"]):
        monkeypatch.setattr(sys, "argv", argv)
        assert not common.in_fork_server()
