"""The documented asv workflows, end to end, on a scratch clone with a known 2x slowdown.

``test_regression_drill`` runs ``tools/regression_drill.py`` exactly as a user would (asv find
must name the slowdown commit). ``test_history_publish_compare_continuous`` drives
``tools/asv_history.py`` from a second scratch clone: the history run over the last engine
commits, publishing, the ratio-sorted comparison and the continuous gate (which must fail on the
slowdown and pass between two harmless commits). Both reuse the asv environment in
``.asv/drill-env`` (built once, about a minute), use the machine name ``agentfarm-drill`` and keep
every result inside the scratch directory.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))

import regression_drill  # noqa: E402

BENCHMARK = regression_drill.DEFAULT_BENCHMARK
MACHINE = regression_drill.DRILL_MACHINE

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("asv") is None or importlib.util.find_spec("virtualenv") is None,
    reason="needs asv and virtualenv (pip install .[bench])",
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def test_regression_drill(tmp_path):
    out = subprocess.run([sys.executable, str(TOOLS / "regression_drill.py"), "--scratch", str(tmp_path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "drill passed" in out.stdout
    # The drill never writes into the real results/ directory.
    assert not (REPO_ROOT / "results" / MACHINE).exists()


def test_history_publish_compare_continuous(tmp_path):
    clone, base, bad, tip = regression_drill.prepare(tmp_path, regression_drill.DEFAULT_TARGET)
    config = json.loads(json.dumps(regression_drill.asv_history.load_asv_config(clone / "asv.conf.json")))
    config["env_dir"] = str(REPO_ROOT / ".asv" / "drill-env")
    (clone / "asv.conf.json").write_text(json.dumps(config, indent=4))  # uncommitted: asv reads the working tree
    tool = [sys.executable, str(clone / "tools" / "asv_history.py")]

    def tool_run(*args: str, expect: int | None = 0) -> str:
        out = subprocess.run([*tool, *args], cwd=clone, capture_output=True, text=True, timeout=600)
        if expect is not None:
            assert out.returncode == expect, out.stdout[-4000:] + out.stderr[-2000:]
        return out.stdout

    # History over the engine commits: harmless commits (notes only) are left out.
    listed = [line.split()[0] for line in tool_run("commits", "--last", "2").splitlines()]
    assert listed[-1] == bad and len(listed) == 2
    assert _git(clone, "diff", "--name-only", f"{listed[0]}^", listed[0], "--", "farm", "setup.py")
    assert _git(clone, "merge-base", "--is-ancestor", listed[0], base) == ""
    out = tool_run("run", "--last", "2", "--machine", MACHINE, "--bench", BENCHMARK)
    assert re.search(r"\[history\s+\d+(\.\d+)?%\] commit 2/2", out), out[-2000:]
    result_files = [p for p in (clone / "results" / MACHINE).glob("*.json") if p.name != "machine.json"]
    assert {p.name.split("-")[0] for p in result_files} == {listed[0][:8], bad[:8]}

    # Publish: the dashboard's index lists the benchmark and its graph data exists.
    tool_run("publish")
    index = json.loads((clone / "html" / "index.json").read_text())
    name = "bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds"
    assert name in index["benchmarks"]
    assert list((clone / "html" / "graphs").rglob(f"{name}.json"))

    # Compare: one row for the benchmark, ratio about 2 (a slowdown), sorted by ratio.
    table = tool_run("compare", listed[0], bad, "--machine", MACHINE)
    # asv prints a github table through tabulate, which re-formats a numeric ratio with "g":
    # an exact 2.00 shows as "2". The ratio is the cell just before the benchmark's name.
    row = next(line for line in table.splitlines() if name in line)
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    ratio_cell = cells[cells.index(name) - 1]
    assert re.fullmatch(r"~?\d+(\.\d+)?", ratio_cell), f"no ratio in the row {row!r}:\n{table}\n{out[-3000:]}"
    ratio = float(ratio_cell.lstrip("~"))
    assert ratio > 1.5, table

    # Continuous gate: fails on the slowdown, passes between two harmless commits.
    before_bad = _git(clone, "rev-parse", f"{bad}^")
    failed = tool_run("continuous", before_bad, bad, "--machine", MACHINE, "--bench", BENCHMARK, "--factor", "1.3",
                      expect=None)
    assert "GATE FAILED" in failed and "PERFORMANCE DECREASED" in failed, failed[-3000:]
    tool_run("continuous", _git(clone, "rev-parse", f"{base}~0"), _git(clone, "rev-parse", f"{before_bad}^"),
             "--machine", MACHINE, "--bench", BENCHMARK, "--factor", "1.3")
