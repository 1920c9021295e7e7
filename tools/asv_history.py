#!/usr/bin/env python
"""The benchmark-history workflows of this repository, one subcommand each.

    python tools/asv_history.py main                 # measure this machine's series, publish, say where
    python tools/asv_history.py commits              # the engine commits of the branch (oldest first)
    python tools/asv_history.py run [--chunk N]      # measure the history (resumable, in chunks)
    python tools/asv_history.py publish              # results/ -> html/
    python tools/asv_history.py preview              # serve html/ on http://127.0.0.1:8080
    python tools/asv_history.py merge OTHER/results  # join a pass measured in another worktree
    python tools/asv_history.py compare A B          # table of A vs B, sorted by ratio
    python tools/asv_history.py continuous           # gate: HEAD vs the branch, per-benchmark thresholds
    python tools/asv_history.py find FROM..TO NAME   # bisect one benchmark at one parameter combination
    python tools/asv_history.py confirm [--write]    # re-measure the flagged regressions side by side
    python tools/asv_history.py drill [--kind K]     # the regression drill (tools/regression_drill.py)
    python tools/asv_history.py spread [COMMIT]      # run-to-run / session-to-session spread
    python tools/asv_history.py noise                # the host's slow mode: how often wall time drifts, by how much
    python tools/asv_history.py smoke                # CI: asv check + a quick dry run, nothing stray

Machines: measuring commands run under ``--machine`` (default: a name derived from this
hardware, e.g. ``intel-xeon-2-80ghz-2c-24g``), so every machine is its own series. The committed
reference series is refreshed only on purpose (``--machine agentfarm-reference``) and only on
hardware that matches its committed ``machine.json``. Bad input ends in one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib.metadata
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from historylib import asvconf, confirm, gate, gitrepo, hostcheck, hostnoise, machine, results, selection, spread
from historylib.asvconf import ASV_CONFIG, load_asv_config, run_asv, write_derived_config
from historylib.bisect import bisect_step
from historylib.gitrepo import REPO_ROOT, git, rev_parse
from historylib.history import RC_NOT_QUIET, measure, run_history, spawns_probe
from historylib.proc import ASV_RUN_TIMEOUT, PIP_TIMEOUT, ToolError
from historylib.vendor import vendor_dashboard

DEFAULT_LAST = 5
MAIN_LAST = 2  # the main command: the newest engine commit and the one before it
GATE_DIR = REPO_ROOT / ".asv" / "gate"
FIND_DIR = REPO_ROOT / ".asv" / "find"
CONFIRM_DIR = REPO_ROOT / ".asv" / "confirm"
# Re-measures of each commit for a point that fails the gate: with the first sitting, the median
# of three side-by-side ratios judges it (one drifted sitting cannot fail the gate alone).
GATE_SETTLE_ROUNDS = 2
# The CI smoke run: every benchmark of the default selection once. Not the grid (45 one-step
# points of bench_scalability, each a fresh process: it more than doubled CI's time), the soak
# (long by design) or the instruction tracks (minutes under valgrind); `asv check` still imports
# and checks those modules, and tests/bench/test_history_compat.py sets every benchmark up.
SMOKE_SELECTION = ("default",)
# spread: the default selection and the instruction tracks (whose agreement it reports).
SPREAD_SELECTION = ("default", "instructions")


# ------------------------------------------------------------------------------------ helpers
def branch() -> str:
    """The branch the history follows (asv.conf.json's ``branches``)."""
    return gitrepo.default_branch(load_asv_config())


def results_dir() -> Path:
    return asvconf.config_dir(ASV_CONFIG, "results_dir")


def html_dir() -> Path:
    return asvconf.config_dir(ASV_CONFIG, "html_dir")


def machine_for_measuring(name: str | None) -> str:
    """Record the machine (checked against a committed machine.json) and return its name."""
    return machine.ensure_machine(name, results_dir())


def side_config(work: Path, name: str) -> Path:
    """A derived config whose results live in ``work/results`` (the real results/ untouched)."""
    return write_derived_config(work / f"{name}.conf.json", results_dir=work / "results", html_dir=work / "html")


def publish(config: Path | None = None) -> int:
    """``asv publish``, then make the dashboard self-contained (see :func:`vendor_dashboard`)."""
    rc, _ = run_asv("publish", config=config)
    if rc != 0:
        return rc
    html = asvconf.config_dir(config, "html_dir")
    if not vendor_dashboard(html):
        print("npm or a vendored asset is unavailable: the dashboard keeps its CDN links (needs the network)")
    try:
        import dashboard_overview  # tools/dashboard_overview.py: the overview page, when present
    except ImportError:
        dashboard_overview = None
    if dashboard_overview is not None:  # built first: it lists every flag with its verdict, drift included
        try:
            page = dashboard_overview.build_overview(asvconf.config_dir(config, "results_dir"), html, REPO_ROOT)
        except ValueError as exc:
            raise ToolError(f"overview page: {exc}") from None
        print(f"overview page: {page}")
    dropped = confirm.drop_dismissed(html, REPO_ROOT / confirm.CONFIRMATIONS_FILE)
    if dropped:
        print(f"regressions page: {dropped} flagged step(s) left out, settled as drift or fixed in "
              f"{confirm.CONFIRMATIONS_FILE}")
    return rc


def status_entries() -> set[str]:
    """``git status`` entries (``XY path``, paths unquoted) of the working tree."""
    return {entry for entry in git("status", "--porcelain", "-z", "--untracked-files=all").split("\0") if entry}


def stray_changes(before: set[str], allowed: tuple[str, ...]) -> list[str]:
    """Paths changed or added since ``before`` (:func:`status_entries`) outside ``allowed`` prefixes."""
    return sorted(entry[3:] for entry in status_entries() - before if not entry[3:].startswith(allowed))


# -------------------------------------------------------------------------------- subcommands
def cmd_commits(args) -> int:
    for commit in gitrepo.engine_commits(args.range or branch(), args.last):
        print(git("log", "-1", "--format=%H %ad %s", "--date=short", commit).strip())
    return 0


def cmd_run(args) -> int:
    rev = args.range or branch()
    if args.commits:
        # Named commits, measured in the branch's order (oldest first) whatever order they came in.
        named = {rev_parse(c) for c in args.commits}
        commits = [c for c in gitrepo.first_parent_commits(rev) if c in named]
        missing = named - set(commits)
        if missing:
            raise ToolError(f"not on the first-parent history of {rev}: {', '.join(sorted(m[:8] for m in missing))}")
    elif args.every_commit:
        commits = gitrepo.first_parent_commits(rev)
        commits = commits[-args.last:] if args.last else commits
    else:
        commits = gitrepo.engine_commits(rev, args.last)
    name = machine_for_measuring(args.machine)
    counts_only = selection.counts_only(args.bench)
    wait_quiet = None
    if args.wait_quiet is not None and not (math.isfinite(args.wait_quiet) and args.wait_quiet > 0):
        raise ToolError(f"--wait-quiet must be a positive number of minutes, got {args.wait_quiet:g}")
    if args.wait_quiet is not None and not counts_only:
        deadline = time.time() + args.wait_quiet * 60.0
        wait_quiet = functools.partial(hostnoise.wait_quiet, deadline)
        print(f"before each chunk: waiting for a quiet host (python tools/asv_history.py noise), for up to "
              f"{args.wait_quiet:g} min in all")
    # The series' stored floors: what the host check and the drift check compare with.
    reference = None if counts_only or args.accept_host else reference_floors(name, rev)
    if counts_only:
        print("host check skipped: instruction counts do not depend on the host's speed")
    elif not (args.force or args.accept_host):
        if not check_host_when_quiet(name, reference, wait_quiet):
            print("stopped at the deadline before the host check passed; run the same command again")
            return RC_NOT_QUIET
    drift = hostcheck.DriftWitness(*reference) if reference else None
    if drift:
        print(f"drift check: each commit's points are kept only if the floors measured before and with its pass "
              f"read within x{1 - hostcheck.HOST_TOLERANCE:.2f}-x{1 + hostcheck.HOST_TOLERANCE:.2f} of the series' "
              f"stored ones (to {drift.reference[:8]})")
    # A fast spell lasts minutes: under the gate, one commit per asv run unless --chunk says otherwise.
    chunk = args.chunk if args.chunk or wait_quiet is None else 1
    return run_history(commits, name, args.bench, args.attribute, args.force, chunk=chunk,
                       commit=args.commit_results, results_dir=results_dir(), timeout=args.timeout, drift=drift,
                       wait_quiet=wait_quiet, by_module=args.by_module)


def check_host_when_quiet(name: str, reference: tuple[str, dict[str, float]] | None,
                          wait_quiet: Callable[[], bool] | None) -> bool:
    """:func:`verify_host`; with ``wait_quiet``, after a quiet probe, and again after the next one
    while the check refuses. False when ``wait_quiet`` passed its deadline first."""
    while True:
        if wait_quiet is not None and not wait_quiet():
            return False
        try:
            verify_host(name, reference)
            return True
        except ToolError as exc:
            if wait_quiet is None:
                raise
            print(f"{exc}; waiting for a quiet host again")


def reference_floors(name: str, rev: str) -> tuple[str, dict[str, float]] | None:
    """The series' floors: the newest commit of ``rev`` whose stored points in series ``name``
    include engine-independent floors (:data:`hostcheck.FLOOR_POINTS`), and the median of each
    floor over the newest :data:`hostcheck.REFERENCE_COMMITS` such commits
    (:func:`hostcheck.series_floors`); None for a series without them."""
    measured = results.measured_commits(results_dir(), name)
    newest, found = None, []
    for commit in reversed(gitrepo.first_parent_commits(rev)):
        if commit[:8] in measured:
            stored = results.load_points(results_dir(), name, commit)
            if any(label in stored for label in hostcheck.FLOOR_POINTS):
                newest = newest or commit
                found.append(stored)
                if len(found) == hostcheck.REFERENCE_COMMITS:
                    break
    return (newest, hostcheck.series_floors(found)) if newest else None


def verify_host(name: str, reference: tuple[str, dict[str, float]] | None) -> None:
    """Before adding to a series that has results: re-measure its engine-independent floor points
    at the newest commit that has them and compare with the series' (:func:`reference_floors`), and
    refuse (one line) when this host differs (:mod:`historylib.hostcheck`)."""
    if reference is None:
        return  # a new series, or one without the floors: nothing to compare with
    commit, stored = reference
    (REPO_ROOT / ".asv").mkdir(exist_ok=True)  # a fresh clone has none yet
    work = Path(tempfile.mkdtemp(prefix="hostcheck-", dir=REPO_ROOT / ".asv"))
    try:
        labels = [label for label in hostcheck.FLOOR_POINTS if label in stored]
        rc = measure([commit], name, [confirm.label_regex(label) for label in labels], force=True,
                     config=side_config(work, "hostcheck"), hashfile=work / "hashes.txt",
                     log_path=work / "hostcheck.log", progress=False)
        fresh = results.load_points(work / "results", name, commit)
        ratio = hostcheck.check_host(stored, fresh, name, commit, host=machine.cpu_identity())
        print(f"host check: the engine-independent floors at {commit[:8]} read x{ratio:.2f} of the series' stored ones "
              f"(asv exit {rc}); measuring")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def cmd_publish(args) -> int:
    rc = publish()
    if rc == 0:
        print(f"published {html_dir()}; preview it with `python tools/asv_history.py preview` "
              f"and open http://127.0.0.1:{args.port}/")
    return rc


def cmd_preview(args) -> int:
    print(f"serving {html_dir()} on http://127.0.0.1:{args.port}/ (Ctrl-C stops)")
    rc, _ = run_asv("preview", "--port", str(args.port), timeout=24 * 3600)
    return rc


def cmd_merge(args) -> int:
    source = Path(args.source).resolve()
    # The same rule as measuring: the reference series takes results only on its own hardware.
    name = machine_for_measuring(args.machine)
    if source.name != name:
        source = source / name
    if not source.is_dir():
        raise ToolError(f"no results of machine {name!r} under {args.source!r} (looked in {source})")
    destination = results_dir() / name
    if source == destination.resolve():
        raise ToolError(f"{args.source!r} is this checkout's own results directory")
    try:
        files, benchmarks = results.merge_result_files(source, destination)
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    print(f"merged {files} result file(s), {benchmarks} benchmark entries, from {source} into {destination}")
    return 0


def cmd_compare(args) -> int:
    base, head = rev_parse(args.base), rev_parse(args.head)
    name = args.machine or machine.derived_name(machine.hardware())
    if args.measure:
        name = machine_for_measuring(args.machine)
        for sha in (base, head):
            hashfile = REPO_ROOT / ".asv" / f"compare-{sha[:8]}.txt"
            rc = measure([sha], name, args.bench, args.attribute, hashfile=hashfile)
            if rc not in (0, 2):
                return rc
    extra = ["--only-changed"] if args.only_changed else []
    if args.factor:
        extra += ["--factor", str(args.factor)]
    rc, _ = run_asv("compare", "--sort", "ratio", "--machine", name, *extra, base, head)
    return rc


def point_measurer(name: str, work: Path, config: Path, attributes: list[str] | None, timeout: float,
                   spawn_probe: bool = False):
    """``(commit, labels) -> {label: value}``: one forced ``asv run`` of those points at one
    commit, results kept in ``work`` (what :func:`confirm.settle` calls, once per sample);
    ``spawn_probe`` as :func:`historylib.history.measure`'s."""

    def measure_points(commit: str, labels: list[str]) -> dict[str, float]:
        rc = measure([commit], name, [confirm.label_regex(label) for label in labels], attributes, force=True,
                     config=config, hashfile=work / "hashes.txt", log_path=work / f"{commit[:8]}.log",
                     progress=False, timeout=timeout, spawn_probe=spawn_probe)
        points = results.load_points(work / "results", name, commit)
        got = {label: points[label] for label in labels if label in points}
        print(f"  {commit[:8]}: {len(got)}/{len(labels)} point(s) measured (asv exit {rc})")
        return got

    return measure_points


def keep_best(kept: dict[str, float], sitting: dict[str, float]) -> None:
    """Merge one sitting's ``{label: value}`` into ``kept``, each point keeping its better value
    (:func:`selection.best_value`)."""
    for label, value in sitting.items():
        kept[label] = selection.best_value(label, [kept[label], value]) if label in kept else value


def cmd_continuous(args) -> int:
    if args.settle < 0:
        raise ToolError(f"--settle must be 0 or more rounds, got {args.settle}")
    if args.samples < 1:
        raise ToolError(f"--samples must be 1 or more sittings, got {args.samples}")
    base = rev_parse(args.base or branch())
    head = rev_parse(args.head)
    name = machine_for_measuring(args.machine)
    config = side_config(GATE_DIR, "gate")
    stored = GATE_DIR / "results"
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    log = GATE_DIR / "gate.log"
    spawn = spawns_probe(args.bench)  # once for the selection: the settling re-measures launch the same way
    for sitting in range(args.samples):
        log = GATE_DIR / ("gate.log" if sitting == 0 else f"gate-{sitting + 1}.log")
        rc = measure([base, head], name, args.bench, args.attribute, force=sitting > 0, config=config,
                     hashfile=GATE_DIR / "hashes.txt", log_path=log, timeout=args.timeout, spawn_probe=spawn)
        if rc not in (0, 2):
            print(f"gate: asv run failed (exit {rc}); log: {log}")
            return rc
        keep_best(before, results.load_points(stored, name, base))
        keep_best(after, results.load_points(stored, name, head))
    if not set(before) & set(after):
        raise ToolError(f"no benchmark measured at both {base[:8]} and {head[:8]} (log: {log})")
    thresholds = load_asv_config().get("regressions_thresholds", {})
    verdicts = gate.compare(before, after, thresholds, args.factor)
    print(f"gate: {head[:8]} against {base[:8]} on {name!r}, "
          + (f"factor {args.factor}" if args.factor else "per-benchmark thresholds of asv.conf.json")
          + (f", best of {args.samples} sittings" if args.samples > 1 else "") + " (dir: which way is better)")
    print(gate.format_table(verdicts))
    bad = [v for v in verdicts if v.regressed]
    if bad and args.settle:
        bad = settle_gate_failures(bad, base, head, name, args, spawn)
    if bad:
        print(f"GATE FAILED: {len(bad)} of {len(verdicts)} point(s) got worse beyond their threshold, worst "
              f"{bad[0].label} x{bad[0].ratio:.3f}")
        return 1
    print(f"gate passed: {len(verdicts)} point(s) within their thresholds")
    return 0


def settle_gate_failures(bad: list[gate.Verdict], base: str, head: str, name: str, args,
                         spawn_probe: bool = False) -> list[gate.Verdict]:
    """Re-measure the points that failed the gate, both commits interleaved (``A B B A``...), and
    judge each again on the median of its side-by-side ratios: the first sitting's head/base and
    each re-measured pair's (the two samples of one round, taken back to back). Drift that lasts a
    pair hits both its commits alike, so a step that one sitting's drift made is gone then and a
    real slowdown stays, even when the host's slow mode catches the re-measures of one commit
    more than the other's. Returns what still fails, worst first; a point that could not be
    re-measured keeps its first verdict."""
    print(f"gate: {len(bad)} point(s) beyond their threshold; settling them with {args.settle} interleaved "
          f"re-measure(s) of each commit")
    work = GATE_DIR / "settle"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    flags = [confirm.Flag(v.label, name, base, head, v.base, v.head) for v in bad]
    measure_points = point_measurer(name, work, side_config(work, "gate-settle"), args.attribute, args.timeout,
                                    spawn_probe)
    settled = {item.flag.label: item for item in confirm.settle(flags, measure_points, name, args.settle)}
    still = []
    for first in bad:
        item = settled.get(first.label)
        if item is None:
            still.append(first)
            continue
        again = settled_verdict(first, item.old_samples, item.new_samples)
        print(f"  {'still worse' if again.regressed else 'settled':11s} x{first.ratio:.3f} -> x{again.ratio:.3f} "
              f"(median of {1 + len(item.old_samples)} side-by-side ratios)  {first.label}")
        if again.regressed:
            still.append(again)
    return gate.worst_first(still)


def settled_verdict(first: gate.Verdict, base_samples: Sequence[float], head_samples: Sequence[float]) -> gate.Verdict:
    """``first`` judged again on the median of its pair ratios: ``first.ratio`` and
    ``head_samples[i] / base_samples[i]`` of each re-measured round (pairs measured back to back).

    The verdict's ``base`` is the median of every base sample (the first sitting's included) and
    its ``head`` that base times the median ratio, so ``verdict.ratio`` is the median ratio."""
    ratios = [first.ratio, *map(gate.ratio, base_samples, head_samples)]  # one sample of each per round
    base_value = statistics.median([first.base, *base_samples])
    return gate.judge(first.label, base_value, base_value * statistics.median(ratios), first.threshold)


def choose_benchmark(pattern: str) -> str:
    """The one benchmark ``pattern`` names (an exact name, or a regex over results/benchmarks.json
    that matches one benchmark; an instruction track is preferred when it is one of several)."""
    import json
    import re

    listing = results_dir() / "benchmarks.json"
    known = [k for k in json.loads(listing.read_text()) if k != "version"] if listing.exists() else []
    if pattern in known or not known:
        return pattern
    try:
        matches = [k for k in known if re.search(pattern, k)]
    except re.error as exc:
        raise ToolError(f"bad benchmark regex {pattern!r}: {exc}") from None
    instructions = [k for k in matches if selection.is_instruction_track(k)]
    if len(instructions) == 1:
        return instructions[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return pattern  # perhaps new since benchmarks.json was written; asv will say
    raise ToolError(f"{pattern!r} matches {len(matches)} benchmarks ({', '.join(matches[:4])}, ...): name one")


def cmd_find(args) -> int:
    if args.samples < 1:
        raise ToolError(f"--samples must be 1 or more, got {args.samples}")
    start, end = gitrepo.check_range(args.range)
    commits = [start, *git("rev-list", "--first-parent", "--reverse", f"{start}..{end}").split()]
    benchmark = choose_benchmark(args.benchmark)
    params = [p.strip() for p in args.params.split(",")] if args.params else None
    name = machine_for_measuring(args.machine)
    FIND_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="find-", dir=FIND_DIR))
    config = side_config(work, "find")
    regex = results.combination_regex(benchmark, params)
    label = results.params_label(benchmark, params)
    print(f"find: {label} over {len(commits)} commits {start[:8]}..{end[:8]} on {name!r}; work dir {work}")

    probed: set[str] = set()
    spawn = spawns_probe([regex])

    def value_at(commit: str) -> float | None:
        values = []
        for sample in range(args.samples):  # best of N: load and drift only ever make a point worse
            # bisect_step reads the final brackets again: a commit probed before is measured anew
            rc = measure([commit], name, [regex], args.attribute, force=sample > 0 or commit in probed, config=config,
                         hashfile=work / "probe.txt", log_path=work / f"probe-{commit[:8]}.log", progress=False,
                         timeout=args.timeout, spawn_probe=spawn)
            value = results.find_point(results.load_points(work / "results", name, commit), benchmark, params)
            if value is not None:
                values.append(value)
        probed.add(commit)
        value = selection.best_value(benchmark, values) if values else None
        print(f"  {commit[:8]}: {value if value is not None else f'not measured (asv exit {rc})'}"
              + (f" (best of {values})" if len(values) > 1 else ""))
        return value

    outcome = bisect_step(commits, value_at)
    print(f"find: {outcome.message}")
    if outcome.first_bad is None:
        return 1
    got_larger = outcome.bad_value > outcome.good_value
    direction = "worse" if got_larger != selection.larger_is_better(benchmark) else "better"
    print(f"first commit on the new side ({direction}): {gitrepo.subject(outcome.first_bad)}")
    return 0


