"""The spawned peak-memory group split over concurrent asv processes
(tools/historylib/memoryworkers.py), against hand-computed truths."""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))

from historylib import asvconf, history, memoryworkers  # noqa: E402

COLUMNS = ["result", "params", "version", "started_at", "duration"]


def test_shares_are_balanced_heaviest_first_and_deterministic():
    weights = {"a": 16.0, "b": 12.5, "c": 4.2, "d": 4.1, "e": 4.0, "f": 0.5}
    shares = memoryworkers.balanced_shares(list(weights), weights, 2)
    # a -> 0 (16), b -> 1 (12.5), c -> 1 (16.7), d -> 0 (20.1), e -> 1 (20.7), f -> 0 (20.6)
    assert [share.names for share in shares] == [("b", "c", "e"), ("a", "d", "f")]
    assert [round(share.weight, 1) for share in shares] == [20.7, 20.6]
    one = memoryworkers.balanced_shares(["a", "b"], weights, 1)
    assert [share.names for share in one] == [("a", "b")]
    # more workers than benchmarks: no empty share
    assert len(memoryworkers.balanced_shares(["a"], weights, 3)) == 1


def test_a_share_selects_its_benchmarks_with_every_combination_and_nothing_else():
    share = memoryworkers.Share(("m.C.peakmem_x",), 1.0)
    labels = ["m.C.peakmem_x", "m.C.peakmem_x(1, 'a')", "m.C.peakmem_xy", "m.C.peakmem_xy(1)", "n.m.C.peakmem_x"]
    chosen = [label for label in labels if any(re.search(regex, label) for regex in share.regexes())]
    assert chosen == ["m.C.peakmem_x", "m.C.peakmem_x(1, 'a')"]


def test_plan_weighs_by_recorded_duration_else_by_combinations(tmp_path):
    listing = {"version": 2, "m.A.peakmem_a": {"params": [["1", "2", "3"], ["x", "y"]]},
               "m.B.peakmem_b": {"params": []}, "m.C.peakmem_c": {"params": [["1"]]}, "m.D.time_d": {"params": []}}
    path = tmp_path / "benchmarks.json"
    path.write_text(json.dumps(listing))
    known = history.known_benchmarks(path)
    shares = memoryworkers.plan(known, [r"\.peakmem_"], listing, {"m.B.peakmem_b": 7.0}, workers=2)
    # A: 6 combinations -> 6 s; B: recorded 7 s; C: 1 combination -> 1 s
    assert [(share.names, share.weight) for share in shares] == [(("m.B.peakmem_b",), 7.0),
                                                                 (("m.A.peakmem_a", "m.C.peakmem_c"), 7.0)]


def test_recorded_durations_take_the_largest_of_the_newest_files(tmp_path):
    machine = tmp_path / "box"
    machine.mkdir()
    for number, seconds in enumerate([3.0, 5.0, 4.0]):
        (machine / f"{number:08x}-env.json").write_text(json.dumps(
            {"result_columns": COLUMNS, "results": {"m.C.peakmem_x": [[1.0], [], "v", 0, seconds],
                                                    "m.C.peakmem_y": [[1.0], [], "v", 0, None]}}))
    assert memoryworkers.recorded_durations(tmp_path, "box") == {"m.C.peakmem_x": 5.0}
    # a machine without results of its own borrows any machine's
    assert memoryworkers.recorded_durations(tmp_path, "other") == {"m.C.peakmem_x": 5.0}


def test_combined_code():
    assert memoryworkers.combined_code([0, 0], 2) == 0
    assert memoryworkers.combined_code([0, 2], 2) == 2
    assert memoryworkers.combined_code([2, 1], 2) == 1


