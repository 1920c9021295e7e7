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


def test_record_over_store_floor_by_hand():
    cache = _cache({"learn": 0.00125})
    cache[bw._key(1000, "off", "mlp")]["store_floor_seconds"] = 0.0005
    assert bw.WorkloadRecord().track_record_over_store_floor(cache, 1000) == pytest.approx(2.5)


def test_the_store_floor_copies_each_step_into_the_next_slots_of_a_replay_sized_ring():
    """A replay of 10 frames' bytes and steps of 4 frames: slots 0-3, then 4-7, then (8-11 do
    not fit) 0-3 again; every slot written holds the step's frames."""
    from types import SimpleNamespace

    import numpy as np

    frame = (2, 3, 3)
    buffer = SimpleNamespace(nbytes=10 * int(np.prod(frame)) * 4 + 7)  # + per-transition bytes
    sim = SimpleNamespace(policies={"t": SimpleNamespace(learners={-1: SimpleNamespace(buffer=buffer)})})
    steps = [np.full((4,) + frame, value, dtype=np.float32) for value in (2.0, 3.0, 4.0)]
    run, ring = bw._store_writer(sim, steps[0])
    assert ring.shape == (10,) + frame and (ring == 1.0).all()
    run()
    np.testing.assert_array_equal(ring[:4], steps[0])
    assert (ring[4:] == 1.0).all()
    run()
    np.testing.assert_array_equal(ring[4:8], steps[0])
    steps[0][:] = 5.0  # the next copy reads the array as it is now
    run()
    assert (ring[:4] == 5.0).all() and (ring[4:8] == 2.0).all() and (ring[8:] == 1.0).all()


def test_measure_workload_reports_the_step_its_floors_and_the_store_floor():
    """A short real run of the preset: every figure the tracks read is there and positive."""
    result = bw.measure_workload(30, "off", "mlp", run_steps=3, timed_steps=2)
    assert set(result["floors"]) == {"spatial", "gather", "forward", "sqlite"}
    assert result["step_seconds"] > 0 and result["stages"]["learn"] > 0 and result["store_floor_seconds"] > 0
    assert result["floor_sum_seconds"] == pytest.approx(sum(result["floors"].values()))
    assert result["replay_buffer_bytes"] > 0 and result["population"] > 0


def test_mean_off_cpu_by_hand():
    # (10 - 9) and (20 - 5) ms off the CPU: 8 ms a step on average.
    assert bw.mean_off_cpu([0.010, 0.020], [0.009, 0.005]) == pytest.approx(0.008)
    with pytest.raises(ValueError):
        bw.mean_off_cpu([0.010, 0.020], [0.009])


class _SleepThenSpin:
    """A stand-in simulation whose step sleeps ``sleep`` s (off the CPU) and then burns ``spin``
    s of this thread's CPU time; ``stage_seconds`` accumulates the two as stages."""

    def __init__(self, sleep: float, spin: float) -> None:
        self.sleep, self.spin = sleep, spin
        self.stage_seconds = {"wait": 0.0, "work": 0.0}
        self.steps = 0

    def step(self):
        import time

        self.stage_seconds["wait"] += self.sleep
        time.sleep(self.sleep)
        burnt_from = time.thread_time()
        while time.thread_time() - burnt_from < self.spin:
            pass
        self.stage_seconds["work"] += self.spin
        self.steps += 1
        return self.steps


def test_timed_stage_steps_count_the_threads_cpu_and_not_its_sleep():
    sim = _SleepThenSpin(sleep=0.02, spin=0.01)
    walls, cpus, stages, last = bw.timed_stage_steps(sim, 3)
    assert last == 3 and len(walls) == len(cpus) == 3
    assert stages == {"wait": pytest.approx([0.02] * 3), "work": pytest.approx([0.01] * 3)}
    assert all(cpu >= 0.01 for cpu in cpus)  # the spin is this thread's CPU time
    assert all(wall >= cpu for wall, cpu in zip(walls, cpus))
    assert bw.mean_off_cpu(walls, cpus) >= 0.019  # the sleep is not (timer resolution aside)


