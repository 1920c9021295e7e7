"""benchmarks/bench_workload.py: the tracks read the figures the child measured, and the memory
budget is the import floor plus 1.3 x the replay buffers (hand-computed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import bench_workload as bw  # noqa: E402


def _cache(stages_off: dict[str, float]) -> dict:
    result = {"peak_rss_bytes": 700 * 2**20, "peak_hwm_bytes": 600 * 2**20, "replay_buffer_bytes": 200 * 2**20,
              "stages": stages_off}
    return {bw._key(1000, "off", "mlp"): result, "import_floor_rss_bytes": 300 * 2**20}


def test_peak_rss_over_budget_by_hand():
    cache = _cache({"learn": 0.001})
    # 600 MiB over (300 MiB + 1.3 x 200 MiB = 560 MiB)
    assert bw.Workload().track_peak_rss_over_budget(cache, 1000, "off", "mlp") == pytest.approx(600 / 560)


def test_record_is_the_learn_stage_with_learning_off_and_skips_without_it():
    bench = bw.WorkloadRecord()
    cache = _cache({"learn": 0.00125, "act": 0.002})
    bench.setup(cache, 1000)
    assert bench.track_record_ms(cache, 1000) == pytest.approx(1.25)
    with pytest.raises(NotImplementedError, match="inside act"):
        bench.setup(_cache({"act": 0.002}), 1000)
    with pytest.raises(NotImplementedError):
        bench.setup({}, 1000)


def test_import_floor_is_a_process_that_imported_torch_and_farm():
    """Children of this (large) test process: ``ru_maxrss`` would report at least this process's
    RSS at the fork; ``VmHWM`` reports the child's own peak, so the floor lies between a bare
    interpreter's and this process's, above a torch-only child's."""
    import_floor = bw.import_floor_rss()
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); {imports}"
             "from bench_workload import peak_rss_since_exec; print(peak_rss_since_exec())")
    here = str(REPO_ROOT / "benchmarks")

    def child(imports: str) -> int:
        return int(subprocess.run([sys.executable, "-c", probe.format(imports=imports), here], capture_output=True,
                                  text=True, check=True, timeout=120).stdout)

    bare, torch_only = child(""), child("import torch; ")
    assert bare < 60 * 2**20 < torch_only < import_floor


def test_rerun_tracks_read_the_second_run_and_the_ratio_and_skip_without_the_preset():
    bench = bw.WorkloadRerun()
    cache = {"first_run_step_seconds": 0.010, "second_run_step_seconds": 0.0125,
             "first_run_cpu_seconds": 0.016, "second_run_cpu_seconds": 0.024}
    bench.setup(cache)
    assert bench.track_second_run_step_ms(cache) == pytest.approx(12.5)
    assert bench.track_second_over_first_run_step(cache) == pytest.approx(1.25)
    assert bench.track_second_over_first_run_cpu(cache) == pytest.approx(1.5)
    with pytest.raises(NotImplementedError):
        bench.setup({})


def test_measure_rerun_logs_two_runs_into_one_file(tmp_path):
    """Both runs land in the one database: run ids 1 and 2, each with every step committed."""
    import sqlite3

    result = bw.measure_rerun(30, run_steps=3, timed_steps=2, directory=str(tmp_path))
    assert set(result) == {"first_run_step_seconds", "second_run_step_seconds", "first_run_cpu_seconds",
                           "second_run_cpu_seconds"}
    assert all(seconds > 0 for seconds in result.values())
    connection = sqlite3.connect(tmp_path / "runs.db")
    try:
        runs = connection.execute("SELECT id, status, last_step FROM simulations ORDER BY id").fetchall()
    finally:
        connection.close()
    assert runs == [(1, "completed", 4), (2, "completed", 4)]
