"""Measuring commits with ``asv run``: the resumable, chunked history run.

asv saves each benchmark's result as soon as it has it and ``--skip-existing-successful`` skips
what is saved, so an interrupted run resumes at the benchmark where it stopped. On top of that
the history run works in chunks of commits, records each finished chunk in
``.asv/history-progress.json`` (so a later sitting starts at the first unfinished commit without
asking asv) and can ``git commit`` each chunk's results. A commit whose committed results already
record every benchmark of the selection counts as finished too, so a fresh clone or a new
worktree, which has no progress file, resumes where the series stands instead of installing
every commit again for asv to skip.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import hostcheck, memoryworkers, results, selection
from .asvconf import config_dir, run_asv, write_derived_config
from .gitrepo import REPO_ROOT, git
from .proc import ASV_RUN_TIMEOUT, ToolError

log = logging.getLogger(__name__)

# One process per benchmark and parameter combination per commit (asv's default is two rounds).
DEFAULT_ATTRIBUTES = ("rounds=1",)
PROGRESS_FILE = REPO_ROOT / ".asv" / "history-progress.json"
BENCHMARKS_FILE = REPO_ROOT / "results" / "benchmarks.json"
# asv run's exit code when it measured but some benchmarks failed.
RC_SOME_FAILED = 2
# run_history's exit code when every chunk was measured but some commits' points were dropped
# because the host drifted during their pass (see ``drift``).
RC_DRIFTED = 3
# run_history's exit code when it stopped at its deadline waiting for a quiet host (``wait_quiet``).
RC_NOT_QUIET = 4
# A probe (find, the drill, a gate on a benchmark or two) launches at most this many benchmark
# combinations: spawning them, each process importing only its module, is cheaper than asv's
# forkserver, which imports the whole suite first (one combination per asv run on the Zen 1 host:
# 3.2-3.7 s spawned against 6.9-10.8 s forked).
SPAWN_AT_MOST = 2


def _benchmarks_listing(path: Path | None = None) -> dict[str, dict] | None:
    """``{name: info}`` of every benchmark in ``results/benchmarks.json`` (or ``path``); None if
    unreadable."""
    try:
        listing = json.loads((path or BENCHMARKS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return {name: info for name, info in listing.items() if name != "version" and isinstance(info, dict)}


def _combination_names(name: str, info: dict) -> list[str]:
    """asv's ``name(p1, p2)`` of each parameter combination of a benchmark; [] if it has none."""
    params = info.get("params") or []
    return [f"{name}({', '.join(combo)})" for combo in itertools.product(*params)] if params else []


def known_benchmarks(path: Path | None = None) -> list[str] | None:
    """What asv's ``--bench`` regexes are matched against: every benchmark's name and, for a
    parameterized one, each ``name(p1, p2)`` (from ``results/benchmarks.json``); None if unreadable."""
    listing = _benchmarks_listing(path)
    if listing is None:
        return None
    return [label for name, info in listing.items() for label in (name, *_combination_names(name, info))]


def selected_combinations(regexes: list[str], path: Path | None = None) -> int | None:
    """How many benchmark processes asv launches per commit for ``--bench`` ``regexes``: as asv
    selects them, a parameterized benchmark's combinations matched by ``name(p1, p2)``, any other
    benchmark by its name (from ``results/benchmarks.json``); None if the listing is unreadable."""
    listing = _benchmarks_listing(path)
    if listing is None:
        return None
    return sum(1 for name, info in listing.items() for label in (_combination_names(name, info) or [name])
               if any(re.search(regex, label) for regex in regexes))


def spawns_probe(bench: list[str] | None, path: Path | None = None) -> bool:
    """Whether a probe of selection ``bench`` should spawn its benchmarks instead of forking them:
    it runs between 1 and :data:`SPAWN_AT_MOST` combinations (see :func:`measure`'s
    ``spawn_probe``). A caller decides once for its whole selection, so every measurement it
    compares with another (a gate's sittings and their settling) is launched the same way."""
    regexes = selection.resolve(bench) or [""]
    count = selected_combinations(regexes, path)
    return count is not None and 0 < count <= SPAWN_AT_MOST


def attribute_args(attributes: list[str] | None) -> list[str]:
    """``-a`` arguments; None gives :data:`DEFAULT_ATTRIBUTES`."""
    chosen = list(DEFAULT_ATTRIBUTES) if attributes is None else attributes
    return [arg for attribute in chosen for arg in ("-a", attribute)]


