"""``historylib.bisect.bisect_interleaved``: bisection of a noisy value where each probe is
measured in one session with the commits that bracket it (the 20 % wall-time drill's find).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))

from historylib import bisect  # noqa: E402

COMMITS = [f"{i:x}" * 40 for i in range(7)]  # base, 3 harmless, the slowdown, 2 harmless
BAD_INDEX = 4


class Sessions:
    """``measure_together`` over a step at ``BAD_INDEX``: each session multiplies every value by
    its own drift factor (the machine's load), so only values of one session compare."""

    def __init__(self, drifts, step=1.2, missing=()):
        self.drifts = list(drifts)
        self.step = step
        self.missing = set(missing)
        self.calls: list[list[str]] = []

    def __call__(self, together):
        drift = self.drifts[len(self.calls) % len(self.drifts)]
        self.calls.append(list(together))
        return {c: (1.0 if COMMITS.index(c) < BAD_INDEX else self.step) * drift
                for c in together if c not in self.missing}


def test_bisect_interleaved_finds_the_step_where_drift_between_sessions_fools_bisect_step():
    drifts = [1.0, 1.0, 1.5, 0.7, 1.3]  # session to session, larger than the 20 % step
    outcome = bisect.bisect_interleaved(COMMITS, Sessions(drifts))
    assert outcome.first_bad == COMMITS[BAD_INDEX]
    # The same drift per measurement sends the one-commit-at-a-time bisection astray.
    values = iter([1.0, 1.2, 1.5, 0.7, 1.3, 1.3, 1.3])  # endpoints, then drifting probes
    assert bisect.bisect_step(COMMITS, lambda c: next(values), repairs=0).first_bad != COMMITS[BAD_INDEX]


def test_bisect_interleaved_measures_each_probe_with_its_brackets():
    sessions = Sessions([1.0])
    outcome = bisect.bisect_interleaved(COMMITS, sessions)
    assert sessions.calls[0] == [COMMITS[0], COMMITS[-1]]
    probes = [call for call in sessions.calls[1:-1]]
    for together in probes:
        lo, mid, hi = (COMMITS.index(c) for c in together)
        assert lo < mid < hi and lo < BAD_INDEX <= hi  # brackets: known good, known bad
    assert len(probes) <= math.ceil(math.log2(len(COMMITS) - 1))
    assert sessions.calls[-1] == [COMMITS[BAD_INDEX - 1], COMMITS[BAD_INDEX]]  # the final pair, confirmed
    assert [c for c, _ in outcome.probes] == [c for call in sessions.calls for c in call]


def test_bisect_interleaved_measures_again_when_a_placement_is_ambiguous():
    calls = []

    def together(commits):
        calls.append(commits)
        first = sum(1 for call in calls if commits[1:2] == call[1:2]) == 1
        values = {c: (1.0 if COMMITS.index(c) < BAD_INDEX else 1.2) for c in commits}
        if len(commits) == 3 and first:
            values[commits[1]] = math.sqrt(1.2)  # exactly in the middle the first time
        return values

    outcome = bisect.bisect_interleaved(COMMITS, together, sessions=3)
    assert outcome.first_bad == COMMITS[BAD_INDEX]
    probes = [call[1] for call in calls[1:] if len(call) == 3]
    assert all(probes.count(p) == 2 for p in set(probes))  # every probe: ambiguous once, then clear


def test_bisect_interleaved_repeats_endpoints_and_gives_up_without_a_step():
    flat = Sessions([1.0], step=1.005)
    outcome = bisect.bisect_interleaved(COMMITS, flat, sessions=3)
    assert outcome.first_bad is None and len(flat.calls) == 3 and "no step" in outcome.message
    blurred = Sessions([1.0], step=1.2)
    blurred_calls = []

    def first_flat(commits):  # the first endpoint session misses the step, the second sees it
        blurred_calls.append(commits)
        values = blurred(commits)
        return {c: 1.0 for c in values} if len(blurred_calls) == 1 else values

    assert bisect.bisect_interleaved(COMMITS, first_flat).first_bad == COMMITS[BAD_INDEX]
    assert blurred_calls[0] == blurred_calls[1] == [COMMITS[0], COMMITS[-1]]


def test_bisect_interleaved_skips_unmeasurable_commits_and_missing_endpoints():
    holes = Sessions([1.0], missing={COMMITS[3]})
    outcome = bisect.bisect_interleaved(COMMITS, holes)
    assert outcome.first_bad == COMMITS[BAD_INDEX]
    no_end = bisect.bisect_interleaved(COMMITS, Sessions([1.0], missing={COMMITS[-1]}))
    assert no_end.first_bad is None and "could not be measured" in no_end.message
    with pytest.raises(ValueError, match="sessions"):
        bisect.bisect_interleaved(COMMITS, holes, sessions=0)


def test_placement_is_logarithmic_between_the_brackets():
    assert bisect.placement(1.0, 1.0, 4.0) == 0.0
    assert bisect.placement(2.0, 1.0, 4.0) == pytest.approx(0.5)
    assert bisect.placement(4.0, 1.0, 4.0) == pytest.approx(1.0)
    assert bisect.placement(2.0, 4.0, 1.0) == pytest.approx(0.5)  # improvements too
    assert bisect.placement(0.0, -1.0, 1.0) == pytest.approx(0.5)


def test_bisect_interleaved_measures_again_when_a_probe_lands_far_outside_its_brackets():
    calls = []

    def together(commits):
        calls.append(commits)
        values = {c: (1.0 if COMMITS.index(c) < BAD_INDEX else 1.2) for c in commits}
        if len(calls) == 2:
            values[commits[1]] = 1.6  # a good commit measured in a loaded moment: far above "bad"
        return values

    outcome = bisect.bisect_interleaved(COMMITS, together)
    assert outcome.first_bad == COMMITS[BAD_INDEX]
    assert calls[1] == calls[2]  # the outlying session was repeated before deciding


def test_bisect_interleaved_undoes_a_decision_that_later_sessions_contradict():
    """Values are the minimum over sessions (as the drill's are): a good commit first measured in
    a loaded moment looks bad, the next session lowers it, and the decision is undone."""
    best: dict[str, float] = {}
    calls = []

    def together(commits):
        calls.append(commits)
        for c in commits:
            value = 1.0 if COMMITS.index(c) < BAD_INDEX else 1.2
            if c == COMMITS[3] and c not in best:
                value = 1.19  # first measurement of commit 3: loaded, it looks like the slowdown
            best[c] = min(best.get(c, value), value)
        return {c: best[c] for c in commits}

    outcome = bisect.bisect_interleaved(COMMITS, together)
    assert outcome.first_bad == COMMITS[BAD_INDEX]
    assert [call[1] for call in calls if len(call) == 3].count(COMMITS[3]) == 2  # probed again after the undo


def test_bisect_interleaved_terminates_when_a_bracket_keeps_failing():
    calls = []

    def together(commits):  # the known-bad end cannot be measured after the endpoints' session
        calls.append(commits)
        values = {c: (1.0 if COMMITS.index(c) < BAD_INDEX else 1.2) for c in commits}
        if len(calls) > 1:
            values.pop(COMMITS[-1], None)
        return values

    outcome = bisect.bisect_interleaved(COMMITS, together)
    assert len(calls) < 40
    assert outcome.first_bad == COMMITS[-1] and "could not be measured" in outcome.message
