"""Shared fixtures: hand-built scenarios on a real Simulation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from farm import Simulation, SimulationConfig  # noqa: E402
from farm.core.state import AgentState  # noqa: E402

# The files whose tests take minutes, longest first. They are collected before the rest, so that
# .ci/test's parallel phase (a file per worker, in collection order: --no-loadscope-reorder) starts
# them at once on separate workers; ordered by test count instead, the one-test smoke check came
# last and ran three minutes on one worker while the other idled.
LONG_FILES = ("bench/test_smoke_check.py", "test_perf_report.py", "profiling/test_prof_report.py")


def pytest_collection_modifyitems(session, config, items):
    tests_dir = Path(__file__).resolve().parent

    def rank(item) -> int:
        try:
            relative = Path(item.path).resolve().relative_to(tests_dir).as_posix()
        except ValueError:
            return len(LONG_FILES)
        return LONG_FILES.index(relative) if relative in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)  # stable: every other test keeps its place


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "alone: compares wall times of asv runs (a find, a gate); .ci/test runs these with nothing else "
        "running, and the rest of the suite on every core",
    )


def scripted_sim(agents, nodes=(), node_amount=30.0, world=(100.0, 100.0), **agent_overrides) -> Simulation:
    """A simulation whose agents and resource nodes are exactly the ones given.

    ``agents``: list of dicts with keys x, y, type, and optional resources, health, starvation.
    ``nodes``: list of (x, y) (amount ``node_amount`` each, or (x, y, amount)).
    Actions come from ``sim.plan`` (agent id -> Action); unlisted agents PASS.
    """
    overrides = {
        "world.width": world[0], "world.height": world[1],
        "agents.system": 1, "agents.independent": 0, "agents.control": 0,
        "resources.count": len(nodes), "resources.regen_rate": 0.0,
    }
    overrides.update({f"agents.{k}": v for k, v in agent_overrides.items()})
    sim = Simulation(SimulationConfig().with_overrides(overrides))
    state = AgentState()
    n = len(agents)
    state.append(
        positions=np.array([[a["x"], a["y"]] for a in agents], dtype=np.float64).reshape(n, 2),
        agent_types=np.array([a["type"] for a in agents], dtype=np.int8),
        resources=np.array([a.get("resources", 10.0) for a in agents]),
        health=np.array([a.get("health", 100.0) for a in agents]),
        generation=np.zeros(n, dtype=np.int32),
        parent_ids=np.full(n, -1, dtype=np.int64),
    )
    state.starvation[:] = [a.get("starvation", 0) for a in agents]
    # Swap the state in place, keeping the object other components hold.
    for name in AgentState.FIELDS:
        setattr(sim.state, name, getattr(state, name))
    sim.state.next_id = state.next_id
    if nodes:
        node_xy = np.array([nd[:2] for nd in nodes], dtype=np.float64)
        node_amounts = np.array([nd[2] if len(nd) > 2 else node_amount for nd in nodes], dtype=np.float64)
        sim.resources._positions = node_xy
        sim.resources.backend.amounts[:] = node_amounts
        sim.resources.index = sim.resource_index = sim._make_index(node_xy)
    sim.agent_index.build(sim.state.positions)
    sim.plan = {}

    def decide(_sim=sim):
        ids = _sim.state.ids
        actions = np.array([_sim.plan.get(int(i), 6) for i in ids], dtype=np.int64)
        _sim._actions = actions
        return actions

    sim.decide = decide
    return sim


@pytest.fixture
def tmp_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture()
def fresh_python(tmp_path):
    """``run(program, timeout)``: run ``program`` in a fresh interpreter on this checkout's farm
    (nothing imported yet, so it can check what importing and running loads); it must print ``ok``."""

    def run(program: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [sys.executable, "-c", program], cwd=tmp_path,
            env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "ok"

    return run


@pytest.fixture()
def every_frame_copy_on_the_worker(monkeypatch):
    """Every frame store write goes to the copy thread (threshold 0); returns the list that gets
    one entry per hand-off to it."""
    from farm.decision import frames

    handoffs: list[int] = []
    copier = frames._copier

    def counting_copier():
        handoffs.append(1)
        return copier()

    monkeypatch.setattr(frames, "BACKGROUND_COPY_BYTES", 0)
    monkeypatch.setattr(frames, "_copier", counting_copier)
    return handoffs
