"""Every spatial index kind gives the identical simulation for the same config and seed."""

from __future__ import annotations

import numpy as np
import pytest

from farm import Simulation, SimulationConfig
from farm.spatial import KDTreeIndex, QuadtreeIndex, SpatialHashIndex

KIND_CLASSES = {"kdtree": KDTreeIndex, "quadtree": QuadtreeIndex, "spatial_hash": SpatialHashIndex}


def _run(index: str, update_mode: str = "batched", steps: int = 30):
    config = SimulationConfig().with_overrides(
        {
            "seed": 11,
            "agents.system": 100,
            "agents.independent": 100,
            "agents.control": 100,
            "spatial.index": index,
            "spatial.update_mode": update_mode,
        }
    )
    with Simulation(config) as sim:
        assert isinstance(sim.agent_index, KIND_CLASSES[index])
        assert isinstance(sim.resource_index, KIND_CLASSES[index])
        sim.run(steps)
        assert sim.agent_index.stats().size == len(sim.state.ids)
        return sim.state.copy(), sim.resources.amounts.copy()


def test_every_index_kind_gives_the_same_simulation():
    reference, reference_amounts = _run("kdtree")
    assert len(reference.ids) > 0
    for kind in ("quadtree", "spatial_hash"):
        state, amounts = _run(kind)
        assert state.equals(reference), kind
        assert np.array_equal(amounts, reference_amounts), kind


@pytest.mark.parametrize("kind", ["kdtree", "quadtree"])
def test_immediate_and_batched_modes_give_the_same_simulation(kind):
    batched, _ = _run(kind, "batched", steps=15)
    immediate, _ = _run(kind, "immediate", steps=15)
    assert batched.equals(immediate)
