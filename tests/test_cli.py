"""The command line end to end, in a temp directory, including its bad-input behaviour."""

import os
import signal
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


def _summary_population(stdout: str) -> dict[str, int]:
    line = stdout.strip().splitlines()[-1]
    fields = line.split("population:")[1].split("db=")[0].split()
    return {name: int(count) for name, count in (f.split("=") for f in fields)}


def _truth_population(steps: int, **overrides) -> dict[str, int]:
    """The final population of the same run built in-process (the CLI must reproduce it)."""
    from farm import SimulationConfig, run_simulation

    return run_simulation(SimulationConfig().with_overrides(overrides), steps).population_by_type


def test_python_dash_m_and_memory_db_and_config_file(tmp_path):
    (tmp_path / "c.toml").write_text("seed = 4\n[agents]\nsystem = 5\nindependent = 5\ncontrol = 5\n")
    result = _run(["--steps", "10", "--config", "c.toml", "--db", ":memory:"], tmp_path, module=True)
    assert result.returncode == 0, result.stderr
    assert "db=:memory:" in result.stdout
    # The file's seed and counts were used: the run is the one built from them in-process.
    truth = _truth_population(10, seed=4, **{"agents.system": 5, "agents.independent": 5, "agents.control": 5})
    assert _summary_population(result.stdout) == truth
    assert not (tmp_path / "simulation.db").exists()  # --db :memory: wrote no file


def test_same_seed_same_summary(tmp_path):
    outs = [_run(["--steps", "50", "--agents", "60", "--db", "none", "--seed", "5"], tmp_path).stdout
            for _ in range(2)]
    truth = _truth_population(50, seed=5, **{"agents.system": 20, "agents.independent": 20, "agents.control": 20})
    assert _summary_population(outs[0]) == _summary_population(outs[1]) == truth


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


# ---------------------------------------------------------------- the issue's failures, in-process

def _main(argv, capsys):
    from farm.cli import main

    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("run_simulation: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "extra, config_text, needles",
    [
        (["--world-size", "1e200"], None, ["world.width", "not enough memory", "available"]),
        (["--world-size", "1e9"], None, ["world.width", "EiB"]),
        (["--perf-profile", "--profile-out", "/proc/nope/x.prof"], None, ["--profile-out", "/proc/nope/x.prof"]),
        (["--agents", "100000000"], None, ["200000000 agents", "GiB"]),
        ([], "[observation]\nradius = 100000\n", ["observation.radius", "TiB"]),
        ([], '[decision]\nsystem = "ddqn"\ncheckpoint_dir = "no/such/dir"\ncheckpoint_every = 1\n',
         ["decision.checkpoint_dir", "no/such/dir", "does not exist"]),
        (["--db", "/proc/agentfarm.db"], None, ["storage.db_path", "/proc/agentfarm.db"]),
        (["--seed", str(2**70)], None, ["seed", str(2**70)]),
    ],
)
def test_the_issues_failures_are_one_line_exit_2_before_anything_is_written(
    tmp_path, monkeypatch, capsys, extra, config_text, needles
):
    monkeypatch.chdir(tmp_path)
    argv = ["--steps", "5", "--agents", "3", "--db", "none", *extra]
    if config_text is not None:
        (tmp_path / "c.toml").write_text(config_text)
        argv += ["--config", "c.toml"]
    code, out, err = _main(argv, capsys)
    assert code == 2 and out == ""
    line = _one_error_line(err)
    for needle in needles:
        assert needle in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == (["c.toml"] if config_text else [])  # no stray file


def test_a_huge_run_is_refused_within_seconds(tmp_path, monkeypatch, capsys):
    """`--agents 100000000` used to build for minutes; the estimate refuses it before allocating."""
    import time

    monkeypatch.chdir(tmp_path)
    import psutil

    rss_before = psutil.Process().memory_info().rss
    started = time.process_time()
    code, _, err = _main(["--steps", "5", "--agents", "100000000", "--db", "none"], capsys)
    assert code == 2 and "not enough memory" in err
    assert time.process_time() - started < 5.0  # CPU time, not wall time: nothing was built
    assert psutil.Process().memory_info().rss - rss_before < 200 * 2**20


def _steps_and_status(db):
    with sqlite3.connect(db) as conn:
        steps = [row[0] for row in conn.execute("SELECT step FROM simulation_steps ORDER BY step")]
        status, last = conn.execute("SELECT status, last_step FROM simulations").fetchone()
    return steps, status, last


def test_an_environment_error_mid_run_is_one_line_and_keeps_every_finished_step(tmp_path, monkeypatch, capsys):
    import errno

    from farm.core.simulation import Simulation

    real_act = Simulation.act

    def act(self):
        if self.step_index == 6:
            raise OSError(errno.ENOSPC, "No space left on device", "run.db")
        return real_act(self)

    monkeypatch.setattr(Simulation, "act", act)
    monkeypatch.chdir(tmp_path)
    code, _, err = _main(["--steps", "50", "--agents", "9", "--db", "run.db", "--no-progress"], capsys)
    assert code == 2
    assert "No space left on device" in _one_error_line(err)
    assert _steps_and_status(tmp_path / "run.db") == (list(range(6)), "failed", 5)


