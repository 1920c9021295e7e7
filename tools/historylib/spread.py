"""Spread statistics: two runs of one commit, back to back or in two sessions.

A session is one stored run: ``.asv/spread/<timestamp>/`` with ``results/`` (asv's) and
``session.json`` (commit, machine, selection, time).
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from pathlib import Path

from .gitrepo import REPO_ROOT
from .selection import base_name, is_instruction_track

SPREAD_DIR = REPO_ROOT / ".asv" / "spread"
INSTRUCTION_AGREEMENT = 0.005  # instruction tracks must agree within 0.5 %
THRESHOLD_MARGIN = 1.5  # suggested threshold: worst spread x this, rounded up to 5 %
THRESHOLD_FLOOR = 0.05
DEFAULT_THRESHOLD = 0.10  # asv.conf.json's first entry: every benchmark but the instruction tracks


def spread_table(first: dict[str, float], second: dict[str, float]) -> list[tuple[str, float]]:
    """``(label, |second/first - 1|)`` for every point measured in both runs, worst first."""
    rows = [(label, abs(second[label] / first[label] - 1.0)) for label in first
            if label in second and first[label] != 0]
    return sorted(rows, key=lambda row: -row[1])


def summarize_spread(rows: list[tuple[str, float]]) -> dict[str, dict[str, float]]:
    """Per benchmark (the label without its parameters): median and worst relative spread."""
    groups: dict[str, list[float]] = {}
    for label, spread in rows:
        groups.setdefault(base_name(label), []).append(spread)
    return {name: {"median": statistics.median(v), "worst": max(v), "points": len(v)}
            for name, v in sorted(groups.items())}


def group_of(label: str) -> str:
    """The threshold group of a point: its module and class (``bench_x.Cls``)."""
    return ".".join(base_name(label).split(".")[:2])


def _worst_with_margin(rows: list[tuple[str, float]], key) -> dict[str, float]:
    """Per ``key(label)``: the worst spread x :data:`THRESHOLD_MARGIN`, rounded up to a multiple of 5 %."""
    worst: dict[str, float] = {}
    for label, spread in rows:
        worst[key(label)] = max(worst.get(key(label), 0.0), spread)
    return {name: math.ceil(value * THRESHOLD_MARGIN * 20 - 1e-9) / 20 for name, value in sorted(worst.items())}


def suggest_thresholds(rows: list[tuple[str, float]]) -> dict[str, float]:
    """Per group (:func:`group_of`): worst spread x :data:`THRESHOLD_MARGIN`, rounded up to a
    multiple of 5 %, at least :data:`THRESHOLD_FLOOR`."""
    return {group: max(THRESHOLD_FLOOR, value) for group, value in _worst_with_margin(rows, group_of).items()}


def instruction_agreement(rows: list[tuple[str, float]], tolerance: float = INSTRUCTION_AGREEMENT
                          ) -> tuple[int, list[tuple[str, float]]]:
    """``(instruction points compared, those differing by more than tolerance)``."""
    points = [(label, spread) for label, spread in rows if is_instruction_track(label)]
    return len(points), [(label, spread) for label, spread in points if spread > tolerance]


def report(rows: list[tuple[str, float]]) -> str:
    """The spread report: per benchmark, suggested thresholds per group, instruction tracks."""
    lines = [f"{'benchmark':70s} {'points':>6s} {'median':>8s} {'worst':>8s}"]
    for name, stats in summarize_spread(rows).items():
        lines.append(f"{name:70s} {stats['points']:6d} {stats['median']:8.1%} {stats['worst']:8.1%}")
    if rows:
        spreads = [spread for _, spread in rows]
        lines.append(f"all {len(rows)} points: median {statistics.median(spreads):.1%}, worst {max(spreads):.1%} "
                     f"({rows[0][0]})")
    lines.append("suggested regressions_thresholds per group (worst spread x 1.5, rounded up to 5 %):")
    lines += [f"  {group:60s} {value:.2f}" for group, value in suggest_thresholds(rows).items()]
    compared, off = instruction_agreement(rows)
    if not compared:
        lines.append("instruction tracks: none measured in both runs")
    elif not off:
        lines.append(f"instruction tracks: all {compared} agree within {INSTRUCTION_AGREEMENT:.1%}")
    else:
        lines.append(f"instruction tracks: {len(off)} of {compared} differ by more than {INSTRUCTION_AGREEMENT:.1%}: "
                     + ", ".join(f"{label} {spread:.2%}" for label, spread in off[:5]))
    return "\n".join(lines)


def new_session_dir(root: Path = SPREAD_DIR) -> Path:
    """A fresh ``root/<UTC timestamp>`` (suffixed when two start in the same second)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path, n = root / stamp, 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path


