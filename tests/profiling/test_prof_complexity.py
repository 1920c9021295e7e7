"""The complexity exponent: exact on exact power laws."""

from __future__ import annotations

import numpy as np
import pytest

from farm.profiling.complexity import fit_power_law
from farm.profiling.plots import Series


@pytest.mark.parametrize("exponent", [0.5, 1.0, 2.0, 3.0])
def test_exact_power_law_is_recovered(exponent):
    x = np.array([10.0, 30.0, 100.0, 300.0, 1000.0])
    fit = fit_power_law(x, 2.5 * x**exponent)
    assert fit.exponent == pytest.approx(exponent, abs=1e-9)
    assert fit.coefficient == pytest.approx(2.5, rel=1e-9)
    assert fit.r_squared == pytest.approx(1.0)
    assert np.allclose(fit.predict(x), 2.5 * x**exponent)


def test_n_log_n_reads_as_slightly_above_one():
    x = np.geomspace(100, 10_000, 6)
    fit = fit_power_law(x, x * np.log(x))
    assert 1.0 < fit.exponent < 1.3
    assert fit.r_squared > 0.99


def test_hand_computed_two_points():
    # slope of log(8/2) / log(4/1) = 1
    fit = fit_power_law(np.array([1.0, 4.0]), np.array([2.0, 8.0]))
    assert fit.exponent == pytest.approx(1.0) and fit.coefficient == pytest.approx(2.0)


@pytest.mark.parametrize(
    "x, y",
    [
        ([1.0], [1.0]),
        ([2.0, 2.0], [1.0, 3.0]),
        ([1.0, 2.0], [0.0, 1.0]),
        ([1.0, 2.0], [1.0, np.nan]),
        ([1.0, 2.0, 3.0], [1.0, 2.0]),
    ],
)
def test_bad_input_is_refused(x, y):
    with pytest.raises(ValueError):
        fit_power_law(np.array(x), np.array(y))


def test_series_fit_ignores_non_positive_points():
    series = Series("s", np.array([0.0, 1.0, 2.0, 4.0]), np.array([5.0, 3.0, 12.0, 48.0]))
    assert series.fit.exponent == pytest.approx(2.0)
    assert Series("s", np.array([1.0, 2.0]), np.array([0.0, 1.0])).fit is None
