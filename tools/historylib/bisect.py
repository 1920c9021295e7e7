"""Bisection of one benchmark at one parameter combination.

asv's ``find`` takes the largest difference over every parameter combination, so noise in one
combination can outvote a real step in another. Here one value per commit decides: the
endpoints are measured, a threshold is set between them (their geometric mean), and each probe
goes to the side of the endpoint it is nearer to.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

MIN_STEP = 0.02  # a relative step between the endpoints smaller than this is not bisected


@dataclass(frozen=True)
class Bisection:
    """Outcome of :func:`bisect_step`.

    Attributes:
        first_bad: the first commit on the ``to`` side (None when there is no step).
        good_value: value at the ``from`` endpoint.
        bad_value: value at the ``to`` endpoint.
        threshold: the value between them that splits the commits.
        probes: ``(commit, value or None)`` in the order measured.
        message: one line saying what was found.
    """

    first_bad: str | None
    good_value: float | None
    bad_value: float | None
    threshold: float | None
    probes: tuple[tuple[str, float | None], ...] = field(default=())
    message: str = ""


def split_value(good: float, bad: float) -> float:
    """The threshold between two endpoint values: geometric mean when both are positive."""
    if good > 0 and bad > 0:
        return math.sqrt(good * bad)
    return (good + bad) / 2.0


def bisect_step(commits: list[str], measure: Callable[[str], float | None], min_step: float = MIN_STEP) -> Bisection:
    """Find the first commit whose value sits on the side of the last commit.

    Args:
        commits: oldest first; ``commits[0]`` is the known-good ``from`` endpoint, ``commits[-1]``
            the ``to`` endpoint.
        measure: value of the benchmark point at a commit (None: not measurable there).
        min_step: smallest relative step between the endpoints worth bisecting.

    Returns:
        The :class:`Bisection`; ``first_bad`` is None when the endpoints cannot be measured or do
        not differ by ``min_step``.
    """
    if len(commits) < 2:
        return Bisection(None, None, None, None, message="the range holds fewer than two commits")
    probes: list[tuple[str, float | None]] = []

    def probe(index: int) -> float | None:
        value = measure(commits[index])
        probes.append((commits[index], value))
        return value

    good, bad = probe(0), probe(len(commits) - 1)
    if good is None or bad is None:
        return Bisection(None, good, bad, None, tuple(probes), "an endpoint could not be measured")
    step = abs(bad / good - 1.0) if good else float("inf")
    if step < min_step:
        return Bisection(None, good, bad, None, tuple(probes),
                         f"no step between the endpoints: {good:.6g} -> {bad:.6g} ({step:+.1%} < {min_step:.0%})")
    threshold = split_value(good, bad)
    bad_is_higher = bad > good
    lo, hi = 0, len(commits) - 1
    unmeasurable: set[int] = set()
    while hi - lo > 1:
        candidates = sorted(
            (i for i in range(lo + 1, hi) if i not in unmeasurable), key=lambda i: abs(i - (lo + hi) / 2)
        )
        if not candidates:
            break
        mid = candidates[0]
        value = probe(mid)
        if value is None:
            unmeasurable.add(mid)
            continue
        if (value > threshold) == bad_is_higher:
            hi = mid
        else:
            lo = mid
    first_bad = commits[hi]
    note = "" if hi - lo == 1 else f" (commits between {commits[lo][:8]} and it could not be measured)"
    return Bisection(first_bad, good, bad, threshold, tuple(probes),
                     f"step {good:.6g} -> {bad:.6g} ({bad / good - 1.0 if good else float('inf'):+.1%}); "
                     f"first commit on the new side: {first_bad[:8]}{note}")
