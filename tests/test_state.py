import numpy as np
import pytest

from farm.core.state import ALLY_MATRIX, AgentState, AgentType


def _append(state, k, types=None):
    return state.append(
        positions=np.zeros((k, 2)), agent_types=np.zeros(k, np.int8) if types is None else types,
        resources=np.ones(k), health=np.full(k, 100.0), generation=np.zeros(k, np.int32),
        parent_ids=np.full(k, -1, np.int64),
    )


def test_append_gives_fresh_increasing_ids_and_compact_drops_dead_rows():
    state = AgentState()
    assert _append(state, 3).tolist() == [0, 1, 2]
    state.alive[1] = False
    assert state.compact().tolist() == [1]
    assert state.ids.tolist() == [0, 2]
    assert _append(state, 2).tolist() == [3, 4]
    assert state.rows_of(np.array([4, 0])).tolist() == [3, 0]
    for name in AgentState.FIELDS:
        assert getattr(state, name).shape[0] == 4


def test_rows_of_rejects_dead_or_unknown_ids():
    state = AgentState()
    _append(state, 2)
    with pytest.raises(KeyError):
        state.rows_of(np.array([7]))


def test_population_by_type_and_ally_matrix():
    state = AgentState()
    _append(state, 4, types=np.array([0, 1, 2, 2], np.int8))
    assert state.population_by_type().tolist() == [1, 1, 2]
    assert ALLY_MATRIX[AgentType.SYSTEM, AgentType.SYSTEM]
    assert not ALLY_MATRIX[AgentType.INDEPENDENT].any()
    assert not ALLY_MATRIX[AgentType.SYSTEM, AgentType.CONTROL]


def test_copy_and_equals():
    state = AgentState()
    _append(state, 3)
    other = state.copy()
    assert state.equals(other)
    other.positions[0, 0] = 1e-300
    assert not state.equals(other)
