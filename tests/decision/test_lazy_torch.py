"""``import farm`` and the non-learning decision path must not import torch (1.5 s, 275 MB)."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

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


def test_torch_is_imported_only_by_the_learning_modules(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], cwd=tmp_path, env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