def test_a_bug_keeps_its_traceback_and_marks_the_run_failed(tmp_path, monkeypatch, capsys):
    from farm.core.simulation import Simulation

    def act(self):
        raise KeyError("a bug, not bad input")

    monkeypatch.setattr(Simulation, "act", act)
    monkeypatch.chdir(tmp_path)
    from farm.cli import main

    with pytest.raises(KeyError, match="a bug"):
        main(["--steps", "5", "--agents", "3", "--db", "run.db", "--no-progress"])
    assert _steps_and_status(tmp_path / "run.db")[1] == "failed"


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_after_the_current_step(tmp_path, monkeypatch, capsys, signum, code):
    """The signal arrives inside step 3: step 3 still completes and is logged, step 4 never starts."""
    from farm.core.simulation import Simulation

    real_act = Simulation.act

    def act(self):
        if self.step_index == 3:
            os.kill(os.getpid(), signum)
        return real_act(self)

    monkeypatch.setattr(Simulation, "act", act)
    monkeypatch.chdir(tmp_path)
    previous = signal.getsignal(signal.SIGTERM)
    result, _, err = _main(["--steps", "50", "--agents", "9", "--db", "run.db", "--no-progress"], capsys)
    assert result == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0]
    assert _steps_and_status(tmp_path / "run.db") == ([0, 1, 2, 3], "interrupted", 3)
    assert signal.getsignal(signal.SIGTERM) is previous  # the CLI put the handler back


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_the_log_closes_waits_for_the_close(tmp_path, monkeypatch, capsys, signum, code):
    """The signal arrives after the last step, while the background writer still has batches
    queued: the close finishes (it used to be cut short, mark the run failed and drop them)."""
    import time

    from farm.storage.background import BackgroundWriter
    from farm.storage.writer import SqliteWriter

    real_write, real_finish = SqliteWriter.write, BackgroundWriter.finish

    def slow_write(self, batch):
        time.sleep(0.01)
        return real_write(self, batch)

    def finish(self):
        os.kill(os.getpid(), signum)
        return real_finish(self)

    monkeypatch.setattr(SqliteWriter, "write", slow_write)
    monkeypatch.setattr(BackgroundWriter, "finish", finish)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[storage]\nasynchronous = true\nflush_interval = 1\nqueue_size = 64\n")
    result, _, err = _main(["--steps", "20", "--agents", "9", "--db", "run.db", "--config", "c.toml",
                            "--no-progress"], capsys)
    assert result == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "while the log was closing" in lines[0] and "'completed'" in lines[0], lines
    assert _steps_and_status(tmp_path / "run.db") == (list(range(20)), "completed", 19)


# ---------------------------------------------------------------- precedence: defaults < preset < file < flags

# flag argv, file text, what the file sets, what the flag sets; each a function of the config.
_FLAG_CASES = {
    "--agents": (["--agents", "9"], "[agents]\nsystem = 5\nindependent = 6\ncontrol = 7\n",
                 lambda c: c.agents.counts(), (5, 6, 7), (3, 3, 3)),
    "--agents TYPE=N": (["--agents", "control=2"], "[agents]\nsystem = 5\nindependent = 6\ncontrol = 7\n",
                        lambda c: c.agents.counts(), (5, 6, 7), (5, 6, 2)),
    "--seed": (["--seed", "8"], "seed = 4\n", lambda c: c.seed, 4, 8),
    "--world-size": (["--world-size", "70x80"], "[world]\nwidth = 50.0\nheight = 40.0\n",
                     lambda c: (c.world.width, c.world.height), (50.0, 40.0), (70.0, 80.0)),
    "--db": (["--db", "flag.db"], '[storage]\ndb_path = "fromconfig.db"\n',
             lambda c: c.storage.db_path, "fromconfig.db", "flag.db"),
    "--db none": (["--db", "none"], '[storage]\ndb_path = "fromconfig.db"\n',
                  lambda c: c.storage.db_path, "fromconfig.db", None),
    "--policy": (["--policy", "ddqn"], '[decision]\nsystem = "rule"\nindependent = "rule"\ncontrol = "rule"\n',
                 lambda c: tuple(c.decision.policy_for(t).value for t in ("system", "independent", "control")),
                 ("rule",) * 3, ("ddqn",) * 3),
    **{
        f"--policy-{t}": ([f"--policy-{t}", "ppo"], f'[decision]\n{t} = "rule"\n',
                          lambda c, t=t: c.decision.policy_for(t).value, "rule", "ppo")
        for t in ("system", "independent", "control")
    },
}


def _config_for(argv, tmp_path):
    from farm.cli import build_parser, config_from_args

    return config_from_args(build_parser().parse_args(argv))


