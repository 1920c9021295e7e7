"""The soak: the sustaining world holds its population, a small soak's figures are sane, and the
suite's --soak mode writes its section and plot."""

from __future__ import annotations

import numpy as np
import pytest

from farm import Simulation
from farm.profiling.soak import (
    SUSTAINING_RESOURCES,
    replay_buffers_full,
    rss_growth_per_1000_steps,
    run_soak,
    soak_config,
    soak_section,
)
from farm.profiling.suite import SoakSizes, main, run_suite

RANDOM = {"decision.system": "random", "decision.independent": "random", "decision.control": "random"}
MIB = 1024**2


def _population_after(config, steps: int) -> int:
    with Simulation(config) as sim:
        sim.run(steps)
        return len(sim.state)


def test_the_sustaining_world_holds_1000_agents_near_the_cap_and_the_default_world_does_not():
    # Random policies keep this cheap; the learning soak below checks the same with DDQN at 200 agents.
    sustained = soak_config(1_000, ":memory:", seed=3, overrides=RANDOM)
    assert sustained.agents.population_cap == 1_000
    assert _population_after(sustained, 150) >= 0.7 * 1_000
    default_resources = {key: getattr(type(sustained.resources)(), key.split(".")[1]) for key in SUSTAINING_RESOURCES}
    default_resources = {k: (v.value if hasattr(v, "value") else v) for k, v in default_resources.items()}
    starving = soak_config(1_000, ":memory:", seed=3, overrides={**RANDOM, **default_resources})
    assert _population_after(starving, 150) < 0.5 * 1_000  # the problem the variant solves


def test_rss_growth_against_a_hand_computed_line():
    steps = np.arange(100, 1100)
    rss = (200 * MIB + 3 * MIB * (steps - 100) / 1000).astype(np.int64)  # +3 MiB per 1000 steps from 200 MiB
    per_1000, percent = rss_growth_per_1000_steps(steps, rss)
    assert per_1000 == pytest.approx(3 * MIB, rel=1e-3)
    assert percent == pytest.approx(1.5, rel=1e-3)
    assert np.isnan(rss_growth_per_1000_steps(np.array([5]), np.array([1]))[0])


def test_replay_buffers_full_is_none_without_a_replay_buffer():
    with Simulation(soak_config(30, ":memory:", overrides=RANDOM)) as sim:
        assert replay_buffers_full(sim) is None


@pytest.fixture(scope="module")
def small_soak(tmp_path_factory):
    """200 agents x 300 steps of the learning preset; small buffers so they fill early."""
    work = tmp_path_factory.mktemp("soak")
    return run_soak(200, 300, seed=5, work_dir=work, overrides={"decision.ddqn.buffer_size": 2_000}), work


def test_a_small_learning_soak_measures_sane_figures(small_soak):
    result, work = small_soak
    assert result.step_seconds.shape == result.step_rss.shape == result.population.shape == (300,)
    assert np.all(result.step_seconds > 0)
    assert result.latency_ms(50) <= result.latency_ms(99) <= 1e3 * result.step_seconds.max() + 1e-9
    assert result.min_population_share >= 0.7  # learning on, the population stays near its cap
    # 2000-transition buffers at ~67 agents of a type per step fill within ~30 steps (checked every 10).
    assert result.buffers_full_step is not None and result.buffers_full_step <= 60
    assert result.leak_window_start == max(result.buffers_full_step, 30)
    usage = result.usage
    assert usage.peak_rss_bytes >= usage.average_rss_bytes >= usage.sample_rss.min()
    assert usage.peak_rss_bytes >= result.step_rss.max() - 4 * MIB  # the sampler's peak vs per-step readings
    # Every step logged 200 agents: the database holds at least a few bytes per agent-step.
    assert result.db_bytes >= 300 * 200 * 8
    assert (work / "soak.db").exists()
    growth_bytes, growth_percent = result.rss_growth
    assert np.isfinite(growth_bytes) and abs(growth_percent) < 100


def test_the_soak_section_has_its_table_and_plot(small_soak):
    result, _ = small_soak
    section = soak_section(result)
    text = "\n".join(str(block) for block in section.blocks)
    for label in ("step latency p50 / p95 / p99", "peak RSS", "average RSS", "database on disk",
                  "RSS growth per 1000 steps", "leak check"):
        assert label in text, label
    figures = [b for b in section.blocks if getattr(b, "png", None)]
    assert len(figures) == 1 and figures[0].png.startswith(b"\x89PNG")


def test_suite_soak_mode_writes_the_report_section_and_plot(tmp_path):
    result = run_suite(tmp_path / "r", soak=SoakSizes(agents=30, steps=20), seed=1)
    markdown = result.files.markdown.read_text()
    assert "## Soak run" in markdown and "Phase 1" not in markdown
    assert "Soak: 30 agents x 20 steps" in markdown
    assert (tmp_path / "r" / "figures" / "soak_timeline.png").read_bytes().startswith(b"\x89PNG")


def test_suite_cli_rejects_a_too_small_soak(tmp_path):
    with pytest.raises(SystemExit):
        main(["--soak", "--soak-steps", "2", "--output", str(tmp_path / "x")])
