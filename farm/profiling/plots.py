"""matplotlib PNG figures for the report.

Log-log scaling plots with fitted exponents, and an
RSS timeline. Each function returns PNG bytes (Agg backend, no display needed).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from farm.profiling.complexity import PowerLawFit, fit_power_law

__all__ = ["Series", "scaling_plot", "timeline_plot", "bar_plot", "soak_plot"]


@dataclass(frozen=True)
class Series:
    """One measured curve and its power-law fit.

    One measured curve. ``x`` and ``y`` are ``(m,) float64``; ``fit`` is None when fewer than
    two usable (positive) points exist.
    """

    label: str
    x: np.ndarray
    y: np.ndarray

    @property
    def fit(self) -> PowerLawFit | None:
        """Power law fitted to the positive points; None when fewer than two distinct ``x`` remain."""
        keep = (self.x > 0) & (self.y > 0)
        if np.unique(self.x[keep]).size < 2:
            return None
        return fit_power_law(self.x[keep], self.y[keep])


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def scaling_plot(series: list[Series], title: str, xlabel: str, ylabel: str) -> bytes:
    """Log-log plot: markers for measurements, a dashed fitted line per series, the exponent in the legend."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(9.0, 4.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, s in enumerate(series):
        color = colors[i % len(colors)]
        fit = s.fit
        keep = (s.x > 0) & (s.y > 0)
        label = s.label if fit is None else f"{s.label}: exponent {fit.exponent:.2f} (R² {fit.r_squared:.2f})"
        ax.plot(s.x[keep], s.y[keep], "o-", color=color, label=label, linewidth=1.2, markersize=5)
        if fit is not None:
            grid = np.geomspace(s.x[keep].min(), s.x[keep].max(), 50)
            ax.plot(grid, fit.predict(grid), "--", color=color, linewidth=0.9, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_labels(ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(
        fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="dashed: fitted power law", title_fontsize=8
    )
    return _png(plt, fig)


def _plain_log_labels(ax) -> None:
    """Label log-scaled ticks as plain numbers.

    Tick labels as plain numbers (0.5, 2, 300) instead of 5x10^-1; minor ticks labelled only
    on an axis spanning less than a decade (otherwise they crowd).
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    plain = FuncFormatter(lambda value, _pos: f"{value:g}")
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(plain if high / low < 10 else NullFormatter())


def timeline_plot(
    times_s: np.ndarray, values: np.ndarray, title: str, ylabel: str, marks: Mapping[str, float] | None = None
) -> bytes:
    """A line over time (``(k,)`` arrays); optional vertical marks (label -> time)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7.0, 3.6))
    ax.plot(times_s, values, linewidth=1.2)
    peak = int(np.argmax(values)) if len(values) else 0
    if len(values):
        ax.plot([times_s[peak]], [values[peak]], "rv")
        ax.annotate(
            f"peak {values[peak]:.1f}",
            (times_s[peak], values[peak]),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    for label, t in (marks or {}).items():
        ax.axvline(t, color="grey", linestyle=":", linewidth=0.8)
        ax.annotate(label, (t, ax.get_ylim()[0]), rotation=90, fontsize=7, va="bottom", ha="right")
    ax.set_title(title)
    ax.set_xlabel("seconds")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return _png(plt, fig)


def bar_plot(labels: list[str], values: list[float], title: str, xlabel: str) -> bytes:
    """Horizontal bars, largest on top, each labelled with its value in percent."""
    plt = _figure()
    order = np.argsort(values)
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(labels) + 1.2))
    ax.barh([labels[i] for i in order], [values[i] for i in order], color="#4C72B0")
    for y, i in enumerate(order):
        ax.annotate(f"{values[i]:.1f} %", (values[i], y), textcoords="offset points", xytext=(3, -3), fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, max(values) * 1.15 if values else 1)
    return _png(plt, fig)


def _rolling_median(values: np.ndarray, window: int) -> np.ndarray:
    """Rolling median of a 1-D series.

    ``(k,)`` median of each run of ``window`` consecutive values, aligned on the run's end
    (shorter runs at the start).
    """
    if values.size == 0:
        return values
    window = max(1, min(window, values.size))
    from numpy.lib.stride_tricks import sliding_window_view

    full = np.median(sliding_window_view(values, window), axis=1)
    head = np.array([np.median(values[: i + 1]) for i in range(window - 1)])
    return np.concatenate([head, full])


def soak_plot(steps: np.ndarray, rss_mib: np.ndarray, step_ms: np.ndarray, window_start: int | None = None) -> bytes:
    """Plot RSS and step time of a soak run.

    Two stacked panels over ``(k,)`` steps: RSS (MiB) and step time (ms, every step in grey and
    a rolling median over 100 steps); a dotted line at ``window_start`` (the leak-check window).
    """
    plt = _figure()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.0, 5.6), sharex=True)
    top.plot(steps, rss_mib, linewidth=1.0)
    top.set_ylabel("RSS MiB")
    top.set_title("Soak: RSS and step time over the run")
    bottom.plot(steps, step_ms, color="#bbbbbb", linewidth=0.5, label="each step")
    bottom.plot(steps, _rolling_median(step_ms, 100), color="#C44E52", linewidth=1.2, label="rolling median (100)")
    if step_ms.size:
        bottom.set_ylim(0, float(np.percentile(step_ms, 99.9)) * 1.1 or 1.0)
    bottom.set_ylabel("step ms")
    bottom.set_xlabel("step")
    bottom.legend(fontsize=8, loc="upper right")
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
        if window_start is not None:
            ax.axvline(window_start, color="grey", linestyle=":", linewidth=0.9)
    return _png(plt, fig)
