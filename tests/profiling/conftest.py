"""Fixtures for the profiling toolkit's tests: a tiny real simulation and helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from farm import Simulation
from farm.profiling.workload import workload_config

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_config():
    """30 agents in a 40 x 40 world: a few milliseconds per step."""
    return workload_config(30, world=40.0, seed=1)


@pytest.fixture
def tiny_sim(tiny_config):
    sim = Simulation(tiny_config)
    yield sim
    sim.close()


@pytest.fixture
def subprocess_env():
    """Environment for child processes that must import this checkout's ``farm``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
