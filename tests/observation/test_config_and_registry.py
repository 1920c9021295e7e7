"""Config validation, the channel registry, memmap clean-up and the engine wiring."""

import numpy as np
import pytest
from observation_fixtures import make_builder, make_resources, make_state

from farm.config import SimulationConfig
from farm.observation import (
    ALL_CHANNELS,
    Channel,
    ChannelLifetime,
    ObservationConfig,
    ResourceInterpolation,
    ResourceSource,
    register_channel,
    registered_channel_names,
    unregister_channel,
)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"radius": -1}, "-1"),
        ({"radius": 0}, "radius"),
        ({"channels": ("SELF_HP", "SMELL")}, "'SMELL'"),
        ({"channels": ()}, "channels"),
        ({"channels": ("SELF_HP", "self_hp")}, "repeat"),
        ({"interpolation": "cubic"}, "'cubic'"),
        ({"resource_source": "disk"}, "'disk'"),
        ({"trails_decay": 1.5}, "1.5"),
        ({"goal": (1.0,)}, "goal"),
        ({"goal": (float("nan"), 1.0)}, "nan"),  # a NaN goal made the GOAL windows NaN
        ({"goal": (1.0, float("inf"))}, "inf"),
        ({"goal": "12"}, "'12'"),  # used to read as (1.0, 2.0)
        ({"goal": (True, False)}, "True"),
        ({"landmarks": ((1.0, 2.0), (float("nan"), 3.0))}, "nan"),  # used to be dropped silently
        ({"landmarks": ((1e400, 2.0),)}, "inf"),
        ({"cache": "yes"}, "'yes'"),
    ],
)
def test_bad_config_names_the_value(kwargs, fragment):
    with pytest.raises(ValueError, match="observation") as info:
        ObservationConfig(**kwargs)
    assert fragment in str(info.value)


def test_config_coerces_strings_and_loads_from_overrides():
    cfg = ObservationConfig(channels=["self_hp", "Resources"], interpolation="BILINEAR", resource_source="memmap",
                            landmarks=[[1, 2]], goal=[3, 4])
    assert cfg.channels == ("SELF_HP", "RESOURCES")
    assert cfg.interpolation is ResourceInterpolation.BILINEAR and cfg.resource_source is ResourceSource.MEMMAP
    assert cfg.landmarks == ((1.0, 2.0),) and cfg.goal == (3.0, 4.0)
    sim_cfg = SimulationConfig().with_overrides({"observation.channels": list(ALL_CHANNELS), "observation.radius": 10})
    assert sim_cfg.observation.channels == ALL_CHANNELS and sim_cfg.observation.radius == 10
    with pytest.raises(ValueError, match="'NOPE'"):
        SimulationConfig().with_overrides({"observation.channels": ["NOPE"]})


class Crowding(Channel):
    """A user channel: number of agents per cell, a persistent-free instant layer."""

    lifetime = ChannelLifetime.INSTANT

    def refresh(self):
        state, grid = self.context.state, self.context.grid
        gy, gx = grid.cells_of(state.positions[state.alive])
        self.layers[0].reshape(-1)[:] = np.bincount(grid.padded_flat(gy, gx), minlength=self.layers[0].size)

    def reference(self, row):
        state, grid = self.context.state, self.context.grid
        cy, cx = (int(v[0]) for v in grid.cells_of(state.positions[row : row + 1]))
        out = np.zeros((grid.size, grid.size))
        for other in range(len(state)):
            oy, ox = (int(v[0]) for v in grid.cells_of(state.positions[other : other + 1]))
            i, j = oy - cy + grid.radius, ox - cx + grid.radius
            if 0 <= i < grid.size and 0 <= j < grid.size:
                out[i, j] += 1
        return out


def test_user_channel_without_editing_the_builder():
    register_channel("CROWDING", Crowding)
    try:
        assert "CROWDING" in registered_channel_names()
        with pytest.raises(ValueError, match="already registered"):
            register_channel("crowding", Channel)
        state = make_state([[1.5, 1.5], [1.7, 1.2], [3.5, 2.5]])
        with make_builder(state, make_resources(np.zeros((0, 2))), 10.0, 10.0, radius=2,
                          channels=("SELF_HP", "CROWDING")) as b:
            out = b.build()
            assert b.shape == (2, 5, 5)
            assert out[0, 1, 2, 2] == 2.0 and out[0, 1, 3, 4] == 1.0
            np.testing.assert_allclose(out, np.stack([b.build_one(i) for i in state.ids]))
    finally:
        unregister_channel("CROWDING")
    with pytest.raises(ValueError, match="CROWDING"):
        ObservationConfig(channels=("CROWDING",))


def test_memmap_source_leaves_no_file_and_still_builds(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    state = make_state([[1.5, 1.5]])
    b = make_builder(state, make_resources([[1.5, 1.5]], [30.0]), 10.0, 10.0, radius=2, resource_source="memmap")
    assert list(tmp_path.iterdir()) == []  # unlinked as soon as mapped
    assert b.build()[0, 3, 2, 2] == 1.0
    b.close()
    b.close()


def test_engine_runs_all_channels_and_feeds_memories():
    import farm

    cfg = SimulationConfig().with_overrides({
        "seed": 5, "observation.channels": list(ALL_CHANNELS), "observation.radius": 5,
        "agents.system": 20, "agents.independent": 20, "agents.control": 20,
        "decision.system": "rule", "decision.independent": "rule", "decision.control": "rule",
    })
    runs = []
    for _ in range(2):
        with farm.Simulation(cfg) as sim:
            for _ in range(8):
                sim.step()
            obs, _ = sim.observe()
            names = sim.observation_builder.channel_names
            assert obs.shape[1:] == (13, 11, 11)
            for name in ("TRAILS", "KNOWN_EMPTY"):
                assert obs[:, names.index(name)].max() > 0, name
            ids = sim.state.ids[:5]
            ref = np.stack([sim.observation_builder.build_one(int(i)) for i in ids])
            np.testing.assert_allclose(obs[:5], ref, atol=1e-5)
            runs.append(obs)
    np.testing.assert_array_equal(runs[0], runs[1])
