"""tools/historylib and tools/asv_history.py: the pure parts against hand-computed truths.

The asv-driven workflows (run, publish, compare, continuous, find, the drill) are exercised end to
end in ``test_workflows.py``.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))

import asv_history  # noqa: E402
from scratch_git import git  # noqa: E402

from historylib import (  # noqa: E402
    asvconf,
    bisect,
    gate,
    gitrepo,
    history,
    machine,
    proc,
    results,
    selection,
    spread,
    vendor,
)


def _commit(repo: Path, path: str, text: str, message: str) -> str:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture()
def toy_repo(tmp_path):
    """main: farm change, README, results, setup.py, a --no-ff merge of a farm change, docs.
    Returns the repo and the commits that changed the engine, by hand."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    engine = [_commit(repo, "farm/a.py", "a = 1\n", "engine 1")]
    _commit(repo, "README.md", "docs\n", "docs only")
    _commit(repo, "results/m/x.json", "{}\n", "results only")
    engine.append(_commit(repo, "setup.py", "# setup\n", "setup.py"))
    git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, "farm/b.py", "b = 2\n", "feature engine change")
    _commit(repo, "docs/x.md", "x\n", "feature docs")
    git(repo, "checkout", "-q", "main")
    _commit(repo, "html/index.html", "<html>\n", "html only")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "merge", "-q", "--no-ff", "feature", "-m", "merge")
    engine.append(git(repo, "rev-parse", "HEAD"))
    git(repo, "checkout", "-q", "-b", "docs-merge")
    _commit(repo, "docs/y.md", "y\n", "docs on a branch")
    git(repo, "checkout", "-q", "main")
    git(
        repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "merge", "-q", "--no-ff", "docs-merge",
        "-m", "docs merge",
    )
    _commit(repo, "tools/t.py", "pass\n", "tools only")
    return repo, engine


def write_results(results_dir: Path, machine_name: str, commit: str, benchmarks: dict, started: float = 0) -> Path:
    """An asv 0.6 results file: ``benchmarks`` maps name -> value, or (values, params); every
    benchmark started at ``started`` (asv's ``started_at``: milliseconds since the epoch)."""
    rows = {}
    for name, spec in benchmarks.items():
        values, params = spec if isinstance(spec, tuple) else ([spec], [])
        rows[name] = [values, params, "1", started, 1.0]
    data = {"commit_hash": commit, "env_name": "env", "result_columns": ["result", "params", "version",
                                                                         "started_at", "duration"],
            "results": rows, "version": 2}
    path = results_dir / machine_name / f"{commit[:8]}-env.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


# ----------------------------------------------------------------------------------------- git
def test_engine_commits_are_the_first_parent_commits_that_changed_farm_or_setup(toy_repo):
    repo, engine = toy_repo
    assert gitrepo.engine_commits("main", last=0, cwd=repo) == engine
    assert gitrepo.engine_commits("main", last=2, cwd=repo) == engine[-2:]
    assert len(gitrepo.first_parent_commits("main", cwd=repo)) == 8


def test_bad_revision_is_one_tool_error_not_a_called_process_error(toy_repo):
    repo, engine = toy_repo
    with pytest.raises(proc.ToolError, match="unknown revision 'nope'"):
        gitrepo.rev_parse("nope", cwd=repo)
    with pytest.raises(proc.ToolError, match="unknown revision"):
        gitrepo.first_parent_commits("main..nope", cwd=repo)
    with pytest.raises(proc.ToolError, match="bad range"):
        gitrepo.check_range("main", cwd=repo)
    assert gitrepo.check_range(f"{engine[0]}..main", cwd=repo) == (engine[0], git(repo, "rev-parse", "main"))


@pytest.mark.parametrize("argv", [["commits", "--range", "no-such-rev"], ["find", "nope..HEAD", "x"],
                                  ["compare", "HEAD", "no-such-rev"], ["continuous", "no-such-rev", "HEAD"]])
