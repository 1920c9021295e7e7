"""The regression drill's pure parts: the samples reader, the verdict, the kinds and the planted
slowdowns (applied to stand-in classes, no asv, no valgrind).

The drills themselves run end to end in ``test_workflows.py`` (the 2x kind, in CI); the 20 %,
5 % instruction and 5 % wall-time kinds take minutes each and are run by hand (see the README).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))

import regression_drill  # noqa: E402

from historylib.bisect import Bisection  # noqa: E402

COMMITS = [f"{i:x}" * 40 for i in range(7)]  # base, 3 harmless, the slowdown, 2 harmless
BAD_INDEX = 4


# ------------------------------------------------------------------------------- samples, verdict
def _result_file(directory: Path, commit: str, samples: list | None) -> None:
    columns = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b",
               "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"] + (["samples"] if samples else [])
    params = [["'kdtree'", "'quadtree'"], ["1000"]]
    entry = [[1.0, 2.0], params, "v", 0, 1.0, None, None, None, None, None, None] + ([samples] if samples else [])
    data = {"results": {"bench_spatial.RadiusQuery.time_batched_radius": entry}, "result_columns": columns}
    (directory / f"{commit[:8]}-env.json").write_text(json.dumps(data))


def test_samples_at_reads_the_recorded_samples_of_one_combination(tmp_path):
    machine_dir = tmp_path / regression_drill.DRILL_MACHINE
    machine_dir.mkdir()
    _result_file(machine_dir, COMMITS[0], [[0.5, 0.4, float("nan")], [0.9]])
    _result_file(machine_dir, COMMITS[1], None)
    name = "bench_spatial.RadiusQuery.time_batched_radius"
    read = regression_drill.samples_at
    assert read(tmp_path, regression_drill.DRILL_MACHINE, COMMITS[0], name, ["kdtree", "1000"]) == [0.5, 0.4]
    assert read(tmp_path, regression_drill.DRILL_MACHINE, COMMITS[0], name, ["'quadtree'", "1000"]) == [0.9]
    assert read(tmp_path, regression_drill.DRILL_MACHINE, COMMITS[0], name, ["brute_force", "1000"]) == []
    assert read(tmp_path, regression_drill.DRILL_MACHINE, COMMITS[1], name, ["kdtree", "1000"]) == []


def test_judge_needs_the_slowdown_commit_and_a_step_of_a_quarter_of_the_planted_one():
    kind = regression_drill.KINDS["20pct"]
    bad = COMMITS[BAD_INDEX]
    assert regression_drill.judge(Bisection(bad, 1.0, 1.2, 1.1), bad, kind)[0]
    passed, line = regression_drill.judge(Bisection(bad, 1.0, 1.04, 1.02), bad, kind)
    assert not passed and "did not see it" in line
    passed, line = regression_drill.judge(Bisection(COMMITS[3], 1.0, 1.2, 1.1), bad, kind)
    assert not passed and "find named" in line
    assert not regression_drill.judge(Bisection(None, 1.0, 1.0, None), bad, kind)[0]


def test_drill_kinds_name_a_method_a_benchmark_and_the_five_percent_pair_shares_one_slowdown():
    kinds = regression_drill.KINDS
    assert {"2x", "20pct", "5pct-instructions", "5pct-walltime"} <= set(kinds)
    assert kinds["5pct-instructions"].benchmark == regression_drill.INSTRUCTION_BENCHMARK
    assert kinds["5pct-walltime"].template == kinds["5pct-instructions"].template
    assert kinds["5pct-walltime"].target == kinds["5pct-instructions"].target
    assert kinds["5pct-walltime"].benchmark == regression_drill.WALLTIME_REGENERATION == kinds["2x"].benchmark
    assert kinds["20pct"].rounds > 1 and kinds["2x"].rounds == 1


# ---------------------------------------------------------------------------- planted slowdowns
def _planted(kind: str, owner_class):
    """``owner_class`` with the drill's slowdown of ``kind`` applied, as the slowdown commit does."""
    drill = regression_drill.KINDS[kind]
    method = drill.target.rsplit(".", 1)[1]
    namespace = {"Owner": owner_class}
    exec(drill.template.format(owner="Owner", method=method), namespace)  # the appended module text
    return namespace["Owner"]


def test_twenty_percent_slowdown_queries_the_first_tenth_of_the_points_again():
    seen = []

    class Index:
        def query_radius(self, points, radius):
            seen.append(len(points))
            return "result"

    class Points(list):
        ndim = 2

    index = _planted("20pct", Index)()
    assert index.query_radius(Points(range(1000)), 5.0) == "result"
    assert seen == [1000, 100]
    seen.clear()
    index.query_radius(Points(range(5)), 5.0)  # too few points, and single points: no extra work
    index.query_radius((1.0, 2.0), 5.0)
    assert seen == [5, 2]


def test_five_percent_slowdown_loops_once_per_125_nodes_and_keeps_the_result():
    class Manager:
        calls = 0

        def __len__(self):
            return 25_000

        def regenerate(self):
            Manager.calls += 1
            return "done"

    manager = _planted("5pct-instructions", Manager)()
    assert manager.regenerate() == "done" and Manager.calls == 1
    assert "len(self) // 125" in regression_drill.FIVE_PERCENT  # 200 turns at 25 000 nodes


def test_chosen_kind_applies_the_benchmark_params_and_rounds_overrides():
    plain = regression_drill.chosen_kind("5pct-walltime")
    assert plain == regression_drill.KINDS["5pct-walltime"]
    other = regression_drill.chosen_kind("5pct-walltime", "bench_resources.LargeWorldRegeneration.time_regenerate",
                                         rounds=8)
    assert other.benchmark.endswith("time_regenerate") and other.params == () and other.rounds == 8
    assert other.template == plain.template
    spatial = regression_drill.chosen_kind("20pct", params="kdtree, 10000,uniform,5.0")
    assert spatial.params == ("kdtree", "10000", "uniform", "5.0") and spatial.rounds == 8
    with pytest.raises(ValueError, match="rounds"):
        regression_drill.chosen_kind("2x", rounds=0)
