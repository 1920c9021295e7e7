"""tools/step_instructions.py: its builder steps the preset at the asked size, bad input is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / "tools" / "step_instructions.py"
sys.path.insert(0, str(TOOL.parent))

import step_instructions  # noqa: E402


def test_builder_returns_the_step_of_the_preset_at_that_size(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the log file goes into the working directory
    step = step_instructions.build_step(30, "off")
    simulation = step.__self__
    agents = simulation.config.agents
    assert agents.system + agents.independent + agents.control == 30
    assert simulation.config.decision.ddqn.learning_starts == 10**9
    assert simulation.step_index == step_instructions.STEP_WARMUP
    step()
    assert simulation.step_index == step_instructions.STEP_WARMUP + 1
    simulation.close()
    assert (tmp_path / "step30.db").exists()


@pytest.mark.parametrize("argv, message", [
    (["HEAD", "--agents", "2"], "--agents must be at least 3"),
    (["no-such-rev"], "unknown revision 'no-such-rev'"),
    ([], "name at least one commit"),
])
def test_bad_input_is_one_line_with_exit_2(argv, message):
    done = subprocess.run([sys.executable, str(TOOL), *argv], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert message in done.stderr
    assert len([line for line in done.stderr.splitlines() if message in line]) == 1
