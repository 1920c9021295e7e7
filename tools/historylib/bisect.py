"""Bisection of one benchmark at one parameter combination.

asv's ``find`` takes the largest difference over every parameter combination, so noise in one
combination can outvote a real step in another. Here one value per commit decides: the
endpoints are measured, a threshold is set between them (their geometric mean), and each probe
goes to the side of the endpoint it is nearer to.

On a loaded machine wall time drifts between measurements minutes apart more than a 20 % step
(a commit measured twice read 1.0 ms and 2.6 ms here). :func:`bisect_interleaved` therefore
measures each probe in one session together with the two commits that bracket it (asv
interleaves their rounds), places it between them on a log scale, and measures again when the
placement is ambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

MIN_STEP = 0.02  # a relative step between the endpoints smaller than this is not bisected
# bisect_step measures the final brackets once more; a bracket that reads on the other side is
# measured a third time, and when two of its three readings put it there the bisection resumes
# from it, at most this many times.
REPAIRS = 2
SESSIONS = 3  # most sessions spent on one decision by bisect_interleaved
MARGIN = 0.2  # a placement within this of 0.5 (the middle) is ambiguous and measured again
# A placement further than this from 0.5 (beyond its brackets by half their step) says a value
# of the session was noise, not a step: measured again too.
OUTSIDE = 1.0


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


def bisect_step(commits: list[str], measure: Callable[[str], float | None], min_step: float = MIN_STEP,
                repairs: int = REPAIRS) -> Bisection:
    """Find the first commit whose value sits on the side of the last commit.

    Each probe is decided by one value. Before a commit is named, the final brackets (the named
    commit and the one before it, unless an endpoint) are measured again: one reading that a
    slow spell pushed to the wrong side would otherwise name a harmless commit (the workflow
    test of find failed once in 5 runs on 2026-12-04, after find returned). A bracket whose
    second reading is on the other side is measured a third time; when two of its readings put
    it there, the decision that made it a bracket was wrong and bisection resumes between it and
    the endpoint on its side (``repairs`` times at most, then the commit is named with a note).
    ``measure`` must measure anew when called again for a commit.

    Args:
        commits: oldest first; ``commits[0]`` is the known-good ``from`` endpoint, ``commits[-1]``
            the ``to`` endpoint.
        measure: value of the benchmark point at a commit (None: not measurable there).
        min_step: smallest relative step between the endpoints worth bisecting.
        repairs: most decisions undone by the brackets' second readings (0: no second readings).

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
    last = len(commits) - 1
    lo, hi = 0, last
    unmeasurable: set[int] = set()

    def reads_bad(value: float) -> bool:
        return (value > threshold) == bad_is_higher

    def stays(index: int, bad_side: bool) -> bool:
        """Whether a bracket keeps its side: a second reading there, or two of three."""
        second = probe(index)
        if second is None or reads_bad(second) == bad_side:
            return True
        third = probe(index)
        return third is None or reads_bad(third) == bad_side

    repaired = 0
    while True:
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
            if reads_bad(value):
                hi = mid
            else:
                lo = mid
        if repaired >= repairs:
            break
        if hi != last and not stays(hi, True):  # hi is good after all: the step comes later
            lo, hi = hi, last
        elif lo != 0 and not stays(lo, False):  # lo is bad after all: the step comes earlier
            lo, hi = 0, lo
        else:
            break
        repaired += 1
    first_bad = commits[hi]
    note = "" if hi - lo == 1 else f" (commits between {commits[lo][:8]} and it could not be measured)"
    if repairs > 0 and repaired >= repairs:
        note += f" (second readings undid {repaired} decisions; this one is not confirmed: measure it again)"
    return Bisection(first_bad, good, bad, threshold, tuple(probes),
                     f"step {good:.6g} -> {bad:.6g} ({bad / good - 1.0 if good else float('inf'):+.1%}); "
                     f"first commit on the new side: {first_bad[:8]}{note}")


def placement(value: float, good: float, bad: float) -> float:
    """Where ``value`` sits between ``good`` (0) and ``bad`` (1) on a log scale (linear when a
    value is not positive); below 0 or above 1 outside them."""
    if value > 0 and good > 0 and bad > 0 and good != bad:
        return math.log(value / good) / math.log(bad / good)
    return (value - good) / (bad - good) if bad != good else 0.5


