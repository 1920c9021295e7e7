"""Each rule of farm.core.rules called directly on hand-built arrays, against hand-computed truth."""

import numpy as np
import pytest

from farm.core import rules
from farm.core.actions import Action

BOUNDS = np.array([100.0, 50.0])
I64 = np.int64


def rows(*values):
    return np.array(values, dtype=I64)


def test_move_seeks_its_node_stops_on_it_wanders_and_is_clamped():
    positions = np.array([[10.0, 10.0], [50.0, 20.0], [99.0, 25.0], [30.0, 30.0], [5.0, 5.0]])
    nodes = np.array([[13.0, 14.0], [51.0, 20.0], [30.0, 30.0]])
    move_target = rows(0, 1, -1, 2, -1)
    before = positions.copy()
    # Agent 4 does not move; 2 wanders east (angle 0) into the wall; 3 sits on its node.
    moved = rules.move(positions, rows(0, 1, 2, 3), move_target, nodes, np.array([0.0]), 2.0, BOUNDS)
    np.testing.assert_array_equal(moved.rows, [0, 1, 2, 3])
    # 0: distance 5 along (3, 4) -> 2 units: (10 + 1.2, 10 + 1.6); 1: 1 unit away -> stops on it;
    # 2: (99 + 2, 25) clamped to x = 100; 3: already there.
    np.testing.assert_allclose(moved.positions, [[11.2, 11.6], [51.0, 20.0], [100.0, 25.0], [30.0, 30.0]])
    assert moved.success.tolist() == [True, True, True, False]
    np.testing.assert_array_equal(positions, before)  # pure


def test_move_wander_angles_follow_the_order_of_movers():
    positions = np.array([[20.0, 20.0], [40.0, 20.0], [60.0, 20.0]])
    moved = rules.move(positions, rows(0, 2), rows(-1, -1, -1), np.zeros((0, 2)),
                       np.array([np.pi / 2, np.pi]), 3.0, BOUNDS)
    np.testing.assert_allclose(moved.positions, [[20.0, 23.0], [57.0, 20.0]], atol=1e-12)


def test_gather_grants_in_full_when_it_fits_and_splits_in_proportion_when_not():
    amounts = np.array([10.0, 3.0, 0.5])
    target = rows(0, 1, 1, -1, 2)
    gathered = rules.gather(rows(0, 1, 2, 4), target, amounts, 2.0)
    np.testing.assert_array_equal(gathered.nodes, [0, 1, 1, 2])
    # node 0: one request of 2 fits in 10; node 1: 4 asked of 3 -> 1.5 each; node 2: 2 of 0.5.
    np.testing.assert_allclose(gathered.granted, [2.0, 1.5, 1.5, 0.5])
    np.testing.assert_array_equal(gathered.drawn_nodes, [0, 1, 2])
    np.testing.assert_allclose(gathered.taken, [2.0, 3.0, 0.5])
    np.testing.assert_array_equal(amounts, [10.0, 3.0, 0.5])  # pure


def test_gather_with_no_gatherers_is_empty():
    gathered = rules.gather(rows(), rows(0, 1), np.array([1.0, 1.0]), 2.0)
    assert gathered.granted.shape == (0,) and gathered.drawn_nodes.shape == (0,) and gathered.taken.shape == (0,)


def test_share_gives_at_most_share_amount_of_what_the_giver_had_and_gifts_add_up():
    resources = np.array([4.0, 0.5, 7.0, 1.0])
    ally = rows(1, 3, 1, -1)
    shared = rules.share(rows(0, 1, 2), ally, resources, 1.0)
    np.testing.assert_array_equal(shared.receivers, [1, 3, 1])
    np.testing.assert_allclose(shared.gifts, [1.0, 0.5, 1.0])
    np.testing.assert_allclose(shared.received, [0.0, 2.0, 0.0, 0.5])


def test_defend_flags_the_defenders():
    actions = rows(Action.DEFEND, Action.ATTACK, Action.PASS, Action.DEFEND)
    assert rules.defend(actions).tolist() == [True, False, False, True]


def test_attack_hits_add_up_and_defence_scales_each_hit():
    defending = np.array([False, True, False, False])
    enemy = rows(2, 0, 0, 1)
    hits = rules.attack(rows(1, 2, 3), enemy, defending, 10.0, 0.5)
    np.testing.assert_array_equal(hits.victims, [0, 0, 1])
    np.testing.assert_allclose(hits.damage, [10.0, 10.0, 5.0])
    np.testing.assert_allclose(hits.damage_taken, [20.0, 5.0, 0.0, 0.0])


def test_reproduce_takes_the_lowest_rows_the_cap_leaves_room_for():
    actions = rows(Action.REPRODUCE, Action.PASS, Action.REPRODUCE, Action.REPRODUCE, Action.MOVE)
    assert rules.reproduce(actions, population_cap=7).tolist() == [0, 2]
    assert rules.reproduce(actions, population_cap=100).tolist() == [0, 2, 3]
    assert rules.reproduce(actions, population_cap=5).tolist() == []
    assert rules.reproduce(actions, population_cap=3).tolist() == []  # over the cap already


def test_place_offspring_adds_the_offset_and_clamps_to_the_world():
    children = rules.place_offspring(np.array([[10.0, 10.0], [99.0, 1.0]]),
                                     np.array([[1.5, -2.0], [2.0, -2.0]]), BOUNDS)
    np.testing.assert_allclose(children, [[11.5, 8.0], [100.0, 0.0]])


def test_death_consumes_counts_starvation_and_kills():
    resources = np.array([5.0, 0.2, 0.3, 0.0, 4.0])
    health = np.array([100.0, 100.0, 100.0, 100.0, 0.0])
    starvation = np.array([2, 0, 1, 3, 0], dtype=np.int32)
    upkeep = rules.death(resources, health, starvation, consumption=0.3, starvation_threshold=3)
    np.testing.assert_allclose(upkeep.resources, [4.7, 0.0, 0.0, 0.0, 3.7])
    # 0: fed -> reset; 1: 0.2 - 0.3 < 0 -> 1; 2: exactly 0 left counts as starving; 3: 4 > 3 dies.
    assert upkeep.starvation.tolist() == [0, 1, 2, 4, 0] and upkeep.starvation.dtype == np.int32
    assert upkeep.died.tolist() == [False, False, False, True, True]  # 4: health 0
    np.testing.assert_array_equal(resources, [5.0, 0.2, 0.3, 0.0, 4.0])  # pure


def test_reward_weighs_resources_health_and_survival():
    got = rules.reward(
        resources_before=np.array([5.0, 5.0]), resources_after=np.array([6.0, 4.7]),
        health_before=np.array([100.0, 10.0]), health_after=np.array([100.0, 0.0]),
        died=np.array([False, True]), health_reward_weight=0.1, death_penalty=10.0, survival_bonus=0.1,
    )
    assert got.tolist() == pytest.approx([1.0 + 0.1, -0.3 - 1.0 - 10.0])
