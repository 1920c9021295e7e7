"""Each action rule on a small hand-built scenario with a known outcome."""

import numpy as np
import pytest

from farm import Action, AgentType
from tests.conftest import scripted_sim

S, IND, C = AgentType.SYSTEM, AgentType.INDEPENDENT, AgentType.CONTROL


def test_move_heads_to_nearest_perceived_node_and_stops_on_it():
    sim = scripted_sim(
        [{"x": 10, "y": 10, "type": C}, {"x": 50, "y": 50, "type": C}],
        nodes=[(13.0, 10.0), (51.0, 50.0)],
    )
    sim.plan = {0: Action.MOVE, 1: Action.MOVE}
    sim.step()
    np.testing.assert_allclose(sim.state.positions, [[12.0, 10.0], [51.0, 50.0]])


def test_move_without_target_goes_move_speed_in_some_direction_and_is_clamped():
    sim = scripted_sim([{"x": 50, "y": 50, "type": C}, {"x": 0, "y": 0, "type": C}], nodes=[])
    sim.plan = {0: Action.MOVE, 1: Action.MOVE}
    sim.step()
    p = sim.state.positions
    assert np.hypot(*(p[0] - [50, 50])) == pytest.approx(2.0)
    assert np.all(p[1] >= 0) and np.all(p[1] <= 2.0)


def test_gather_takes_gather_amount():
    sim = scripted_sim([{"x": 10, "y": 10, "type": C, "resources": 5}], nodes=[(11, 10, 20.0)])
    sim.plan = {0: Action.GATHER}
    log = sim.step()
    # 5 + 2 gathered - 0.3 consumed
    assert sim.state.resources[0] == pytest.approx(6.7)
    assert sim.resources.amounts[0] == pytest.approx(18.0)
    assert log.action_success[0] and log.action_targets[0] == 0


def test_competing_gatherers_split_an_oversubscribed_node_in_proportion():
    sim = scripted_sim(
        [{"x": 10, "y": 10, "type": C, "resources": 5}, {"x": 12, "y": 10, "type": S, "resources": 5}],
        nodes=[(11, 10, 3.0)],
    )
    sim.plan = {0: Action.GATHER, 1: Action.GATHER}
    sim.step()
    np.testing.assert_allclose(sim.state.resources, [5 + 1.5 - 0.3, 5 + 1.5 - 0.3])
    assert sim.resources.amounts[0] == 0.0


def test_gather_is_masked_out_of_range():
    sim = scripted_sim([{"x": 10, "y": 10, "type": C}], nodes=[(14, 10)])
    _, mask = sim.observe()
    assert not mask[0, Action.GATHER] and mask[0, Action.MOVE]


def test_share_goes_to_nearest_ally_and_gifts_add_up():
    agents = [
        {"x": 10, "y": 10, "type": S, "resources": 4},
        {"x": 11, "y": 10, "type": S, "resources": 4},
        {"x": 12.5, "y": 10, "type": S, "resources": 4},
        {"x": 10.5, "y": 10, "type": IND, "resources": 4},  # nearer, but not an ally
    ]
    sim = scripted_sim(agents)
    sim.plan = {0: Action.SHARE, 2: Action.SHARE}
    sim.step()
    # agent 1 receives from both 0 and 2
    np.testing.assert_allclose(sim.state.resources, [3 - 0.3, 6 - 0.3, 3 - 0.3, 4 - 0.3])


def test_independent_agents_have_no_allies():
    sim = scripted_sim([{"x": 10, "y": 10, "type": IND}, {"x": 11, "y": 10, "type": IND}])
    _, mask = sim.observe()
    assert not mask[:, Action.SHARE].any() and mask[:, Action.ATTACK].all()


def test_attacks_add_up_and_defence_halves_each_hit():
    agents = [
        {"x": 10, "y": 10, "type": IND},
        {"x": 11, "y": 10, "type": S},
        {"x": 9, "y": 10, "type": C},
        {"x": 40, "y": 40, "type": IND},
        {"x": 41, "y": 40, "type": S},
    ]
    sim = scripted_sim(agents)
    sim.plan = {1: Action.ATTACK, 2: Action.ATTACK, 3: Action.ATTACK, 4: Action.DEFEND}
    sim.step()
    health = dict(zip(sim.state.ids.tolist(), sim.state.health.tolist()))
    assert health[0] == 80.0  # two undefended hits of 10
    assert health[4] == 95.0  # one hit of 10, halved by DEFEND


def test_health_zero_kills_and_death_penalty_applies():
    sim = scripted_sim([{"x": 10, "y": 10, "type": IND, "health": 10}, {"x": 11, "y": 10, "type": S}])
    sim.plan = {1: Action.ATTACK}
    log = sim.step()
    assert log.died_ids.tolist() == [0]
    assert sim.state.ids.tolist() == [1]
    # reward of the dead agent: -0.3 resources, -10 health * 0.1, -10 death penalty
    assert log.rewards[0] == pytest.approx(-0.3 - 1.0 - 10.0)
    assert log.rewards[1] == pytest.approx(-0.3 + 0.1)


def test_starvation_counter_and_death_past_threshold():
    sim = scripted_sim(
        [{"x": 10, "y": 10, "type": C, "resources": 0.2, "starvation": 0},
         {"x": 20, "y": 10, "type": C, "resources": 0.0, "starvation": 3}],
        starvation_threshold=3,
    )
    log = sim.step()
    assert log.died_ids.tolist() == [1]
    assert sim.state.starvation.tolist() == [1]
    assert sim.state.resources.tolist() == [0.0]


def test_reproduce_places_child_nearby_and_costs_the_parent():
    sim = scripted_sim([{"x": 50, "y": 50, "type": S, "resources": 20}])
    sim.plan = {0: Action.REPRODUCE}
    log = sim.step()
    assert sim.state.ids.tolist() == [0, 1]
    assert sim.state.resources.tolist() == pytest.approx([20 - 10 - 0.3, 5.0])
    assert sim.state.parent_ids.tolist() == [-1, 0]
    assert sim.state.generation.tolist() == [0, 1]
    assert np.all(np.abs(sim.state.positions[1] - [50, 50]) <= 2.0)
    assert log.born_ids.tolist() == [1] and log.action_targets[0] == 1


def test_population_cap_lets_lowest_ids_reproduce_first():
    agents = [{"x": 10 * k, "y": 10, "type": C, "resources": 20} for k in range(1, 4)]
    sim = scripted_sim(agents, max_population=4)
    sim.plan = {0: Action.REPRODUCE, 1: Action.REPRODUCE, 2: Action.REPRODUCE}
    _, mask = sim.observe()
    assert mask[:, Action.REPRODUCE].all()
    log = sim.step()
    assert log.born_parent_ids.tolist() == [0]
    assert len(sim.state) == 4


def test_ids_are_never_reused_after_deaths():
    sim = scripted_sim(
        [{"x": 10, "y": 10, "type": IND, "health": 5}, {"x": 11, "y": 10, "type": S, "resources": 20}]
    )
    sim.plan = {1: Action.ATTACK}
    sim.step()
    sim.plan = {1: Action.REPRODUCE}
    log = sim.step()
    assert log.born_ids.tolist() == [2]
    assert sim.state.ids.tolist() == [1, 2]