def bisect_interleaved(
    commits: Sequence[str],
    measure_together: Callable[[list[str]], Mapping[str, float | None]],
    min_step: float = MIN_STEP,
    sessions: int = SESSIONS,
    margin: float = MARGIN,
) -> Bisection:
    """:func:`bisect_step` for noisy values: each probe is judged against the two commits that
    bracket it, measured in the same session.

    A session measures a few commits together (``asv run`` over them with several rounds, which
    asv interleaves); values may accumulate over sessions (e.g. the minimum of every sample so
    far). The endpoints are measured first, again (up to ``sessions`` times) while they differ by
    less than ``min_step``. Then each probe is measured with the nearest known-good commit
    ``lo`` and known-bad commit ``hi``; its :func:`placement` between their values of that
    session decides the side, and a placement within ``margin`` of 0.5, or a session where
    ``lo`` and ``hi`` differ by less than ``min_step``, is measured again (``sessions`` at most,
    then the nearer side wins); so is a placement beyond the brackets by more than half their
    step (:data:`OUTSIDE`), which only noise produces when the range holds one step. When later
    sessions show that the brackets no longer hold at least half the endpoints' step, the last
    decision was taken on noise: it is undone and its probe measured again (``sessions`` undos
    at most). The final pair of brackets is measured once more side by side before it is named.

    Args:
        commits: oldest first; ``commits[0]`` is the known-good ``from`` endpoint,
            ``commits[-1]`` the ``to`` endpoint.
        measure_together: values of the given commits measured in one session (None or absent:
            not measurable there).
        min_step: smallest relative step between the endpoints worth bisecting.
        sessions: most sessions per decision (endpoints, then each probe).
        margin: half-width of the ambiguous band around the middle.

    Returns:
        The :class:`Bisection`; ``good_value`` / ``bad_value`` are the endpoints' last values,
        ``threshold`` their :func:`split_value`, ``probes`` every value of every session.
    """
    commits = list(commits)
    if len(commits) < 2:
        return Bisection(None, None, None, None, message="the range holds fewer than two commits")
    if sessions < 1:
        raise ValueError(f"sessions must be >= 1, got {sessions}")
    probes: list[tuple[str, float | None]] = []
    latest: dict[int, float | None] = {}
    last = len(commits) - 1
    endpoint_step = [2.0]  # bad / good in the latest session that measured both endpoints

    def session(indices: list[int]) -> dict[int, float | None]:
        values = measure_together([commits[i] for i in indices])
        got = {i: values.get(commits[i]) for i in indices}
        probes.extend((commits[i], got[i]) for i in indices)
        latest.update({i: value for i, value in got.items() if value is not None})
        if got.get(0) and got.get(last) is not None:  # the endpoints side by side: their step
            endpoint_step[0] = got[last] / got[0]
        return got

    def differ(good: float | None, bad: float | None) -> bool:
        return good is not None and bad is not None and (abs(bad / good - 1.0) >= min_step if good else bad != 0)

    for _ in range(sessions):
        got = session([0, last])
        if differ(got[0], got[last]):
            break
    good, bad = latest.get(0), latest.get(last)
    if good is None or bad is None:
        return Bisection(None, good, bad, None, tuple(probes), "an endpoint could not be measured")
    if not differ(good, bad):
        step = abs(bad / good - 1.0) if good else 0.0
        return Bisection(None, good, bad, None, tuple(probes),
                         f"no step between the endpoints: {good:.6g} -> {bad:.6g} ({step:+.1%} < {min_step:.0%}) "
                         f"in {sessions} session(s)")
    lo, hi = 0, last
    unmeasurable: set[int] = set()
    undecided: dict[int, int] = {}  # probes of a commit that ended without a judgement
    decisions: list[tuple[int, int]] = []  # the brackets before each decision, to undo one
    backtracks = 0
    confirmed = False

    def consistent(lo: int, hi: int) -> bool:
        """The brackets still hold the step: they differ by ``min_step``, in the endpoints'
        direction, by at least half the endpoints' step on a log scale (the ratio of the latest
        session that measured both endpoints, so a drift shared by one session's values
        cancels)."""
        return (differ(latest[lo], latest[hi])
                and placement(latest[hi], latest[lo], latest[lo] * endpoint_step[0]) >= 0.5)

    while True:
        if not consistent(lo, hi):  # a decision taken on noise: undo it and probe again
            if not decisions or backtracks >= sessions:
                return _interleaved_outcome(None, commits, lo, hi, probes, latest,
                                            f"{commits[lo][:8]} and {commits[hi][:8]} stopped differing")
            lo, hi = decisions.pop()
            backtracks += 1
            confirmed = False
            continue
        if hi - lo <= 1 or not any(i not in unmeasurable for i in range(lo + 1, hi)):
            if confirmed:
                break
            session([lo, hi])  # the final brackets once more, side by side
            confirmed = True
            continue
        mid = min((i for i in range(lo + 1, hi) if i not in unmeasurable), key=lambda i: abs(i - (lo + hi) / 2))
        where = None
        for _ in range(sessions):
            got = session([lo, mid, hi])
            if got[mid] is None or not differ(got[lo], got[hi]):
                break  # unmeasurable, or the brackets stopped differing (undone above)
            where = placement(got[mid], got[lo], got[hi])
            if margin <= abs(where - 0.5) <= OUTSIDE:
                break
        undecided[mid] = undecided.get(mid, 0) + (where is None)
        if latest.get(mid) is None or undecided[mid] >= sessions:  # never measured, or never judged
            unmeasurable.add(mid)
            continue
        if where is None:
            continue  # the brackets stopped differing: undone above
        decisions.append((lo, hi))
        confirmed = False
        if where >= 0.5:
            hi = mid
        else:
            lo = mid
    note = "" if hi - lo == 1 else f" (commits between {commits[lo][:8]} and it could not be measured)"
    return _interleaved_outcome(commits[hi], commits, lo, hi, probes, latest, note)


def _interleaved_outcome(first_bad: str | None, commits: list[str], lo: int, hi: int,
                         probes: list[tuple[str, float | None]], latest: dict[int, float | None],
                         note: str) -> Bisection:
    good, bad = latest[0], latest[len(commits) - 1]
    threshold = split_value(good, bad)
    step = f"step {good:.6g} -> {bad:.6g} ({bad / good - 1.0 if good else float('inf'):+.1%})"
    if first_bad is None:
        return Bisection(None, good, bad, threshold, tuple(probes), f"{step}; no decision: {note}")
    return Bisection(first_bad, good, bad, threshold, tuple(probes),
                     f"{step}; first commit on the new side: {first_bad[:8]}{note}")
