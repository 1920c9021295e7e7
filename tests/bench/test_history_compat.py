"""The benchmarks at HEAD must skip, never fail, on the commits of main that predate the engine.

asv runs today's benchmark suite against every historic commit. For each checked commit this test
exports that commit's ``farm/`` next to a copy of HEAD's ``benchmarks/`` in a temporary directory,
then walks every benchmark through asv_runner in a subprocess (``walk_benchmarks.py``): imports,
``setup_cache``, ``setup`` and ``teardown`` of every parameter combination. Each outcome must be a
success or a NotImplementedError skip. It also checks that ``params`` do not depend on what is
importable and that every benchmark class pins a ``version``.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
WALKER = Path(__file__).with_name("walk_benchmarks.py")
BENCH_PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_", "track_")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True).stdout


def has_main() -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "-q", "main"], cwd=REPO_ROOT,
                          capture_output=True).returncode == 0


def pre_engine_commits() -> list[str]:
    """The root commit of main and the newest first-parent commit of main without a step loop
    (``farm/core/simulation.py``): the oldest and the newest commit where nothing can run."""
    commits = git("rev-list", "--first-parent", "--reverse", "main").split()
    without_engine = [c for c in commits
                      if not git("ls-tree", "--name-only", c, "farm/core/simulation.py").strip()]
    picked = [commits[0]] + without_engine[-1:]
    return list(dict.fromkeys(picked))


def export_tree(commit: str, destination: Path) -> None:
    """``farm/`` of ``commit`` (if it has one) and HEAD's working-tree ``benchmarks/``."""
    if git("ls-tree", "--name-only", commit, "farm").strip():
        archive = subprocess.run(["git", "archive", "--format=tar", commit, "farm"], cwd=REPO_ROOT, check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(destination, filter="data")
    shutil.copytree(REPO_ROOT / "benchmarks", destination / "benchmarks",
                    ignore=shutil.ignore_patterns("__pycache__"))


def walk(root: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PYTHONSAFEPATH", None)
    report = root / "walk.json"
    out = subprocess.run([sys.executable, str(WALKER), str(root / "benchmarks"), str(report)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(report.read_text())


@pytest.fixture(scope="module")
def head_params() -> dict:
    """Benchmark params discovered at HEAD, with HEAD's farm importable."""
    from asv_runner.discovery import disc_benchmarks

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return {b.name: [[repr(v) for v in axis] for axis in b._params]
            for b in disc_benchmarks(str(REPO_ROOT / "benchmarks"))}


@pytest.mark.skipif(not has_main(), reason="needs the main branch")
@pytest.mark.parametrize("commit", pre_engine_commits() if has_main() else [])
def test_benchmarks_skip_on_commits_without_the_engine(commit, tmp_path, head_params):
    export_tree(commit, tmp_path)
    report = walk(tmp_path)
    assert set(report) == set(head_params), "every benchmark must be discovered on every commit"
    failures = {name: outcome for name, entry in report.items() for outcome in entry["outcomes"]
                if outcome not in ("ok", "skip")}
    assert not failures, f"benchmarks that fail instead of skipping at {commit[:8]}: {failures}"
    changed = {name for name, entry in report.items() if entry["params"] != head_params[name]}
    assert not changed, f"params depend on the farm version: {sorted(changed)}"
    # Some combinations skip at HEAD too (blocklists), so "something skipped" proves nothing.
    # What must hold: with no step loop in the tree, every benchmark of the whole loop skips
    # everywhere, so none of them measured a stale or missing engine.
    loop = [name for name in report if name.startswith("bench_simulation.")]
    assert loop, "no bench_simulation benchmarks were discovered"
    ran = {name: report[name]["outcomes"] for name in loop if set(report[name]["outcomes"]) != {"skip"}}
    assert not ran, f"benchmarks of the step loop ran at {commit[:8]}, which has no step loop: {ran}"


def test_walker_reports_a_setup_that_fails(tmp_path):
    """The walker itself must tell a skip from a failure (otherwise the test above cannot fail)."""
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    (bench / "bench_probe.py").write_text(
        "class Probe:\n"
        "    version = 1\n"
        "    params = [[1, 2, 3]]\n"
        "    def setup(self, n):\n"
        "        if n == 1:\n"
        "            raise NotImplementedError\n"
        "        if n == 2:\n"
        "            raise AttributeError('broken')\n"
        "    def time_probe(self, n):\n"
        "        pass\n"
    )
    report = walk(tmp_path)
    outcomes = report["bench_probe.Probe.time_probe"]["outcomes"]
    assert outcomes[0] == "skip"
    assert outcomes[1].startswith("error: AttributeError")
    assert outcomes[2] == "ok"


def test_every_benchmark_class_pins_a_version():
    """A class without ``version`` loses its history at the next cosmetic edit of a method."""
    import importlib
    import pkgutil

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    missing = []
    for info in pkgutil.iter_modules([str(REPO_ROOT / "benchmarks")]):
        module = importlib.import_module(f"benchmarks.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_"):
                continue
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                if any(attr.startswith(BENCH_PREFIXES) for attr in dir(obj)) and "version" not in vars(obj):
                    missing.append(f"{info.name}.{name}")
            elif inspect.isfunction(obj) and name.startswith(BENCH_PREFIXES) and not hasattr(obj, "version"):
                missing.append(f"{info.name}.{name}")
    assert not missing, f"benchmarks without a version attribute: {missing}"