def test_cli_reports_a_bad_revision_in_one_line_with_exit_2(argv):
    out = subprocess.run([sys.executable, str(TOOLS / "asv_history.py"), *argv], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown revision" in lines[0] and "Traceback" not in out.stderr, out.stderr


def test_a_reader_that_goes_away_ends_the_listing_quietly():
    """`asv_history.py commits | head -1`: no BrokenPipeError traceback, exit 0."""
    process = subprocess.Popen([sys.executable, str(TOOLS / "asv_history.py"), "commits"], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline()  # one commit, then the reader leaves
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr


def test_branch_comes_from_asv_config_then_git(toy_repo):
    repo, _ = toy_repo
    assert gitrepo.default_branch({"branches": ["trunk"]}, cwd=repo) == "trunk"
    git(repo, "checkout", "-q", "-b", "develop")
    assert gitrepo.default_branch({}, cwd=repo) == "develop"
    assert gitrepo.default_branch({"branches": [None]}, cwd=repo) == "develop"


# --------------------------------------------------------------------------------- timeouts
def test_every_subprocess_call_in_tools_has_a_timeout():
    """subprocess.run/check_output/check_call need timeout=; Popen only in proc.stream (timer)."""
    offenders = []
    for path in TOOLS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner = node.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "subprocess"):
                continue
            keywords = {k.arg for k in node.keywords}
            if node.func.attr == "Popen" and path.name != "proc.py":
                offenders.append(f"{path.name}:{node.lineno} Popen")
            elif node.func.attr in ("run", "check_output", "check_call", "call") and "timeout" not in keywords:
                offenders.append(f"{path.name}:{node.lineno} {node.func.attr}")
    assert offenders == []


def test_stream_kills_the_process_group_at_the_timeout(tmp_path):
    seen = []
    started = time.monotonic()
    rc, timed_out = proc.stream(["bash", "-c", "echo start; sleep 30 & sleep 30"], cwd=tmp_path, timeout=1.0,
                                on_line=seen.append)
    assert timed_out and rc != 0 and seen == ["start\n"]
    assert time.monotonic() - started < 20
    with pytest.raises(proc.ToolError, match="timeout"):
        proc.run(["sleep", "5"], cwd=tmp_path, timeout=0.5)
    with pytest.raises(proc.ToolError, match="not installed"):
        proc.run(["no-such-program-xyz"], cwd=tmp_path, timeout=5)


def test_progress_and_found_lines_are_recognized():
    match = asvconf.PERCENT_LINE.match("[ 37.50%] ··· bench_simulation.FullRun.time_run        1.2s")
    assert match and float(match.group(1)) == 37.5 and match.group(3).startswith("bench_simulation.FullRun")
    assert asvconf.COMMIT_LINE.search("[ 0.00%] · For agentfarm-bench commit 1dbcb943 <main~2>:").group(1) == "1dbcb943"


# ----------------------------------------------------------------------------------- config
def test_derived_config_makes_paths_absolute(tmp_path):
    out = asvconf.write_derived_config(tmp_path / "c.json", results_dir=tmp_path / "r", branches=["x"])
    conf = json.loads(out.read_text())
    assert conf["repo"] == str(REPO_ROOT)
    assert conf["benchmark_dir"] == str(REPO_ROOT / "benchmarks")
    assert conf["env_dir"] == str(REPO_ROOT / ".asv" / "env")
    assert conf["results_dir"] == str(tmp_path / "r") and conf["branches"] == ["x"]
    assert asvconf.config_dir(out, "results_dir") == tmp_path / "r"


def test_asv_config_pins_dependencies_and_lists_throughput_tracks_once():
    conf = asvconf.load_asv_config()
    req = conf["matrix"]["req"]
    assert req["torch"] == ["2.13.0"]
    assert all(len(versions) == 1 for versions in req.values())
    assert "--no-deps" in conf["build_command"][0] and "--no-deps" in conf["install_command"][0]
    assert conf["branches"] == ["main"] and conf["results_dir"] == "results" and conf["html_dir"] == "html"
    # regressions_first_commits is built from the gate's one list of larger-is-better patterns.
    assert conf["regressions_first_commits"] == selection.first_commits_entries()
    for regex in conf["regressions_thresholds"]:
        re.compile(regex)


def test_asv_config_thresholds_hold_as_written():
    """asv and the gate take the LARGEST matching threshold: the default entry must not match the
    instruction tracks (else their 2 % reads 10 %), and the grid's entry must not match the default
    selection's ComplexityExponent (else its 15 % reads 30 %)."""
    thresholds = asvconf.load_asv_config()["regressions_thresholds"]
    instructions = "bench_instructions.RegenerationInstructions.track_regeneration_instructions"
    assert gate.threshold_for(instructions, thresholds) == 0.02
    assert gate.threshold_for("bench_scalability.StepScaling.time_step(10, '50x50', 'dense')", thresholds) == 0.30
    default = next(iter(thresholds.values()))
    assert gate.threshold_for("bench_new.Thing.time_it", thresholds) == default == 0.10
    complexity = "bench_scalability.ComplexityExponent.track_complexity_exponent('x')"
    own = [value for regex, value in thresholds.items() if "ComplexityExponent" in regex]
    assert gate.threshold_for(complexity, thresholds) == max(own + [default])


# -------------------------------------------------------------------------------- selection
def test_named_selections():
    default = re.compile(selection.SELECTIONS["default"])
    assert default.search("bench_simulation.FullRun.time_run")
    assert default.search("bench_scalability.ComplexityExponent.track_complexity_exponent")
    for excluded in ("bench_scalability.StepScaling.time_step", "bench_scalability.RunLength.peakmem_run",
                     "bench_soak.Soak.track_rss_growth", "bench_instructions.Instructions.track_step_instructions"):
        assert not default.search(excluded), excluded
    for excluded in ("bench_workload.Workload.track_step_ms", "bench_latency.StepLatency.track_step_p99"):
        assert not default.search(excluded), excluded
    assert default.search("bench_latency.QueryLatency.track_query_p99")  # a spatial component: default
    workload = re.compile(selection.SELECTIONS["workload"])
    assert workload.search("bench_workload.WorkloadStages.track_stage_ms")
    assert workload.search("bench_latency.StepLatency.track_step_p50")
    assert not workload.search("bench_latency.QueryLatency.track_query_p50")
    grid = re.compile(selection.SELECTIONS["grid"])
    assert grid.search("bench_scalability.StepScaling.time_step")
    assert grid.search("bench_scalability.RunLength.time_run")
    assert not grid.search("bench_scalability.ComplexityExponent.track_complexity_exponent")
    assert selection.bench_args(["instructions"]) == ["--bench", selection.SELECTIONS["instructions"]]
    assert selection.bench_args(None) == ["--bench", selection.SELECTIONS["default"]]
    assert selection.bench_args(["all"]) == [] and selection.bench_args(["x.y", "grid"])[1] == "x.y"


@pytest.mark.parametrize("name, expected", [
    ("bench_simulation.FullRun.track_steps_per_second", True),
    ("bench_database.Targets.track_logger_rows_per_second", True),
    ("bench_database.Targets.track_raw_executemany_rows_per_second", True),
    ("bench_decision.Act.track_act_batch_speedup(1000)", True),
    ("bench_database.Targets.track_batched_over_row_at_a_time_in_memory", True),
    ("bench_database.Targets.track_logger_over_raw_executemany", True),
    ("bench_simulation.FullRun.time_run", False),
    ("bench_observation.Targets.track_batched_us_per_agent('spatial')", False),
    ("bench_spatial.TargetRatios.track_kdtree_batched_radius_vs_ckdtree", False),
    ("bench_resources.LargeWorldRegeneration.track_regenerate_min_seconds", False),
    ("bench_x.Y.time_throughput", False),  # a time_ is never larger-is-better
])
def test_larger_is_better(name, expected):
    assert selection.larger_is_better(name) is expected


def test_best_value_is_the_highest_throughput_and_the_lowest_time():
    assert selection.best_value("bench_simulation.FullRun.track_steps_per_second", [90.0, 99.0, 95.0]) == 99.0
    assert selection.best_value("bench_simulation.FullRun.time_run", [1.39, 1.0, 1.2]) == 1.0


# ---------------------------------------------------------------------------------- results
def test_results_points_and_one_combination(tmp_path):
    write_results(tmp_path, "box", "a" * 40, {
        "m.C.time_x": 2.0,
        "m.C.time_p": ([1.0, None, 3.0, float("nan")], [["'kdtree'", "'quadtree'"], ["100", "1000"]]),
    })
    points = results.load_points(tmp_path, "box", "a" * 40)
    assert points == {"m.C.time_x": 2.0, "m.C.time_p('kdtree', 100)": 1.0, "m.C.time_p('quadtree', 100)": 3.0}
    assert results.find_point(points, "m.C.time_p", ["quadtree", "100"]) == 3.0
    assert results.find_point(points, "m.C.time_p", ["kdtree", "1000"]) is None
    assert results.find_point(points, "m.C.time_x", None) == 2.0
    assert results.measured_commits(tmp_path, "box") == {"a" * 8}
    regex = re.compile(results.combination_regex("m.C.time_p", ["kdtree", "100"]))
    assert regex.search("m.C.time_p('kdtree', 100)")
    assert not regex.search("m.C.time_p('kdtree', 1000)") and not regex.search("m.C.time_px('kdtree', 100)")


def test_merge_joins_two_passes_of_one_commit_and_adds_new_commits(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    write_results(ours, "box", "a" * 40, {"m.C.time_x": 2.0, "m.I.track_n": 7.0})
    write_results(theirs, "box", "a" * 40, {"m.I.track_n": 5.0, "m.I.track_instructions": 100.0})
    write_results(theirs, "box", "b" * 40, {"m.I.track_instructions": 101.0})
    (theirs / "box" / "machine.json").write_text('{"machine": "box"}')
    assert results.merge_result_files(theirs / "box", ours / "box") == (2, 3)
    # the pass of the other worktree wins where both measured a benchmark; nothing else is lost
    assert results.load_points(ours, "box", "a" * 40) == {
        "m.C.time_x": 2.0, "m.I.track_n": 5.0, "m.I.track_instructions": 100.0}
    assert results.load_points(ours, "box", "b" * 40) == {"m.I.track_instructions": 101.0}
    assert json.loads((ours / "box" / "machine.json").read_text()) == {"machine": "box"}


def test_merge_keeps_the_newer_measurement_of_a_benchmark(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    mine = write_results(ours, "box", "a" * 40, {"m.C.time_x": 2.0, "m.C.time_y": 4.0})
    other = write_results(theirs, "box", "a" * 40, {"m.C.time_x": 3.0, "m.C.time_y": 5.0})
    data = json.loads(mine.read_text())
    data["results"]["m.C.time_x"][3] = 200  # re-measured here after the other checkout measured it
    mine.write_text(json.dumps(data))
    data = json.loads(other.read_text())
    data["results"]["m.C.time_x"][3] = data["results"]["m.C.time_y"][3] = 100
    other.write_text(json.dumps(data))
    assert results.merge_result_files(theirs / "box", ours / "box") == (1, 1)
    assert results.load_points(ours, "box") == {"m.C.time_x": 2.0, "m.C.time_y": 5.0}


def test_merge_refuses_files_of_another_environment(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    write_results(ours, "box", "a" * 40, {"m.C.time_x": 2.0})
    path = write_results(theirs, "box", "a" * 40, {"m.C.time_x": 3.0})
    path.write_text(path.read_text().replace('"env_name": "env"', '"env_name": "other"'))
    with pytest.raises(ValueError, match="env_name differ"):
        results.merge_result_files(theirs / "box", ours / "box")
    assert results.load_points(ours, "box") == {"m.C.time_x": 2.0}


# ------------------------------------------------------------------------------------- gate
THRESHOLDS = {".*": 0.10, "m\\.Slow\\..*": 0.50, "m\\.Slow\\.time_b.*": 0.30}


def test_threshold_is_the_largest_matching_regex():
    assert gate.threshold_for("m.Fast.time_a", THRESHOLDS) == 0.10
    assert gate.threshold_for("m.Slow.time_b(1)", THRESHOLDS) == 0.50
    assert gate.threshold_for("x", {"y": 0.2}) == gate.DEFAULT_THRESHOLD


def _gate(tmp_path, base: dict, head: dict, factor=None):
    write_results(tmp_path, "box", "b" * 40, base)
    write_results(tmp_path, "box", "c" * 40, head)
    verdicts = gate.compare(results.load_points(tmp_path, "box", "b" * 40),
                            results.load_points(tmp_path, "box", "c" * 40), THRESHOLDS, factor)
    return {v.label: v for v in verdicts}


def test_gate_fails_a_2x_slowdown(tmp_path):
    verdicts = _gate(tmp_path, {"m.Fast.time_a": 1.0}, {"m.Fast.time_a": 2.0})
    assert verdicts["m.Fast.time_a"].regressed and verdicts["m.Fast.time_a"].ratio == 2.0


def test_gate_passes_a_speedup_of_a_throughput_track_and_fails_its_2x_drop(tmp_path):
    name = "m.Run.track_steps_per_second"
    assert not _gate(tmp_path, {name: 100.0}, {name: 200.0})[name].regressed
    assert _gate(tmp_path, {name: 100.0}, {name: 200.0})[name].improved
    assert _gate(tmp_path, {name: 100.0}, {name: 50.0})[name].regressed
    # a 10 % speedup of steps/s (asv's own continuous calls this a slowdown)
    assert not _gate(tmp_path, {name: 100.0}, {name: 110.0})[name].regressed


def test_gate_uses_per_benchmark_thresholds_and_the_factor_override(tmp_path):
    base = {"m.Fast.time_a": 1.0, "m.Slow.time_c": 1.0}
    head = {"m.Fast.time_a": 1.2, "m.Slow.time_c": 1.4}
    verdicts = _gate(tmp_path, base, head)
    assert verdicts["m.Fast.time_a"].regressed  # +20 % > 10 %
    assert not verdicts["m.Slow.time_c"].regressed  # +40 % < 50 %
    verdicts = _gate(tmp_path, base, head, factor=1.5)
    assert not verdicts["m.Fast.time_a"].regressed and not verdicts["m.Slow.time_c"].regressed
    ordered = gate.compare({"a.time": 1.0, "b.time": 1.0}, {"a.time": 1.5, "b.time": 3.0}, {})
    assert [v.label for v in ordered] == ["b.time", "a.time"]
    assert "!!" in gate.format_table(ordered)


# ----------------------------------------------------------------------------------- bisect
def test_bisection_finds_the_step_in_one_combination_despite_noise():
    commits = [f"{i:040x}" for i in range(12)]
    noise = [0.03, -0.02, 0.04, -0.03, 0.01, -0.04, 0.02, 0.03, -0.01, 0.04, -0.03, 0.02]
    values = {c: (1.0 if i < 7 else 1.2) * (1 + noise[i]) for i, c in enumerate(commits)}
    measured = []

    def measure(commit):
        measured.append(commit)
        return values[commit]

    outcome = bisect.bisect_step(commits, measure)
    assert outcome.first_bad == commits[7]
    assert len(measured) <= 2 + 4 + 2  # endpoints + ceil(log2(11)) + the final brackets once more
    assert outcome.threshold == pytest.approx((values[commits[0]] * values[commits[-1]]) ** 0.5)


def _readings(first: dict[str, list[float]]):
    """``measure`` over commits "0".."5" with a 2x step at "3": each commit's listed readings first,
    then its true value; and the list of commits measured."""
    queues = {str(i): list(first.get(str(i), [])) for i in range(6)}
    measured = []

    def measure(commit):
        measured.append(commit)
        return queues[commit].pop(0) if queues[commit] else (1.0 if int(commit) < 3 else 2.0)

    return measure, measured


def test_bisection_reads_the_final_brackets_again_and_undoes_a_drifted_decision():
    """One reading in a slow spell put a harmless commit on the slow side and a single-reading
    bisection names it (a fresh-clone test did, once, on 2026-12-04); the brackets' second
    readings undo that decision, and the same for a slowed commit read fast once."""
    commits = [str(i) for i in range(6)]
    measure, _ = _readings({"2": [2.0]})
    assert bisect.bisect_step(commits, measure, repairs=0).first_bad == "2"  # one reading decides
    measure, measured = _readings({"2": [2.0]})
    outcome = bisect.bisect_step(commits, measure)
    assert outcome.first_bad == "3" and "not confirmed" not in outcome.message, outcome
    # "2" read slow, then fast twice (two of three: good), and both final brackets were read again
    assert measured.count("2") == 4 and measured[-2:] == ["3", "2"], measured
    measure, _ = _readings({"3": [1.0]})  # the slowed commit read fast once
    assert bisect.bisect_step(commits, measure, repairs=0).first_bad == "4"
    measure, _ = _readings({"3": [1.0]})
    assert bisect.bisect_step(commits, measure).first_bad == "3"
    # Without noise the check costs one reading per final bracket; once the repairs are spent, the
    # commit is named with a note instead of being read again.
    measure, measured = _readings({})
    assert bisect.bisect_step(commits, measure).first_bad == "3" and measured == ["0", "5", "2", "3", "3", "2"]
    measure, _ = _readings({"2": [2.0]})
    outcome = bisect.bisect_step(commits, measure, repairs=1)
    assert outcome.first_bad == "3" and "not confirmed" in outcome.message


def test_bisection_handles_improvements_unmeasurable_commits_and_no_step():
    commits = [str(i) for i in range(8)]
    down = {c: (2.0 if i < 3 else 1.0) for i, c in enumerate(commits)}
    assert bisect.bisect_step(commits, down.get).first_bad == "3"
    holes = dict(down, **{"3": None, "4": None})
    outcome = bisect.bisect_step(commits, holes.get)
    assert outcome.first_bad == "5" and "could not be measured" in outcome.message
    flat = {c: 1.0 + 0.001 * i for i, c in enumerate(commits)}
    assert bisect.bisect_step(commits, flat.get).first_bad is None
    assert bisect.bisect_step(commits, {**down, "7": None}.get).first_bad is None


# ---------------------------------------------------------------------------------- machine
INFO = {"cpu": "Intel(R) Xeon(R) Processor @ 2.80GHz", "num_cpu": "2", "ram": "25276510208", "arch": "x86_64",
        "os": "Linux 6.18.44"}


def test_derived_machine_name_from_hardware():
    assert machine.derived_name(INFO) == "intel-xeon-2-80ghz-2c-24g"
    assert machine.derived_name({**INFO, "cpu": "AMD EPYC 7B13 64-Core Processor", "num_cpu": "16",
                                 "ram": str(64 * 2**30)}) == "amd-epyc-7b13-16c-64g"


def test_reference_machine_is_refused_on_other_hardware(tmp_path):
    committed = {"arch": "x86_64", "cpu": "AMD EPYC", "machine": "agentfarm-reference", "num_cpu": "2",
                 "os": "Linux 6.18.44", "ram": "25276510208", "version": 1}
    (tmp_path / "agentfarm-reference").mkdir()
    (tmp_path / "agentfarm-reference" / "machine.json").write_text(json.dumps(committed))
    with pytest.raises(proc.ToolError, match=r"other hardware: cpu .*AMD EPYC.*intel-xeon-2-80ghz-2c-24g"):
        machine.resolve("agentfarm-reference", tmp_path, INFO)
    same = {**INFO, "cpu": "AMD EPYC", "ram": "25276000000"}  # RAM within the tolerance
    described = machine.resolve("agentfarm-reference", tmp_path, same)
    assert described == {k: v for k, v in committed.items() if k != "version"}  # committed fields, unchanged
    assert machine.mismatches(committed, {**same, "num_cpu": "4", "ram": "30000000000"}) == [
        "num_cpu '4' != '2'", "ram 30000000000 != 25276510208"]
    # Another boot image of the same kind: only the kernel's build suffix differs.
    booted = {**same, "os": "Linux 6.18.44-fc-v1045"}
    assert machine.mismatches({**committed, "os": "Linux 6.18.44-fc-v657"}, booted) == []
    assert machine.mismatches(committed, {**same, "os": "Linux 6.19.2-fc-v657"}) == [
        "os 'Linux 6.19.2-fc-v657' != 'Linux 6.18.44'"]
    # A new name is this hardware, fully described (asv machine --yes would drop the fields).
    assert machine.resolve(None, tmp_path, INFO) == {"machine": "intel-xeon-2-80ghz-2c-24g", **INFO}


def test_merge_into_the_reference_series_is_refused_on_other_hardware(tmp_path, monkeypatch, capsys):
    results_root = tmp_path / "results"
    committed = {"arch": "x86_64", "cpu": "AMD EPYC", "machine": "agentfarm-reference", "num_cpu": "2",
                 "os": "Linux 6.18.44", "ram": "25276510208", "version": 1}
    (results_root / "agentfarm-reference").mkdir(parents=True)
    (results_root / "agentfarm-reference" / "machine.json").write_text(json.dumps(committed))
    write_results(tmp_path / "other", "agentfarm-reference", "a" * 40, {"m.C.time_x": 2.0})
    monkeypatch.setattr(asv_history, "results_dir", lambda: results_root)
    monkeypatch.setattr(machine, "hardware", lambda: dict(INFO))  # an Intel host
    assert asv_history.main(["merge", str(tmp_path / "other"), "--machine", "agentfarm-reference"]) == 2
    assert "other hardware" in capsys.readouterr().err
    assert not list((results_root / "agentfarm-reference").glob("*-env.json"))  # nothing joined


def test_ensure_machine_writes_the_full_description(tmp_path):
    machine_file = tmp_path / "asv-machine.json"
    name = machine.ensure_machine("my-box", tmp_path / "results", machine_file)
    stored = json.loads(machine_file.read_text())["my-box"]
    assert name == "my-box" and set(machine.HARDWARE_FIELDS) <= set(stored) and stored["machine"] == "my-box"
    assert not (tmp_path / "results").exists()  # nothing written into results/


# ----------------------------------------------------------------------------------- spread
def test_spread_table_and_summary_by_hand():
    first = {"a.time(1)": 1.0, "a.time(2)": 2.0, "b.peakmem": 100.0, "only_first": 3.0}
    second = {"a.time(1)": 1.1, "a.time(2)": 1.9, "b.peakmem": 100.0, "only_second": 4.0}
    rows = spread.spread_table(first, second)
    assert [label for label, _ in rows] == ["a.time(1)", "a.time(2)", "b.peakmem"]
    assert rows[0][1] == pytest.approx(0.10) and rows[1][1] == pytest.approx(0.05) and rows[2][1] == 0.0
    summary = spread.summarize_spread(rows)
    assert summary["a.time"] == {"median": pytest.approx(0.075), "worst": pytest.approx(0.10), "points": 2}
    assert summary["b.peakmem"]["worst"] == 0.0


def test_suggested_thresholds_and_instruction_agreement():
    rows = [("m.A.time_x(1)", 0.04), ("m.A.time_y", 0.08), ("m.B.peakmem_z", 0.001),
            ("bench_instructions.I.track_step_instructions", 0.004),
            ("bench_instructions.I.track_regeneration_instructions", 0.006)]
    assert spread.suggest_thresholds(rows) == {"bench_instructions.I": 0.05, "m.A": 0.15, "m.B": 0.05}
    compared, off = spread.instruction_agreement(rows)
    assert compared == 2 and off == [("bench_instructions.I.track_regeneration_instructions", 0.006)]
    text = spread.report(rows)
    assert "1 of 2 differ by more than 0.5%" in text and "m.A" in text
    assert "all 1 agree" in spread.report(rows[:4])


def test_benchmark_thresholds_and_their_block_in_asv_conf_by_hand(tmp_path):
    rows = [("bench_a.T.time_x(1)", 0.20), ("bench_a.T.time_x(2)", 0.02), ("bench_a.T.time_y", 0.05),
            ("bench_b.P.peakmem_z", 0.09)]
    # worst x 1.5 rounded up to 5 %: 0.30, 0.075 -> 0.10 (not above the default), 0.135 -> 0.15
    assert spread.benchmark_thresholds(rows) == {"bench_a.T.time_x": 0.30, "bench_b.P.peakmem_z": 0.15}
    text = (
        '{\n    // comment kept\n    "regressions_thresholds": {\n        // an old note\n        ".*": 0.10,\n'
        '        "bench_a\\\\.T\\\\.time_y.*": 0.55,\n        "bench_grid\\\\..*": 0.30\n    },\n'
        '    "regressions_first_commits": {}\n}\n'
    )
    out = spread.replace_thresholds(text, ["bench_a.T.time_x", "bench_a.T.time_y", "bench_b.P.peakmem_z"],
                                    spread.benchmark_thresholds(rows), "from sessions A and B")
    (tmp_path / "asv.conf.json").write_text(out)
    conf = asvconf.load_asv_config(tmp_path / "asv.conf.json")
    # the measured time_y is now at the default (its old 0.55 is dropped); the unmeasured grid keeps 0.30
    assert conf["regressions_thresholds"] == {".*": 0.10, "bench_a\\.T\\.time_x.*": 0.30,
                                              "bench_b\\.P\\.peakmem_z.*": 0.15, "bench_grid\\..*": 0.30}
    assert conf["regressions_first_commits"] == {}
    assert "// comment kept" in out and "// from sessions A and B" in out and "an old note" not in out
    assert gate.threshold_for("bench_a.T.time_x(1)", conf["regressions_thresholds"]) == 0.30
    assert gate.threshold_for("bench_a.T.time_y", conf["regressions_thresholds"]) == 0.10
    # written twice, the block reads the same: the note line is not taken for an entry
    again = spread.replace_thresholds(out, ["bench_a.T.time_x", "bench_a.T.time_y", "bench_b.P.peakmem_z"],
                                      spread.benchmark_thresholds(rows), "from sessions A and B")
    assert again == out


def test_sessions_are_stored_and_found(tmp_path):
    first = spread.new_session_dir(tmp_path)
    second = spread.new_session_dir(tmp_path)
    assert first != second and first.parent == tmp_path
    spread.write_session(first, "d" * 40, "box", "default")
    assert spread.find_session(first.name, tmp_path) == first
    assert spread.read_session(first)["commit"] == "d" * 40
    with pytest.raises(proc.ToolError, match=f"known: {first.name}"):
        spread.find_session(second.name, tmp_path)


# ---------------------------------------------------------------------------------- history
def test_chunks():
    assert history.chunks(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert history.chunks(list("abc"), 0) == [["a", "b", "c"]] and history.chunks([], 3) == []


def test_run_history_resumes_after_the_last_finished_chunk(tmp_path, monkeypatch):
    calls, exit_codes = [], iter([0, 1, 0, 0])
    results_dir = tmp_path / "results"
    point = next(iter(history.selected_benchmarks(["grid"])))  # one point of the grid per pass

    def fake_measure(commits, machine_name, bench, attributes, force, **kwargs):
        calls.append(list(commits))
        for commit in commits:
            write_results(results_dir, "box", commit, {point: 1.0})
        return next(exit_codes)

    monkeypatch.setattr(history, "measure", fake_measure)
    progress = tmp_path / "progress.json"
    commits = [f"{i:040x}" for i in range(5)]
    rc = history.run_history(commits, "box", ["grid"], chunk=2, progress_file=progress, results_dir=results_dir)
    assert rc == 1 and calls == [commits[0:2], commits[2:4]]  # stopped at the failing chunk
    calls.clear()
    assert history.run_history(commits, "box", ["grid"], chunk=2, progress_file=progress,
                               results_dir=results_dir) == 0
    assert calls == [commits[2:4], commits[4:5]]  # resumed there
    assert history.Progress(progress).done("box", "grid") == set(commits)
    assert history.Progress(progress).done("box", "default") == set()  # per selection


def test_run_history_skips_commits_whose_results_already_hold_the_selection(tmp_path, monkeypatch):
    """A fresh clone or a new worktree has no progress file: the committed results tell it where
    the series stands, per selection and benchmark version."""
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, "bench_a.C.time_x": {"params": [], "version": "1"},
                                   "bench_a.C.time_p": {"params": [["1", "2"]], "version": "1"},
                                   "bench_instructions.I.track_instructions": {"params": [], "version": "1"}}))
    monkeypatch.setattr(history, "BENCHMARKS_FILE", listing)
    calls = []
    monkeypatch.setattr(history, "measure", lambda commits, *a, **k: calls.append(list(commits)) or 0)
    commits = [f"{i}" * 40 for i in range(1, 6)]
    results_dir = tmp_path / "results"
    whole = {"bench_a.C.time_x": 1.0, "bench_a.C.time_p": ([None, None], [["1", "2"]])}
    write_results(results_dir, "box", commits[0], whole)
    write_results(results_dir, "box", commits[1], {"bench_a.C.time_x": 1.0})  # half of the selection
    write_results(results_dir, "box", commits[2], {"bench_instructions.I.track_instructions": 9.0})
    write_results(results_dir, "other", commits[3], whole)
    stale = write_results(results_dir, "box", commits[4], whole)
    data = json.loads(stale.read_text())
    data["results"]["bench_a.C.time_p"][2] = "0"  # measured before the benchmark's version changed
    stale.write_text(json.dumps(data))
    progress = tmp_path / "progress.json"
    history.run_history(commits, "box", [r"^bench_a\."], results_dir=results_dir, progress_file=progress)
    assert calls == [commits[1:]]  # a recorded (even skipped) benchmark counts; other machines do not
    calls.clear()
    history.run_history(commits, "box", ["instructions"], results_dir=results_dir, progress_file=tmp_path / "p2")
    assert calls == [[commits[0], commits[1], commits[3], commits[4]]]
    calls.clear()
    history.run_history(commits, "box", [r"^bench_a\."], force=True, results_dir=results_dir, progress_file=progress)
    assert calls == [commits]


def test_commit_results_commits_only_the_machines_results(toy_repo):
    repo, engine = toy_repo
    results_dir = repo / "results"
    write_results(results_dir, "box", engine[0], {"m.C.time_x": 1.0})
    (results_dir / "benchmarks.json").write_text("{}")
    (repo / "unrelated.txt").write_text("x")
    git(repo, "add", "unrelated.txt")  # staged, must stay out of the commit
    assert history.commit_results([engine[0]], "box", "default", results_dir, cwd=repo)
    files = git(repo, "show", "--name-only", "--format=%s", "HEAD").splitlines()
    assert files[0] == f"Benchmark history: {engine[0][:8]} measured on box (default)"
    assert sorted(f for f in files[1:] if f) == ["results/benchmarks.json", f"results/box/{engine[0][:8]}-env.json"]
    assert "unrelated.txt" in git(repo, "diff", "--cached", "--name-only")
    assert not history.commit_results([engine[0]], "box", "default", results_dir, cwd=repo)  # nothing new


# ----------------------------------------------------------------------------------- vendor
def _npm_tarballs(cache: Path, skip_member: str | None = None) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    members: dict[str, list[str]] = {}
    for _, package, member in vendor.VENDORED_ASSETS:
        members.setdefault(package, []).append(member)
    for package, files in members.items():
        name, version = package.rsplit("@", 1)
        with tarfile.open(cache / f"{name}-{version}.tgz", "w:gz") as archive:
            for member in files:
                if member == skip_member:
                    continue
                data = f"/* {package} {member} */".encode()
                info = tarfile.TarInfo(f"package/{member}")
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))