def measure(commits: list[str], machine: str, bench: list[str] | None, attributes: list[str] | None = None,
            force: bool = False, config: Path | None = None, hashfile: Path | None = None,
            log_path: Path | None = None, cwd: Path = REPO_ROOT, timeout: float = ASV_RUN_TIMEOUT,
            progress: bool = True, memory_workers: int = memoryworkers.MEMORY_WORKERS,
            spawn_probe: bool = False) -> int:
    """``asv run HASHFILE:...`` over ``commits`` (oldest first) under ``machine``: one run for
    the peak-memory benchmarks (spawned) and one for the rest (forked), see
    :func:`selection.launch_groups`. The peak-memory group is split over ``memory_workers``
    concurrent asv processes when it holds several benchmarks (:mod:`historylib.memoryworkers`);
    the forked group always runs alone, after it.

    Args:
        commits: full hashes.
        machine: asv machine name (already recorded, see :mod:`historylib.machine`).
        bench: selection names or regexes (see :func:`selection.resolve`).
        attributes: ``-a`` overrides (None: :data:`DEFAULT_ATTRIBUTES`).
        force: re-measure what already has results.
        config: asv config (default: asv.conf.json).
        hashfile: where the commit list is written.
        log_path: where asv's full output goes.
        cwd: repository asv runs in.
        timeout: seconds for the whole asv run.
        progress: one progress line instead of asv's output.
        memory_workers: concurrent asv processes for the peak-memory group (1: one run).
        spawn_probe: spawn the forked group too (a caller that measures a few combinations and
            compares only with its own measurements launched the same way: :func:`spawns_probe`).
            The history's series keep asv's forkserver, so a stored point and a new one compare.

    Returns:
        asv's exit code (the first failing one, else :data:`RC_SOME_FAILED` if a run had failed
        benchmarks, else 0).
    """
    hashfile = hashfile or REPO_ROOT / ".asv" / "history-hashes.txt"
    hashfile.parent.mkdir(parents=True, exist_ok=True)
    hashfile.write_text("\n".join(commits) + "\n")
    log_path = log_path or REPO_ROOT / ".asv" / "history.log"
    final = 0
    known = known_benchmarks()
    # Peak-memory benchmarks in fresh interpreters, the rest forked (see selection.launch_groups);
    # a group that selects none of the suite's benchmarks is not run (asv would still install).
    groups = [(launch, regexes) for launch, regexes in selection.launch_groups(bench)
              if known is None or any(re.search(regex, name) for regex in regexes for name in known)]
    for number, (launch, regexes) in enumerate(groups):
        method = selection.SPAWN if spawn_probe else launch
        args = ["run", f"HASHFILE:{hashfile}", "--machine", machine, "--show-stderr", "--launch-method", method]
        args += attribute_args(attributes) + ([] if force else ["--skip-existing-successful"])
        shares = memory_shares(regexes, machine, config or cwd / "asv.conf.json", memory_workers) \
            if launch == selection.SPAWN else []
        if len(shares) > 1:
            # Peak RSS does not depend on load: the spawned group runs in concurrent asv processes.
            rc = memoryworkers.combined_code(
                memoryworkers.run_shares(shares, args, machine, commits, config, cwd, log_path, timeout, progress,
                                         append_log=number > 0), RC_SOME_FAILED)
        else:
            if launch == selection.SPAWN:
                memoryworkers.settle([config or cwd / "asv.conf.json"], cwd, timeout)
            rc, _ = run_asv(*args, *[arg for regex in regexes for arg in ("--bench", regex)], config=config, cwd=cwd,
                            log_path=log_path, progress=progress, echo=progress, total_commits=len(commits),
                            timeout=timeout, append_log=number > 0)
        if rc not in (0, RC_SOME_FAILED):
            return rc
        final = final or rc
    return final


def memory_shares(regexes: list[str], machine: str, config: Path, workers: int,
                  listing_path: Path | None = None) -> list[memoryworkers.Share]:
    """The spawned group's benchmarks (selected by ``regexes``) in at most ``workers`` shares,
    balanced by the durations recorded in ``config``'s results (empty: the listing is unreadable)."""
    path = listing_path or BENCHMARKS_FILE
    known = known_benchmarks(path)
    if known is None or workers < 2:
        return []
    listing = json.loads(path.read_text())
    # A scratch results directory (spread, main on a fresh machine) has no durations yet: the
    # repository's series has, for the same suite.
    durations = (memoryworkers.recorded_durations(config_dir(config, "results_dir", config.parent), machine)
                 or memoryworkers.recorded_durations(path.parent, machine))
    return memoryworkers.plan(known, regexes, listing, durations, workers)


