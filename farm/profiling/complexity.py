"""Empirical complexity: the exponent ``k`` of ``y ~ c * x**k``, fitted as a log-log slope."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PowerLawFit", "fit_power_law"]


@dataclass(frozen=True)
class PowerLawFit:
    """A power law ``y = c * x ** k`` fitted on log-log axes.

    Attributes:
        exponent: k, the least-squares slope of ``log y`` against ``log x`` (1: linear, 2: quadratic).
        coefficient: c.
        r_squared: fraction of the variance of ``log y`` the line explains (1 for an exact power law).
    """

    exponent: float
    coefficient: float
    r_squared: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``c * x**k`` for ``x`` of any shape."""
        return self.coefficient * np.asarray(x, dtype=np.float64) ** self.exponent


def fit_power_law(x: np.ndarray, y: np.ndarray) -> PowerLawFit:
    """Fit ``y = c * x**k`` to ``(m,)`` arrays of positive values (m >= 2, at least two distinct x)."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays of one length, got shapes {xs.shape} and {ys.shape}")
    if xs.size < 2 or np.unique(xs).size < 2:
        raise ValueError(f"need at least two distinct x values, got {xs.tolist()}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys)) and np.all(xs > 0) and np.all(ys > 0)):
        raise ValueError("x and y must be finite and positive for a log-log fit")
    log_x, log_y = np.log(xs), np.log(ys)
    slope, intercept = np.polyfit(log_x, log_y, 1)
    residual = log_y - (slope * log_x + intercept)
    total = np.sum((log_y - log_y.mean()) ** 2)
    r_squared = 1.0 - float(np.sum(residual**2) / total) if total > 0 else 1.0
    return PowerLawFit(float(slope), float(np.exp(intercept)), r_squared)