def test_log_wait_tracks_read_the_mlp_results_and_skip_without_the_preset():
    bench = bw.WorkloadLogWait()
    cache = {bw._key(1000, "on", "mlp"): {"step_mean_seconds": 0.0215, "main_thread_wait_seconds": 0.0012},
             bw._key(1000, "on", "cnn"): {"step_mean_seconds": 1.0, "main_thread_wait_seconds": 1.0}}
    bench.setup(cache, 1000, "on")
    assert bench.track_step_mean_ms(cache, 1000, "on") == pytest.approx(21.5)
    assert bench.track_main_thread_wait_ms(cache, 1000, "on") == pytest.approx(1.2)
    with pytest.raises(NotImplementedError):
        bench.setup({}, 1000, "on")


def test_measure_store_parts_splits_the_learn_stage_of_a_real_run():
    """A short real run of the preset: three learners; the copies and the bookkeeping each below
    the stage (medians over the same steps), and a count of calls."""
    result = bw.measure_store_parts(30, run_steps=3, timed_steps=3, replays=3)
    assert result["learners"] == 3 and result["population"] > 0
    assert 0 < result["frame_copy_seconds"] < result["learn_seconds"]
    assert 0 < result["bookkeeping_seconds"] < result["learn_seconds"]
    assert result["bookkeeping_warm_seconds"] > 0 and result["store_floor_seconds"] > 0
    assert result["bookkeeping_calls"] > 3 * 10  # every learner pairs and stores: dozens of calls each


def test_measure_store_parts_times_the_copies_on_the_worker_thread_apart(monkeypatch):
    """With every frame write sent to the store's worker thread (threshold 0), the worker's copies
    are timed (off the stage), the main thread's writes are hand-offs, and the timing wrappers are
    gone afterwards; at the preset's threshold 30 agents copy inline and the worker times nothing."""
    from farm.core import simulation
    from farm.decision import frames

    copy_into, wait = frames._copy_into, simulation.wait_for_copies
    inline = bw.measure_store_parts(30, run_steps=3, timed_steps=3, replays=1)
    assert inline["worker_copy_seconds"] == 0 and inline["copy_wait_seconds"] >= 0
    monkeypatch.setattr(frames, "BACKGROUND_COPY_BYTES", 0)
    result = bw.measure_store_parts(30, run_steps=3, timed_steps=3, replays=1)
    assert result["worker_copy_seconds"] > 0 and result["copy_wait_seconds"] >= 0
    assert 0 < result["bookkeeping_seconds"] < result["learn_seconds"]
    assert frames._copy_into is copy_into and simulation.wait_for_copies is wait


def test_the_replayed_learn_stage_stores_the_same_transitions_and_frame_ids():
    """The learn stage run again from the state its last run started from (the frame copy left
    out) writes, for every learner, the same transitions, frame ids included, into the ring's
    next slots, and numbers the same frames."""
    import numpy as np

    from farm import Simulation

    sim = Simulation(bw.workload_config(30, "off", "mlp", None))
    try:
        for _ in range(3):
            sim.step()
        learners = bw._learners(sim)
        starts = [learner.buffer.position for learner in learners]  # 30 agents, 4 steps: no ring wraps
        last_calls: dict[int, tuple] = {}
        for index, learner in enumerate(learners):
            learner.record = bw._remembering_calls(learner, index, last_calls)
        sim.step()
        columns = ("frame_ids", "next_frame_ids", "actions", "rewards", "dones", "next_action_masks")
        truths = []
        for index, (learner, start) in enumerate(zip(learners, starts)):
            del learner.record
            buffer = learner.buffer
            _, written_before, args = last_calls[index]
            assert buffer.frames.written == written_before + len(args[0]) and buffer.position > start
            truths.append({name: getattr(buffer, name)[start : buffer.position].copy() for name in columns})
            buffer.frames.put = bw._numbered_without_copy(buffer.frames)
        ends = [learner.buffer.position for learner in learners]
        written = [learner.buffer.frames.written for learner in learners]
        assert bw._replay(sim, learners, last_calls) > 0
        for learner, start, end, count, truth in zip(learners, starts, ends, written, truths):
            buffer = learner.buffer
            assert buffer.position == 2 * end - start and buffer.frames.written == count
            for name in columns:
                np.testing.assert_array_equal(getattr(buffer, name)[end : 2 * end - start], truth[name])
    finally:
        sim.close()


def test_count_calls_counts_what_the_function_calls_by_hand():
    def one_python_call():
        return None

    assert bw._count_calls(lambda: None) == 0
    assert bw._count_calls(lambda: len([])) == 1  # one C function
    assert bw._count_calls(lambda: (one_python_call(), len([]))) == 2
