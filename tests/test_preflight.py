"""Up-front checks: the memory estimate against what a built simulation really holds, and the
path probes against directories that refuse files (which leave nothing behind)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from farm import Simulation, SimulationConfig
from farm.preflight import (
    check,
    check_memory,
    check_paths,
    estimate_memory,
    format_bytes,
)


def _items(config):
    return {item.what.split(" (")[0]: item.nbytes for item in estimate_memory(config)}


def test_the_estimate_covers_what_a_built_simulation_holds():
    config = SimulationConfig.preset("agentfarm").with_overrides(
        {"storage.db_path": None, "decision.ddqn.buffer_size": 3000, "agents.max_population": 150})
    items = _items(config)
    from farm.decision.learning import SHARED_KEY

    with Simulation(config) as sim:
        observations, _ = sim.observe()
        stack = sim.observation_builder.stack.nbytes
        learners = {name: sim.policies[t].learners[SHARED_KEY]
                    for name, t in zip(("system", "independent", "control"), sorted(sim.policies))}
        # The replay frames grow with use: run until every buffer has wrapped (full, then
        # overwritten), when its storage is at its largest.
        for _ in range(400):
            if all(learner.buffer.frames.written > 2 * config.decision.ddqn.buffer_size
                   for learner in learners.values()):
                break
            sim.step()
        buffers = {name: learner.buffer.nbytes for name, learner in learners.items()}
    for name, actual in buffers.items():
        assert len(learners[name].buffer) == config.decision.ddqn.buffer_size
        # An upper bound that is not loose: within 40 % of what the full buffer holds.
        assert actual <= items[f"{name} ddqn replay buffer"] <= 1.4 * actual
    assert stack <= items["world layers"] <= 4 * stack
    per_agent = observations.nbytes / len(observations)
    assert items["observation windows"] >= 150 * per_agent * 2  # the population cap, two copies


@pytest.mark.parametrize("kind, cnn_channels, hidden_sizes", [
    ("mlp", (16, 32), (256, 256)), ("cnn", (16, 32), (256, 256)), ("cnn", (512, 512), (8,)),
])
def test_the_network_estimate_bounds_the_parameters_torch_allocates(kind, cnn_channels, hidden_sizes):
    """The convolutions' weights used to be left out: (512, 512) channels estimated at a fifth
    of what the network holds."""
    from farm.decision.networks import build_network

    config = SimulationConfig().with_overrides({
        "decision.system": "ddqn", "decision.network.kind": kind,
        "decision.network.cnn_channels": list(cnn_channels), "decision.network.hidden_sizes": list(hidden_sizes)})
    per_copy = _items(config)["system ddqn network parameters"] / (4.0 * 5)  # float32, five copies
    size = 2 * config.observation.radius + 1
    network = build_network(config.decision.network, (len(config.observation.channels), size, size), 7)
    actual = sum(parameter.numel() for parameter in network.parameters())
    assert actual <= per_copy <= 4 * actual


def test_the_log_buffers_are_estimated_from_what_the_logger_holds(tmp_path):
    config = SimulationConfig.preset("agentfarm").with_overrides(
        {"storage.db_path": str(tmp_path / "run.db"), "agents.max_population": 100})
    assert "log buffers" not in _items(config.with_overrides({"storage.db_path": None}))
    estimate = _items(config)["log buffers"]
    with Simulation(config) as sim:
        for _ in range(config.storage.flush_interval - 1):  # the buffers just before a flush
            sim.step()
        held = sim.logger.buffered_bytes
    in_memory = config.storage.queue_size + 2  # buffering, queued, being written
    assert held * in_memory <= estimate <= 20 * held * in_memory
    bigger = config.with_overrides({"storage.flush_interval": 100, "storage.queue_size": 32})
    assert _items(bigger)["log buffers"] > 10 * estimate


def test_estimates_grow_with_the_fields_they_name():
    base = SimulationConfig()
    total = sum(i.nbytes for i in estimate_memory(base))
    for overrides in ({"world.width": 10_000.0}, {"observation.radius": 50}, {"agents.system": 10_000},
                      {"resources.count": 10**6}):
        assert sum(i.nbytes for i in estimate_memory(base.with_overrides(overrides))) > 10 * total, overrides
    assert np.isinf(
        sum(i.nbytes for i in estimate_memory(base.with_overrides({"world.width": 1e200, "world.height": 1e200})))
    )


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"world.width": 1e9, "world.height": 1e9}, "world.width"),
        ({"observation.radius": 100_000}, "observation.radius"),
        ({"agents.system": 10**8}, "agents.system"),
        ({"resources.count": 10**12}, "resources.count"),
        ({"decision.system": "ddqn", "decision.ddqn.buffer_size": 10**9}, "decision.ddqn.buffer_size"),
        ({"decision.system": "ppo", "decision.ppo.rollout_steps": 10**9}, "decision.ppo.rollout_steps"),
        # Neither was counted: the run built, then failed at the first training step or forward.
        ({"decision.system": "ddqn", "decision.ddqn.batch_size": 10**9}, "decision.ddqn.batch_size"),
        ({"decision.system": "ddqn", "decision.network.kind": "cnn", "decision.network.cnn_channels": [8192, 65536]},
         "decision.network.cnn_channels"),
    ],
)
def test_refusal_names_the_field_and_both_sizes(overrides, field):
    config = SimulationConfig().with_overrides(overrides)
    with pytest.raises(MemoryError) as info:
        check_memory(config, available=8 * 2**30)
    message = str(info.value)
    assert "\n" not in message and field in message and "8.0 GiB is available" in message


def test_a_config_that_fits_passes_and_returns_its_estimate():
    total = check_memory(SimulationConfig(), available=2**30)
    assert 0 < total < 2**30
    with pytest.raises(MemoryError):
        check_memory(SimulationConfig(), available=int(total) - 1)


def test_format_bytes():
    assert [format_bytes(b) for b in (0, 1536, 3 * 2**40, float("inf"))] == [
        "0 bytes",
        "1.5 KiB",
        "3.0 TiB",
        "inf bytes",
    ]


def _with(**overrides):
    return SimulationConfig().with_overrides(overrides)


def test_paths_that_can_be_written_pass_and_leave_nothing_behind(tmp_path):
    (tmp_path / "existing.db").write_bytes(b"")
    (tmp_path / "ckpt").mkdir()
    config = _with(**{"storage.db_path": str(tmp_path / "new.db"), "decision.system": "ddqn",
                      "decision.checkpoint_dir": str(tmp_path / "ckpt"), "decision.checkpoint_every": 5})
    check(config, [("--profile-out", str(tmp_path / "deep" / "er" / "x.prof"))])
    check_paths(_with(**{"storage.db_path": str(tmp_path / "existing.db")}))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ckpt", "existing.db"]  # no probe, no 'deep/'


@pytest.mark.parametrize(
    "overrides, outputs, needles",
    [
        ({"storage.db_path": "{tmp}"}, [], ["storage.db_path", "is a directory"]),
        ({"storage.db_path": "{tmp}/no/x.db"}, [], ["storage.db_path", "does not exist"]),
        ({"storage.db_path": "/proc/agentfarm.db"}, [], ["storage.db_path", "cannot create files in '/proc'"]),
        ({"storage.db_path": "/dev/null"}, [], ["storage.db_path", "not a regular file"]),
        ({"storage.db_path": ":memory:", "storage.persist_path": "/proc/x.db"}, [], ["storage.persist_path"]),
        ({"decision.control": "ppo", "decision.checkpoint_dir": "{tmp}/missing", "decision.checkpoint_every": 1},
         [], ["decision.checkpoint_dir", "does not exist"]),
        ({"decision.control": "ppo", "decision.checkpoint_dir": "/proc", "decision.checkpoint_every": 1},
         [], ["decision.checkpoint_dir", "cannot create files"]),
        ({}, [("--profile-out", "/proc/nope/x.prof")], ["--profile-out", "/proc/nope/x.prof"]),
        ({}, [("--profile-out", "{tmp}")], ["--profile-out", "is a directory"]),
    ],
)
def test_paths_that_cannot_be_written_are_refused_in_one_line(tmp_path, overrides, outputs, needles):
    def fill(v):
        return v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v

    config = _with(**{k: fill(v) for k, v in overrides.items()})
    with pytest.raises(ValueError) as info:
        check_paths(config, [(name, fill(path)) for name, path in outputs])
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    assert list(tmp_path.iterdir()) == []


def test_the_api_checks_the_checkpoint_dir_before_it_builds(tmp_path):
    """Simulation(config) refuses what the CLI refuses, in one line naming the field; it used to
    build, run, and fail at the first checkpoint with NotADirectoryError from pathlib."""
    (tmp_path / "a_file").write_text("")
    config = _with(**{"decision.system": "ddqn", "decision.checkpoint_dir": str(tmp_path / "a_file" / "ckpt"),
                      "decision.checkpoint_every": 3, "storage.db_path": None})
    with pytest.raises(ValueError, match="decision.checkpoint_dir") as info:
        Simulation(config)
    assert "\n" not in str(info.value)


def test_a_checkpoint_dir_is_only_checked_when_checkpoints_are_written():
    # Random policies never save, and checkpoint_every = 0 never saves automatically.
    check_paths(_with(**{"decision.checkpoint_dir": "/no/such/dir", "decision.checkpoint_every": 1}))
    check_paths(_with(**{"decision.system": "ddqn", "decision.checkpoint_dir": "/no/such/dir"}))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux capabilities")
def test_a_read_only_directory_is_refused_even_for_root(tmp_path):
    """os.access says yes to root; the probe asks the kernel, which a root without
    CAP_DAC_OVERRIDE (as the child runs) answers as for anyone else."""
    from tests.storage.test_durability import run_without_dac_override

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    code = (
        "from farm import SimulationConfig\n"
        "from farm.preflight import check_paths\n"
        f"config = SimulationConfig().with_overrides({{'storage.db_path': {str(locked / 'run.db')!r}}})\n"
        "try:\n    check_paths(config)\n    print('ACCEPTED')\nexcept ValueError as exc:\n    print(exc)\n"
    )
    out = run_without_dac_override(code, tmp_path)
    assert "storage.db_path" in out and "cannot create files" in out and "Permission denied" in out, out
    assert list(locked.iterdir()) == []