def _page(html: Path) -> str:
    html.mkdir(parents=True, exist_ok=True)
    text = "".join(f'<script src="{url}" integrity="sha-x" crossorigin="anonymous"></script>\n'
                   for url, _, _ in vendor.VENDORED_ASSETS)
    (html / "index.html").write_text(text)
    return text


def test_vendor_rewrites_every_cdn_link(tmp_path):
    _npm_tarballs(tmp_path / "cache")
    _page(tmp_path / "html")
    assert vendor.vendor_dashboard(tmp_path / "html", tmp_path / "cache")
    page = (tmp_path / "html" / "index.html").read_text()
    assert "https://" not in page and "integrity" not in page
    assert (tmp_path / "html" / "vendor" / "jquery@3.3.1" / "dist" / "jquery.min.js").read_bytes().startswith(b"/*")


def test_vendor_keeps_cdn_links_when_an_asset_is_missing_from_its_tarball(tmp_path):
    _npm_tarballs(tmp_path / "cache", skip_member="jquery.flot.time.js")
    original = _page(tmp_path / "html")
    assert vendor.vendor_dashboard(tmp_path / "html", tmp_path / "cache") is False  # no KeyError
    assert (tmp_path / "html" / "index.html").read_text() == original
    assert not (tmp_path / "html" / "vendor").exists()


