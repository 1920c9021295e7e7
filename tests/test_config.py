import json

import pytest

from farm import SimulationConfig
from farm.config import AgentConfig, WorldConfig, load_config
from farm.resources.config import ResourceConfig


@pytest.mark.parametrize(
    "build, field, value",
    [
        (lambda: WorldConfig(width=0), "world.width", "0"),
        (lambda: WorldConfig(height=-3.5), "world.height", "-3.5"),
        (lambda: WorldConfig(width=float("nan")), "world.width", "nan"),
        (lambda: AgentConfig(system=-1), "agents.system", "-1"),
        (lambda: AgentConfig(system=0, independent=0, control=0), "agents", "0"),
        (lambda: AgentConfig(move_speed=0), "agents.move_speed", "0"),
        (lambda: AgentConfig(reproduce_threshold=1, reproduce_cost=5), "agents.reproduce_threshold", "1"),
        (lambda: ResourceConfig(regen_rate=1.5), "resources.regen_rate", "1.5"),
        (lambda: ResourceConfig(storage="floppy"), "resources.storage", "floppy"),
        (lambda: ResourceConfig(initial_amount=40.0), "resources.initial_amount", "40.0"),
        (lambda: SimulationConfig(seed=-1), "seed", "-1"),
        (lambda: SimulationConfig().with_overrides({"spatial.index": "rtree"}), "spatial.index", "rtree"),
        (lambda: SimulationConfig().with_overrides({"world.depth": 3}), "world.depth", "depth"),
    ],
)
def test_bad_values_name_the_field_and_the_value(build, field, value):
    with pytest.raises(ValueError) as err:
        build()
    message = str(err.value)
    assert field in message and value in message and "\n" not in message


def test_configs_are_frozen():
    import dataclasses

    config = SimulationConfig()
    for section, name in ((config, "seed"), (config.world, "width"), (config.storage, "db_path"),
                          (config.decision.ddqn, "gamma")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(section, name, 3)
    assert config == SimulationConfig()  # nothing changed


def test_a_file_applies_on_top_of_a_base_and_keeps_what_it_leaves_out(tmp_path):
    path = tmp_path / "c.toml"
    # agents.system = 10 is the engine default, yet it must replace the base's 34.
    path.write_text("[agents]\nsystem = 10\n[storage]\ndb_path = \"fromconfig.db\"\n")
    base = SimulationConfig.preset("agentfarm")
    config = load_config(path, base=base)
    assert config.agents.counts() == (10, 33, 33)
    assert config.storage.db_path == "fromconfig.db"
    assert config.observation == base.observation and config.decision == base.decision
    assert load_config(path).agents.counts() == (10, 10, 10)  # default base


@pytest.mark.parametrize(
    "text, needle",
    [
        ("[1, 2]", "must hold a table"),
        ('{"world": 3}', "'world' must be a table"),
        ('{"decision": {"ddqn": {"tau": "abc"}}}', "decision.ddqn.tau"),
        ('{"agents": {"system": NaN}}', "agents.system"),
        ('{"world": {"width": Infinity}}', "world.width"),
        ('{"seed": 18446744073709551616}', "seed"),
    ],
)
def test_bad_files_are_one_line_value_errors(tmp_path, text, needle):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ValueError) as info:
        load_config(path)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_toml_and_json_files_load_and_round_trip(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('seed = 7\n[world]\nwidth = 50.0\n[resources]\nstorage = "memmap"\ndensity = "dense"\n')
    config = load_config(toml)
    assert config.seed == 7 and config.world.width == 50.0 and config.resources.storage.value == "memmap"
    path = tmp_path / "run.json"
    path.write_text(config.to_json())
    assert load_config(path) == config


def test_unreadable_and_malformed_files_are_value_errors(tmp_path):
    with pytest.raises(ValueError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(ValueError, match="cannot parse config file"):
        load_config(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"agents": {"wizards": 3}}))
    with pytest.raises(ValueError, match="wizards"):
        load_config(wrong)


def test_agentfarm_preset_is_the_workload_users_run():
    from farm.config import SimulationConfig
    from farm.decision.config import NetworkKind, PolicyKind, SharingMode
    from farm.observation.config import ALL_CHANNELS, ResourceInterpolation
    from farm.storage.config import PragmaProfile

    config = SimulationConfig.preset("agentfarm")
    assert (config.world.width, config.world.height) == (100.0, 100.0)
    assert config.agents.counts() == (34, 33, 33)
    assert config.observation.channels == ALL_CHANNELS and config.observation.radius == 5
    assert config.observation.interpolation is ResourceInterpolation.BILINEAR
    assert [config.decision.policy_for(t) for t in ("system", "independent", "control")] == [PolicyKind.DDQN] * 3
    assert config.decision.sharing is SharingMode.SHARED and config.decision.network.kind is NetworkKind.MLP
    assert config.storage.db_path == "simulation.db" and config.storage.pragma_profile is PragmaProfile.BALANCED
    assert SimulationConfig.preset("light") == SimulationConfig()
    with pytest.raises(ValueError, match="'nope'"):
        SimulationConfig.preset("nope")
