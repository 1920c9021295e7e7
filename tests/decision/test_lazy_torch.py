"""What the engine imports lazily, checked in fresh interpreters: torch (1.5 s, 275 MB) only for a
learning policy, and torch._dynamo (~65 MiB) never, training included."""

PROGRAM = """
import sys
import farm, farm.config, farm.decision, farm.decision.config, farm.decision.base
import farm.decision.replay_buffer, farm.decision.transitions
from farm.core.simulation import Simulation
from farm.decision import PolicyKind, make_policy
config = farm.config.SimulationConfig().with_overrides({"decision.system": "ddqn"})
make_policy(PolicyKind.RANDOM, config.decision, 0, (4, 11, 11), seed=0)
make_policy(PolicyKind.RULE, config.decision, 0, (4, 11, 11), seed=0)
with Simulation(farm.config.SimulationConfig().with_overrides({"decision.control": "rule"})) as sim:
    sim.run(3)
assert "torch" not in sys.modules, "torch imported without a learning policy being built"
import farm.decision.ddqn
assert "torch" in sys.modules
print("ok")
"""


def test_torch_is_imported_only_by_the_learning_modules(fresh_python):
    fresh_python(PROGRAM)


TRAINING_PROGRAM = """
import sys
import torch
from farm.config import SimulationConfig
from farm.core.simulation import Simulation
config = SimulationConfig.preset("agentfarm").with_overrides({
    "agents.system": 4, "agents.independent": 4, "agents.control": 4, "storage.db_path": None,
    "decision.ddqn": {"learning_starts": 8, "batch_size": 8, "train_every": 1},
})
with Simulation(config) as sim:
    sim.run(6)
    trained = sum(learner.train_steps for policy in sim.policies.values() for learner in policy.learners.values())
assert trained > 0, "no training step ran"
assert "torch._dynamo" not in sys.modules, "training imported torch._dynamo"
print("ok")
"""


def test_training_does_not_import_torch_dynamo(fresh_python):
    """torch.optim.Optimizer would import it (see farm.decision.adam)."""
    fresh_python(TRAINING_PROGRAM, timeout=120)
