"""Peak-memory benchmarks measured by several asv processes at once.

A ``peakmem_`` figure is the maximum resident set size of its own process (asv's ``spawn``
launch: one fresh interpreter per parameter combination). Another process on the other core
changes how long that process takes, not how much memory it holds, so the spawned group of a
selection can run in parallel without changing a figure, while the timed (forked) group still runs
alone afterwards. On 2 cores this halves the ~55 s the default selection's 68 spawned processes
take one after another.

Two asv processes must not share an environment (each uninstalls and installs the commit) or a
results directory (each loads a commit's file at the start and writes it back at the end). So
share 0 runs as before, in the configured environment and results directory, and every further
share runs in its own environment (``<env_dir>-memory-<i>``, created once per machine) with its
own scratch results directory (``.asv/memory-worker-<i>/``), seeded with the commits' existing
results (so ``--skip-existing-successful`` skips the same benchmarks) and merged back into the
configured results directory afterwards (:func:`results.merge_result_files`).

The shares are balanced by the wall time asv recorded for each benchmark in earlier results
(``duration``), by parameter combinations where none is recorded.

A freshly written environment reads higher: with its shared libraries still in the page cache as
they were written, a process that maps them gets more pages resident than when they were read
back from disk (measured here: ``import numpy`` 30.0 MB in a new environment against 25.0 MB in an
old one, the same 25.0 MB in both after the cache was dropped; the peak-memory benchmarks read
+6 to +48 MB). :func:`settle_page_cache` evicts those pages before a spawned group, so every
environment, new or old, is measured the way the old ones are.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import results
from .asvconf import config_dir, run_asv, write_derived_config

log = logging.getLogger(__name__)

# Concurrent asv processes for the spawned peak-memory group: one per core, at most two (the
# reference machine has 2 cores; a third process would only queue behind them).
MEMORY_WORKERS = max(1, min(2, os.cpu_count() or 1))
# Files read for recorded durations: the newest few of a series are enough to rank benchmarks.
DURATION_FILES = 8


@dataclass(frozen=True)
class Share:
    """One worker's benchmarks and the expected seconds they take (``weight``)."""

    names: tuple[str, ...]
    weight: float

    def regexes(self) -> list[str]:
        """``--bench`` regexes selecting exactly these benchmarks (with all their combinations)."""
        return [rf"^{re.escape(name)}(\(|$)" for name in self.names]


def base_names(known: list[str], regexes: list[str]) -> list[str]:
    """The benchmarks (names without parameters) of ``known`` that any of ``regexes`` selects,
    in ``known``'s order. ``known`` lists each name and each ``name(params)`` as asv matches them."""
    chosen: dict[str, None] = {}
    for label in known:
        if any(re.search(regex, label) for regex in regexes):
            chosen[label.split("(", 1)[0]] = None
    return list(chosen)


def recorded_durations(results_dir: Path, machine: str) -> dict[str, float]:
    """``{benchmark: seconds}`` asv recorded for ``machine`` (any machine where it has none): the
    largest ``duration`` in its :data:`DURATION_FILES` newest result files."""
    files = results.result_files(results_dir, machine)
    if not files:
        files = sorted(results_dir.glob("*/*-*.json"))
    files = sorted(files, key=lambda p: p.stat().st_mtime)[-DURATION_FILES:]
    seconds: dict[str, float] = {}
    for path in files:
        try:
            data = json.loads(path.read_text())
            column = data["result_columns"].index("duration")
        except (OSError, ValueError, KeyError):
            continue
        for name, entry in data.get("results", {}).items():
            value = entry[column] if len(entry) > column else None
            if isinstance(value, (int, float)) and math.isfinite(value):
                seconds[name] = max(seconds.get(name, 0.0), float(value))
    return seconds


def combinations(listing: dict, name: str) -> int:
    """Parameter combinations of ``name`` in a ``benchmarks.json`` listing (1 unparameterized)."""
    params = (listing.get(name) or {}).get("params") or []
    return math.prod(len(values) for values in params) if params else 1


def balanced_shares(names: list[str], weights: dict[str, float], workers: int) -> list[Share]:
    """``names`` in at most ``workers`` shares of similar total weight: heaviest first, each to
    the lightest share so far (ties: the lower share, so the split is deterministic). Empty
    shares are dropped; the heaviest share comes first."""
    loads: list[list] = [[0.0, []] for _ in range(max(1, workers))]
    for name in sorted(names, key=lambda n: (-weights[n], n)):
        lightest = min(range(len(loads)), key=lambda i: (loads[i][0], i))
        loads[lightest][0] += weights[name]
        loads[lightest][1].append(name)
    shares = [Share(tuple(members), load) for load, members in loads if members]
    return sorted(shares, key=lambda share: -share.weight)


def plan(known: list[str], regexes: list[str], listing: dict, durations: dict[str, float],
         workers: int = MEMORY_WORKERS) -> list[Share]:
    """The shares of the spawned group selected by ``regexes``: weights from ``durations``,
    ``combinations`` seconds where a benchmark has none recorded."""
    names = base_names(known, regexes)
    weights = {name: durations.get(name, float(combinations(listing, name))) for name in names}
    return balanced_shares(names, weights, workers)


@dataclass(frozen=True)
class Worker:
    """Where share ``index`` (1 or more) runs: its config, environment and scratch results."""

    index: int
    directory: Path
    config: Path
    results_dir: Path
    log_path: Path