def selected_benchmarks(bench: list[str] | None, path: Path | None = None) -> dict[str, str] | None:
    """``{name: version}`` of the suite's benchmarks (``results/benchmarks.json``) that the
    selection runs; None when the listing is unreadable or the selection selects nothing."""
    listing = _benchmarks_listing(path)
    if listing is None:
        return None
    regexes = selection.resolve(bench)
    chosen = {name: str(info.get("version")) for name, info in listing.items()
              if regexes is None or any(re.search(regex, name) for regex in regexes)}
    return chosen or None


def already_in_results(commits: list[str], bench: list[str] | None,
                       recorded: dict[str, dict[str, str]]) -> set[str]:
    """Those of ``commits`` whose results (``recorded``: :func:`results.recorded_versions`)
    already record every benchmark of the selection (so a fresh clone or a new worktree resumes
    where the series stands)."""
    wanted = selected_benchmarks(bench)
    if wanted is None:
        return set()
    covered = results.covering_commits(recorded, wanted)
    return {commit for commit in commits if commit[:8] in covered}


def recorded_done(tracker: "Progress", commits: list[str], machine: str, bench: list[str] | None,
                  recorded: dict[str, dict[str, str]]) -> set[str]:
    """Those of ``commits`` already finished for the selection: the results (``recorded``:
    :func:`results.recorded_versions`) cover it (:func:`already_in_results`), or ``tracker``
    lists the commit and its results hold at least one of the selection's benchmarks. A listed
    commit whose results hold none (its points were dropped, or reset out of git, after it was
    listed) is measured again."""
    wanted = selected_benchmarks(bench)
    listed = tracker.done(machine, selection.selection_label(bench))
    if wanted is not None:
        holding = results.touching_commits(recorded, wanted)
        listed = {c for c in listed if c[:8] in holding}
    return (listed & set(commits)) | already_in_results(commits, bench, recorded)


@dataclass(frozen=True)
class Progress:
    """Finished commits per machine and selection, in ``.asv/history-progress.json``."""

    path: Path = PROGRESS_FILE

    def _load(self) -> dict[str, list[str]]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def done(self, machine: str, label: str) -> set[str]:
        """Full hashes finished for ``machine`` and selection ``label``."""
        return set(self._load().get(f"{machine}|{label}", []))

    def add(self, machine: str, label: str, commits: list[str]) -> None:
        """Record ``commits`` as finished."""
        data = self._load()
        key = f"{machine}|{label}"
        data[key] = sorted(set(data.get(key, [])) | set(commits))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, indent=1))


def chunks(commits: list[str], size: int) -> list[list[str]]:
    """``commits`` in consecutive chunks of ``size`` (0: one chunk)."""
    if size <= 0:
        return [commits] if commits else []
    return [commits[i:i + size] for i in range(0, len(commits), size)]


def commit_message(chunk: list[str], machine: str, label: str, cwd: Path = REPO_ROOT) -> str:
    """``Benchmark history: <hashes> measured on <machine> (<selection>)`` plus one line per commit."""
    lines = [git("log", "-1", "--format=%h %s", commit, cwd=cwd).strip() for commit in chunk]
    head = f"Benchmark history: {', '.join(c[:8] for c in chunk)} measured on {machine} ({label})"
    return head + "\n\n" + "\n".join(lines) + "\n"


def commit_results(chunk: list[str], machine: str, label: str, results_dir: Path, cwd: Path = REPO_ROOT) -> bool:
    """``git commit`` the results of ``machine`` (and the suite list) after a chunk; only those
    paths, whatever else is staged. Returns whether a commit was made."""
    paths = [str(p.relative_to(cwd)) for p in (results_dir / machine, results_dir / "benchmarks.json") if p.exists()]
    if not paths:
        return False
    git("add", "--", *paths, cwd=cwd)
    try:
        git("diff", "--cached", "--quiet", "--", *paths, cwd=cwd)
        return False  # nothing new
    except subprocess.CalledProcessError:
        pass
    git("commit", "-q", "-m", commit_message(chunk, machine, label, cwd), "--", *paths, cwd=cwd)
    return True