def test_a_share_that_read_a_half_written_machine_file_runs_again_and_nothing_else_does():
    # asv 0.6.6's own message when ~/.asv-machine.json was read while another run rewrote it
    race = "· Error parsing JSON in file '/root/.asv-machine.json': Expecting value: line 1 column 1 (char 0)\n"
    calls = []

    def attempts(*outcomes):
        left = list(outcomes)

        def attempt(again):
            calls.append(again)
            return left.pop(0)
        return attempt

    assert asvconf.retry_machine_file_race(attempts((1, race), (0, "ok\n"))) == 0
    assert calls == [False, True]  # the second run appends to the first one's log
    calls.clear()
    assert asvconf.retry_machine_file_race(attempts((1, race), (1, race), (1, race))) == 1
    assert calls == [False, True, True]  # gives up after MACHINE_FILE_RETRIES more runs
    calls.clear()
    # another failure, or failed benchmarks (exit status 2), is the run's own result
    assert asvconf.retry_machine_file_race(attempts((1, "· No information stored about machine 'x'\n"))) == 1
    assert asvconf.retry_machine_file_race(attempts((2, "failed\n"))) == 2
    assert calls == [False, False]


def test_run_asv_runs_again_after_the_machine_file_race_and_keeps_both_outputs_in_its_log(tmp_path, monkeypatch):
    outputs = [(1, "· Error parsing JSON in file '/root/.asv-machine.json': Expecting value\n"), (0, "measured\n")]
    commands = []

    def fake_stream(cmd, cwd, timeout, on_line):
        commands.append(cmd)
        rc, text = outputs.pop(0)
        on_line(text)
        return rc, False

    monkeypatch.setattr(asvconf, "stream", fake_stream)
    log_path = tmp_path / "asv.log"
    rc, output = asvconf.run_asv("run", "HEAD^!", cwd=tmp_path, log_path=log_path, echo=False)
    assert (rc, output) == (0, "measured\n")
    assert len(commands) == 2 and commands[0] == commands[1]
    assert "Error parsing JSON" in log_path.read_text() and "measured" in log_path.read_text()


def test_measure_runs_the_memory_shares_at_once_in_their_own_env_and_merges_their_results(tmp_path, monkeypatch):
    """Three peak-memory benchmarks and one timed one: two concurrent spawned runs (the second with
    a config of its own env and scratch results, seeded with the commit's existing file), their
    results merged into the configured results, then the forked run alone."""
    repo = tmp_path / "repo"
    (repo / "results" / "box").mkdir(parents=True)
    (repo / "asv.conf.json").write_text(json.dumps({"version": 1, "project": "p", "repo": ".",
                                                    "env_dir": ".asv/env", "results_dir": "results",
                                                    "html_dir": "html", "benchmark_dir": "benchmarks"}))
    commit = "c" * 40
    existing = repo / "results" / "box" / f"{commit[:8]}-env.json"
    existing.write_text(json.dumps({"commit_hash": commit, "env_name": "env", "result_columns": COLUMNS,
                                    "results": {"m.D.time_d": [[2.0], [], "v", 1, 1.0]}, "durations": {}}))
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, "m.A.peakmem_a": {"params": [["1", "2", "3", "4"]]},
                                   "m.B.peakmem_b": {"params": [["1", "2"]]}, "m.C.peakmem_c": {"params": [["1", "2"]]},
                                   "m.D.time_d": {"params": []}}))
    monkeypatch.setattr(history, "BENCHMARKS_FILE", listing)
    calls, running, overlap = [], [], []
    lock = threading.Lock()
    both_started = threading.Barrier(2, timeout=10)

    def fake_run_asv(*args, config=None, **kwargs):
        if args[0] == "setup":  # the worker's environment is created before it is measured
            calls.append(("setup", config, []))
            return 0, ""
        launch = args[args.index("--launch-method") + 1]
        benches = [args[i + 1] for i, arg in enumerate(args) if arg == "--bench"]
        with lock:
            calls.append((launch, config, benches))
            running.append(launch)
        if launch == "spawn":
            both_started.wait()  # returns only if the two spawned runs are in flight together
            overlap.append(True)
            if config is not None:  # the worker: its seeded file, plus what it measured
                conf = json.loads(Path(config).read_text())
                seeded = Path(conf["results_dir"]) / "box" / existing.name
                data = json.loads(seeded.read_text())
                assert conf["env_dir"].endswith(".asv/env-memory-1")
                for regex in benches:
                    name = regex[1:].split("(")[0].replace("\\", "")
                    data["results"][name] = [[100.0], [], "v", 5, 0.5]
                seeded.write_text(json.dumps(data))
        return 0, ""

    monkeypatch.setattr(history, "run_asv", fake_run_asv)
    monkeypatch.setattr(memoryworkers, "run_asv", fake_run_asv)
    rc = history.measure([commit], "box", [r"^m\."], hashfile=tmp_path / "h.txt", log_path=tmp_path / "log",
                         cwd=repo, progress=False)
    assert rc == 0 and len(overlap) == 2
    # both environments are created before anything is measured (neither exists in this repo)
    assert [launch for launch, _, _ in calls[:2]] == ["setup", "setup"]
    assert "setup" not in [launch for launch, _, _ in calls[2:]]
    spawned = [(config, benches) for launch, config, benches in calls if launch == "spawn"]
    forked = [benches for launch, _, benches in calls if launch == "forkserver"]
    assert len(spawned) == 2 and len(forked) == 1 and running[-1] == "forkserver"
    # A (4 combinations) alone, B and C (2 + 2) together; the plain run has no config of its own
    by_config = {config is None: benches for config, benches in spawned}
    assert by_config[True] == [r"^m\.A\.peakmem_a(\(|$)"]
    assert sorted(by_config[False]) == [r"^m\.B\.peakmem_b(\(|$)", r"^m\.C\.peakmem_c(\(|$)"]
    merged = json.loads(existing.read_text())["results"]
    assert set(merged) == {"m.D.time_d", "m.B.peakmem_b", "m.C.peakmem_c"}
    assert merged["m.D.time_d"] == [[2.0], [], "v", 1, 1.0]


