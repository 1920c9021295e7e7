"""Named benchmark selections and which tracks are larger-is-better.

``THROUGHPUT_PATTERNS`` is the one list of larger-is-better tracks: the gate reads it, and
``asv.conf.json``'s ``regressions_first_commits`` is built from it (:func:`first_commits_entries`;
a test keeps the two equal).
"""

from __future__ import annotations

import re

# What one pass over a commit measures. ``default`` holds the component benchmarks; the others
# are passes of their own, each with its own per-commit budget: the scalability grid (45 one-step
# points and the run lengths), the AgentFarm workload (the preset run end to end, 100 and 1 000
# agents, learning off/on, MLP/CNN: ~2 min of simulation per commit whatever the repeats) and the
# instruction tracks (under valgrind). The soak runs for long and is only in ``all``.
SELECTIONS = {
    "default": (r"^bench_(?!scalability\.(StepScaling|RunLength)\.|soak\.|instructions\.|workload\."
                r"|latency\.StepLatency\.)"),
    "grid": r"^bench_scalability\.(StepScaling|RunLength)\.",
    "workload": r"^bench_(workload\.|latency\.StepLatency\.)",
    "instructions": r"^bench_instructions\.",
    "all": None,
}
DEFAULT_SELECTION = "default"
# A `track_` whose name holds one of these is larger-is-better (rates, speedups, ratios of rates).
THROUGHPUT_PATTERNS = ("_per_second", "throughput", "speedup", "rows_per", "_over_row_at_a_time", "logger_over_raw")
INSTRUCTION_TRACK = re.compile(r"\.track_\w*instructions$")
# Benchmarks whose figure is the whole process's peak RSS (asv's ``peakmem_``): each runs in a
# fresh interpreter (asv's ``spawn``). Every other benchmark is forked from one process that has
# imported the suite once (``forkserver``): a spawned process pays Python, numpy, scipy (and for
# some modules torch) imports again, ~0.8-2 s, for each parameter combination; a fork costs a few
# ms. A forked child's peak RSS would include every module the server imported, so peak-memory
# benchmarks cannot be forked.
PROCESS_MEMORY = r"\.peakmem_"
SPAWN, FORKSERVER = "spawn", "forkserver"


def resolve(bench: list[str] | None) -> list[str] | None:
    """Regexes of a selection: names from :data:`SELECTIONS` or regexes (repeatable).

    Returns:
        The regexes, or None for the whole suite.
    """
    items = bench or [DEFAULT_SELECTION]
    regexes: list[str] = []
    for item in items:
        if item in SELECTIONS:
            if SELECTIONS[item] is None:
                return None
            regexes.append(SELECTIONS[item])
        else:
            regexes.append(item)
    return regexes


def bench_args(bench: list[str] | None) -> list[str]:
    """``--bench`` arguments for asv (none for the whole suite)."""
    regexes = resolve(bench)
    return [arg for regex in regexes or [] for arg in ("--bench", regex)]


def launch_groups(bench: list[str] | None) -> list[tuple[str, list[str]]]:
    """The selection split by how asv launches its benchmarks: ``[(launch method, regexes)]``.

    Each regex of the selection is narrowed twice, to its :data:`PROCESS_MEMORY` benchmarks
    (``spawn``) and to the rest (``forkserver``); asv selects a benchmark when any regex of a
    group matches (``re.search``), so the two groups partition the selection.
    """
    regexes = resolve(bench) or [""]
    within = [f"^(?=.*?(?:{regex}))" for regex in regexes]
    return [(SPAWN, [f"{w}(?=.*{PROCESS_MEMORY})" for w in within]),
            (FORKSERVER, [f"{w}(?!.*{PROCESS_MEMORY})" for w in within])]


def module_pieces(bench: list[str] | None, known: list[str]) -> list[tuple[str, list[str]]]:
    """The selection split by benchmark module: ``[(module, regexes)]``, one entry for each module
    (``bench_x`` of ``bench_x.Cls.method``) of which the selection runs a benchmark of ``known``
    (see ``history.known_benchmarks``), in name order. A piece's regexes select the selection's
    benchmarks of that module only, so the pieces partition the selection."""
    regexes = resolve(bench) or [""]
    chosen = [name for name in known if any(re.search(regex, name) for regex in regexes)]
    modules = sorted({name.split(".", 1)[0] for name in chosen})
    return [(module, [f"^(?=.*?(?:{regex})){re.escape(module)}\\." for regex in regexes]) for module in modules]


def selection_label(bench: list[str] | None) -> str:
    """A short name for a selection (used in progress files and commit messages)."""
    return "+".join(bench or [DEFAULT_SELECTION])


def base_name(label: str) -> str:
    """``bench_x.Cls.track_y`` of ``bench_x.Cls.track_y(p1, p2)``."""
    return label.split("(", 1)[0]


def larger_is_better(name: str) -> bool:
    """Whether a bigger value of benchmark ``name`` (parameters allowed) is an improvement."""
    method = base_name(name).rsplit(".", 1)[-1]
    return method.startswith("track_") and any(pattern in method for pattern in THROUGHPUT_PATTERNS)


def best_value(name: str, values: list[float]) -> float:
    """The best of several readings of benchmark ``name``: the highest for a larger-is-better
    track, else the lowest (load and drift only ever make a reading worse)."""
    return max(values) if larger_is_better(name) else min(values)


def is_instruction_track(name: str) -> bool:
    """Whether ``name`` is an instruction-count track (``track_*_instructions``)."""
    return bool(INSTRUCTION_TRACK.search(base_name(name)))


def counts_only(bench: list[str] | None) -> bool:
    """Whether the selections ``bench`` (``--bench`` values; None: the default) measure
    instruction counts only, figures that the host's speed does not change."""
    return bool(bench) and all(b == "instructions" for b in bench)


def first_commits_entries() -> dict[str, None]:
    """``regressions_first_commits`` for asv.conf.json: asv's regressions page only flags
    increases, so larger-is-better tracks are left to the gate (``continuous``)."""
    return {rf".*\.track_.*{re.escape(pattern)}.*": None for pattern in THROUGHPUT_PATTERNS}