def cmd_confirm(args) -> int:
    fixed_by = rev_parse(args.fixed_by) if args.fixed_by else None
    try:
        flags = confirm.published_flags(html_dir(), results_dir())
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    if args.series:
        flags = [flag for flag in flags if flag.machine == args.series]
    if args.commit:
        flags = [flag for flag in flags if flag.after.startswith(rev_parse(args.commit))]
    if args.benchmark:
        try:
            flags = [flag for flag in flags if re.search(args.benchmark, flag.label)]
        except re.error as exc:
            raise ToolError(f"bad --benchmark regex {args.benchmark!r}: {exc}") from None
    if not flags:
        print("confirm: no flagged regression matches; nothing to do")
        return 0
    name = machine_for_measuring(args.machine)
    CONFIRM_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="confirm-", dir=CONFIRM_DIR))
    config = side_config(work, "confirm")
    print(f"confirm: {len(flags)} flagged step(s), {args.rounds} interleaved sample(s) per commit on {name!r}; "
          f"work dir {work}")

    measure_points = point_measurer(name, work, config, args.attribute, args.timeout)

    thresholds = load_asv_config().get("regressions_thresholds", {})

    def threshold(label: str) -> float:
        return gate.threshold_for(label, thresholds)

    command = "python tools/asv_history.py confirm" + "".join(
        f" {flag} {value}" for flag, value in (("--series", args.series), ("--commit", args.commit),
                                              ("--benchmark", args.benchmark), ("--fixed-by", args.fixed_by),
                                              ("--rounds", args.rounds))
        if value and not (flag == "--rounds" and value == confirm.DEFAULT_ROUNDS))
    if fixed_by:
        settled = confirm.settle_recovery(flags, fixed_by, measure_points, name, args.rounds, threshold=threshold)
        for item in settled:
            state = "fixed" if item.verdict == confirm.FIXED else "persists"
            print(f"{state:9s} {item.flag.label} at {item.flag.after[:8]} ({item.flag.machine}): "
                  f"{item.flag.before[:8]} -> {fixed_by[:8]} {item.change:+.1%} re-measured "
                  f"(step flagged {item.flag.flagged_change:+.1%})")
    else:
        settled = confirm.settle(flags, measure_points, name, args.rounds, threshold=threshold)
        for item in settled:
            print(f"{item.verdict:9s} {item.flag.label} at {item.flag.after[:8]} ({item.flag.machine}): "
                  f"flagged {item.flag.flagged_change:+.1%}, re-measured {item.change:+.1%}")
    missing = len(flags) - len(settled)
    if missing:
        print(f"confirm: {missing} flag(s) could not be measured at both commits; left unconfirmed")
    recorded = [item for item in settled if item.recorded]
    if args.write and recorded:
        total = confirm.merge_confirmations(REPO_ROOT / confirm.CONFIRMATIONS_FILE, recorded, command)
        print(f"wrote {len(recorded)} verdict(s) into {confirm.CONFIRMATIONS_FILE} ({total} in all); "
              "`python tools/asv_history.py publish` applies them")
    return 0 if not missing else 1