def prepare_worker(index: int, base_config: Path, root: Path, work_root: Path, machine: str,
                   commits: list[str], log_path: Path) -> Worker:
    """A derived asv config for worker ``index`` (its own ``env_dir`` and ``results_dir``) and
    its results directory, emptied and seeded with the configured results of ``commits``."""
    env_dir = config_dir(base_config, "env_dir", root)
    main_results = config_dir(base_config, "results_dir", root)
    directory = work_root / f"memory-worker-{index}"
    scratch = directory / "results"
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / machine).mkdir(parents=True)
    for commit in commits:
        for path in results.result_files(main_results, machine, commit):
            shutil.copy2(path, scratch / machine / path.name)
    config = write_derived_config(directory / "asv.conf.json", base=base_config, root=root,
                                  env_dir=env_dir.with_name(f"{env_dir.name}-memory-{index}"),
                                  results_dir=scratch, html_dir=directory / "html")
    return Worker(index, directory, config, scratch, log_path.with_name(f"{log_path.stem}-memory-{index}.log"))


def settle(configs: list[Path], cwd: Path, timeout: float) -> None:
    """Before a spawned group: create the environments of ``configs`` that do not exist yet
    (``asv setup``, so they are not written during the measurement), then evict their mapped
    files from the page cache (:func:`settle_page_cache`)."""
    roots = [config_dir(config, "env_dir", config.parent) for config in configs]
    missing = [config for config, root in zip(configs, roots) if not root.is_dir() or not any(root.iterdir())]

    def setup(config: Path) -> None:
        # asv 0.6.6's `setup` exits 1 even when it made the environment (its command returns the
        # list of environments, which becomes the exit status): judge by the directory instead.
        rc, _ = run_asv("setup", config=config, cwd=cwd, echo=False, timeout=timeout)
        root = config_dir(config, "env_dir", config.parent)
        if not root.is_dir() or not any(root.iterdir()):
            log.warning("asv setup for %s made no environment (exit status %s); asv run will try again",
                        config, rc)

    if missing:  # at once: on a fresh machine both environments are new
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            list(pool.map(setup, missing))
    log.info("evicted %d mapped environment files from the page cache", settle_page_cache(roots))


def run_shares(shares: list[Share], args: list[str], machine: str, commits: list[str], config: Path | None,
               cwd: Path, log_path: Path, timeout: float, progress: bool, append_log: bool) -> list[int]:
    """Run ``asv`` with ``args`` (the launch arguments without ``--bench``) once per share, all at
    once: share 0 in ``config`` as a plain run, the others in their own workers; then merge the
    workers' results into the configured results directory. Returns each run's exit code."""
    base_config = config or (cwd / "asv.conf.json")
    root = base_config.parent
    workers = [prepare_worker(i, base_config, root, cwd / ".asv", machine, commits, log_path)
               for i in range(1, len(shares))]
    settle([base_config] + [worker.config for worker in workers], cwd, timeout)

    def bench(share: Share) -> list[str]:
        return [arg for regex in share.regexes() for arg in ("--bench", regex)]

    def first() -> int:
        rc, _ = run_asv(*args, *bench(shares[0]), config=config, cwd=cwd, log_path=log_path, progress=progress,
                        echo=progress, total_commits=len(commits), timeout=timeout, append_log=append_log)
        return rc

    def other(worker: Worker, share: Share) -> int:
        rc, _ = run_asv(*args, *bench(share), config=worker.config, cwd=cwd, log_path=worker.log_path,
                        progress=False, echo=False, timeout=timeout)
        return rc

    with ThreadPoolExecutor(max_workers=len(shares)) as pool:
        futures = [pool.submit(first)] + [pool.submit(other, w, s) for w, s in zip(workers, shares[1:])]
        codes = [future.result() for future in futures]
    main_results = config_dir(base_config, "results_dir", root)
    for worker in workers:
        results.merge_result_files(worker.results_dir / machine, main_results / machine)
    return codes


def combined_code(codes: list[int], some_failed: int) -> int:
    """One exit code for concurrent runs: the first that is neither 0 nor ``some_failed``, else
    ``some_failed`` if any run had failed benchmarks, else 0."""
    hard = [code for code in codes if code not in (0, some_failed)]
    if hard:
        return hard[0]
    return some_failed if some_failed in codes else 0


def mapped_files(environment_root: Path) -> list[Path]:
    """The files of the environments under ``environment_root`` that processes map into memory:
    shared libraries (``*.so``, ``*.so.*``) and the executables in ``bin/``."""
    found = []
    for path in environment_root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        if path.name.endswith(".so") or ".so." in path.name or path.parent.name == "bin":
            found.append(path)
    return found


def settle_page_cache(environment_roots: list[Path]) -> int:
    """Write back and evict from the page cache the mapped files of these environments
    (``posix_fadvise(DONTNEED)``, no privileges needed), so the next process reads them from disk.
    Returns how many files were evicted (0 where the platform has no ``posix_fadvise``)."""
    if not hasattr(os, "posix_fadvise"):
        return 0
    evicted = 0
    for root in environment_roots:
        if not root.is_dir():
            continue
        for path in mapped_files(root):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                evicted += 1
            except OSError as exc:
                log.debug("could not evict %s: %s", path, exc)
            finally:
                os.close(fd)
    return evicted

