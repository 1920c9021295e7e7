"""Hand-computed deposits and decay of the persistent channels."""

import numpy as np
import pytest
from observation_fixtures import make_builder, make_resources, make_state, make_step_log

from farm.core.actions import Action

PASS, MOVE, SHARE, DEFEND = Action.PASS, Action.MOVE, Action.SHARE, Action.DEFEND


def _centre(builder, channel, row=0):
    r = builder.grid.radius
    return float(builder.build()[row, builder.channel_names.index(channel), r, r])


def test_trails_deposit_decay_and_cap():
    state = make_state([[3.5, 3.5], [3.2, 3.8]], types=[0, 1])
    with make_builder(state, make_resources(np.zeros((0, 2))), 10.0, 10.0, radius=2,
                      channels=("TRAILS",), trails_decay=0.1) as b:
        b.end_step(make_step_log(state, [MOVE, PASS]))
        assert _centre(b, "TRAILS") == pytest.approx(1.0)
        b.end_step(make_step_log(state, [PASS, PASS]))
        assert _centre(b, "TRAILS") == pytest.approx(0.9)
        b.end_step(make_step_log(state, [PASS, PASS]))
        assert _centre(b, "TRAILS") == pytest.approx(0.81)
        b.end_step(make_step_log(state, [MOVE, MOVE]))  # 0.729 + 2 -> capped at 1
        assert _centre(b, "TRAILS") == pytest.approx(1.0)
        b.end_step(make_step_log(state, [MOVE, PASS], success=[False, True]))  # failed move: no trail
        assert _centre(b, "TRAILS") == pytest.approx(0.9)


def test_damage_heat_from_attacks():
    state = make_state([[3.5, 3.5], [6.5, 6.5]], types=[0, 1])
    target = int(state.ids[1])
    with make_builder(state, make_resources(np.zeros((0, 2))), 10.0, 10.0, radius=3,
                      channels=("DAMAGE_HEAT",), damage_heat_decay=0.2) as b:
        b.end_step(make_step_log(state, [PASS, PASS], attacks=[(0, target, 30.0)]))
        out = b.build()
        assert out[1, 0, 3, 3] == pytest.approx(0.3)
        assert out[0, 0, 6, 6] == pytest.approx(0.3)  # the other agent sees it 3 cells up-right
        assert np.count_nonzero(out[1, 0]) == 1
        b.end_step(make_step_log(state, [PASS, PASS], attacks=[(0, target, 10.0)]))
        assert _centre(b, "DAMAGE_HEAT", row=1) == pytest.approx(0.3 * 0.8 + 0.1)
        b.end_step(make_step_log(state, [PASS, PASS]))
        assert _centre(b, "DAMAGE_HEAT", row=1) == pytest.approx((0.3 * 0.8 + 0.1) * 0.8)


def test_ally_signal_reaches_allies_only():
    # system (0) defends, control (2) shares; observers: system, independent, control.
    state = make_state([[2.5, 2.5], [3.5, 2.5], [4.5, 2.5], [2.5, 3.5]], types=[0, 1, 2, 0])
    with make_builder(state, make_resources(np.zeros((0, 2))), 10.0, 10.0, radius=3,
                      channels=("ALLY_SIGNAL",), ally_signal_decay=0.5) as b:
        b.end_step(make_step_log(state, [DEFEND, PASS, SHARE, PASS]))
        out = b.build()[:, 0]
        # Observer 3 (system, at (2, 3)): sees agent 0's signal one row below, not control's.
        assert out[3, 2, 3] == pytest.approx(1.0) and np.count_nonzero(out[3]) == 1
        assert out[1].max() == 0.0  # independent agents have no allies
        assert out[2, 3, 3] == pytest.approx(1.0) and np.count_nonzero(out[2]) == 1
        b.end_step(make_step_log(state, [PASS, PASS, PASS, PASS]))
        assert b.build()[3, 0, 2, 3] == pytest.approx(0.5)


def test_known_empty_marks_seen_cells_without_resources():
    state = make_state([[5.5, 5.5]], types=[0])
    resources = make_resources([[6.5, 5.5], [4.5, 5.5]], [10.0, 0.0])  # right: resource, left: empty
    with make_builder(state, resources, 12.0, 12.0, radius=3, visibility_radius=1.0,
                      channels=("KNOWN_EMPTY",), known_empty_decay=0.25) as b:
        b.end_step(make_step_log(state, [PASS]))
        view = b.build()[0, 0]
        expected = np.zeros((7, 7))
        expected[[3, 2, 4, 3], [3, 3, 3, 2]] = 1.0  # disk of radius 1 minus the resource cell
        np.testing.assert_array_equal(view, expected)
        state.positions[0] = [9.5, 9.5]  # walk away: the old cells decay
        b.end_step(make_step_log(state, [MOVE]))
        state.positions[0] = [5.5, 5.5]
        assert b.build()[0, 0, 3, 2] == pytest.approx(0.75)
        resources.amounts[0] = 0.0  # the resource is gone: seen again, now known empty
        b.end_step(make_step_log(state, [PASS]))
        assert b.build()[0, 0, 3, 4] == pytest.approx(1.0)


def test_known_empty_reads_where_the_nodes_are_now():
    """KNOWN_EMPTY keeps the nodes' cells between steps; a node that moves into a seen cell makes
    it 0 there, and the cell it left becomes 1."""
    state = make_state([[5.5, 5.5]], types=[0])
    resources = make_resources([[6.5, 5.5]], [10.0])  # right of the agent
    with make_builder(state, resources, 12.0, 12.0, radius=3, visibility_radius=1.0,
                      channels=("KNOWN_EMPTY",), known_empty_decay=0.25) as b:
        b.end_step(make_step_log(state, [PASS]))
        view = b.build()[0, 0]
        assert view[3, 4] == 0.0 and view[2, 3] == 1.0
        resources.positions[0] = [5.5, 4.5]  # moves to the cell below the agent (y - 1: row 2)
        b.end_step(make_step_log(state, [PASS]))
        view = b.build()[0, 0]
        assert view[3, 4] == 1.0 and view[2, 3] == 0.0
