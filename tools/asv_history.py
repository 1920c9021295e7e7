#!/usr/bin/env python
"""The benchmark-history workflows of this repository, one subcommand each.

    python tools/asv_history.py main                 # install, measure the default history, publish
    python tools/asv_history.py commits              # the engine commits of main (oldest first)
    python tools/asv_history.py run [--last N]       # measure the history over engine commits
    python tools/asv_history.py publish             # results/ -> html/
    python tools/asv_history.py preview             # serve html/ on http://127.0.0.1:8080
    python tools/asv_history.py compare A B         # table of A vs B, sorted by ratio
    python tools/asv_history.py continuous          # gate: fail on a slowdown of HEAD vs main
    python tools/asv_history.py find RANGE REGEX    # bisect the commit that slowed REGEX down
    python tools/asv_history.py drill               # the regression drill (tools/regression_drill.py)
    python tools/asv_history.py spread [COMMIT]     # run-to-run noise: two full runs of one commit

Every command runs asv 0.6.6 under one fixed machine name (``--machine``, default
:data:`DEFAULT_MACHINE`) so the published history is one series. ``run`` keeps asv's full output
in ``.asv/history.log`` and shows one progress line.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ASV_CONFIG = REPO_ROOT / "asv.conf.json"
DEFAULT_MACHINE = "agentfarm-reference"
ASV_VERSION = "0.6.6"
# A commit belongs to the history when it changed one of these (not results, docs or tools).
ENGINE_PATHS = ("farm", "setup.py")
DEFAULT_LAST = 5
# One process per benchmark and parameter combination per commit (asv's default is two rounds).
DEFAULT_ATTRIBUTES = ("rounds=1",)
# The default selection of the history run: every module at its own repeat settings except the
# 45-point step grid and the long runs, which are measured on demand (`run --bench all`).
DEFAULT_BENCH = (
    r"^bench_(?!scalability\.(StepScaling|RunLength))"
)
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
PERCENT_LINE = re.compile(r"^\[\s*(\d+(?:\.\d+)?)%\]\s*(·+)\s*(.*)$")
COMMIT_LINE = re.compile(r"For \S+ commit ([0-9a-f]{7,40})")
# asv lines with a percentage that are table rows or details, not progress.
NOT_PROGRESS = ("=", "-", "For parameters", "asv:", "Traceback")
FOUND_LINE = re.compile(r"Greatest (?:regression|improvement) found: ([0-9a-f]{7,40})")


# ----------------------------------------------------------------------------------------- git
def git(*args: str, cwd: Path = REPO_ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def first_parent_commits(rev: str = "main", cwd: Path = REPO_ROOT) -> list[str]:
    """First-parent ancestors of ``rev``, oldest first (what asv graphs for a branch)."""
    return git("rev-list", "--first-parent", "--reverse", rev, cwd=cwd).split()


def touches(commit: str, paths=ENGINE_PATHS, cwd: Path = REPO_ROOT) -> bool:
    """Whether ``commit`` changed any of ``paths`` relative to its first parent (merges
    included: a merge counts when it brought engine changes into the branch)."""
    parents = git("rev-list", "--parents", "-n", "1", commit, cwd=cwd).split()[1:]
    base = parents[0] if parents else EMPTY_TREE
    return bool(git("diff", "--name-only", base, commit, "--", *paths, cwd=cwd).strip())


def engine_commits(rev: str = "main", last: int | None = DEFAULT_LAST, cwd: Path = REPO_ROOT) -> list[str]:
    """The first-parent commits of ``rev`` that changed the engine, oldest first; the newest
    ``last`` of them (None or 0: all)."""
    commits = [c for c in first_parent_commits(rev, cwd) if touches(c, cwd=cwd)]
    return commits[-last:] if last else commits


# ----------------------------------------------------------------------------------------- asv
def load_asv_config(path: Path = ASV_CONFIG) -> dict:
    """asv.conf.json as a dict (it may hold // comments)."""
    from asv import util

    return util.load_json(str(path), js_comments=True)


def write_derived_config(out_path: Path, base: Path = ASV_CONFIG, root: Path = REPO_ROOT, **overrides) -> Path:
    """A copy of ``base`` with every path made absolute against ``root`` and ``overrides``
    applied, so asv can run against another results/html/env directory or repository."""
    conf = load_asv_config(base)
    for key in ("repo", "benchmark_dir", "env_dir", "results_dir", "html_dir"):
        if key in conf:
            conf[key] = str((root / conf[key]).resolve())
    conf.update({key: (str(value) if isinstance(value, Path) else value) for key, value in overrides.items()})
    out_path.write_text(json.dumps(conf, indent=4))
    return out_path


def asv_command(*args: str, config: Path | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "asv"]
    if config is not None:
        cmd += ["--config", str(config)]
    return cmd + list(args)


def run_asv(*args: str, config: Path | None = None, cwd: Path = REPO_ROOT, log_path: Path | None = None,
            progress: bool = False, total_commits: int = 0) -> tuple[int, str]:
    """Run asv, streaming its output (or, with ``progress``, one progress line) and returning
    ``(exit code, output)``. The full output is also written to ``log_path``."""
    cmd = asv_command(*args, config=config)
    started = time.monotonic()
    lines: list[str] = []
    log = open(log_path, "w") if log_path else None
    tty = sys.stdout.isatty()
    commit_no, commit = 0, ""
    try:
        log and log.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if log:
                log.write(line)
                log.flush()
            if not progress:
                sys.stdout.write(line)
                sys.stdout.flush()
                continue
            found = COMMIT_LINE.search(line)
            if found:
                commit_no, commit = commit_no + 1, found.group(1)[:8]
            match = PERCENT_LINE.match(line.rstrip())
            if match and not match.group(3).lstrip().startswith(NOT_PROGRESS):
                elapsed = int(time.monotonic() - started)
                what = match.group(3).strip()
                status = (
                    f"[history {float(match.group(1)):5.1f}%] commit {commit_no}/{total_commits or '?'} {commit}"
                    f" | {elapsed // 60}m{elapsed % 60:02d}s | {what[:70]}"
                )
                if tty:
                    sys.stdout.write("\r" + status.ljust(140)[:140])
                else:
                    sys.stdout.write(status + "\n")
                sys.stdout.flush()
            if "failed" in line.lower() and not line.startswith("$"):
                sys.stdout.write(("\n" if tty else "") + line)
        rc = proc.wait()
    finally:
        if log:
            log.close()
    if progress and tty:
        sys.stdout.write("\n")
    return rc, "".join(lines)


def ensure_machine(name: str, config: Path | None = None) -> None:
    """Record this machine under ``name`` in ~/.asv-machine.json (idempotent)."""
    subprocess.run(asv_command("machine", "--yes", "--machine", name, config=config), cwd=REPO_ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def bench_args(bench: list[str] | None) -> list[str]:
    """``--bench`` arguments; None selects :data:`DEFAULT_BENCH`, ``["all"]`` the whole suite."""
    selection = [DEFAULT_BENCH] if bench is None else [b for b in bench if b != "all"]
    return [arg for regex in selection for arg in ("--bench", regex)]


def attribute_args(attributes: list[str] | None) -> list[str]:
    return [arg for attribute in attributes or [] for arg in ("-a", attribute)]


def run_history(commits: list[str], machine: str, bench: list[str] | None = None, attributes: list[str] | None = None,
                force: bool = False, config: Path | None = None, hashfile: Path | None = None,
                log_path: Path | None = None) -> int:
    """Measure ``commits`` (oldest first) with ``asv run HASHFILE:...`` under ``machine``."""
    if not commits:
        print("no commits to measure")
        return 1
    hashfile = hashfile or REPO_ROOT / ".asv" / "history-hashes.txt"
    hashfile.parent.mkdir(parents=True, exist_ok=True)
    hashfile.write_text("\n".join(commits) + "\n")
    log_path = log_path or REPO_ROOT / ".asv" / "history.log"
    args = ["run", f"HASHFILE:{hashfile}", "--machine", machine, "--show-stderr"]
    args += bench_args(bench) + attribute_args(list(DEFAULT_ATTRIBUTES) if attributes is None else attributes)
    if not force:
        args.append("--skip-existing-successful")
    print(f"measuring {len(commits)} commit(s) {commits[0][:8]}..{commits[-1][:8]} on machine {machine!r}; "
          f"full asv output: {log_path}")
    started = time.monotonic()
    rc, _ = run_asv(*args, config=config, log_path=log_path, progress=True, total_commits=len(commits))
    print(f"asv run finished with exit code {rc} in {time.monotonic() - started:.0f} s")
    return rc


# -------------------------------------------------------------------------------- subcommands
def cmd_commits(args) -> int:
    for commit in engine_commits(args.range, args.last):
        print(git("log", "-1", "--format=%H %ad %s", "--date=short", commit).strip())
    return 0


def cmd_run(args) -> int:
    commits = engine_commits(args.range, args.last) if not args.every_commit else first_parent_commits(args.range)
    if args.every_commit and args.last:
        commits = commits[-args.last:]
    ensure_machine(args.machine)
    return run_history(commits, args.machine, args.bench, args.attribute, args.force)


def cmd_publish(args) -> int:
    rc = publish()
    if rc == 0:
        html = load_asv_config().get("html_dir", "html")
        print(f"published {REPO_ROOT / html}; preview it with `python tools/asv_history.py preview` "
              f"and open http://127.0.0.1:{args.port}/")
    return rc


def cmd_preview(args) -> int:
    print(f"serving {REPO_ROOT / load_asv_config().get('html_dir', 'html')} on http://127.0.0.1:{args.port}/ "
          "(Ctrl-C stops)")
    rc, _ = run_asv("preview", "--port", str(args.port))
    return rc


def cmd_compare(args) -> int:
    if args.measure:
        ensure_machine(args.machine)
        for rev in (args.base, args.head):
            sha = git("rev-parse", rev).strip()
            rc = run_history([sha], args.machine, args.bench, args.attribute, force=False,
                             hashfile=REPO_ROOT / ".asv" / f"compare-{sha[:8]}.txt")
            if rc != 0:
                return rc
    extra = ["--only-changed"] if args.only_changed else []
    if args.factor:
        extra += ["--factor", str(args.factor)]
    rc, _ = run_asv("compare", "--sort", "ratio", "--machine", args.machine, *extra,
                    git("rev-parse", args.base).strip(), git("rev-parse", args.head).strip())
    return rc


def default_factor() -> float:
    """1 + the default regression threshold of asv.conf.json."""
    return round(1.0 + float(load_asv_config().get("regressions_thresholds", {}).get(".*", 0.05)), 3)


def cmd_continuous(args) -> int:
    factor = args.factor or default_factor()
    ensure_machine(args.machine)
    print(f"gate: {args.head} against {args.base}, failing on a slowdown beyond x{factor}")
    rc, out = run_asv("continuous", "--factor", str(factor), "--split", "--show-stderr", "--machine", args.machine,
                      *bench_args(args.bench), *attribute_args(args.attribute), args.base, args.head)
    if "PERFORMANCE DECREASED" in out:
        print(f"GATE FAILED: a benchmark slowed down beyond x{factor} (see the table above)")
        return rc or 1
    return rc


def cmd_find(args) -> int:
    ensure_machine(args.machine)
    extra = ["--invert"] if args.invert else []
    rc, out = run_asv("find", "--machine", args.machine, "--show-stderr", *extra, args.range, args.regex)
    found = FOUND_LINE.search(out)
    if rc != 0 or not found:
        return rc or 1
    full = git("rev-parse", found.group(1)).strip()
    print(f"first bad commit: {git('log', '-1', '--format=%H %s', full).strip()}")
    return 0


def already_measured(commits: list[str], machine: str, results_dir: Path | None = None) -> list[str]:
    """The ``commits`` that have a result file (``<hash8>-<env>.json``) of ``machine`` in
    ``results_dir`` (default: asv.conf.json's)."""
    results_dir = results_dir or REPO_ROOT / load_asv_config().get("results_dir", "results")
    stored = {path.name.split("-")[0] for path in (results_dir / machine).glob("*-*.json")}
    return [commit for commit in commits if commit[:8] in stored]


def cmd_main(args) -> int:
    started = time.monotonic()
    missing = []
    for package, version in (("asv", ASV_VERSION), ("virtualenv", None)):
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is None or (version and installed != version):
            missing.append(package)
    if missing:
        print(f"installing the bench extra ({', '.join(missing)} missing): pip install .[bench]")
        subprocess.run([sys.executable, "-m", "pip", "install", f"{REPO_ROOT}[bench]"], check=True)
    ensure_machine(args.machine)
    commits = engine_commits("main", args.last)
    print(f"history of main: the last {len(commits)} engine commit(s), machine {args.machine!r}")
    measured = already_measured(commits, args.machine)
    if measured and not args.force:
        print(f"{len(measured)} of them already have results on {args.machine!r} (results/{args.machine}/): "
              f"asv measures only the benchmarks they lack; --force re-measures, --machine NAME starts this "
              f"hardware's own series")
    rc = run_history(commits, args.machine, args.bench, args.attribute, args.force)
    rc_publish = publish()
    minutes = (time.monotonic() - started) / 60
    html = REPO_ROOT / load_asv_config().get("html_dir", "html")
    print(f"done in {minutes:.1f} min. Dashboard: {html}/index.html")
    print(f"open it with `python tools/asv_history.py preview` and browse http://127.0.0.1:{args.port}/ "
          "(asv pages need a web server; file:// does not load the data)")
    return rc or rc_publish


def cmd_drill(args) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import regression_drill

    return regression_drill.main(args.drill_args)


# -------------------------------------------------------------------------- offline dashboard
# asv's index.html loads these from CDNs; `publish` copies them from npm into html/vendor/ so the
# dashboard also works offline (and in the headless-browser check). (CDN URL, npm package, file).
VENDORED_ASSETS = (
    ("https://code.jquery.com/jquery-3.3.1.min.js", "jquery@3.3.1", "dist/jquery.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js", "flot@0.8.3", "jquery.flot.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js", "flot@0.8.3", "jquery.flot.time.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js", "flot@0.8.3",
     "jquery.flot.selection.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js", "flot@0.8.3",
     "jquery.flot.categories.js"),
    ("https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js", "flot-orderbars@1.0.0",
     "js/jquery.flot.orderBars.js"),
    # 1.0.1 is not on npm; 1.1.3 has the same $.fn.stupidtable API.
    ("https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js", "stupid-table-plugin@1.1.3",
     "stupidtable.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js", "blueimp-md5@2.19.0", "js/md5.min.js"),
    ("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js", "bootstrap@3.1.1",
     "dist/js/bootstrap.min.js"),
    ("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css", "bootstrap@3.1.1",
     "dist/css/bootstrap.min.css"),
)
TAG_WITH_URL = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https://[^"]+)"[^>]*>')


def vendor_dashboard(html_dir: Path, cache_dir: Path = REPO_ROOT / ".asv" / "vendor") -> bool:
    """Copy the dashboard's CDN scripts and styles into ``html_dir/vendor`` (fetched once with
    ``npm pack`` into ``cache_dir``) and point the pages at them. Returns False (pages unchanged)
    when npm or a package is unavailable."""
    import tarfile

    cache_dir.mkdir(parents=True, exist_ok=True)
    local: dict[str, str] = {}
    for url, package, member in VENDORED_ASSETS:
        name, version = package.rsplit("@", 1)
        tarball = cache_dir / f"{name}-{version}.tgz"
        if not tarball.exists():
            try:
                subprocess.run(["npm", "pack", package, "--silent"], cwd=cache_dir, check=True, capture_output=True,
                               timeout=120)
            except (OSError, subprocess.SubprocessError):
                print(f"could not fetch {package} with npm; the dashboard keeps its CDN links")
                return False
        target = html_dir / "vendor" / package / member
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as archive:
            source = archive.extractfile(f"package/{member}")
            if source is None:
                return False
            target.write_bytes(source.read())
        local[url] = f"vendor/{package}/{member}"
    for page in html_dir.glob("*.html"):
        text = page.read_text()

        def replace(match: re.Match) -> str:
            url = match.group(2)
            if url not in local:
                return match.group(0)
            tag = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", match.group(0))
            return tag.replace(url, local[url])

        page.write_text(TAG_WITH_URL.sub(replace, text))
    return True


def publish(config: Path | None = None) -> int:
    """``asv publish``, then make the dashboard self-contained (see :func:`vendor_dashboard`)."""
    rc, _ = run_asv("publish", config=config)
    if rc == 0:
        conf = load_asv_config(config or ASV_CONFIG)
        html = Path(conf.get("html_dir", "html"))
        vendor_dashboard(html if html.is_absolute() else REPO_ROOT / html)
    return rc


# ------------------------------------------------------------------------------------- spread
def result_values(results_dir: Path, machine: str) -> dict[str, float]:
    """``{"benchmark(param, ...)": value}`` of every result of ``machine`` in ``results_dir``."""
    from asv.results import iter_results_for_machine

    values: dict[str, float] = {}
    for result in iter_results_for_machine(str(results_dir), machine):
        for key in result.get_all_result_keys():
            params = result.get_result_params(key)
            if params:
                import itertools

                combos = list(itertools.product(*params))
            else:
                combos = [()]
            for combo, value in zip(combos, result.get_result_value(key, params)):
                if value is not None and value == value:
                    label = f"{key}({', '.join(combo)})" if combo else key
                    values[label] = float(value)
    return values


def spread_table(first: dict[str, float], second: dict[str, float]) -> list[tuple[str, float]]:
    """``(label, |second/first - 1|)`` for every point measured in both runs, worst first."""
    rows = [(label, abs(second[label] / first[label] - 1.0)) for label in first
            if label in second and first[label] != 0]
    return sorted(rows, key=lambda row: -row[1])


def summarize_spread(rows: list[tuple[str, float]]) -> dict[str, dict[str, float]]:
    """Per benchmark (the label without its parameters): median and worst relative spread."""
    groups: dict[str, list[float]] = {}
    for label, spread in rows:
        groups.setdefault(label.split("(")[0], []).append(spread)
    return {name: {"median": statistics.median(v), "worst": max(v), "points": len(v)} for name, v in sorted(groups.items())}


def cmd_spread(args) -> int:
    sha = git("rev-parse", args.commit).strip()
    ensure_machine(args.machine)
    work = Path(args.out or tempfile.mkdtemp(prefix="asv-spread-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = args.bench or ["all"]  # the whole suite unless told otherwise
    values = []
    for run_no in (1, 2):
        results = work / f"results-{run_no}"
        config = write_derived_config(work / f"asv-{run_no}.conf.json", results_dir=results, html_dir=work / "html")
        rc = run_history([sha], args.machine, bench, args.attribute, force=True, config=config,
                         hashfile=work / "hashes.txt", log_path=work / f"run-{run_no}.log")
        if rc != 0:
            return rc
        values.append(result_values(results, args.machine))
    rows = spread_table(*values)
    summary = summarize_spread(rows)
    print(f"{'benchmark':70s} {'points':>6s} {'median':>8s} {'worst':>8s}")
    for name, stats in summary.items():
        print(f"{name:70s} {stats['points']:6d} {stats['median']:8.1%} {stats['worst']:8.1%}")
    spreads = [spread for _, spread in rows]
    if spreads:
        print(f"all {len(spreads)} points: median {statistics.median(spreads):.1%}, worst {max(spreads):.1%} "
              f"({rows[0][0]})")
    (work / "spread.json").write_text(json.dumps({"commit": sha, "summary": summary, "points": rows}, indent=1))
    print(f"details: {work / 'spread.json'}")
    return 0


# --------------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, bench=True):
        p.add_argument("--machine", default=DEFAULT_MACHINE, help="asv machine name (one series per name)")
        if bench:
            p.add_argument("--bench", "-b", action="append",
                           help=f"benchmark regex (repeatable); default {DEFAULT_BENCH!r}; 'all' = whole suite")
            p.add_argument("--attribute", "-a", action="append",
                           help=f"benchmark attribute override passed to asv (repeatable); default {' '.join(DEFAULT_ATTRIBUTES)}")
        return p

    p = sub.add_parser("commits", help="list the engine commits of a branch")
    p.add_argument("--range", default="main")
    p.add_argument("--last", type=int, default=0, help="only the newest N (0: all)")
    p.set_defaults(func=cmd_commits)

    p = common(sub.add_parser("run", help="measure the history over engine commits"))
    p.add_argument("--range", default="main", help="branch or rev whose first-parent history is measured")
    p.add_argument("--last", type=int, default=DEFAULT_LAST, help="newest N engine commits (0: all)")
    p.add_argument("--every-commit", action="store_true", help="every first-parent commit, not only engine ones")
    p.add_argument("--force", action="store_true", help="re-measure benchmarks that already have results")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("publish", help="render results/ into html/")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("preview", help="serve html/ locally")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_preview)

    p = common(sub.add_parser("compare", help="compare two commits, sorted by ratio"))
    p.add_argument("base")
    p.add_argument("head")
    p.add_argument("--measure", action="store_true", help="measure both commits first")
    p.add_argument("--only-changed", action="store_true")
    p.add_argument("--factor", type=float)
    p.set_defaults(func=cmd_compare)

    p = common(sub.add_parser("continuous", help="fail when HEAD is slower than main beyond the threshold"))
    p.add_argument("base", nargs="?", default="main")
    p.add_argument("head", nargs="?", default="HEAD")
    p.add_argument("--factor", type=float, help="slowdown factor that fails (default: 1 + threshold of '.*')")
    p.set_defaults(func=cmd_continuous)

    p = common(sub.add_parser("find", help="bisect the commit that introduced a regression"), bench=False)
    p.add_argument("range", help="FROM..TO; start FROM where the benchmarked code exists")
    p.add_argument("regex", help="matches exactly one benchmark")
    p.add_argument("--invert", action="store_true", help="look for an improvement instead")
    p.set_defaults(func=cmd_find)

    p = common(sub.add_parser("main", help="install, measure the default history, publish, say how to open"))
    p.add_argument("--last", type=int, default=DEFAULT_LAST)
    p.add_argument("--force", action="store_true")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=cmd_main)

    p = sub.add_parser("drill", help="the regression drill (arguments after -- go to tools/regression_drill.py)")
    p.add_argument("drill_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_drill)

    p = common(sub.add_parser("spread", help="run-to-run spread: two full runs of one commit"))
    p.add_argument("commit", nargs="?", default="HEAD")
    p.add_argument("--out", help="working directory (default: a new temporary one)")
    p.set_defaults(func=cmd_spread)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
