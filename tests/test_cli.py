"""The command line end to end, in a temp directory, including its bad-input behaviour."""

import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, subprocess_env


def _run(args, cwd, module=False):
    cmd = [sys.executable, "-m", "farm"] if module else [sys.executable, str(REPO_ROOT / "run_simulation.py")]
    return subprocess.run(cmd + args, cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=120)


def test_run_prints_summary_and_writes_the_db(tmp_path):
    result = _run(["--steps", "120", "--agents", "30", "--seed", "3", "--world-size", "60"], tmp_path)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("steps=120 steps/s=") and "system=" in line and "simulation.db" in line
    assert "120/120" in result.stderr  # the progress bar finished
    with sqlite3.connect(tmp_path / "simulation.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM simulation_steps").fetchone()[0] == 120


def test_python_dash_m_and_memory_db_and_config_file(tmp_path):
    (tmp_path / "c.toml").write_text("seed = 4\n[agents]\nsystem = 5\nindependent = 5\ncontrol = 5\n")
    result = _run(["--steps", "10", "--config", "c.toml", "--db", ":memory:"], tmp_path, module=True)
    assert result.returncode == 0, result.stderr
    assert "db=:memory:" in result.stdout


def test_same_seed_same_summary(tmp_path):
    outs = [_run(["--steps", "50", "--agents", "60", "--db", "none"], tmp_path).stdout for _ in range(2)]
    strip = [o.split("population:")[1] for o in outs]
    assert strip[0] == strip[1]


def test_perf_profile_writes_prof_and_hotspot_tables(tmp_path):
    import pstats

    result = _run(["--steps", "20", "--agents", "30", "--db", "none", "--perf-profile"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Top 20 by cumulative time" in result.stdout and "Top 20 by self time" in result.stdout
    stats = pstats.Stats(str(tmp_path / "simulation.prof"))
    assert any("observe" in fn[2] for fn in stats.stats)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--steps", "0"], "--steps"),
        (["--agents", "-4"], "-4"),
        (["--agents", "wizard=3"], "wizard"),
        (["--world-size", "0x10"], "0x10"),
        (["--config", "missing.toml"], "missing.toml"),
        (["--db", "no/such/dir/x.db"], "no/such/dir"),
        (["--steps", "ten"], "ten"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    result = _run(args, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
