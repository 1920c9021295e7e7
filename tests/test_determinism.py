import numpy as np

from farm import Simulation, SimulationConfig


def _config(seed=5, **extra):
    base = {"seed": seed, "agents.system": 40, "agents.independent": 40, "agents.control": 40}
    base.update(extra)
    return SimulationConfig().with_overrides(base)


def _final_state(config, steps):
    with Simulation(config) as sim:
        sim.run(steps)
        return sim.state.copy(), sim.resources.amounts.copy()


def test_same_seed_gives_bit_identical_state():
    a, ra = _final_state(_config(), 80)
    b, rb = _final_state(_config(), 80)
    assert a.equals(b) and np.array_equal(ra, rb)


def test_run_length_does_not_change_the_trajectory():
    config = _config()
    with Simulation(config) as sim:
        sim.run(30)
        sim.run(50)
        split = sim.state.copy()
    whole, _ = _final_state(config, 80)
    assert split.equals(whole)


def test_different_seeds_differ():
    a, _ = _final_state(_config(seed=1), 20)
    b, _ = _final_state(_config(seed=2), 20)
    assert not a.equals(b)


def test_resource_backends_give_the_same_simulation():
    states = [_final_state(_config(**{"resources.storage": s}), 40) for s in ("list", "array", "memmap")]
    for state, amounts in states[1:]:
        assert state.equals(states[0][0]) and np.array_equal(amounts, states[0][1])


def test_rule_policy_runs_deterministically():
    config = _config(**{"decision.system": "rule", "decision.independent": "rule", "decision.control": "rule"})
    a, _ = _final_state(config, 40)
    b, _ = _final_state(config, 40)
    assert a.equals(b)
