"""tools/asv_history.py: the pure parts against hand-computed truths.

The asv-driven workflows (run, publish, compare, continuous, find) are exercised end to end in
``test_workflows.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))

import asv_history  # noqa: E402


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo: Path, path: str, text: str, message: str) -> str:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture()
def toy_repo(tmp_path):
    """main: farm change, README, results, setup.py, a --no-ff merge of a farm change, docs.
    Returns the repo and the commits that changed the engine, by hand."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    engine = [_commit(repo, "farm/a.py", "a = 1\n", "engine 1")]
    _commit(repo, "README.md", "docs\n", "docs only")
    _commit(repo, "results/m/x.json", "{}\n", "results only")
    engine.append(_commit(repo, "setup.py", "# setup\n", "setup.py"))
    _git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, "farm/b.py", "b = 2\n", "feature engine change")
    _commit(repo, "docs/x.md", "x\n", "feature docs")
    _git(repo, "checkout", "-q", "main")
    _commit(repo, "html/index.html", "<html>\n", "html only")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "merge", "-q", "--no-ff", "feature", "-m", "merge")
    engine.append(_git(repo, "rev-parse", "HEAD"))
    _git(repo, "checkout", "-q", "-b", "docs-merge")
    _commit(repo, "docs/y.md", "y\n", "docs on a branch")
    _git(repo, "checkout", "-q", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "merge", "-q", "--no-ff", "docs-merge", "-m", "docs merge")
    _commit(repo, "tools/t.py", "pass\n", "tools only")
    return repo, engine


def test_engine_commits_are_the_first_parent_commits_that_changed_farm_or_setup(toy_repo):
    repo, engine = toy_repo
    assert asv_history.engine_commits("main", last=0, cwd=repo) == engine
    assert asv_history.engine_commits("main", last=2, cwd=repo) == engine[-2:]
    assert len(asv_history.first_parent_commits("main", cwd=repo)) == 8


def test_progress_and_found_lines_are_recognized():
    match = asv_history.PERCENT_LINE.match("[ 37.50%] ··· bench_simulation.FullRun.time_run        1.2s")
    assert match and float(match.group(1)) == 37.5 and match.group(3).startswith("bench_simulation.FullRun")
    assert asv_history.COMMIT_LINE.search("[ 0.00%] · For agentfarm-bench commit 1dbcb943 <main~2>:").group(1) == "1dbcb943"
    found = asv_history.FOUND_LINE.search("· Greatest regression found: 01102898 <main~2>")
    assert found.group(1) == "01102898"


def test_spread_table_and_summary_by_hand():
    first = {"a.time(1)": 1.0, "a.time(2)": 2.0, "b.peakmem": 100.0, "only_first": 3.0}
    second = {"a.time(1)": 1.1, "a.time(2)": 1.9, "b.peakmem": 100.0, "only_second": 4.0}
    rows = asv_history.spread_table(first, second)
    assert [label for label, _ in rows] == ["a.time(1)", "a.time(2)", "b.peakmem"]
    assert rows[0][1] == pytest.approx(0.10) and rows[1][1] == pytest.approx(0.05) and rows[2][1] == 0.0
    summary = asv_history.summarize_spread(rows)
    assert summary["a.time"] == {"median": pytest.approx(0.075), "worst": pytest.approx(0.10), "points": 2}
    assert summary["b.peakmem"]["worst"] == 0.0


def test_derived_config_makes_paths_absolute(tmp_path):
    out = asv_history.write_derived_config(tmp_path / "c.json", results_dir=tmp_path / "r", branches=["x"])
    conf = json.loads(out.read_text())
    assert conf["repo"] == str(REPO_ROOT)
    assert conf["benchmark_dir"] == str(REPO_ROOT / "benchmarks")
    assert conf["env_dir"] == str(REPO_ROOT / ".asv" / "env")
    assert conf["results_dir"] == str(tmp_path / "r") and conf["branches"] == ["x"]


def test_asv_config_pins_dependencies_and_single_threads():
    conf = asv_history.load_asv_config()
    req = conf["matrix"]["req"]
    assert req["torch"] == ["2.13.0"]
    assert set(req) >= {"numpy", "scipy", "psutil", "matplotlib", "torch"}
    assert all(len(versions) == 1 for versions in req.values())
    assert all(value == ["1"] for value in conf["matrix"]["env_nobuild"].values())
    assert "--no-deps" in conf["build_command"][0] and "--no-deps" in conf["install_command"][0]
    assert conf["branches"] == ["main"] and conf["results_dir"] == "results" and conf["html_dir"] == "html"
    assert None in conf["regressions_first_commits"].values()
    assert asv_history.default_factor() == pytest.approx(1.0 + conf["regressions_thresholds"][".*"])


def test_default_selection_excludes_the_big_grids_only():
    import re

    selection = re.compile(asv_history.DEFAULT_BENCH)
    assert selection.search("bench_simulation.FullRun.time_run")
    assert selection.search("bench_scalability.ComplexityExponent.track_complexity_exponent")
    assert not selection.search("bench_scalability.StepScaling.time_step")
    assert not selection.search("bench_scalability.RunLength.peakmem_run")


def test_already_measured_reads_result_file_names(tmp_path):
    machine_dir = tmp_path / "box"
    machine_dir.mkdir()
    (machine_dir / "machine.json").write_text("{}")
    (machine_dir / "aaaaaaaa-env-0123.json").write_text("{}")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "bbbbbbbb-env-0123.json").write_text("{}")
    commits = ["a" * 40, "b" * 40, "c" * 40]
    assert asv_history.already_measured(commits, "box", tmp_path) == ["a" * 40]
    assert asv_history.already_measured(commits, "other", tmp_path) == ["b" * 40]
    assert asv_history.already_measured(commits, "missing", tmp_path) == []
