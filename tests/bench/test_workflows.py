"""The documented asv workflows, end to end, on scratch clones with a known 2x slowdown.

``test_regression_drill`` runs ``tools/regression_drill.py`` exactly as a user would (the
project's find must name the slowdown commit). ``test_history_publish_compare_continuous_find``
drives ``tools/asv_history.py`` from a second scratch clone: the chunked, resumable history run
with ``--commit-results``, publishing, the comparison of the stored results, the direction-aware gate
(fails on the slowdown, passes between two harmless commits) and ``find``. The main command is
run on a clone and must leave nothing stray (the CI smoke check: ``test_smoke_check.py``). All
reuse the asv environment in ``.asv/drill-env`` (built once, about a minute) and keep every result
inside the scratch directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))

import regression_drill  # noqa: E402
from scratch_git import git, status  # noqa: E402

from historylib import asvconf, machine, results  # noqa: E402

BENCHMARK = regression_drill.DEFAULT_BENCHMARK
BENCHMARK_REGEX = re.escape(BENCHMARK) + "$"
MACHINE = regression_drill.DRILL_MACHINE

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("asv") is None or importlib.util.find_spec("virtualenv") is None,
        reason="needs asv and virtualenv (pip install .[bench])",
    ),
    # find and the gate judge wall times, and every test here shares .asv/drill-env: .ci/test runs
    # them one at a time with nothing else on the machine.
    pytest.mark.alone,
]




def _clone_with_drill_env(tmp_path: Path) -> tuple[Path, str, str, str]:
    clone, base, bad, tip = regression_drill.prepare(tmp_path, regression_drill.DEFAULT_KIND)
    config = asvconf.load_asv_config(clone / "asv.conf.json")
    config["env_dir"] = str(REPO_ROOT / ".asv" / "drill-env")
    (clone / "asv.conf.json").write_text(json.dumps(config, indent=4))  # uncommitted: asv reads the working tree
    return clone, base, bad, tip


def _tool(clone: Path):
    tool = [sys.executable, str(clone / "tools" / "asv_history.py")]

    def tool_run(*args: str, expect: int | None = 0) -> str:
        out = subprocess.run([*tool, *args], cwd=clone, capture_output=True, text=True, timeout=900, check=False,
                             env={**os.environ, "PYTHONPATH": str(clone)})
        if expect is not None:
            assert out.returncode == expect, out.stdout[-4000:] + out.stderr[-2000:]
        return out.stdout + out.stderr

    return tool_run


def test_regression_drill(tmp_path):
    out = subprocess.run([sys.executable, str(TOOLS / "regression_drill.py"), "--scratch", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "drill passed" in out.stdout
    # The drill never writes into the real results/ directory.
    assert not (REPO_ROOT / "results" / MACHINE).exists()


def test_history_publish_compare_continuous_find(tmp_path):
    clone, base, bad, tip = _clone_with_drill_env(tmp_path)
    tool_run = _tool(clone)

    # History over the engine commits (harmless commits, notes only, are left out), in chunks of
    # one commit, each chunk's results committed.
    listed = [line.split()[0] for line in tool_run("commits", "--last", "2").splitlines()]
    assert listed[-1] == bad and len(listed) == 2
    assert git(clone, "merge-base", "--is-ancestor", listed[0], base) == ""
    head_before = git(clone, "rev-parse", "HEAD")
    out = tool_run("run", "--last", "2", "--machine", MACHINE, "--bench", BENCHMARK_REGEX, "--chunk", "1",
                   "--commit-results")
    assert re.search(r"\[history\s+\d+(\.\d+)?%\] commit 1/1", out), out[-2000:]
    result_files = [p for p in (clone / "results" / MACHINE).glob("*.json") if p.name != "machine.json"]
    assert {p.name.split("-")[0] for p in result_files} == {listed[0][:8], bad[:8]}
    subjects = git(clone, "log", "--format=%s", f"{head_before}..HEAD").splitlines()
    assert subjects == [f"Benchmark history: {c[:8]} measured on {MACHINE} ({BENCHMARK_REGEX})" for c in listed[::-1]]
    assert tool_run("run", "--last", "2", "--machine", MACHINE, "--bench", BENCHMARK_REGEX).count(
        "2 already finished, 0 to measure") == 1  # resumes: nothing left

    # Publish: the dashboard's index lists the benchmark and its graph data exists.
    tool_run("publish")
    index = json.loads((clone / "html" / "index.json").read_text())
    assert BENCHMARK in index["benchmarks"]
    assert list((clone / "html" / "graphs").rglob(f"{BENCHMARK}.json"))

    # Compare: one row for the benchmark, its ratio the stored after/before. compare renders what
    # the history run stored, one measurement per commit; whether the step is real is settled by
    # the gate and find below, which re-measure. (A CI run's history read the harmless commit at
    # 489 us against the planted one's 344, x0.70: one sitting cannot carry a 2x step's sign.)
    table = tool_run("compare", listed[0], bad, "--machine", MACHINE)
    row = next(line for line in table.splitlines() if BENCHMARK in line)
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    ratio_cell = cells[cells.index(BENCHMARK) - 1]
    assert re.fullmatch(r"~?\d+(\.\d+)?", ratio_cell), f"no ratio in the row {row!r}:\n{table}"
    stored = {c: results.load_points(clone / "results", MACHINE, c)[BENCHMARK] for c in (listed[0], bad)}
    assert float(ratio_cell.lstrip("~")) == pytest.approx(stored[bad] / stored[listed[0]], abs=0.006), (stored, table)

    # The gate fails on the slowdown and passes between two harmless commits (a failing point is
    # settled on interleaved re-measures: a CI run read this harmless pair x1.39 apart in one
    # sitting, so the harmless pair is judged on the per-benchmark thresholds of asv.conf.json).
    # The slowdown is judged on the compare bar, factor 1.25: its threshold in asv.conf.json (1.60)
    # sits inside what the 2x step reads on this host (1.38 compared, 1.565 in one sitting, and in
    # a CI run 2.017 over two sittings settled to 1.589), so it cannot tell the gate from the noise.
    before_bad = git(clone, "rev-parse", f"{bad}^")
    failed = tool_run("continuous", before_bad, bad, "--machine", MACHINE, "--bench", BENCHMARK_REGEX,
                      "--samples", "2", "--factor", "1.25", expect=1)
    assert "GATE FAILED" in failed and BENCHMARK in failed, failed[-3000:]
    passed = tool_run("continuous", base, git(clone, "rev-parse", f"{before_bad}^"), "--machine", MACHINE,
                      "--bench", BENCHMARK_REGEX)
    assert "gate passed" in passed
    assert not (clone / "results" / MACHINE / f"{before_bad[:8]}-").exists()  # gate results stay in .asv/gate

    # find: one benchmark, bisected by the project's own find.
    # Best of two measurements per probe: a fresh-clone run on the quiet reference host read a
    # harmless commit at 258 us between 178 (good) and 354 (bad) in one measurement.
    found = tool_run("find", f"{git(clone, 'rev-parse', f'{before_bad}~1')}..{tip}", BENCHMARK,
                     "--machine", MACHINE, "--samples", "2")
    assert f"first commit on the new side (worse): {bad}" in found, found[-3000:]


def test_main_measures_this_machine_and_leaves_the_rest_clean(tmp_path):
    clone, base, bad, tip = _clone_with_drill_env(tmp_path)
    tool_run = _tool(clone)
    before = status(clone)
    reference = (clone / "results" / machine.REFERENCE_MACHINE / "machine.json").read_text()
    name = machine.derived_name(machine.hardware())

    def measured() -> set[str]:  # commits with results of this machine (it may have a committed series)
        return {p.name.split("-")[0] for p in (clone / "results" / name).glob("*-*.json")}

    already = measured()
    out = tool_run("main", "--bench", BENCHMARK_REGEX)
    new_commits = measured() - already
    assert bad[:8] in new_commits and len(new_commits) == 2, out[-3000:]
    assert json.loads((clone / "results" / name / "machine.json").read_text())["cpu"] == machine.hardware()["cpu"]
    assert (clone / "results" / machine.REFERENCE_MACHINE / "machine.json").read_text() == reference
    new = {line[3:] for line in status(clone) - before}
    stray = sorted(path for path in new if not path.startswith((f"results/{name}/", "html/")))
    assert new and not stray, stray
    assert "dashboard:" in out and "preview" in out and name in out

    # The reference series only on its own hardware: refused in one line otherwise.
    path = clone / "results" / machine.REFERENCE_MACHINE / "machine.json"
    path.write_text(json.dumps({**json.loads(reference), "cpu": "Some Other CPU"}))
    refused = subprocess.run([sys.executable, str(clone / "tools" / "asv_history.py"), "main", "--machine",
                              machine.REFERENCE_MACHINE], cwd=clone, capture_output=True, text=True, timeout=300,
                             check=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "other hardware" in refused.stderr and "Some Other CPU" in refused.stderr