def run_history(commits: list[str], machine: str, bench: list[str] | None = None,
                attributes: list[str] | None = None, force: bool = False, chunk: int = 0,
                commit: bool = False, results_dir: Path | None = None, config: Path | None = None,
                progress_file: Path = PROGRESS_FILE, cwd: Path = REPO_ROOT,
                timeout: float = ASV_RUN_TIMEOUT, drift: hostcheck.DriftWitness | None = None,
                wait_quiet: Callable[[], bool] | None = None, by_module: bool = False) -> int:
    """Measure ``commits`` in chunks, resuming after the last finished chunk.

    Args:
        commits: full hashes, oldest first.
        machine: asv machine name.
        bench: selection names or regexes.
        attributes: ``-a`` overrides.
        force: re-measure everything (finished chunks included).
        chunk: commits per asv run (0: all in one).
        commit: ``git commit`` the results after each chunk.
        results_dir: the results directory (for ``commit`` and ``drift``).
        config: asv config.
        progress_file: where finished chunks are recorded.
        cwd: the repository.
        timeout: seconds per chunk.
        drift: checks each commit of a measured chunk against the series' floors (see
            :func:`drifted`); a commit that drifted has its results files put back as they were
            before the chunk and is not recorded as finished (a later run measures it again); the
            others of the chunk are kept.
        wait_quiet: called before each chunk; it waits for a quiet host and returns False once its
            deadline has passed, which stops the run. With it, drifted commits are measured again
            in a chunk of their own (after the others) until they hold or the deadline passes.
        by_module: measure each chunk one benchmark module at a time (:func:`selection.module_pieces`),
            each piece an asv run of its own, gated, drift-checked and committed on its own, for a
            host whose fast spells are shorter than a whole pass; a piece a commit's results already
            cover is not run. A commit is recorded as finished once all its pieces are kept.

    Returns:
        0, or the first failing asv exit code (:data:`RC_SOME_FAILED` when some benchmarks
        failed but every chunk was measured, :data:`RC_DRIFTED` when commits were dropped,
        :data:`RC_NOT_QUIET` when ``wait_quiet`` gave up).
    """
    if not commits:
        raise ToolError("no commits to measure")
    results_dir = results_dir or REPO_ROOT / "results"
    label = selection.selection_label(bench)
    tracker = Progress(progress_file)
    recorded = {} if force else results.recorded_versions(results_dir, machine)
    done = set() if force else recorded_done(tracker, commits, machine, bench, recorded)
    todo = [c for c in commits if c not in done]
    print(f"{len(commits)} commit(s) {commits[0][:8]}..{commits[-1][:8]} on machine {machine!r}, selection {label}: "
          f"{len(commits) - len(todo)} already finished, {len(todo)} to measure"
          + (f" in chunks of {chunk}" if chunk else "") + f"; asv log: {REPO_ROOT / '.asv' / 'history.log'}")
    final = 0
    dropped: dict[tuple[str, str], str] = {}  # (commit, piece label): why its points were dropped
    # Each item: (commits, piece); a piece is (module, its regexes), or None for the whole selection.
    pieces = selection.module_pieces(bench, known_benchmarks() or []) if by_module else []
    # A piece the results already cover (an earlier, interrupted run) is not measured again.
    queue = [(rest, piece) for part in chunks(todo, chunk) for piece in pieces or [None]
             if (rest := [c for c in part if piece is None or c not in already_in_results([c], piece[1], recorded)])]
    unfinished = {c: sum(c in part for part, _ in queue) for c in todo}  # pieces still to keep, per commit
    number = 0
    while queue:
        part, piece = queue.pop(0)
        piece_bench, piece_label = (piece[1], f"{label}: {piece[0]}") if piece else (bench, label)
        if wait_quiet is not None and not wait_quiet():
            left = sorted({c for rest, _ in [(part, piece), *queue] for c in rest}, key=commits.index)
            print(f"stopped at the deadline with {len(left)} commit(s) to measure ({', '.join(c[:8] for c in left)}); "
                  f"run the same command again to resume")
            return RC_NOT_QUIET
        number += 1
        started = time.monotonic()
        before = snapshot_results(results_dir, machine, part) if drift else {}
        # The floors right before the piece witness its start, those with or after it its end.
        opening = witness(part, machine, "before the pass", attributes, config, cwd, timeout) \
            if drift else {}
        wall_start = time.time()
        rc = measure(part, machine, piece_bench, attributes, force, config=config, cwd=cwd, timeout=timeout)
        print(f"chunk {number}: {len(part)} commit(s) {part[0][:8]}..{part[-1][:8]}"
              + (f", {piece[0]}" if piece else "") + f", asv exit code {rc}, {time.monotonic() - started:.0f} s")
        if rc not in (0, RC_SOME_FAILED):
            print("stopped; run the same command again to resume at this chunk")
            return rc
        final = final or rc
        kept = part
        if drift:
            reasons = drifted(part, machine, drift, wall_start, results_dir, attributes, config, cwd, timeout,
                              opening)
            for c, reason in reasons.items():
                restore_results(results_dir, machine, c, before)
                print(f"dropped {reason}: its points of this pass are not kept")
            kept = [c for c in part if c not in reasons]
            for c in kept:
                dropped.pop((c, piece_label), None)
            dropped.update({(c, piece_label): reason for c, reason in reasons.items()})
            if reasons and wait_quiet is not None:
                queue.append((list(reasons), piece))  # once the host is quiet again
        for c in kept:
            unfinished[c] -= 1
        tracker.add(machine, label, [c for c in kept if unfinished[c] == 0])
        if commit and kept:
            made = commit_results(kept, machine, piece_label, results_dir, cwd)
            print("committed the chunk's results" if made else "no new results to commit")
    if dropped:
        left = sorted({c for c, _ in dropped}, key=commits.index)
        print(f"{len(left)} commit(s) dropped for host drift ({', '.join(c[:8] for c in left)}); "
              f"run the same command again, in a quieter sitting, to measure them")
        return final or RC_DRIFTED
    return final


