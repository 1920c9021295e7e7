#!/usr/bin/env python
"""Regression drill: prove that `asv find` names the commit that made a component slower.

1. Clone the repository's HEAD into a scratch directory (branch ``main`` there).
2. Commit a few harmless changes, then a deliberate slowdown of one component (by default the
   resource regeneration does its work twice), then a few more harmless changes.
3. Run ``asv find`` over the drill's commits with a regex that matches exactly one benchmark.
4. Check that it names the slowdown commit; exit 0 if so, 1 otherwise.

The drill uses its own machine name (:data:`DRILL_MACHINE`) and a results directory inside the
scratch directory, so the real ``results/`` is never touched. Its asv environment lives in
``.asv/drill-env`` of the repository and is reused across drills (the first drill builds it,
about a minute; later ones only swap the project wheel per commit).

    python tools/regression_drill.py [--keep] [--scratch DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

import asv_history  # noqa: E402  (tools/ is not a package)

DRILL_MACHINE = "agentfarm-drill"
# The component made slower, as module:qualified.name of the method that does its work, and the
# one benchmark that must catch it.
DEFAULT_TARGET = "farm.resources.manager:ResourceManager.regenerate"
DEFAULT_BENCHMARK = r"bench_resources\.LargeWorldRegeneration\.track_regenerate_min_seconds$"
HARMLESS_BEFORE = 3
HARMLESS_AFTER = 2

SLOWDOWN_TEMPLATE = '''

# --- regression drill: a deliberate 2x slowdown (never on main) -----------------------------
def _drill_twice(method):
    def twice(*args, **kwargs):
        method(*args, **kwargs)
        return method(*args, **kwargs)

    return twice


{owner}.{method} = _drill_twice({owner}.{method})
'''


def run(*cmd: str, cwd: Path) -> str:
    return subprocess.run(list(cmd), cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_all(clone: Path, message: str) -> str:
    run("git", "add", "-A", cwd=clone)
    run("git", "-c", "user.name=drill", "-c", "user.email=drill@localhost", "commit", "-q", "-m", message, cwd=clone)
    return run("git", "rev-parse", "HEAD", cwd=clone).strip()


def harmless_commit(clone: Path, number: int) -> str:
    """A change that cannot affect timing: a line in a notes file."""
    notes = clone / "DRILL_NOTES.md"
    with notes.open("a") as handle:
        handle.write(f"harmless drill change {number}\n")
    return commit_all(clone, f"drill: harmless change {number}")


def target_source_file(clone: Path, target: str) -> tuple[Path, str, str]:
    """``(file, owner, method)`` for ``module:Owner.method``: the file (inside ``clone``) that
    defines the module, checked by importing it from the clone in a subprocess."""
    module, qualname = target.split(":")
    owner, method = qualname.rsplit(".", 1)
    code = "\n".join([
        "import functools, importlib, inspect, json",
        f"module = importlib.import_module({module!r})",
        f"owner = functools.reduce(getattr, {owner.split('.')!r}, module)",
        f"assert callable(getattr(owner, {method!r}))",
        "print(json.dumps(inspect.getsourcefile(module)))",
    ])
    out = subprocess.run([sys.executable, "-c", code], cwd=clone, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(clone)}).stdout
    path = Path(json.loads(out.strip().splitlines()[-1])).resolve()
    if clone.resolve() not in path.parents:
        raise RuntimeError(f"{target} resolved outside the scratch clone: {path}")
    return path, owner, method


def slowdown_commit(clone: Path, target: str) -> str:
    path, owner, method = target_source_file(clone, target)
    with path.open("a") as handle:
        handle.write(SLOWDOWN_TEMPLATE.format(owner=owner, method=method))
    return commit_all(clone, f"drill: {owner}.{method} does its work twice")


def prepare(scratch: Path, target: str) -> tuple[Path, str, str, str]:
    """Clone and commit; returns ``(clone, base, bad, tip)`` commit hashes."""
    clone = scratch / "repo"
    run("git", "clone", "-q", "--no-hardlinks", str(asv_history.REPO_ROOT), str(clone), cwd=scratch)
    run("git", "checkout", "-q", "-B", "main", cwd=clone)
    base = run("git", "rev-parse", "HEAD", cwd=clone).strip()
    for number in range(1, HARMLESS_BEFORE + 1):
        harmless_commit(clone, number)
    bad = slowdown_commit(clone, target)
    for number in range(HARMLESS_BEFORE + 1, HARMLESS_BEFORE + HARMLESS_AFTER + 1):
        harmless_commit(clone, number)
    tip = run("git", "rev-parse", "HEAD", cwd=clone).strip()
    return clone, base, bad, tip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default=DEFAULT_TARGET, help="module:Owner.method made twice as slow")
    parser.add_argument("--benchmark", default=DEFAULT_BENCHMARK, help="regex matching exactly one benchmark")
    parser.add_argument("--scratch", help="scratch directory (default: a new temporary one)")
    parser.add_argument("--env-dir", default=str(asv_history.REPO_ROOT / ".asv" / "drill-env"),
                        help="asv environment directory, reused across drills")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args([a for a in (argv or []) if a != "--"] if argv is not None else None)

    started = time.monotonic()
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="asv-drill-")).resolve()
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        clone, base, bad, tip = prepare(scratch, args.target)
        print(f"drill: scratch clone {clone}; slowdown committed as {bad[:8]} in {base[:8]}..{tip[:8]}")
        config = asv_history.write_derived_config(
            scratch / "asv.conf.json", root=clone, env_dir=Path(args.env_dir).resolve(),
            results_dir=scratch / "results", html_dir=scratch / "html", branches=["main"],
        )
        asv_history.ensure_machine(DRILL_MACHINE, config=config)
        rc, out = asv_history.run_asv("find", "--machine", DRILL_MACHINE, "--show-stderr", f"{base}..{tip}",
                                      args.benchmark, config=config, cwd=clone, log_path=scratch / "find.log")
        found = asv_history.FOUND_LINE.search(out)
        elapsed = time.monotonic() - started
        if rc != 0 or not found:
            print(f"drill FAILED: asv find exited {rc} without naming a commit ({elapsed:.0f} s)")
            return 1
        named = run("git", "rev-parse", found.group(1), cwd=clone).strip()
        if named != bad:
            print(f"drill FAILED: asv find named {named[:8]}, the slowdown is {bad[:8]} ({elapsed:.0f} s)")
            return 1
        print(f"drill passed: asv find named the slowdown commit {bad[:8]} in {elapsed:.0f} s")
        return 0
    finally:
        if not args.keep and not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
