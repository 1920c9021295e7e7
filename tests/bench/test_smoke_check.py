"""The CI smoke check, ``tools/asv_history.py smoke``, as CI runs it: ``asv check``, then every
benchmark of the default selection once at this checkout's commit, on a clone, leaving nothing
in ``results/``. It judges no time, so it runs beside the other tests (not ``alone``)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))

from scratch_git import git, status  # noqa: E402

from historylib import history  # noqa: E402

pytestmark = pytest.mark.skipif(importlib.util.find_spec("asv") is None, reason="needs asv (pip install .[bench])")




def test_smoke_runs_every_default_benchmark_once_and_leaves_nothing(tmp_path):
    clone = tmp_path / "repo"
    git(tmp_path, "clone", "-q", "--no-hardlinks", str(REPO_ROOT), str(clone))
    before = status(clone)
    machines = sorted((clone / "results").glob("*/machine.json"))  # the committed series
    out = subprocess.run([sys.executable, str(clone / "tools" / "asv_history.py"), "smoke"], cwd=clone,
                         capture_output=True, text=True, timeout=1500, check=False,
                         env={**os.environ, "PYTHONPATH": str(clone)})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert "No problems found" in log  # asv check
    wanted = history.selected_benchmarks(["default"], clone / "results" / "benchmarks.json")
    ran = re.search(r"Running (\d+) total benchmarks \(1 commits \* 1 environments \* (\d+) benchmarks\)", log)
    assert ran and int(ran.group(2)) == len(wanted), log[:3000]
    assert " failed" not in log and "Traceback" not in log, log[-4000:]
    assert status(clone) == before, sorted(status(clone) ^ before)
    assert sorted((clone / "results").glob("*/machine.json")) == machines, "smoke added a machine.json"