def drifted(commits: list[str], machine: str, drift: hostcheck.DriftWitness, since: float, results_dir: Path,
            attributes: list[str] | None, config: Path | None, cwd: Path, timeout: float,
            opening: dict[str, dict[str, float]] | None = None) -> dict[str, str]:
    """``{commit: reason}`` for those of ``commits`` whose pass (started at ``since``, seconds
    since the epoch) ran on a host that drifted from the series' (:meth:`DriftWitness.reason`).

    The floors ``opening`` holds (measured right before the pass, :func:`witness`) and those the
    pass measured (the default selection holds them) witness it: this host's slow spells can be
    shorter than a pass, so a witness at one end alone lets a pass that was fast only there in.
    A commit whose pass measured only some floors (another selection, one module of it, or asv
    skipped them as already measured) has all of them measured right after its pass, into the
    witness's scratch directory (:func:`witness`).
    """
    floors = {c: floor_points(results_dir, machine, c, since) for c in commits}
    unwitnessed = [c for c, points in floors.items() if len(points) < len(hostcheck.FLOOR_POINTS)]
    if unwitnessed:
        floors.update(witness(unwitnessed, machine, "after the pass", attributes, config, cwd, timeout))
    opening = opening or {}
    reasons = {}
    for c, points in floors.items():
        reason = drift.reason(opening.get(c, {}), c, "before its pass") or drift.reason(points, c, "with its pass")
        if reason is not None:
            reasons[c] = reason
    return reasons


def floor_points(results_dir: Path, machine: str, commit: str, since: float) -> dict[str, float]:
    """``commit``'s floor points (:data:`hostcheck.FLOOR_POINTS`) that asv started at or after
    ``since`` (seconds since the epoch)."""
    points = results.load_points(results_dir, machine, commit, since=since)
    return {label: value for label, value in points.items() if label in hostcheck.FLOOR_POINTS}


def witness(commits: list[str], machine: str, when: str, attributes: list[str] | None, config: Path | None,
            cwd: Path, timeout: float) -> dict[str, dict[str, float]]:
    """The floors of each of ``commits`` measured now: ``{commit: {label: value}}`` (empty where
    asv measured none).

    They are measured into a scratch results directory (``.asv/witness``), never into the
    series': asv records the combinations a regex leaves out of a parametrized benchmark as NaN,
    and a later ``--skip-existing-successful`` run counts such an entry as measured, so floors
    written into a commit not yet measured would leave the rest of those benchmarks NaN for good.
    """
    scratch = cwd / ".asv" / "witness"
    shutil.rmtree(scratch / "results", ignore_errors=True)
    derived = write_derived_config(scratch / "witness.conf.json", base=config or cwd / "asv.conf.json", root=cwd,
                                   results_dir=scratch / "results", html_dir=scratch / "html")
    rc = measure(commits, machine, list(hostcheck.WITNESS_REGEXES), attributes, force=True, config=derived, cwd=cwd,
                 timeout=timeout)
    print(f"drift check: the floors of {len(commits)} commit(s) measured {when}, asv exit code {rc}")
    return {c: floor_points(scratch / "results", machine, c, 0.0) for c in commits}


def snapshot_results(results_dir: Path, machine: str, commits: list[str]) -> dict[Path, bytes]:
    """The bytes of ``commits``' results files of ``machine``, to put back with :func:`restore_results`."""
    return {path: path.read_bytes() for c in commits for path in results.result_files(results_dir, machine, c)}


def restore_results(results_dir: Path, machine: str, commit: str, before: dict[Path, bytes]) -> None:
    """Put ``commit``'s results files of ``machine`` back as :func:`snapshot_results` found them
    (a file it did not see is removed)."""
    for path in results.result_files(results_dir, machine, commit):
        if path in before:
            path.write_bytes(before[path])
        else:
            path.unlink()