# --------------------------------------------------------------------------------------- CLI
def test_stray_changes_ignores_allowed_prefixes(toy_repo, monkeypatch):
    repo, _ = toy_repo
    monkeypatch.setattr(asv_history, "git", lambda *a: gitrepo.git(*a, cwd=repo))
    before = asv_history.status_entries()
    (repo / "results" / "box").mkdir(parents=True)
    (repo / "results" / "box" / "r.json").write_text("{}")
    (repo / "html" / "cpu-Intel(R) Xeon @ 2GHz").mkdir()
    (repo / "html" / "cpu-Intel(R) Xeon @ 2GHz" / "g.json").write_text("{}")  # git quotes this without -z
    (repo / "html" / "index.html").write_text("changed")
    (repo / "results" / "m" / "x.json").write_text("changed")
    assert asv_history.stray_changes(before, ("results/box/", "html/")) == ["results/m/x.json"]


@pytest.fixture()
def fake_asv(tmp_path, monkeypatch):
    """asv_history with asv replaced: ``measure`` writes the results of ``values[commit]``."""
    values: dict[str, dict] = {}
    measured: list[str] = []

    def fake_measure(commits, machine_name, bench, attributes=None, force=False, config=None, **kwargs):
        out = asvconf.config_dir(config, "results_dir")
        for commit in commits:
            measured.append(commit)
            write_results(out, machine_name, commit, values[commit])
        return 0

    monkeypatch.setattr(asv_history, "measure", fake_measure)
    monkeypatch.setattr(asv_history, "machine_for_measuring", lambda name: "box")
    monkeypatch.setattr(asv_history, "GATE_DIR", tmp_path / "gate")
    monkeypatch.setattr(asv_history, "FIND_DIR", tmp_path / "find")
    return values, measured


def test_continuous_cli_reads_direction_and_thresholds(fake_asv, capsys):
    values, _ = fake_asv
    base, head = gitrepo.rev_parse("HEAD~1"), gitrepo.rev_parse("HEAD")
    values[base] = {"bench_x.Run.track_steps_per_second": 100.0, "bench_x.Run.time_run": 1.0}
    values[head] = {"bench_x.Run.track_steps_per_second": 150.0, "bench_x.Run.time_run": 1.0}
    assert asv_history.main(["continuous", "HEAD~1", "HEAD"]) == 0  # a throughput rise passes
    assert "gate passed" in capsys.readouterr().out
    values[head] = {"bench_x.Run.track_steps_per_second": 50.0, "bench_x.Run.time_run": 1.0}
    assert asv_history.main(["continuous", "HEAD~1", "HEAD"]) == 1  # a 2x drop fails
    assert "GATE FAILED: 1 of 2" in capsys.readouterr().out
    values[head] = {"bench_x.Run.track_steps_per_second": 100.0, "bench_x.Run.time_run": 2.0}
    assert asv_history.main(["continuous", "HEAD~1", "HEAD"]) == 1  # a 2x slowdown fails
    assert "bench_x.Run.time_run x2.000" in capsys.readouterr().out