def write_session(path: Path, commit: str, machine: str, selection: str) -> None:
    """Describe a stored run in ``path/session.json``."""
    (path / "session.json").write_text(json.dumps(
        {"commit": commit, "machine": machine, "selection": selection,
         "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))


def find_session(name: str, root: Path = SPREAD_DIR) -> Path:
    """A stored session by its directory name (or a path)."""
    path = Path(name)
    if not (path / "session.json").exists():
        path = root / name
    if not (path / "session.json").exists():
        from .proc import ToolError

        known = sorted(p.parent.name for p in root.glob("*/session.json")) if root.exists() else []
        raise ToolError(f"no stored spread session {name!r} (known: {', '.join(known) or 'none'})")
    return path


def read_session(path: Path) -> dict:
    """``session.json`` of a stored run."""
    return json.loads((path / "session.json").read_text())


def benchmark_thresholds(rows: list[tuple[str, float]], floor: float = DEFAULT_THRESHOLD) -> dict[str, float]:
    """Per benchmark (``bench_x.Cls.method``): worst spread x :data:`THRESHOLD_MARGIN`, rounded up
    to a multiple of 5 %; only those above ``floor`` (asv.conf.json's default entry). Instruction
    tracks are left out: their threshold is fixed (they must agree within 0.5 %, see
    :func:`instruction_agreement`)."""
    timed = [(label, spread) for label, spread in rows if not is_instruction_track(label)]
    return {name: value for name, value in _worst_with_margin(timed, base_name).items() if value > floor}


def replace_thresholds(config_text: str, measured_names: list[str], new: dict[str, float], note: str) -> str:
    """``config_text`` (asv.conf.json, comments kept) with its ``regressions_thresholds`` block
    rewritten: its first entry (the default) as it was, one entry per benchmark of ``new``
    (``name.*``), then every old entry whose regex matches none of ``measured_names`` (benchmarks the
    sessions did not measure keep theirs). ``note`` becomes the block's first line, a ``//`` comment.

    asv (and :func:`gate.threshold_for`) take the largest matching threshold, so an entry tighter
    than the default only holds for names the default's regex does not match."""
    start = config_text.index('"regressions_thresholds": {')
    end = config_text.index("}", start)
    import json5  # asv's own reader of its commented config (an asv dependency)

    old = json5.loads(config_text[start + len('"regressions_thresholds": '):end + 1])
    indent = " " * 8
    default_regex = next(iter(old), ".*")
    entries = {default_regex: old.get(default_regex, DEFAULT_THRESHOLD)}
    entries.update({re.escape(name) + ".*": value for name, value in new.items()})
    for regex, value in old.items():
        if regex not in entries and not any(re.match(regex, name) for name in measured_names):
            entries[regex] = value
    body = ",\n".join(f"{indent}{json.dumps(regex)}: {value:.2f}" for regex, value in entries.items())
    block = f'"regressions_thresholds": {{\n{indent}// {note}\n{body}\n    }}'
    return config_text[:start] + block + config_text[end + 1:]