@pytest.mark.parametrize("name", sorted(_FLAG_CASES))
def test_a_flag_overrides_the_file_only_when_given(tmp_path, name):
    flag, text, read, from_file, from_flag = _FLAG_CASES[name]
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert read(_config_for(["--config", str(path)], tmp_path)) == from_file
    assert read(_config_for(["--config", str(path), *flag], tmp_path)) == from_flag
    assert read(_config_for([*flag, "--config", str(path)], tmp_path)) == from_flag  # order does not matter


def test_every_flag_is_covered_and_defaults_to_not_given():
    """A new flag with a real argparse default would silently override config files again."""
    from farm.cli import build_parser

    parser = build_parser()
    args = parser.parse_args([])
    options = {a.dest: a for a in parser._actions if a.option_strings and a.dest != "help"}
    for dest in options.keys():
        assert getattr(args, dest) in (None, False), f"--{dest} has a default; fill it in after parsing"
    config_flags = {flag[0] for flag, *_ in _FLAG_CASES.values()}
    not_config = {"--steps", "--config", "--preset", "--perf-profile", "--profile-out", "--no-progress"}
    assert {a.option_strings[0] for a in options.values()} == config_flags | not_config


def test_defaults_preset_file_flags_layer_in_that_order(tmp_path):
    from farm.config import SimulationConfig

    path = tmp_path / "c.toml"
    # The file sets agents.system to the engine default (10): it must still beat the preset (34).
    path.write_text("[agents]\nsystem = 10\n[world]\nwidth = 60.0\n")
    config = _config_for(["--preset", "agentfarm", "--config", str(path), "--world-size", "70x80"], tmp_path)
    preset = SimulationConfig.preset("agentfarm")
    assert config.agents.counts() == (10, 33, 33)  # file over preset; preset over defaults
    assert (config.world.width, config.world.height) == (70.0, 80.0)  # flag over file
    assert config.observation == preset.observation and config.decision == preset.decision
    plain = _config_for([], tmp_path)
    assert plain == SimulationConfig().with_overrides({"storage.db_path": "simulation.db"})


@pytest.mark.parametrize("text, flags, read, expected", [
    ('[storage]\npersist_path = "kept.db"\n', ["--db", ":memory:"],
     lambda c: (c.storage.db_path, c.storage.persist_path), (":memory:", "kept.db")),
    ("[agents]\nsystem = 0\nindependent = 0\ncontrol = 0\n", ["--agents", "30"],
     lambda c: c.agents.counts(), (10, 10, 10)),
], ids=["persist_path made valid by --db", "zero agents made valid by --agents"])
def test_the_layers_are_validated_together_not_one_by_one(tmp_path, text, flags, read, expected):
    """A file may leave a setting that only a flag makes valid: the file alone is refused, the
    file with the flag is not (the file used to be checked before the flags were laid over it)."""
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError):
        _config_for(["--config", str(path)], tmp_path)
    assert read(_config_for(["--config", str(path), *flags], tmp_path)) == expected


def test_the_config_files_db_path_is_the_one_written(tmp_path):
    (tmp_path / "c.toml").write_text('[storage]\ndb_path = "fromconfig.db"\n')
    result = _run(["--steps", "5", "--agents", "3", "--config", "c.toml"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "fromconfig.db"]


_FAILING_WRITER_CHILD = """
import sqlite3, sys
from farm.storage.writer import SqliteWriter
real_write = SqliteWriter.write
def write(self, batch):
    if batch.last_step >= 4:
        raise sqlite3.OperationalError("database or disk is full")
    return real_write(self, batch)
SqliteWriter.write = write
from farm.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


def test_a_background_writer_failure_is_one_line_on_a_real_stderr(tmp_path):
    """Without pytest's log capture: the writer thread used to log the error too (logging's
    last-resort handler prints it), a second line before the CLI's own."""
    (tmp_path / "c.toml").write_text("[storage]\nasynchronous = true\nflush_interval = 2\n")
    result = subprocess.run([sys.executable, "-c", _FAILING_WRITER_CHILD, "--steps", "30", "--agents", "6",
                             "--db", "run.db", "--config", "c.toml", "--no-progress"],
                            cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert _one_error_line(result.stderr) == "run_simulation: error: sqlite: database or disk is full"


def test_a_full_disk_in_the_background_writer_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    """The writer thread's sqlite error reaches the CLI wrapped in a RuntimeError (raise ... from)."""
    from farm.storage.writer import SqliteWriter

    real_write = SqliteWriter.write

    def write(self, batch):
        if batch.last_step >= 4:
            raise sqlite3.OperationalError("database or disk is full")
        return real_write(self, batch)

    monkeypatch.setattr(SqliteWriter, "write", write)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text("[storage]\nasynchronous = true\nflush_interval = 2\n")
    code, _, err = _main(["--steps", "30", "--agents", "6", "--db", "run.db", "--config", "c.toml",
                          "--no-progress"], capsys)
    assert code == 2
    assert _one_error_line(err) == "run_simulation: error: sqlite: database or disk is full"
    steps, status, last = _steps_and_status(tmp_path / "run.db")
    assert status == "failed" and steps == list(range(last + 1)) and last >= 1
