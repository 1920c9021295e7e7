"""The regression gate: per-benchmark thresholds from asv.conf.json, read in the right direction.

asv's own ``continuous``/``compare`` use one ``--factor`` and treat every rise as a slowdown; this
gate reads the thresholds (largest matching regex wins, ``re.match`` on the point's label, 5 %
when none matches: asv's rule) and flags a larger-is-better track when it *drops*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .selection import larger_is_better

DEFAULT_THRESHOLD = 0.05  # asv's default when no regex matches


def threshold_for(label: str, thresholds: dict[str, float]) -> float:
    """The relative threshold of one point: the largest of the matching regexes' thresholds."""
    matching = [float(value) for regex, value in thresholds.items() if re.match(regex, label)]
    return max(matching) if matching else DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Verdict:
    """One point compared between base and head.

    Attributes:
        label: the point (``name(params)``).
        base: value at the base commit.
        head: value at the head commit.
        threshold: relative change allowed.
        larger_is_better: the direction read for this point.
        regressed: whether head is worse than base beyond the threshold.
        improved: whether head is better than base beyond the threshold.
    """

    label: str
    base: float
    head: float
    threshold: float
    larger_is_better: bool
    regressed: bool
    improved: bool

    @property
    def ratio(self) -> float:
        """head / base (:func:`ratio`)."""
        return ratio(self.base, self.head)


def ratio(base: float, head: float) -> float:
    """head / base: 1 when both are 0, inf when only base is."""
    if base == 0:
        return 1.0 if head == 0 else float("inf")
    return head / base


def judge(label: str, base: float, head: float, threshold: float) -> Verdict:
    """Compare one point: worse means slower/bigger, or smaller for a larger-is-better track."""
    better_up = larger_is_better(label)
    factor = 1.0 + threshold
    if better_up:
        regressed, improved = head * factor < base, head > base * factor
    else:
        regressed, improved = head > base * factor, head * factor < base
    return Verdict(label, base, head, threshold, better_up, regressed, improved)


def compare(base: dict[str, float], head: dict[str, float], thresholds: dict[str, float],
            factor: float | None = None) -> list[Verdict]:
    """Verdicts of every point measured at both commits, worst ratio first.

    Args:
        base: ``{label: value}`` at the base commit.
        head: ``{label: value}`` at the head commit.
        thresholds: asv.conf.json's ``regressions_thresholds``.
        factor: when given, one threshold ``factor - 1`` for every point instead.
    """
    verdicts = []
    for label in sorted(set(base) & set(head)):
        threshold = factor - 1.0 if factor else threshold_for(label, thresholds)
        verdicts.append(judge(label, base[label], head[label], threshold))
    return worst_first(verdicts)


def worst_first(verdicts: list[Verdict]) -> list[Verdict]:
    """Regressions first, each group ordered by how much worse head is (in its direction)."""

    def badness(v: Verdict) -> float:
        ratio = v.ratio
        return (1.0 / ratio if ratio else float("inf")) if v.larger_is_better else ratio

    return sorted(verdicts, key=lambda v: (not v.regressed, -badness(v)))


def format_table(verdicts: list[Verdict], limit: int = 40) -> str:
    """A plain-text table of the worst ``limit`` verdicts."""
    lines = [f"{'':2s}{'ratio':>8s} {'allowed':>8s} {'dir':>4s}  benchmark"]
    for v in verdicts[:limit]:
        mark = "!!" if v.regressed else ("++" if v.improved else "  ")
        lines.append(f"{mark}{v.ratio:8.3f} {1 + v.threshold:8.2f} {'up' if v.larger_is_better else 'down':>4s}  "
                     f"{v.label}")
    if len(verdicts) > limit:
        lines.append(f"  ... {len(verdicts) - limit} more points")
    return "\n".join(lines)
