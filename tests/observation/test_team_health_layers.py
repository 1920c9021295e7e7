"""ALLIES_HP / ENEMIES_HP world layers, bit for bit against the whole-layer formulation.

The truth is the formulation the channels used before they touched only occupied cells: one
bincount of health over every (agent type, padded cell), then ``membership @ per_type`` over the
whole layer in float64, cast to the float32 stack. The layers must equal it exactly after every
refresh, so that cells the previous refresh wrote and nobody occupies now are cleared.
"""

import numpy as np
import pytest
from observation_fixtures import make_builder, random_world

from farm.core.state import ALLY_MATRIX


def _whole_layer_truth(builder, allies: bool) -> np.ndarray:
    """``(3, Hp, Wp) float32`` team-health layers computed over every cell of the padded world."""
    state = builder.context.state
    grid = builder.grid
    live = state.alive
    gy, gx = grid.cells_of(state.positions[live])
    flat = grid.padded_flat(gy, gx)
    hp, wp = grid.padded_shape
    types = state.agent_types[live].astype(np.intp)
    health = state.health[live] / builder.context.max_health
    per_type = np.bincount(types * hp * wp + flat, health, minlength=3 * hp * wp).reshape(3, hp * wp)
    membership = (ALLY_MATRIX if allies else ~ALLY_MATRIX).astype(np.float64)
    return (membership @ per_type).astype(np.float32).reshape(3, hp, wp)


def _team_layers(builder, name: str) -> np.ndarray:
    return next(ch for ch in builder.channels if ch.name == name).layers


@pytest.mark.parametrize("width, height, agents", [(40.0, 30.0, 60), (500.0, 500.0, 300), (20.0, 20.0, 400)])
def test_team_health_layers_equal_the_whole_layer_sums_across_moves_and_deaths(width, height, agents):
    state, resources = random_world(agents, 20, width, height, seed=agents)
    builder = make_builder(state, resources, width=width, height=height, channels=("ALLIES_HP", "ENEMIES_HP"))
    rng = np.random.default_rng(1)
    for round_ in range(6):
        builder.build()
        for name, allies in (("ALLIES_HP", True), ("ENEMIES_HP", False)):
            np.testing.assert_array_equal(_team_layers(builder, name), _whole_layer_truth(builder, allies),
                                          err_msg=f"{name} after build {round_}")
        # Move a third of the agents (some leave cells nobody else occupies), change health,
        # kill a few: the next refresh must clear what this one wrote.
        moved = rng.random(len(state)) < 0.33
        state.positions[moved] = rng.random((int(moved.sum()), 2)) * [width, height]
        state.health[:] = rng.uniform(1.0, 100.0, len(state))
        state.alive[rng.random(len(state)) < 0.05] = False


def test_a_cell_left_empty_reads_zero_on_the_next_build():
    state, resources = random_world(3, 0, 40.0, 30.0, seed=0)
    state.positions[:] = [[5.5, 5.5], [30.2, 20.1], [12.0, 25.0]]
    state.agent_types[:] = [0, 1, 2]
    builder = make_builder(state, resources, channels=("ALLIES_HP", "ENEMIES_HP"))
    builder.build()
    assert _team_layers(builder, "ENEMIES_HP").any()
    state.alive[:] = False
    builder.build()
    for name in ("ALLIES_HP", "ENEMIES_HP"):
        assert not _team_layers(builder, name).any(), name


def test_the_shared_team_sums_are_dropped_before_the_gather(monkeypatch):
    """ALLIES_HP and ENEMIES_HP share one per-type sum per build; the builder must not keep it
    through the gather (it would add to the build's peak memory) or into the next build."""
    state, resources = random_world(200, 10, 60.0, 60.0, seed=3)
    builder = make_builder(state, resources, channels=("ALLIES_HP", "ENEMIES_HP", "SELF_HP"))
    held_during_gather = []
    gather = builder._gather

    def spying_gather(*args):
        held_during_gather.append(set(builder.context.per_build))
        return gather(*args)

    monkeypatch.setattr(builder, "_gather", spying_gather)
    builder.build()
    builder.build()
    assert held_during_gather == [{"agent_cells"}, {"agent_cells"}]