def test_measure_with_one_worker_runs_the_spawned_group_once(tmp_path, monkeypatch):
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, "m.A.peakmem_a": {"params": []}, "m.B.peakmem_b": {"params": []}}))
    monkeypatch.setattr(history, "BENCHMARKS_FILE", listing)
    calls = []
    monkeypatch.setattr(history, "run_asv", lambda *args, **kwargs: calls.append(args) or (0, ""))
    monkeypatch.setattr(history.memoryworkers, "run_asv", lambda *args, **kwargs: (0, ""))
    assert history.measure(["c" * 40], "box", [r"^m\."], hashfile=tmp_path / "h.txt", log_path=tmp_path / "log",
                           memory_workers=1, progress=False) == 0
    assert len(calls) == 1 and "spawn" in calls[0]


def test_settle_page_cache_evicts_the_mapped_files_of_an_environment(tmp_path):
    env = tmp_path / "env" / "abc"
    for relative in ["bin/python3", "lib/site-packages/numpy/_core/_umath.cpython-311-x86_64-linux-gnu.so",
                     "lib/site-packages/numpy.libs/libgfortran-040039e1.so.5.0.0", "lib/site-packages/numpy/core.py",
                     "lib/site-packages/numpy/data.txt"]:
        (env / relative).parent.mkdir(parents=True, exist_ok=True)
        (env / relative).write_bytes(b"x" * 4096)
    (env / "bin" / "python").symlink_to(env / "bin" / "python3")
    mapped = sorted(str(p.relative_to(env)) for p in memoryworkers.mapped_files(tmp_path / "env"))
    assert mapped == ["bin/python3", "lib/site-packages/numpy.libs/libgfortran-040039e1.so.5.0.0",
                      "lib/site-packages/numpy/_core/_umath.cpython-311-x86_64-linux-gnu.so"]
    assert memoryworkers.settle_page_cache([tmp_path / "env", tmp_path / "missing"]) == 3