def test_continuous_settles_a_drifted_sitting_but_not_a_real_slowdown(fake_asv, monkeypatch, capsys):
    """A point that fails the first sitting is re-measured interleaved (base, head, head, base);
    the median of the three side-by-side ratios decides, so one drifted sitting cannot fail the
    gate and a slowdown that every sample shows still does."""
    base, head = gitrepo.rev_parse("HEAD~1"), gitrepo.rev_parse("HEAD")
    measured: list[tuple[str, str]] = []
    head_samples = iter(())

    def fake_measure(commits, machine_name, bench, attributes=None, force=False, config=None, **kwargs):
        out = asvconf.config_dir(config, "results_dir")
        for commit in commits:
            measured.append((commit, "".join(bench or [])))
            time_run = 1.0 if commit == base else next(head_samples)
            write_results(out, machine_name, commit, {"bench_x.Run.time_run": time_run, "bench_x.Run.time_other": 1.0})
        return 0

    monkeypatch.setattr(asv_history, "measure", fake_measure)
    head_samples = iter([1.39, 1.02, 0.99])  # the first sitting drifted, the re-measures did not
    assert asv_history.main(["continuous", "HEAD~1", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "settled     x1.390 -> x1.020" in out and "gate passed: 2 point(s)" in out
    assert [commit for commit, _ in measured[2:]] == [base, head, head, base]  # interleaved
    assert all("time_run" in regexes and "time_other" not in regexes for _, regexes in measured[2:])

    head_samples = iter([1.39])
    assert asv_history.main(["continuous", "HEAD~1", "HEAD", "--settle", "0"]) == 1  # the first sitting alone
    assert "GATE FAILED" in capsys.readouterr().out

    head_samples = iter([1.39, 1.30, 1.45])  # every sample slower: a real slowdown
    assert asv_history.main(["continuous", "HEAD~1", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "still worse x1.390 -> x1.390" in out and "GATE FAILED: 1 of 2 point(s)" in out


def test_continuous_settles_on_pair_ratios_not_on_medians_across_sittings(fake_asv, monkeypatch, capsys):
    """A real 2x step whose re-measures caught the host's slow mode unevenly (base slow in both
    rounds, head slow in the second only): the medians across sittings read 1.6 -> 2.1, x1.31,
    under a 1.5 factor; the side-by-side ratios read x2.0, x1.31, x2.0, median x2.0, and fail."""
    base, head = gitrepo.rev_parse("HEAD~1"), gitrepo.rev_parse("HEAD")
    samples = {base: iter([1.0, 1.6, 1.6]), head: iter([2.0, 2.1, 3.2])}

    def fake_measure(commits, machine_name, bench, attributes=None, force=False, config=None, **kwargs):
        out = asvconf.config_dir(config, "results_dir")
        for commit in commits:
            write_results(out, machine_name, commit, {"bench_x.Run.time_run": next(samples[commit])})
        return 0

    monkeypatch.setattr(asv_history, "measure", fake_measure)
    assert asv_history.main(["continuous", "HEAD~1", "HEAD", "--factor", "1.5"]) == 1
    out = capsys.readouterr().out
    assert "still worse x2.000 -> x2.000 (median of 3 side-by-side ratios)" in out, out
    assert "GATE FAILED: 1 of 1 point(s)" in out


def test_settled_verdict_reads_each_direction():
    """The settled verdict's ratio is the median of the pair ratios, judged in the track's
    direction: a throughput that halves in every pair regresses, one that doubles improves."""
    first = gate.judge("bench_x.Run.track_steps_per_second", 100.0, 50.0, 0.1)
    again = asv_history.settled_verdict(first, [100.0, 200.0], [50.0, 100.0])
    assert again.regressed and again.ratio == pytest.approx(0.5) and again.base == 100.0
    first = gate.judge("bench_x.Run.track_steps_per_second", 100.0, 200.0, 0.1)
    again = asv_history.settled_verdict(first, [80.0, 120.0], [170.0, 230.0])
    assert again.improved and not again.regressed and again.ratio == pytest.approx(2.0)  # of 2.0, 2.125, 1.917


def test_continuous_samples_keep_each_points_best_sitting(fake_asv, monkeypatch, capsys):
    """A 2x slowdown read while the host's slow mode (x1.39) held BASE's first sitting is within a
    0.6 threshold; a second sitting of both commits, each point keeping its best (lowest time,
    highest throughput), shows it again."""
    base, head = gitrepo.rev_parse("HEAD~1"), gitrepo.rev_parse("HEAD")
    sittings = {base: iter([(1.39, 100.0), (1.0, 90.0)]), head: iter([(2.0, 95.0), (2.01, 99.0)])}
    forced = []

    def fake_measure(commits, machine_name, bench, attributes=None, force=False, config=None, **kwargs):
        out = asvconf.config_dir(config, "results_dir")
        for commit in commits:
            forced.append(force)
            time_run, rate = next(sittings[commit])
            write_results(out, machine_name, commit,
                          {"bench_x.Run.time_run": time_run, "bench_x.Run.track_steps_per_second": rate})
        return 0

    monkeypatch.setattr(asv_history, "measure", fake_measure)
    factor = ["--factor", "1.6", "--settle", "0"]
    assert asv_history.main(["continuous", "HEAD~1", "HEAD", *factor]) == 0  # one sitting misses it
    assert "gate passed" in capsys.readouterr().out
    sittings = {base: iter([(1.39, 100.0), (1.0, 90.0)]), head: iter([(2.0, 95.0), (2.01, 99.0)])}
    forced.clear()
    assert asv_history.main(["continuous", "HEAD~1", "HEAD", *factor, "--samples", "2"]) == 1
    out = capsys.readouterr().out
    assert "best of 2 sittings" in out and "GATE FAILED: 1 of 2" in out and "bench_x.Run.time_run x2.000" in out
    assert re.search(r"0\.990\s+1\.60\s+up\s+bench_x\.Run\.track_steps_per_second", out), out  # 99 / 100
    assert forced == [False, False, True, True]  # the second sitting re-measures both
    assert asv_history.main(["continuous", "HEAD~1", "HEAD", "--samples", "0"]) == 2
    assert "--samples must be 1 or more sittings, got 0" in capsys.readouterr().err


def test_find_cli_bisects_one_combination_that_noise_elsewhere_cannot_outvote(fake_asv, capsys):
    values, measured = fake_asv
    commits = [gitrepo.rev_parse(f"HEAD~{n}") for n in range(6, -1, -1)]
    name = "bench_x.Q.time_query"
    params = [["'kdtree'", "'quadtree'"], ["1000"]]
    for i, commit in enumerate(commits):
        stepped = 1.3 if i >= 4 else 1.0  # a 30 % step at commits[4], kdtree only
        noisy = 5.0 if i in (1, 2) else 1.0  # quadtree: a 5x burst of noise at commits[1..2]
        values[commit] = {name: ([stepped, noisy], params)}
    rc = asv_history.main(["find", f"{commits[0]}..{commits[-1]}", name, "--params", "kdtree,1000"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert f"first commit on the new side (worse): {commits[4]}" in out
    assert len(measured) <= 5 + 2  # and the final brackets once more
    # the first-parent chain of the real repo must be what this test assumed
    assert git(REPO_ROOT, "rev-list", "--first-parent", "--count", f"{commits[0]}..{commits[-1]}") == "6"


def test_find_takes_the_best_of_its_samples_so_one_drifted_probe_cannot_move_the_step(fake_asv, monkeypatch, capsys):
    commits = [gitrepo.rev_parse(f"HEAD~{n}") for n in range(4, -1, -1)]
    name = "bench_x.Q.time_query"
    samples = {c: iter([1.0] * 4) for c in commits[:3]} | {c: iter([2.0] * 4) for c in commits[3:]}
    samples[commits[2]] = iter([1.6, 1.0, 1.0, 1.0])  # harmless, but its first measurement drifted
    seen = []

    def fake_measure(commits_, machine_name, bench, attributes=None, force=False, config=None, **kwargs):
        out = asvconf.config_dir(config, "results_dir")
        for commit in commits_:
            seen.append((commit[:8], force))
            write_results(out, machine_name, commit, {name: next(samples[commit])})
        return 0

    monkeypatch.setattr(asv_history, "measure", fake_measure)
    assert asv_history.main(["find", f"{commits[0]}..{commits[-1]}", name, "--samples", "2"]) == 0
    out = capsys.readouterr().out
    assert f"first commit on the new side (worse): {commits[3]}" in out, out
    assert f"{commits[2][:8]}: 1.0 (best of [1.6, 1.0])" in out
    # The second sample re-measures, and so does every sample of a commit probed again (the final
    # brackets' second readings): asv would otherwise read back the stored value.
    first_probe = {}
    for i in range(0, len(seen), 2):
        commit = seen[i][0]
        again = commit in first_probe
        first_probe.setdefault(commit, i)
        assert seen[i][1] == again and seen[i + 1] == (commit, True), seen
    assert {commits[2][:8], commits[3][:8]} <= {c for c, i in first_probe.items() if seen.count((c, True)) > 1}


def test_spread_sessions_cli(tmp_path, capsys, monkeypatch):
    sessions = []
    for run_no, factor in enumerate((1.0, 1.1)):
        path = tmp_path / f"s{run_no}"
        path.mkdir()
        spread.write_session(path, "e" * 40, "box", "all")
        write_results(path / "results", "box", "e" * 40, {
            "bench_a.T.time_x": 1.0 * factor,
            "bench_instructions.I.track_step_instructions": 1e8 * (1.0 + (factor - 1.0) / 100),
        })
        sessions.append(str(path))
    assert asv_history.main(["spread", "--sessions", *sessions]) == 0
    out = capsys.readouterr().out
    assert "bench_a.T.time_x" in out and "10.0%" in out and "bench_a.T" in out and "0.15" in out
    assert "instruction tracks: all 1 agree within 0.5%" in out
    # --write-thresholds rewrites the block of a copy of asv.conf.json: time_x moved 10 % -> 0.15
    config = tmp_path / "asv.conf.json"
    config.write_text(asv_history.ASV_CONFIG.read_text())
    monkeypatch.setattr(asv_history, "ASV_CONFIG", config)
    assert asv_history.main(["spread", "--sessions", *sessions, "--write-thresholds"]) == 0
    thresholds = asvconf.load_asv_config(config)["regressions_thresholds"]
    assert thresholds["bench_a\\.T\\.time_x.*"] == 0.15
    assert thresholds["bench_instructions\\..*"] == 0.02  # matches no measured benchmark name: kept
    assert "wrote 1 thresholds above 10% to asv.conf.json (0 above 15 %)" in capsys.readouterr().out
    assert asv_history.main(["spread", "--write-thresholds"]) == 2
    assert "needs --sessions" in capsys.readouterr().err
    spread.write_session(Path(sessions[1]), "f" * 40, "box", "all")
    assert asv_history.main(["spread", "--sessions", *sessions]) == 2
    assert "different commits" in capsys.readouterr().err


def test_run_commits_measures_named_commits_in_branch_order(monkeypatch):
    """``run --commits`` measures exactly the named commits, oldest first, and refuses one that is
    not on the measured history."""
    history = asv_history.gitrepo.first_parent_commits("HEAD")
    oldest, newer = history[-3], history[-1]
    seen = {}
    monkeypatch.setattr(asv_history, "run_history", lambda commits, *a, **k: seen.setdefault("commits", commits) and 0)
    monkeypatch.setattr(asv_history, "machine_for_measuring", lambda name: "m")
    args = asv_history.build_parser().parse_args(["run", "--range", "HEAD", "--commits", newer[:10], oldest[:10]])
    assert args.func(args) == 0
    assert seen["commits"] == [oldest, newer]
    args = asv_history.build_parser().parse_args(["run", "--range", history[-2], "--commits", newer])
    with pytest.raises(asv_history.ToolError, match=newer[:8]):
        args.func(args)


def test_host_ratio_and_check_by_hand():
    """The host check compares engine-independent floors: times as fresh/stored, a rate inverted;
    the median decides, and a host 1.6x slower is refused in one line naming the ratio."""
    from historylib import hostcheck

    build, radius, rate = hostcheck.FLOOR_POINTS[0], hostcheck.FLOOR_POINTS[1], hostcheck.FLOOR_POINTS[-1]
    stored = {build: 2.0, radius: 10.0, rate: 1000.0, "bench_other.X.time_y": 1.0}
    same = {build: 2.1, radius: 9.8, rate: 1010.0, "bench_other.X.time_y": 5.0}  # engine points do not count
    ratio, compared = hostcheck.host_ratio(stored, same)
    assert compared == 3 and ratio == pytest.approx(1000 / 1010)  # median of 1.05, 0.98 and 1000/1010
    assert hostcheck.check_host(stored, same, "ref", "a" * 40) == pytest.approx(1000 / 1010)
    slower = {build: 3.2, radius: 16.0, rate: 625.0}
    assert hostcheck.host_ratio(stored, slower) == (pytest.approx(1.6), 3)
    with pytest.raises(asv_history.ToolError,
                       match=r"x1\.60 \(slower\) against the stored ones of 'ref' \(to aaaaaaaa; 3 points\)"):
        hostcheck.check_host(stored, slower, "ref", "a" * 40)
    with pytest.raises(asv_history.ToolError, match="none of the engine-independent floor points"):
        hostcheck.check_host(stored, {}, "ref", "a" * 40)
    # The refusal names this host's processor, when given, in the same line.
    with pytest.raises(asv_history.ToolError,
                       match=r"^host check: this host \(AMD EPYC \(family 23, model 1, 1996 MHz, AVX2\)\) runs the "
                             r"engine-independent floors x1\.60 \(slower\)[^\n]*$"):
        hostcheck.check_host(stored, slower, "ref", "a" * 40, host="AMD EPYC (family 23, model 1, 1996 MHz, AVX2)")


# Two processors of /proc/cpuinfo, as a 2-core VM of the reference machine kind shows them (trimmed).
CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model\t\t: 1
model name\t: AMD EPYC
cpu MHz\t\t: 1996.249
flags\t\t: fpu vme sse sse2 avx avx2 bmi2

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: another name
cpu MHz\t\t: 3000.000
flags\t\t: fpu avx2 avx512f
"""


def test_cpu_identity_reads_the_first_processor_of_cpuinfo():
    """Family, model, clock and vector width tell apart hosts that asv calls by one name."""
    assert machine.cpu_identity(CPUINFO) == "AMD EPYC (family 23, model 1, 1996 MHz, AVX2)"
    second = CPUINFO.split("\n\n")[1]
    assert machine.cpu_identity(second) == "another name (family 25, model 17, 3000 MHz, AVX-512)"
    assert machine.cpu_identity("model name\t: Some CPU\n") == "Some CPU (no AVX2)"
    assert machine.cpu_identity("") == ""
    assert isinstance(machine.cpu_identity(), str)  # this host's, or "" off Linux


def test_run_skips_the_host_check_only_for_instruction_counts(monkeypatch, capsys):
    """The host check compares wall-time floors; an instructions-only pass cannot be skewed by a
    slow host, so it measures without one, and every other selection still gets checked."""
    checked: list[str] = []
    ran: list[list[str]] = []
    monkeypatch.setattr(asv_history, "machine_for_measuring", lambda name: "box")
    monkeypatch.setattr(asv_history, "verify_host", lambda name, reference: checked.append(name))
    monkeypatch.setattr(asv_history, "run_history", lambda commits, name, bench, *a, **k: ran.append(bench) or 0)
    assert selection.counts_only(["instructions"]) and not selection.counts_only(None)
    assert not selection.counts_only(["instructions", "default"])
    assert asv_history.main(["run", "--commits", "HEAD", "--bench", "instructions"]) == 0
    assert checked == [] and "host check skipped" in capsys.readouterr().out
    assert asv_history.main(["run", "--commits", "HEAD", "--bench", "instructions", "--bench", "grid"]) == 0
    assert asv_history.main(["run", "--commits", "HEAD"]) == 0
    assert checked == ["box", "box"] and ran == [["instructions"], ["instructions", "grid"], None]


def floor_values(slowdown: float) -> dict:
    """The five engine-independent floor points as ``write_results`` takes them, ``slowdown``
    times slower than a host whose times are 1.0 and whose sqlite rate is 1000 rows/s."""
    from historylib import hostcheck

    def split(label: str) -> tuple[str, list[str]]:
        name, _, args = label.partition("(")
        return name, [arg.strip() for arg in args.rstrip(")").split(",")] if args else []

    spec = {}
    for label in hostcheck.FLOOR_POINTS:
        name, params = split(label)
        rate = selection.larger_is_better(label)
        value = 1000.0 / slowdown if rate else slowdown
        spec[name] = ([value], [[p] for p in params]) if params else value
    return spec


def test_series_floors_are_each_floors_median_over_the_commits():
    """A commit measured in an outlier sitting does not move the series' floors; a label only
    some commits hold takes the median of those."""
    from historylib import hostcheck

    radius, rate = hostcheck.FLOOR_POINTS[1], hostcheck.FLOOR_POINTS[4]
    commits = [{radius: 1.4, rate: 700.0}, {radius: 1.3}, {radius: 1.0, rate: 1000.0, "other": 5.0}, {radius: 1.35}]
    assert hostcheck.series_floors(commits) == pytest.approx({radius: 1.325, rate: 850.0})
    assert hostcheck.series_floors([]) == {}


def test_drift_reason_by_hand(tmp_path):
    """A pass whose floors read outside 1 +- 0.15 of the stored ones is named, with its ratio;
    within it, or with no floor measured, it is not."""
    from historylib import hostcheck

    stored = results.points_of_file(write_results(tmp_path, "m", "a" * 40, floor_values(1.0)))
    same = results.points_of_file(write_results(tmp_path, "m", "b" * 40, floor_values(1.1)))
    slow = results.points_of_file(write_results(tmp_path, "m", "c" * 40, floor_values(1.4)))
    assert len(stored) == 5
    witness = hostcheck.DriftWitness("a" * 40, stored)
    assert witness.reason(same, "b" * 40) is None and witness.reason({}, "b" * 40) is None
    assert witness.reason(slow, "c" * 40) == ("cccccccc: the engine-independent floors measured with its pass read "
                                              "x1.40 (slower) of the series' stored ones (to aaaaaaaa; 5 points)")


def fake_floor_measure(results_dir: Path, scratch: Path, slowdowns, calls: list, extra: dict | None = None):
    """A fake ``history.measure`` that writes each commit's five floors, ``next(slowdowns)[i]``
    times slow (None: none), merged into the commit's results file as asv does: a witness call's
    into the results directory of the config it is handed (its scratch), the others into ``results_dir``;
    ``extra`` points are added to every non-witness pass. Records ``(commits, bench, force)``."""
    from historylib import asvconf, hostcheck

    def fake_measure(part, machine_name, bench, attributes=None, force=False, config=None, **kwargs):
        calls.append((list(part), "witness" if bench == list(hostcheck.WITNESS_REGEXES) else bench, force))
        into = asvconf.config_dir(config, "results_dir") if calls[-1][1] == "witness" else results_dir
        for commit, slowdown in zip(part, next(slowdowns)):
            spec = {} if slowdown is None else floor_values(slowdown)
            if calls[-1][1] != "witness":
                spec.update(extra or {})
            path = into / "box" / f"{commit[:8]}-env.json"
            data = json.loads(path.read_text()) if path.exists() else {"results": {}}
            new = json.loads(write_results(scratch, "box", commit, spec, started=time.time() * 1000.0).read_text())
            new["results"] = {**data["results"], **new["results"]}
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(new))
        return 0

    return fake_measure


def test_run_history_drops_the_commits_whose_pass_drifted(tmp_path, monkeypatch, capsys):
    """The floors measured right before a commit's pass and those measured with it witness it: a
    commit whose host ran x1.5 slow at either end gets its results file back as it was, is not
    recorded as finished, and is measured again by the next run; the others are kept. Floors from
    an earlier pass witness nothing: where the pass measured none, they are measured right after
    it. The witness measures into a scratch directory, never into the series' results."""
    from historylib import hostcheck

    results_dir, progress = tmp_path / "results", tmp_path / "progress.json"
    commits = [f"{i}" * 40 for i in range(1, 5)]
    stored = results.points_of_file(write_results(tmp_path / "ref", "box", "f" * 40, floor_values(1.0)))
    earlier = write_results(results_dir, "box", commits[1], {"bench_instructions.I.track_instructions": 9.0})
    earlier_bytes = earlier.read_bytes()
    write_results(results_dir, "box", commits[3], floor_values(1.6), started=1000.0)  # an old pass's floors
    # per asv call, in order: the floors' slowdown for each commit of the call (None: none measured)
    slowdowns = iter([[1.0, 1.0], [1.02, 1.5],  # chunk 1: witness before, the pass (commit 2 slow with it)
                      [1.0, 1.4], [0.95, None], [1.0]])  # chunk 2: commit 4 slow before; its witness after
    calls = []
    monkeypatch.setattr(history, "measure", fake_floor_measure(results_dir, tmp_path / "scratch", slowdowns, calls,
                                                               {"bench_spatial.Other.time_other": 2.0}))
    drift = hostcheck.DriftWitness("f" * 40, stored)
    rc = history.run_history(commits, "box", ["default"], chunk=2, results_dir=results_dir, progress_file=progress,
                             config=REPO_ROOT / "asv.conf.json", cwd=tmp_path, drift=drift)
    assert rc == history.RC_DRIFTED
    out = capsys.readouterr().out
    assert "22222222: the engine-independent floors measured with its pass read x1.50 (slower)" in out
    assert "44444444: the engine-independent floors measured before its pass read x1.40 (slower)" in out
    assert calls == [(commits[0:2], "witness", True), (commits[0:2], ["default"], False),
                     (commits[2:4], "witness", True), (commits[2:4], ["default"], False),
                     ([commits[3]], "witness", True)]
    assert earlier.read_bytes() == earlier_bytes  # the drifted pass's points are gone, the earlier ones kept
    assert history.Progress(progress).done("box", "default") == {commits[0], commits[2]}
    assert results.load_points(results_dir, "box", commits[2])[hostcheck.FLOOR_POINTS[0]] == 0.95

    calls.clear()
    monkeypatch.setattr(history, "measure", fake_floor_measure(results_dir, tmp_path / "scratch",
                                                               iter([[1.0, 1.0], [1.0, None], [1.05]]), calls))
    assert history.run_history(commits, "box", ["default"], results_dir=results_dir, progress_file=progress,
                               config=REPO_ROOT / "asv.conf.json", cwd=tmp_path, drift=drift) == 0
    assert calls == [([commits[1], commits[3]], "witness", True), ([commits[1], commits[3]], ["default"], False),
                     ([commits[3]], "witness", True)]
    assert history.Progress(progress).done("box", "default") == set(commits)
    # Kept with the witness's floors at x1.0 and x1.05, but the series holds only what passes measured.
    assert results.load_points(results_dir, "box", commits[3])[hostcheck.FLOOR_POINTS[0]] == 1.6


def test_run_checks_drift_on_wall_time_passes_unless_the_host_is_accepted(monkeypatch, capsys):
    """``run`` hands run_history the drift check for every wall-time pass of a series with stored
    floors, --force included; not for instruction counts, not with --accept-host."""
    ran = []
    monkeypatch.setattr(asv_history, "machine_for_measuring", lambda name: "box")
    monkeypatch.setattr(asv_history, "verify_host", lambda name, reference: None)
    monkeypatch.setattr(asv_history, "reference_floors", lambda name, rev: ("e" * 40, {"x": 1.0}))
    monkeypatch.setattr(asv_history, "run_history", lambda commits, name, bench, *a, **k: ran.append(k["drift"]) or 0)
    assert asv_history.main(["run", "--commits", "HEAD", "--bench", "grid"]) == 0
    assert "drift check" in capsys.readouterr().out
    assert asv_history.main(["run", "--commits", "HEAD", "--bench", "instructions"]) == 0
    assert asv_history.main(["run", "--commits", "HEAD", "--accept-host"]) == 0
    assert asv_history.main(["run", "--commits", "HEAD", "--force"]) == 0
    grid, counts, accepted, forced = ran
    assert grid == forced and grid.reference == "e" * 40 and grid.stored == {"x": 1.0}
    assert counts is None and accepted is None


def quiet_summary():
    """A probe's summary of a host in its fast mode (every call as fast as the fastest)."""
    from historylib import hostnoise

    return hostnoise.summarize([(i * 0.001, 0.001) for i in range(1000)])


def test_wait_quiet_needs_three_quiet_probes_in_a_row_before_its_deadline(capsys):
    """The gate opens on the third quiet probe in a row (a slow one starts the count again) and
    gives up once the clock passes the deadline."""
    from historylib import hostnoise

    def run(shares, deadline):
        readings, now, slept = iter(shares), [0.0], []

        def probe(seconds):
            now[0] += seconds
            return dataclasses.replace(quiet_summary(), slow_windows=next(readings))

        opened = hostnoise.wait_quiet(deadline, probe=probe, clock=lambda: now[0],
                                      sleep=lambda s: slept.append(s) or now.__setitem__(0, now[0] + s))
        return opened, now[0], len(slept)

    assert run([0.8, 0.05, 0.1, 0.5, 0.0, 0.1, 0.05], deadline=1e9) == (True, 7 * 6.0 + 2 * 5.0, 2)
    assert "host quiet after 7 probe(s) in 0.9 min; windows slow: median 10%, quiet probes 5" in capsys.readouterr().out
    assert run([0.0, 0.0, 0.0], deadline=1e9) == (True, 18.0, 0)
    assert capsys.readouterr().out == ""
    opened, now, _ = run([0.9] * 100, deadline=900.0)
    assert not opened and 900.0 <= now < 900.0 + 11.0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("still waiting for a quiet host after 55 probe(s) in 10.1 min; windows slow: median 90%")
    assert lines[1].startswith("host not quiet by the deadline after ") and lines[1].endswith("quiet probes 0")


def test_quiet_rounds_run_a_round_again_when_the_probe_after_it_reads_slow(capsys):
    """A round runs after one quiet probe and counts only if the probe after it reads quiet too;
    that probe stands for the one before the next round. At the deadline, NotQuiet."""
    from historylib import hostnoise

    readings, now, log = iter([0.6, 0.0, 0.5, 0.05, 0.0, 0.0, 0.9, 0.9, 0.9, 0.9]), [0.0], []

    def probe(seconds):
        now[0] += seconds
        log.append("probe")
        return dataclasses.replace(quiet_summary(), slow_windows=next(readings))

    gate = hostnoise.QuietRounds(100.0, probe=probe, clock=lambda: now[0],
                                 sleep=lambda s: now.__setitem__(0, now[0] + s))

    def measure_round(name):
        def run():
            log.append(name)
            now[0] += 10.0
            return name
        return run

    assert gate.run(measure_round("a")) == "a"  # slow, quiet, a, slow after: again; quiet, a, quiet
    assert gate.run(measure_round("b")) == "b"  # the quiet probe after a stands before b
    assert log == ["probe", "probe", "a", "probe", "probe", "a", "probe", "b", "probe"]
    assert (gate.rounds, gate.redone) == (2, 1)
    with pytest.raises(hostnoise.NotQuiet):
        gate.run(measure_round("c"))  # c runs, the probe after it reads slow, and so does every one to 100 s
    assert log.count("c") == 1 and now[0] >= 100.0 and gate.redone == 2
    capsys.readouterr()


def test_run_history_with_wait_quiet_measures_drifted_commits_again_until_its_deadline(tmp_path, monkeypatch):
    """With a quiet gate, a drifted commit (slow with its pass, or right before it) is measured
    again in the same run once the host is quiet; when the gate gives up first, the run stops
    naming what is left."""
    from historylib import hostcheck

    results_dir = tmp_path / "results"
    commits = [f"{i}" * 40 for i in range(1, 4)]
    stored = results.points_of_file(write_results(tmp_path / "ref", "box", "f" * 40, floor_values(1.0)))
    drift = hostcheck.DriftWitness("f" * 40, stored)
    options = dict(config=REPO_ROOT / "asv.conf.json", cwd=tmp_path, drift=drift)

    def passes(calls):
        return [part for part, bench, _ in calls if bench != "witness"]

    calls = []
    # each call's floors: [witness before, pass] per chunk; commit 2 slow with its pass, then before it
    slowdowns = iter([[1.0, 1.0], [1.0, 1.6], [1.0], [0.98], [1.4], [1.0], [1.0], [1.05]])
    monkeypatch.setattr(history, "measure", fake_floor_measure(results_dir, tmp_path / "s", slowdowns, calls))
    gates = []
    rc = history.run_history(commits, "box", ["default"], chunk=2, results_dir=results_dir,
                             progress_file=tmp_path / "p1", wait_quiet=lambda: gates.append(1) or True, **options)
    assert rc == 0 and len(gates) == 4
    assert passes(calls) == [commits[0:2], commits[2:3], [commits[1]], [commits[1]]]
    assert history.Progress(tmp_path / "p1").done("box", "default") == set(commits)

    calls.clear()
    slowdowns = iter([[1.0, 1.0], [1.0, 1.6], [1.0], [0.98]])
    monkeypatch.setattr(history, "measure", fake_floor_measure(tmp_path / "r2", tmp_path / "s", slowdowns, calls))
    answers = iter([True, True, False])
    rc = history.run_history(commits, "box", ["default"], chunk=2, results_dir=tmp_path / "r2",
                             progress_file=tmp_path / "p2", wait_quiet=lambda: next(answers), **options)
    assert rc == history.RC_NOT_QUIET and passes(calls) == [commits[0:2], commits[2:3]]
    assert history.Progress(tmp_path / "p2").done("box", "default") == {commits[0], commits[2]}


def test_run_wait_quiet_gates_the_host_check_and_the_chunks(monkeypatch, capsys):
    """``--wait-quiet`` waits before the host check, checks again after the next quiet spell when
    it refuses, and hands run_history the gate and chunks of one commit (unless ``--chunk`` says
    otherwise); an instructions pass does not wait, and a bad number of minutes is one line
    naming it."""
    from historylib import hostnoise

    ran, checks, gates, chunks = [], iter([asv_history.ToolError("host check: x1.40 (slower)"), None, None]), [], []
    monkeypatch.setattr(asv_history, "machine_for_measuring", lambda name: "box")
    monkeypatch.setattr(asv_history, "reference_floors", lambda name, rev: None)

    def verify(name, reference):
        error = next(checks)
        if error:
            raise error

    monkeypatch.setattr(asv_history, "verify_host", verify)
    monkeypatch.setattr(hostnoise, "wait_quiet", lambda deadline: gates.append(deadline) or True)
    monkeypatch.setattr(asv_history, "run_history",
                        lambda commits, name, bench, *a, **k: ran.append(k["wait_quiet"]) or chunks.append(k["chunk"])
                        or 0)
    started = time.time()
    assert asv_history.main(["run", "--commits", "HEAD", "--wait-quiet", "30"]) == 0
    out = capsys.readouterr().out
    assert "x1.40 (slower); waiting for a quiet host again" in out
    assert len(gates) == 2 and all(started + 1799 < g < time.time() + 1801 for g in gates)
    assert ran[0]() is True and len(gates) == 3  # run_history's gate is the same wait
    assert asv_history.main(["run", "--commits", "HEAD", "--bench", "instructions", "--wait-quiet", "30"]) == 0
    assert ran[1] is None and len(gates) == 3
    assert asv_history.main(["run", "--commits", "HEAD", "--wait-quiet", "30", "--chunk", "4"]) == 0
    assert chunks == [1, 0, 4]  # gated runs measure one commit per chunk unless told otherwise
    assert asv_history.main(["run", "--commits", "HEAD", "--wait-quiet", "-5"]) == 2
    assert "--wait-quiet must be a positive number of minutes, got -5" in capsys.readouterr().err


def test_module_pieces_partition_the_selection():
    """One piece per module the selection runs; a piece selects that module's benchmarks of the
    selection and nothing else, so the pieces together select exactly the selection."""
    known = ["bench_a.X.time_one", "bench_a.X.time_one(1, 'b')", "bench_b.Y.peakmem_two",
             "bench_scalability.StepScaling.time_step", "bench_scalability.Other.time_other", "bench_c.Z.time_three",
             "bench_instructions.I.track_instructions"]
    for bench in (["default"], ["grid"], None, ["all"]):
        pieces = selection.module_pieces(bench, known)
        chosen = {name for name in known if any(re.search(r, name) for r in selection.resolve(bench) or [""])}
        union = set()
        for module, regexes in pieces:
            got = {name for name in known if any(re.search(r, name) for r in regexes)}
            assert got and all(name.startswith(module + ".") for name in got) and not got & union
            union |= got
        assert union == chosen
    assert [m for m, _ in selection.module_pieces(["default"], known)] == ["bench_a", "bench_b", "bench_c",
                                                                          "bench_scalability"]
    assert [m for m, _ in selection.module_pieces(["grid"], known)] == ["bench_scalability"]


def test_run_history_by_module_gates_checks_and_commits_each_piece(tmp_path, monkeypatch):
    """``by_module``: each commit's pass is one asv run per module, each gated, drift-checked and
    committed on its own; a drifted piece is measured again, and a commit is finished only once
    every piece is kept. A later run skips the pieces the results already cover."""
    from historylib import asvconf, hostcheck

    results_dir = tmp_path / "results"
    commits = [f"{i}" * 40 for i in range(1, 3)]
    stored = results.points_of_file(write_results(tmp_path / "ref", "box", "f" * 40, floor_values(1.0)))
    drift = hostcheck.DriftWitness("f" * 40, stored)
    options = dict(config=REPO_ROOT / "asv.conf.json", cwd=tmp_path)
    known = ["bench_decision.Act.time_act", "bench_spatial.RadiusQuery.time_batched_radius",
             "bench_workload.Workload.track_step_ms"]
    monkeypatch.setattr(history, "known_benchmarks", lambda: known)
    measured = {c: set() for c in commits}  # modules whose points a commit's results hold

    def module_of(bench):  # None: the floors, measured before each piece and after one that has none
        if bench == list(hostcheck.WITNESS_REGEXES):
            return None
        return next(m for m in ("bench_decision", "bench_spatial") if m in bench[0])

    def covered(part, bench, recorded):  # at the start of a run: the modules measured by then
        wanted = {"bench_decision", "bench_spatial"} if bench == ["default"] else {module_of(bench)}
        return {c for c in part if wanted <= measured[c]}

    # floors of each asv call that measures them: per piece, the witness before it, then the piece's
    # own (spatial) or the witness after it (decision); commit 1's spatial piece is slow
    slowdowns = iter([1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.02])
    calls, labels, last, finished = [], [], {}, []

    def fake_measure(part, machine_name, bench, attributes, force, config=None, **kwargs):
        module = module_of(bench)
        into = results_dir if module else asvconf.config_dir(config, "results_dir")  # the witness: a scratch
        calls.append((part[0][0], module or "witness"))
        finished.append(history.Progress(tmp_path / "p").done("box", "default"))
        spec = floor_values(next(slowdowns)) if module in (None, "bench_spatial") else {}
        for commit in part:
            path = into / "box" / f"{commit[:8]}-env.json"
            data = json.loads(path.read_text()) if path.exists() else {"results": {}}
            scratch = json.loads(write_results(tmp_path / "scratch", "box", commit, spec,
                                               started=time.time() * 1000.0).read_text())
            scratch["results"] = {**data["results"], **scratch["results"]}
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(scratch))
            if module:
                measured[commit].add(module)
                last[commit] = module
        return 0

    monkeypatch.setattr(history, "measure", fake_measure)
    monkeypatch.setattr(history, "already_in_results", covered)
    monkeypatch.setattr(history, "restore_results",
                        lambda results_dir, machine, commit, before: measured[commit].discard(last[commit]))
    monkeypatch.setattr(history, "commit_results", lambda kept, machine, label, *a: labels.append(label) or True)
    gates = []
    rc = history.run_history(commits, "box", ["default"], chunk=1, commit=True, results_dir=results_dir,
                             progress_file=tmp_path / "p", drift=drift, wait_quiet=lambda: gates.append(1) or True,
                             by_module=True, **options)
    assert rc == 0 and len(gates) == 5
    assert calls == [("1", "witness"), ("1", "bench_decision"), ("1", "witness"), ("1", "witness"),
                     ("1", "bench_spatial"), ("2", "witness"), ("2", "bench_decision"), ("2", "witness"),
                     ("2", "witness"), ("2", "bench_spatial"), ("1", "witness"), ("1", "bench_spatial")]
    assert labels == ["default: bench_decision", "default: bench_decision", "default: bench_spatial",
                      "default: bench_spatial"]
    assert history.Progress(tmp_path / "p").done("box", "default") == set(commits)
    assert finished[:10] == [set()] * 10 and finished[10] == {commits[1]}  # c1 waits for its spatial piece

    calls.clear()
    measured = {commits[0]: {"bench_decision"}, commits[1]: set()}
    slowdowns = iter([1.0, 1.0, 1.0])
    rc = history.run_history(commits[:1], "box", ["default"], results_dir=results_dir, progress_file=tmp_path / "p2",
                             drift=drift, by_module=True, **options)
    assert rc == 0 and calls == [("1", "witness"), ("1", "bench_spatial")]
    assert history.Progress(tmp_path / "p2").done("box", "default") == {commits[0]}


def test_a_listed_commit_whose_results_hold_none_of_the_selection_is_measured_again(tmp_path, monkeypatch):
    """The progress file lists commits as finished; one whose results hold no point of the
    selection (dropped or reset out of git after it was listed) is measured again, and one whose
    results hold some is not."""
    results_dir, progress = tmp_path / "results", tmp_path / "progress.json"
    commits = [f"{i}" * 40 for i in range(1, 4)]
    history.Progress(progress).add("box", "default", commits[:2])
    name = next(n for n in history.selected_benchmarks(["default"]) if not n.startswith("bench_spatial"))
    write_results(results_dir, "box", commits[0], {name: 1.0})
    write_results(results_dir, "box", commits[1], {"bench_instructions.I.track_instructions": 9.0})
    calls = []
    monkeypatch.setattr(history, "measure", lambda part, *a, **k: calls.append(list(part)) or 0)
    assert history.run_history(commits, "box", ["default"], results_dir=results_dir, progress_file=progress) == 0
    assert calls == [commits[1:]]
