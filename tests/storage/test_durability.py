"""Bad paths fail before the run in one line; a SIGKILLed run leaves every committed step."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from farm.storage import RunStatus, StorageConfig, make_logger, open_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def _make(path: str, **fields):
    return make_logger(StorageConfig(db_path=path, **fields), "{}", 0)


def _assert_one_line(info, *fragments):
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_directory(tmp_path):
    path = str(tmp_path / "nope" / "run.db")
    with pytest.raises(ValueError) as info:
        _make(path)
    _assert_one_line(info, "storage.db_path", "does not exist")
    assert not (tmp_path / "nope").exists()


def test_path_is_a_directory(tmp_path):
    with pytest.raises(ValueError) as info:
        _make(str(tmp_path))
    _assert_one_line(info, "storage.db_path", "is a directory")


def test_parent_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError) as info:
        _make(str(tmp_path / "file" / "run.db"))
    _assert_one_line(info, "storage.db_path", "is not a directory")


@pytest.mark.parametrize("profile", ["balanced", "memory"])
def test_existing_file_that_is_not_a_database(tmp_path, profile):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages you are looking for" * 200)
    with pytest.raises(ValueError) as info:
        _make(str(path), pragma_profile=profile)
    _assert_one_line(info, "storage.db_path", "SQLite")


def test_a_database_with_another_schema(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE agent_states (run_id INTEGER, x REAL)")
    with pytest.raises(ValueError) as info:
        _make(str(path))
    _assert_one_line(info, "storage.db_path", "agent_states")


def test_persist_path_in_a_missing_directory_is_named(tmp_path):
    with pytest.raises(ValueError) as info:
        make_logger(StorageConfig(db_path=":memory:", persist_path=str(tmp_path / "no" / "x.db")), "{}", 0)
    _assert_one_line(info, "storage.persist_path", "does not exist")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a read-only /proc")
def test_a_directory_nobody_can_write_to():
    # /proc refuses new files even to root, so this holds whoever runs the tests.
    with pytest.raises(ValueError) as info:
        _make("/proc/agentfarm-test.db")
    _assert_one_line(info, "storage.db_path")


# Linux capability numbers (linux/capability.h) and prctl's PR_CAPBSET_DROP.
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _PR_CAPBSET_DROP = 1, 2, 24


def _drop_dac_override() -> None:
    """In the child before exec: remove the capabilities that let root ignore permission bits.

    Dropped from the bounding set, they are gone from the program exec'd next, so a child run by
    root meets permission bits the way every other user does.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def run_without_dac_override(code: str, cwd: Path) -> str:
    """Run ``code`` in a child Python bound by permission bits (root or not); return its stdout."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("PYTHONSAFEPATH", None)
    preexec = _drop_dac_override if os.geteuid() == 0 else None
    try:
        result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=120, preexec_fn=preexec)
    except subprocess.SubprocessError as exc:  # the container forbids dropping capabilities
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here: {exc}")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux capabilities")
def test_a_read_only_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    code = (
        "from farm.storage import StorageConfig, make_logger\n"
        "try:\n"
        f"    make_logger(StorageConfig(db_path={str(locked / 'run.db')!r}), '{{}}', 0)\n"
        "    print('ACCEPTED')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    try:
        out = run_without_dac_override(code, tmp_path).strip()
    finally:
        locked.chmod(0o755)
    assert out.startswith("storage.db_path") and "not writable" in out and "\n" not in out, out
    assert list(locked.iterdir()) == []


_CHILD = r"""
import sys, time
sys.path[:0] = [{root!r}, {tests!r}]
from farm.storage import StorageConfig, make_logger
from storage.steplogs import synthetic_run
initial, logs = synthetic_run(400, agents=40, seed=11)
logger = make_logger(StorageConfig(db_path={path!r}, batch_size=10**6, flush_interval=3,
                                   pragma_profile={profile!r}, asynchronous={asynchronous!r}), "{{}}", 0)
logger.log_initial_agents(initial["ids"], initial["types"], initial["parent_ids"], initial["generations"])
for log in logs:
    logger.log_step(log)
    if logger.committed_step >= 0:
        print(logger.committed_step, flush=True)
    time.sleep(0.002)
time.sleep(60)  # never closes: the parent kills it
"""


@pytest.mark.parametrize(
    "profile, asynchronous", [("balanced", False), ("safety", False), ("balanced", True)]
)
def test_sigkill_leaves_a_database_with_every_committed_step(tmp_path, profile, asynchronous):
    from .steplogs import synthetic_run

    path = tmp_path / "killed.db"
    script = _CHILD.format(root=str(REPO_ROOT), tests=str(REPO_ROOT / "tests"), path=str(path), profile=profile,
                           asynchronous=asynchronous)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    child = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        reported = -1
        deadline = time.monotonic() + 60
        while reported < 30 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            reported = int(line)
        assert reported >= 30, "the child never committed 30 steps"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    _, logs = synthetic_run(400, agents=40, seed=11)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with open_run(path) as reader:
        assert reader.status is RunStatus.RUNNING and reader.end_time is None
        last = reader.last_step
        assert last >= reported
        assert (last + 1) % 3 == 0  # whole flushes only: every third step
        steps = reader.steps()["step"]
        assert steps.tolist() == list(range(last + 1))
        states = reader.agent_states()
        committed = logs[: last + 1]
        assert np.array_equal(states["agent_id"], np.concatenate([log.agent_ids for log in committed]))
        assert np.array_equal(states["health"], np.concatenate([log.health for log in committed]))
        counts = reader.row_counts()
        assert counts["interactions"] == sum(len(log.interaction_sources) for log in committed)
        assert counts["agents"] == 40 + sum(len(log.born_ids) for log in committed)
