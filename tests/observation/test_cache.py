"""Observation cache: reuse when nothing in view changed; rebuild on a move, a neighbour's move,
a resource change, a health change or a persistent update."""

import numpy as np
import pytest
from observation_fixtures import make_builder, make_resources, make_state, make_step_log

from farm.core.actions import Action
from farm.observation import ALL_CHANNELS


def _world():
    # Agents 0 and 1 are neighbours; agent 2 is far away. Radius 2.
    state = make_state([[5.5, 5.5], [6.5, 5.5], [25.5, 25.5]], types=[0, 0, 1], health=[50.0, 60.0, 70.0])
    resources = make_resources([[6.0, 6.5], [24.5, 24.5]], [10.0, 20.0])
    return state, resources


def _check(cached, state, resources, source, reused):
    """The cached build equals the reference of every agent, and reused exactly ``reused``."""
    out = cached.build()
    reference = np.stack([cached.build_one(int(i)) for i in state.ids])
    np.testing.assert_allclose(out, reference, atol=1e-6)
    assert cached.last_reused == reused


@pytest.mark.parametrize("source", ["grid", "spatial", "memmap"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_invalidation(source, interpolation):
    state, resources = _world()
    with make_builder(state, resources, 30.0, 30.0, radius=2, cache=True, resource_source=source,
                      interpolation=interpolation,
                      channels=("SELF_HP", "ALLIES_HP", "ENEMIES_HP", "RESOURCES")) as b:
        _check(b, state, resources, source, reused=0)
        _check(b, state, resources, source, reused=3)  # nothing changed
        state.positions[0] = [5.9, 5.1]  # moves within its cell: identical observation
        _check(b, state, resources, source, reused=3)
        state.positions[1] = [7.5, 5.5]  # a neighbour moves: 0 and 1 rebuilt, 2 reused
        _check(b, state, resources, source, reused=1)
        state.positions[2] = [24.5, 25.5]  # a move: only the mover
        _check(b, state, resources, source, reused=2)
        resources.amounts[1] = 3.0  # a resource near agent 2 changes
        _check(b, state, resources, source, reused=2)
        resources.amounts[0] = 0.0  # a resource near agents 0 and 1
        _check(b, state, resources, source, reused=1)
        state.health[2] = 10.0  # own health (SELF_HP)
        _check(b, state, resources, source, reused=2)


def test_persistent_update_and_population_change():
    state, resources = _world()
    # KNOWN_EMPTY is left out: every agent's own surroundings change in it each step.
    channels = tuple(c for c in ALL_CHANNELS if c != "KNOWN_EMPTY")
    with make_builder(state, resources, 30.0, 30.0, radius=2, cache=True, channels=channels) as b:
        b.build()
        b.end_step(make_step_log(state, [Action.MOVE, Action.PASS, Action.PASS]))
        _check(b, state, resources, "grid", reused=1)  # trails at agent 0's cell: 0 and 1 see it
        state.alive[1] = False
        state.compact()
        state.append(np.array([[15.5, 15.5]]), np.array([2]), np.ones(1), np.full(1, 80.0), np.zeros(1), np.zeros(1))
        # Agent 1 vanished from agent 0's view (rebuilt), agent 2 reused, the newborn built.
        _check(b, state, resources, "grid", reused=1)
        b.invalidate_cache()
        _check(b, state, resources, "grid", reused=0)


def test_cache_off_by_default():
    state, resources = _world()
    with make_builder(state, resources, 30.0, 30.0) as b:
        b.build()
        b.build()
        assert b.last_reused == 0


def test_known_empty_update_rebuilds_every_observer():
    state, resources = _world()
    with make_builder(state, resources, 30.0, 30.0, radius=2, cache=True, channels=ALL_CHANNELS) as b:
        b.build()
        _check(b, state, resources, "grid", reused=3)
        b.end_step(make_step_log(state, [Action.PASS] * 3))
        _check(b, state, resources, "grid", reused=0)
