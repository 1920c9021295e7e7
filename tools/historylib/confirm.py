"""Settling the regressions asv flagged: re-measure each flagged step side by side.

asv flags a regression when a benchmark's value steps up between two measured commits. On a
shared machine such a step can be drift between the two sittings that measured the commits, not
a change of the code. :func:`settle` measures the commit before the step and the commit asv
blames again, in one sitting, interleaved (``A B B A A B``...: drift that grows or shrinks over
the sitting hits both commits alike) and compares their medians:

- **confirmed**: the re-measured change is in the same direction and at least half the flagged
  one or beyond the benchmark's own threshold (a step that drift made look bigger is still a
  step), and the two commits' samples do not overlap (every sample of the new commit is worse than
  every sample of the old one);
- **drift**: anything else.

asv keeps listing a step as long as the newest segment of the series is worse than the best
one, and it needs more than one commit after a fix to see that segment end. A confirmed step can
therefore be re-measured against a later commit that undid it (:func:`settle_recovery`,
``confirm --fixed-by COMMIT``), interleaved with the commit before the step:

- **fixed**: the later commit is worse than the commit before the step by less than half the
  flagged step and less than the benchmark's threshold: the regression does not persist there;
- otherwise nothing is written (the step still persists; its verdict stays).

The verdicts go into ``docs/regression_confirmations.json`` (schema in
``tools/dashboard_overview.py``); ``publish`` leaves drift and fixed steps out of the dashboard's
regressions page and shows every verdict on the overview page.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .results import measured_commits
from .selection import larger_is_better

CONFIRMATIONS_FILE = Path("docs") / "regression_confirmations.json"
CONFIRMED, DRIFT, FIXED = "confirmed", "drift", "fixed"
MIN_SHARE_OF_FLAGGED_STEP = 0.5  # a confirmed step re-measures at least this share of the flagged one
DEFAULT_ROUNDS = 3  # samples per commit


@dataclass(frozen=True)
class Flag:
    """One regression on asv's regressions page (``html/regressions.json``).

    Attributes:
        label: benchmark name with its parameters, as asv shows it (``bench_x.C.time_y(500)``).
        machine: the machine series the step is in.
        before: full hash of the last measured commit before the step.
        after: full hash of the commit asv blames (the first measured commit after the step).
        old: value at ``before``.
        new: value at ``after``.
    """

    label: str
    machine: str
    before: str
    after: str
    old: float
    new: float

    @property
    def flagged_change(self) -> float:
        """Relative change asv saw, signed so that positive is worse."""
        return _worse_by(self.label, self.old, self.new)


class _Remeasure:
    """What :class:`Settlement` and :class:`Recovery` share: a flagged step, the commit before it
    re-measured against a second commit, and how its verdict is recorded."""

    flag: Flag
    threshold: float

    def _samples(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(samples of flag.before, samples of the second commit)``."""
        raise NotImplementedError

    @property
    def change(self) -> float:
        """Re-measured relative change of the medians, positive is worse."""
        before, second = self._samples()
        return _worse_by(self.flag.label, statistics.median(before), statistics.median(second))

    @property
    def step_size(self) -> float:
        """The change that counts as the flagged step: half the flagged one, or the benchmark's
        threshold when that is smaller (a step that drift made look bigger is still a step)."""
        return min(MIN_SHARE_OF_FLAGGED_STEP * self.flag.flagged_change, self.threshold)

    @property
    def recorded(self) -> bool:
        """Whether the verdict goes into the confirmations file."""
        return True

    def recorded_evidence(self, command: str, replaced: dict | None) -> str:
        """The evidence written for this verdict; ``replaced`` is the entry it replaces, if any."""
        return self.evidence(command)

    def evidence(self, command: str) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Settlement(_Remeasure):
    """The re-measure of one :class:`Flag`: samples of both commits and the verdict."""

    flag: Flag
    old_samples: tuple[float, ...]
    new_samples: tuple[float, ...]
    machine: str
    threshold: float = float("inf")  # the benchmark's regressions threshold (relative)

    def _samples(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.old_samples, self.new_samples

    @property
    def separated(self) -> bool:
        """Whether every sample of the new commit is worse than every sample of the old one."""
        if larger_is_better(self.flag.label):
            return max(self.new_samples) < min(self.old_samples)
        return min(self.new_samples) > max(self.old_samples)

    @property
    def verdict(self) -> str:
        """:data:`CONFIRMED` or :data:`DRIFT` (module docstring)."""
        return CONFIRMED if self.change > 0 and self.change >= self.step_size and self.separated else DRIFT

    def evidence(self, command: str) -> str:
        """One line for the confirmations file: the command and what it measured."""
        samples = _samples_pair(self.flag.before, self.old_samples, self.flag.after, self.new_samples)
        return (f"`{command}` on {self.machine}, interleaved: {samples}: {self.change:+.1%} re-measured "
                f"(flagged {self.flag.flagged_change:+.1%}), samples {'' if self.separated else 'not '}separated")


@dataclass(frozen=True)
class Recovery(_Remeasure):
    """The re-measure of a flagged step's ``before`` commit against a later commit ``head``.

    Attributes:
        flag: the step (``flag.after`` stays the commit the verdict is recorded for).
        head: full hash of the later commit.
        old_samples: values of ``flag.before``.
        head_samples: values of ``head``.
        machine: the machine that measured them.
        threshold: the benchmark's regressions threshold (relative).
    """

    flag: Flag
    head: str
    old_samples: tuple[float, ...]
    head_samples: tuple[float, ...]
    machine: str
    threshold: float = float("inf")

    def _samples(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.old_samples, self.head_samples

    @property
    def verdict(self) -> str:
        """:data:`FIXED` when ``head`` is back (module docstring), else :data:`CONFIRMED`."""
        return FIXED if self.change < self.step_size else CONFIRMED

    @property
    def recorded(self) -> bool:
        """Only a fix is written: a step that persists keeps the verdict it has."""
        return self.verdict == FIXED

    def recorded_evidence(self, command: str, replaced: dict | None) -> str:
        """This re-measure after the evidence of the verdict it replaces."""
        own = self.evidence(command)
        return f"{replaced['verdict']}: {replaced['evidence']}; then {own}" if replaced else own

    def evidence(self, command: str) -> str:
        """One line for the confirmations file: the command and what it measured."""
        samples = _samples_pair(self.flag.before, self.old_samples, self.head, self.head_samples)
        return (f"fixed by {self.head[:8]}: `{command}` on {self.machine}, interleaved: {samples}: {self.change:+.1%} "
                f"(the step was flagged {self.flag.flagged_change:+.1%})")


def _samples_pair(first: str, first_samples, second: str, second_samples) -> str:
    """``"aaaaaaaa [1, 1.01] vs bbbbbbbb [1.2, 1.21]"``: two commits and their samples."""
    def fmt(values):
        return ", ".join(f"{v:.4g}" for v in values)

    return f"{first[:8]} [{fmt(first_samples)}] vs {second[:8]} [{fmt(second_samples)}]"


def _worse_by(label: str, old: float, new: float) -> float:
    """Relative change from ``old`` to ``new``, positive when it is a worsening."""
    if old == 0:
        return 0.0
    change = new / old - 1.0
    return -change if larger_is_better(label) else change


def published_flags(html_dir: Path, results_dir: Path) -> list[Flag]:
    """The regressions of a published dashboard, one :class:`Flag` per step.

    asv gives no "before" revision for a step at the start of its data; the commit measured just
    before the blamed one in that machine's series (``results_dir``) is taken then.

    Raises:
        ValueError: ``regressions.json`` or ``index.json`` is missing or malformed.
    """
    try:
        regressions = json.loads((html_dir / "regressions.json").read_text())["regressions"]
        revisions = json.loads((html_dir / "index.json").read_text())["revision_to_hash"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{html_dir}: no published regressions to read ({exc})") from None
    flags = []
    for entry in regressions:
        label, params = entry[0], entry[2]
        machine = params.get("machine", "?")
        for before_rev, after_rev, old, new in entry[6]:
            if before_rev is None:
                before_rev = previous_measured(revisions, int(after_rev), measured_commits(results_dir, machine))
                if before_rev is None:
                    continue  # nothing measured before it: no step to settle
            flags.append(Flag(label, machine, revisions[str(before_rev)], revisions[str(after_rev)],
                              float(old), float(new)))
    return flags


def previous_measured(revisions: dict[str, str], after_rev: int, measured: set[str]) -> int | None:
    """The newest revision before ``after_rev`` whose commit (8-hex prefix) is in ``measured``."""
    earlier = sorted((int(rev) for rev, sha in revisions.items() if int(rev) < after_rev and sha[:8] in measured),
                     reverse=True)
    return earlier[0] if earlier else None


def label_regex(label: str) -> str:
    """An asv ``--bench`` regex selecting exactly the benchmark point ``label``."""
    return f"^{re.escape(label)}$"


def interleaved_order(before: str, after: str, rounds: int) -> list[str]:
    """``A B B A A B ...``: ``rounds`` measurements of each commit, drift shared by both."""
    order: list[str] = []
    for i in range(rounds):
        order += [before, after] if i % 2 == 0 else [after, before]
    return order


def settle(flags: list[Flag], measure: Callable[[str, list[str]], dict[str, float]], machine: str,
           rounds: int = DEFAULT_ROUNDS, threshold: Callable[[str], float] | None = None) -> list[Settlement]:
    """Re-measure ``flags``, grouped by commit pair, interleaved (:func:`interleaved_order`).

    Args:
        flags: what to settle.
        measure: ``(commit, labels) -> {label: value}``: one measurement of those points.
        machine: name of the machine doing it (recorded in the evidence).
        rounds: samples per commit.
        threshold: ``label -> relative threshold`` (asv.conf.json's); without it a step must
            re-measure at least half the flagged one.

    Returns:
        One :class:`Settlement` per flag whose points were measured every time.
    """
    return [Settlement(flag, old, new, machine, limit)
            for flag, old, new, limit in _paired_samples(flags, lambda flag: flag.after, measure, rounds, threshold)]


def settle_recovery(flags: list[Flag], head: str, measure: Callable[[str, list[str]], dict[str, float]],
                    machine: str, rounds: int = DEFAULT_ROUNDS,
                    threshold: Callable[[str], float] | None = None) -> list[Recovery]:
    """Re-measure each flag's ``before`` commit against ``head``, interleaved, grouped by
    ``before`` (:func:`interleaved_order`); one :class:`Recovery` per flag measured every time."""
    return [Recovery(flag, head, old, new, machine, limit)
            for flag, old, new, limit in _paired_samples(flags, lambda flag: head, measure, rounds, threshold)]


def _paired_samples(flags: list[Flag], second: Callable[[Flag], str],
                    measure: Callable[[str, list[str]], dict[str, float]], rounds: int,
                    threshold: Callable[[str], float] | None):
    """``(flag, before samples, second-commit samples, threshold)`` of each flag measured
    ``rounds`` times at both: flags grouped by ``(flag.before, second(flag))``, each pair of
    commits measured interleaved (:func:`interleaved_order`), all the group's points per run."""
    pairs: dict[tuple[str, str], list[Flag]] = {}
    for flag in flags:
        pairs.setdefault((flag.before, second(flag)), []).append(flag)
    for (before, other), group in pairs.items():
        labels = sorted({flag.label for flag in group})
        samples: dict[tuple[str, str], list[float]] = {}
        for commit in interleaved_order(before, other, rounds):
            for label, value in measure(commit, labels).items():
                samples.setdefault((commit, label), []).append(value)
        for flag in group:
            old, new = samples.get((before, flag.label), []), samples.get((other, flag.label), [])
            if len(old) == rounds and len(new) == rounds:
                yield flag, tuple(old), tuple(new), threshold(flag.label) if threshold else float("inf")


def merge_confirmations(path: Path, settlements: list[Settlement | Recovery], command: str) -> int:
    """Write verdicts into the confirmations file, replacing entries for the same point, commit
    and machine series; returns how many entries the file holds. Items that are not ``recorded``
    (a :class:`Recovery` whose step persists) write nothing."""
    try:
        data = json.loads(path.read_text())
    except OSError:
        data = {"version": 1, "confirmations": []}
    entries = data.setdefault("confirmations", [])
    for item in settlements:
        if not item.recorded:
            continue
        key = (item.flag.label, item.flag.after[:8], item.flag.machine)
        replaced = [e for e in entries if (e.get("benchmark"), e.get("commit"), e.get("machine")) == key]
        entries[:] = [e for e in entries if e not in replaced]
        entries.append({"benchmark": item.flag.label, "commit": item.flag.after[:8], "verdict": item.verdict,
                        "evidence": item.recorded_evidence(command, replaced[0] if replaced else None),
                        "machine": item.flag.machine})
    entries.sort(key=lambda e: (e["commit"], e["benchmark"], e.get("machine") or ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return len(entries)


def drop_dismissed(html_dir: Path, confirmations_path: Path) -> int:
    """Remove the steps settled as drift, and those fixed by a later commit, from the published
    ``regressions.json`` and ``regressions.xml`` (asv's regressions page and feed, which list only
    what persists); returns how many steps were removed."""
    # The overview page's reader: one schema check and one matching rule for both pages.
    from dashboard_overview import Verdict, load_confirmations

    try:
        dismissed = [entry for entry in load_confirmations(confirmations_path)
                     if entry.verdict in (Verdict.DRIFT, Verdict.FIXED)]
    except (OSError, ValueError):
        return 0
    regressions_path = html_dir / "regressions.json"
    try:
        data = json.loads(regressions_path.read_text())
        revisions = json.loads((html_dir / "index.json").read_text())["revision_to_hash"]
    except (OSError, ValueError, KeyError):
        return 0
    removed, kept = 0, []
    dropped_keys = set()
    for entry in data.get("regressions", []):
        machine = entry[2].get("machine", "?")
        steps = [step for step in entry[6]
                 if not any(c.matches(entry[0], revisions[str(step[1])], machine) for c in dismissed)]
        removed += len(entry[6]) - len(steps)
        if steps:
            kept.append([*entry[:6], steps])
        else:
            dropped_keys.add((entry[0], machine))
    if not removed:
        return 0
    data["regressions"] = kept
    regressions_path.write_text(json.dumps(data))
    _drop_feed_entries(html_dir / "regressions.xml", dropped_keys)
    return removed


def _drop_feed_entries(feed: Path, dropped: set[tuple[str, str]]) -> None:
    """Remove the Atom entries of fully dismissed regressions from asv's feed."""
    import xml.etree.ElementTree as ET

    if not feed.exists() or not dropped:
        return
    atom = "{http://www.w3.org/2005/Atom}"
    ET.register_namespace("", atom[1:-1])
    tree = ET.parse(feed)
    root = tree.getroot()
    for entry in list(root.findall(f"{atom}entry")):
        title = entry.findtext(f"{atom}title") or ""
        link = entry.find(f"{atom}link")
        href = link.get("href", "") if link is not None else ""
        name = title.split(" ", 1)[1] if " " in title else title
        if any(name == label and f"machine={machine}" in href for label, machine in dropped):
            root.remove(entry)
    tree.write(feed, encoding="utf-8", xml_declaration=True)