def ensure_bench_tools() -> None:
    """Install the bench extra when asv (the pinned version) or virtualenv is missing."""
    missing = []
    for package, version in (("asv", asvconf.ASV_VERSION), ("virtualenv", None)):
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is None or (version and installed != version):
            missing.append(package)
    if missing:
        print(f"installing the bench extra ({', '.join(missing)} missing): pip install .[bench]")
        try:
            subprocess.run([sys.executable, "-m", "pip", "install", f"{REPO_ROOT}[bench]"], check=True,
                           timeout=PIP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ToolError(f"pip install .[bench] ran past its {PIP_TIMEOUT} s timeout") from None
        except subprocess.CalledProcessError as exc:
            raise ToolError(f"pip install .[bench] failed with exit code {exc.returncode}") from None


def cmd_main(args) -> int:
    started = time.monotonic()
    ensure_bench_tools()
    before = status_entries()
    name = machine_for_measuring(args.machine)
    rev = branch()
    commits = gitrepo.engine_commits(rev, args.last)
    if name == machine.REFERENCE_MACHINE:
        role = "the reference series (refresh on purpose)"
    else:
        role = "this machine's own series"
    print(f"measuring the newest {len(commits)} engine commit(s) of {rev} as {name!r}, {role}")
    rc = run_history(commits, name, args.bench, args.attribute, args.force, timeout=args.timeout)
    rc_publish = publish()
    results_rel = results_dir().relative_to(REPO_ROOT) if results_dir().is_relative_to(REPO_ROOT) else results_dir()
    html_rel = html_dir().relative_to(REPO_ROOT) if html_dir().is_relative_to(REPO_ROOT) else html_dir()
    stray = stray_changes(before, (f"{results_rel}/{name}/", f"{html_rel}/", ".asv/"))
    print(f"done in {(time.monotonic() - started) / 60:.1f} min. Results: {results_dir() / name}/; "
          f"dashboard: {html_dir()}/index.html (machine {name!r} beside the committed reference series)")
    print(f"open it with `python tools/asv_history.py preview` and browse http://127.0.0.1:{args.port}/ "
          "(asv pages need a web server; file:// does not load the data)")
    if stray:
        print(f"note: changed outside {results_rel}/{name}/ and {html_rel}/: {', '.join(stray[:5])}")
    return rc or rc_publish


def cmd_drill(args) -> int:
    import regression_drill  # tools/ is on sys.path when this script runs

    return regression_drill.main(args.drill_args)


def run_spread_session(sha: str, name: str, bench: list[str] | None, attributes: list[str] | None,
                       timeout: float) -> Path:
    """Measure ``sha`` once into a new ``.asv/spread/<timestamp>/`` session; returns its directory."""
    work = spread.new_session_dir()
    config = side_config(work, "asv")
    rc = measure([sha], name, bench, attributes, force=True, config=config, hashfile=work / "hashes.txt",
                 log_path=work / "run.log", timeout=timeout)
    if rc not in (0, 2):
        raise ToolError(f"asv run exited {rc} (log: {work / 'run.log'})")
    spread.write_session(work, sha, name, selection.selection_label(bench))
    print(f"stored session {work.name} ({work})")
    return work


def cmd_spread(args) -> int:
    if args.write_thresholds and not args.sessions:
        raise ToolError("--write-thresholds needs --sessions A B: thresholds come from sessions hours apart")
    bench = args.bench or list(SPREAD_SELECTION)
    if args.sessions:
        first, second = (spread.find_session(s) for s in args.sessions)
        meta = [spread.read_session(p) for p in (first, second)]
        if meta[0]["commit"] != meta[1]["commit"]:
            raise ToolError(f"sessions measured different commits: {meta[0]['commit'][:8]} vs {meta[1]['commit'][:8]}")
        values = [results.load_points(p / "results", m["machine"], m["commit"]) for p, m in zip((first, second), meta)]
        print(f"spread between sessions {first.name} ({meta[0]['finished']}) and "
              f"{second.name} ({meta[1]['finished']}), commit {meta[0]['commit'][:8]}")
    else:
        sha = rev_parse(args.commit)
        name = machine_for_measuring(args.machine)
        if args.save:
            run_spread_session(sha, name, bench, args.attribute, args.timeout)
            print("compare it with another session of the same commit: "
                  "`python tools/asv_history.py spread --sessions A B`")
            return 0
        sessions = [run_spread_session(sha, name, bench, args.attribute, args.timeout) for _ in range(2)]
        values = [results.load_points(p / "results", name, sha) for p in sessions]
        print(f"spread between two back-to-back runs of {sha[:8]} ({sessions[0].name}, {sessions[1].name})")
    rows = spread.spread_table(*values)
    print(spread.report(rows))
    if args.write_thresholds:
        new = spread.benchmark_thresholds(rows)
        spreads = [value for _, value in rows]
        note = (f"written by `python tools/asv_history.py spread --sessions {first.name} {second.name} "
                f"--write-thresholds`: commit {meta[0]['commit'][:8]} measured {meta[0]['finished']} and "
                f"{meta[1]['finished']}, {len(rows)} points (median spread {statistics.median(spreads):.1%}); "
                f"per benchmark the worst point x {spread.THRESHOLD_MARGIN}, rounded up to 5 %")
        measured = sorted({selection.base_name(label) for label, _ in rows
                           if not selection.is_instruction_track(label)})
        ASV_CONFIG.write_text(spread.replace_thresholds(ASV_CONFIG.read_text(), measured, new, note))
        above = {name: value for name, value in new.items() if value > 0.15}
        print(f"wrote {len(new)} thresholds above {spread.DEFAULT_THRESHOLD:.0%} to {ASV_CONFIG.name} "
              f"({len(above)} above 15 %) for the {len(measured)} benchmarks measured")
    return 0


def cmd_noise(args) -> int:
    """Time a fixed probe back to back and report the host's slow mode (historylib.hostnoise)."""
    summary = hostnoise.measure(args.seconds)
    print(hostnoise.report(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(dataclasses.asdict(summary), indent=1) + "\n")
    return 0


def cmd_smoke(args) -> int:
    """CI smoke check: ``asv check`` and every benchmark once, with results in a temporary
    directory (nothing saved, nothing left in results/)."""
    before = status_entries()
    work = Path(tempfile.mkdtemp(prefix="asv-smoke-"))
    try:
        config = side_config(work, "smoke")
        name = machine.ensure_machine(args.machine, results_dir())
        rc, _ = run_asv("check", "--python=same", config=config)
        if rc == 0:
            # Forked from one process that imported the suite: every benchmark still runs once, and
            # the smoke does not pay the imports again per parameter combination.
            rc, _ = run_asv("run", "--quick", "--dry-run", "--python=same", "--show-stderr", "--machine", name,
                            "--launch-method", selection.FORKSERVER,
                            *selection.bench_args(args.bench or list(SMOKE_SELECTION)), config=config,
                            timeout=ASV_RUN_TIMEOUT)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    stray = stray_changes(before, (".asv/",))
    if stray:
        print(f"smoke: left stray files: {', '.join(stray[:5])}", file=sys.stderr)
        return rc or 1
    return rc


# --------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    names = ", ".join(f"{k}" for k in selection.SELECTIONS)

    def common(p, bench=True, timeout=True):
        p.add_argument("--machine", help="asv machine name (default: derived from this hardware; "
                                         f"{machine.REFERENCE_MACHINE!r} only on the reference hardware)")
        if bench:
            p.add_argument("--bench", "-b", action="append",
                           help=f"selection ({names}) or benchmark regex, repeatable; default: default")
            p.add_argument("--attribute", "-a", action="append",
                           help="benchmark attribute override passed to asv (repeatable); default rounds=1")
        if timeout:
            p.add_argument("--timeout", type=float, default=ASV_RUN_TIMEOUT, help="seconds per asv run")
        return p

    p = sub.add_parser("commits", help="list the engine commits of a branch")
    p.add_argument("--range", help="branch or rev (default: asv.conf.json's branch)")
    p.add_argument("--last", type=int, default=0, help="only the newest N (0: all)")
    p.set_defaults(func=cmd_commits)

    p = common(sub.add_parser("run", help="measure the history over engine commits (resumable)"))
    p.add_argument("--range", help="branch or rev whose first-parent history is measured (default: the branch)")
    p.add_argument("--last", type=int, default=DEFAULT_LAST, help="newest N engine commits (0: all)")
    p.add_argument("--every-commit", action="store_true", help="every first-parent commit, not only engine ones")
    p.add_argument("--accept-host", action="store_true",
                   help="skip the host check (re-measuring the series' floor points before adding to it) "
                        "and the drift check (each commit's floors measured before and with its pass)")
    p.add_argument("--commits", nargs="+", metavar="REV",
                   help="measure these commits only (e.g. an optimisation and its parent), in the branch's order")
    p.add_argument("--force", action="store_true", help="re-measure what already has results")
    p.add_argument("--wait-quiet", type=float, metavar="MINUTES",
                   help="before the host check and each chunk, wait for the host's fast mode (noise probes), and "
                        "measure drifted commits again; stop after MINUTES in all")
    p.add_argument("--chunk", type=int, default=0,
                   help="commits per asv run (0: all at once; 1 under --wait-quiet, each commit gated)")
    p.add_argument("--by-module", action="store_true",
                   help="measure each chunk one benchmark module at a time, each piece gated (--wait-quiet), "
                        "drift-checked and committed on its own: for fast spells shorter than a pass")
    p.add_argument("--commit-results", action="store_true", help="git commit results/ after each chunk")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("publish", help="render results/ into html/")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("preview", help="serve html/ locally")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("merge", help="join results measured in another worktree into this checkout's results/")
    p.add_argument("source", help="the other checkout's results/ directory (or its results/<machine>/)")
    p.add_argument("--machine", help="asv machine name (default: derived from this hardware)")
    p.set_defaults(func=cmd_merge)

    p = common(sub.add_parser("compare", help="compare two commits, sorted by ratio"), timeout=False)
    p.add_argument("base")
    p.add_argument("head")
    p.add_argument("--measure", action="store_true", help="measure both commits first")
    p.add_argument("--only-changed", action="store_true")
    p.add_argument("--factor", type=float)
    p.set_defaults(func=cmd_compare)

    p = common(sub.add_parser("continuous", help="fail when HEAD is worse than the branch beyond a threshold"))
    p.add_argument("base", nargs="?", help="default: asv.conf.json's branch")
    p.add_argument("head", nargs="?", default="HEAD")
    p.add_argument("--factor", type=float, help="one factor for every benchmark instead of the thresholds")
    p.add_argument("--settle", type=int, default=GATE_SETTLE_ROUNDS,
                   help="interleaved re-measures of each commit for the points that fail, judged on the median of "
                        "the side-by-side ratios, the first sitting's included "
                        f"(0: judge the first sitting alone; default {GATE_SETTLE_ROUNDS})")
    p.add_argument("--samples", type=int, default=1,
                   help="sittings of both commits before judging, each point keeping its best (a host slow mode "
                        "during BASE's sitting hides a slowdown; default 1)")
    p.set_defaults(func=cmd_continuous)

    p = common(sub.add_parser("find", help="bisect one benchmark at one parameter combination"), bench=False)
    p.add_argument("--attribute", "-a", action="append", help="benchmark attribute override (repeatable)")
    p.add_argument("range", help="FROM..TO; start FROM where the benchmarked code exists")
    p.add_argument("benchmark", help="one benchmark (name, or a regex matching one; instruction tracks preferred)")
    p.add_argument("--params", help="the parameter combination, comma-separated, e.g. 'kdtree,1000'")
    p.add_argument("--samples", type=int, default=1,
                   help="measurements per probed commit; the best counts (wall-time drift only makes a point worse)")
    p.set_defaults(func=cmd_find)

    p = common(sub.add_parser("main", help="measure this machine's series, publish, say where to look"))
    p.add_argument("--last", type=int, default=MAIN_LAST, help=f"newest N engine commits (default {MAIN_LAST})")
    p.add_argument("--force", action="store_true")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_main)

    p = common(sub.add_parser("confirm", help="re-measure flagged regressions side by side: confirmed, drift or fixed"),
               bench=False)
    p.add_argument("--attribute", "-a", action="append", help="benchmark attribute override (repeatable)")
    p.add_argument("--series", help="only flags in this machine series (e.g. agentfarm-reference)")
    p.add_argument("--commit", help="only flags blamed on this commit")
    p.add_argument("--benchmark", help="only flags whose benchmark label matches this regex")
    p.add_argument("--rounds", type=int, default=confirm.DEFAULT_ROUNDS, help="interleaved samples per commit")
    p.add_argument("--fixed-by", metavar="REV",
                   help="re-measure each flag's commit before the step against REV instead: 'fixed' when REV is "
                        "back (asv keeps listing a step for a commit or more after the fix)")
    p.add_argument("--write", action="store_true", help=f"record the verdicts in {confirm.CONFIRMATIONS_FILE}")
    p.set_defaults(func=cmd_confirm)

    p = sub.add_parser("drill", help="the regression drill (arguments go to tools/regression_drill.py)")
    p.add_argument("drill_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_drill)

    p = common(sub.add_parser("spread", help="spread between two runs of one commit (back to back or sessions)"))
    p.add_argument("commit", nargs="?", default="HEAD")
    p.add_argument("--save", action="store_true", help="measure once and store the run as a session")
    p.add_argument("--sessions", nargs=2, metavar=("A", "B"), help="compare two stored sessions (.asv/spread/)")
    p.add_argument("--write-thresholds", action="store_true",
                   help="with --sessions: rewrite asv.conf.json's regressions_thresholds of the benchmarks measured")
    p.set_defaults(func=cmd_spread)

    p = sub.add_parser("noise", help="the host's slow mode: how often and how much wall time drifts here")
    p.add_argument("--seconds", type=float, default=20.0, help="wall seconds of back-to-back probe calls")
    p.add_argument("--json", help="also write the figures to this file")
    p.set_defaults(func=cmd_noise)

    p = common(sub.add_parser("smoke", help="CI: asv check + a quick dry run, results in a temp dir"), timeout=False)
    p.set_defaults(func=cmd_smoke)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader went away (`commits | head`): stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ToolError as exc:
        print(f"asv_history: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        print(f"asv_history: error: {' '.join(map(str, exc.cmd[:3]))} failed (exit {exc.returncode})"
              + (f": {detail[-1]}" if detail else ""), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
