"""The reference builder on its own."""

import numpy as np


def test_reference_works_on_a_fresh_builder_without_a_batched_build():
    """build_one must not depend on state a previous batched build left behind."""
    from farm import Simulation, SimulationConfig

    config = SimulationConfig().with_overrides({"agents.system": 5, "agents.independent": 5, "agents.control": 5})
    with Simulation(config) as sim:
        fresh = sim.observation_builder.build_one(int(sim.state.ids[3]))
        batched = sim.observation_builder.build()[3]
    np.testing.assert_allclose(fresh, batched, atol=1e-6)
