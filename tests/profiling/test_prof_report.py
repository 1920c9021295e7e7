"""Report rendering, the comparison table's option detection, and the whole suite end to end."""

from __future__ import annotations

import base64
import dataclasses
import re
import subprocess
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
import pytest

from farm.profiling import suite as suite_module
from farm.profiling.availability import ToolUnavailable
from farm.profiling.comparisons import (
    NOT_AVAILABLE,
    Comparison,
    OptionUnavailable,
    find_switch,
    plan_comparisons,
    run_comparison,
)
from farm.profiling.plots import Series, bar_plot, scaling_plot, timeline_plot
from farm.profiling.report import Figure, Preformatted, Report, Section, Table, Text, write_report
from farm.profiling.suite import SuiteSizes, run_suite


def test_markdown_and_html_hold_the_same_tables_and_figures(tmp_path):
    png = scaling_plot([Series("a", np.array([1.0, 2.0, 4.0]), np.array([1.0, 4.0, 16.0]))], "t", "x", "y")
    report = Report("R", (Section("S", (Text("hello <world>"), Table(("k", "v|x"), (("a", "1"), ("b", "2"))),
                                          Figure("fig_one", png, "a caption"), Preformatted("raw\n  text"))),))
    files = write_report(report, tmp_path)
    markdown = files.markdown.read_text()
    assert "| k | v\\|x |" in markdown and "| b | 2 |" in markdown
    assert "![a caption](figures/fig_one.png)" in markdown and "```text\nraw\n  text\n```" in markdown
    assert files.figures[0].read_bytes() == png
    page = files.html.read_text()
    assert "hello &lt;world&gt;" in page and "<td>b</td><td>2</td>" in page
    (embedded,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert base64.b64decode(embedded) == png
    assert "figures/" not in page  # self-contained


def test_report_blocks_validate():
    with pytest.raises(ValueError, match="cells"):
        Table(("a", "b"), (("1",),))
    with pytest.raises(ValueError, match="not a PNG"):
        Figure("x", b"GIF89a", "c")
    with pytest.raises(ValueError, match="figure name"):
        Figure("bad name", b"\x89PNG", "c")


def _pixels(png: bytes) -> np.ndarray:
    import io

    from matplotlib import image

    assert png.startswith(b"\x89PNG")
    return image.imread(io.BytesIO(png), format="png")  # (H, W, 4) floats in [0, 1]


def test_plots_are_pngs_that_draw_their_data():
    pairs = (
        (scaling_plot([Series("s", np.array([1.0, 10.0]), np.array([2.0, 20.0]))], "t", "x", "y"),
         scaling_plot([Series("s", np.array([1.0, 10.0]), np.array([20.0, 2.0]))], "t", "x", "y")),
        (timeline_plot(np.array([0.0, 1.0, 2.0]), np.array([5.0, 9.0, 6.0]), "t", "MiB"),
         timeline_plot(np.array([0.0, 1.0, 2.0]), np.array([9.0, 5.0, 6.0]), "t", "MiB")),
        (bar_plot(["a", "b"], [70.0, 30.0], "t", "%"), bar_plot(["a", "b"], [30.0, 70.0], "t", "%")),
    )
    for png, other in pairs:
        pixels, changed = _pixels(png), _pixels(other)
        height, width, _ = pixels.shape
        assert height >= 200 and width >= 300
        coloured = np.ptp(pixels[..., :3], axis=2) > 0.2  # not grey: the data's colour, not axes or text
        assert coloured.mean() > 0.001, "no data drawn"
        assert pixels.shape == changed.shape and not np.array_equal(pixels, changed), (
            "the data does not reach the image"
        )


class Mode(Enum):
    SYNC = "sync"
    ASYNC = "async"


@dataclass(frozen=True)
class WithBool:
    batch_updates: bool = False
    size: int = 3


@dataclass(frozen=True)
class WithEnum:
    writer: Mode = Mode.SYNC


@dataclass(frozen=True)
class Without:
    size: int = 3


def test_find_switch_detects_bool_and_enum_options():
    assert find_switch(WithBool(), "batch") == ("batch_updates", True, False)
    assert find_switch(WithEnum(), "async") == ("writer", "async", "sync")
    with pytest.raises(OptionUnavailable, match=NOT_AVAILABLE):
        find_switch(Without(), "async")


def test_comparison_rows_measure_or_say_not_available(tiny_config):
    rows = {c.name: c for c in plan_comparisons()}
    assert len(rows) == 7  # disk/memory, memmap/RAM, batched spatial, radius 10 and 20, DDQN/PPO, async
    radius = run_comparison(rows["observation radius 20 vs 5"], tiny_config, steps=3, repeats=3)
    assert radius.measured and radius.ratios.shape == (3,)
    assert np.allclose(radius.ratios, radius.variant_seconds / radius.baseline_seconds)
    assert np.allclose(radius.cpu_ratios, radius.variant_cpu_seconds / radius.baseline_cpu_seconds)
    assert np.all(radius.baseline_seconds > 0) and np.all(radius.baseline_cpu_seconds > 0)
    # CPU time of the main thread never exceeds its wall time (small slack for clock granularity)
    assert np.all(radius.variant_cpu_seconds <= radius.variant_seconds + 0.01)

    def refuse(_config):
        raise OptionUnavailable(f"{NOT_AVAILABLE}: no such thing")

    missing = run_comparison(Comparison("x", "a", "b", refuse), tiny_config, steps=3, repeats=2)
    assert not missing.measured and missing.status.startswith(NOT_AVAILABLE) and missing.ratios.size == 0
    # this build has PPO, so the row is measured ...
    ppo = run_comparison(rows["decision: PPO vs DDQN"], tiny_config, steps=2, repeats=1)
    assert ppo.measured and ppo.ratios.shape == (1,)

    # ... and a build whose config rejects 'ppo' (with_overrides' ValueError) says so instead
    class WithoutPPO:
        def __getattr__(self, name):
            return getattr(tiny_config, name)

        def with_overrides(self, overrides):
            if "ppo" in overrides.values():
                raise ValueError("decision.system must be one of random, rule, ddqn; got 'ppo'")
            return tiny_config.with_overrides(overrides)

    older = run_comparison(rows["decision: PPO vs DDQN"], WithoutPPO(), steps=2, repeats=1)
    assert not older.measured and older.status.startswith(NOT_AVAILABLE) and "'ppo'" in older.status


TINY = SuiteSizes(
    baseline_agents=30, baseline_steps=20, pyspy_steps=300,
    scaling_agents=(20, 40, 80), scaling_steps=3, scaling_repeats=1, memory_steps=2,
    density_entities=(200, 400, 800), density_queries=100,
    compare_agents=30, compare_steps=3, compare_repeats=2,
    line_steps=3, memprof_agents=20, memprof_steps=1, thread_steps=3,
)
FIGURES = ("stage_share", "time_vs_agents", "memory_vs_agents", "query_vs_density", "rss_timeline")


def test_suite_writes_report_with_every_plot_and_table(tmp_path):
    result = run_suite(tmp_path / "report", sizes=TINY, skip=("py-spy",))
    markdown = result.files.markdown.read_text()
    page = result.files.html.read_text()
    for name in FIGURES:
        assert f"figures/{name}.png" in markdown
        assert (tmp_path / "report" / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    assert page.count("data:image/png;base64,") == len(FIGURES)
    for heading in ("Top 10 hotspots by self time", "Component share of step time", "Configuration comparison",
                    "fitted exponent", "line_profiler", "tracemalloc", "memory_profiler", "yappi", "monitor_resources"):
        assert heading in markdown, heading
    for comparison in plan_comparisons():
        assert comparison.name in markdown
    assert len(result.hotspots) == 10
    assert (tmp_path / "report" / "cprofile.prof").stat().st_size > 0
    assert (tmp_path / "report" / "line_profile.txt").read_text().strip()
    statuses = {s.tool: s for s in result.statuses}
    assert not statuses["py-spy"].available and "skipped on request" in statuses["py-spy"].detail
    assert all(statuses[t].available for t in ("cprofile", "line_profiler", "tracemalloc", "memory_profiler", "yappi"))


def test_suite_reports_and_skips_missing_profilers(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yappi", None)
    monkeypatch.setitem(sys.modules, "line_profiler", None)

    def refused(*_args, **_kwargs):
        raise ToolUnavailable("py-spy: ptrace is not permitted here (test)")

    monkeypatch.setattr(suite_module, "py_spy_record", refused)
    # memory_profiler (one fresh process per target, most of the suite's time) is skipped on request
    # here: the test above runs it; this one is about the profilers that are missing.
    result = run_suite(tmp_path / "r", sizes=dataclasses.replace(TINY, scaling_agents=(20, 40)), seed=3,
                       skip=("memory_profiler",))
    statuses = {s.tool: s for s in result.statuses}
    for tool in ("yappi", "line_profiler", "py-spy"):
        assert not statuses[tool].available
    assert "ptrace is not permitted" in statuses["py-spy"].detail
    markdown = result.files.markdown.read_text()
    assert "yappi skipped: yappi is not installed" in markdown
    assert "py-spy skipped: py-spy: ptrace is not permitted here (test)" in markdown
    assert "skipped on request" in statuses["memory_profiler"].detail
    assert all(statuses[t].available for t in ("cprofile", "tracemalloc"))
    assert len(result.hotspots) == 10


def test_module_entry_point_help(tmp_path, subprocess_env):
    proc = subprocess.run([sys.executable, "-m", "farm.profiling", "--help"], cwd=tmp_path, env=subprocess_env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--quick" in proc.stdout and "report directory" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "farm.profiling", "--skip", "gdb"], cwd=tmp_path, env=subprocess_env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "gdb" in bad.stderr and not list(tmp_path.iterdir())


def test_main_hands_its_flags_to_the_suite(tmp_path, monkeypatch):
    """The entry point's wiring, without the minutes a real suite takes."""
    calls = []

    def fake_run_suite(output, quick, seed, skip, preset, soak):
        calls.append((output, quick, seed, skip, preset, soak and (soak.agents, soak.steps)))
        files = type("Files", (), {"html": Path(output) / "report.html"})()
        return type("Result", (), {"statuses": (), "files": files, "seconds": 0.0})()

    monkeypatch.setattr(suite_module, "run_suite", fake_run_suite)
    monkeypatch.setattr(suite_module.logging, "basicConfig", lambda **_: None)  # keep the root logger as it is
    out = str(tmp_path / "r")
    assert suite_module.main(["--quick", "-o", out, "--seed", "7", "--skip", "py-spy", "--skip", "yappi"]) == 0
    assert suite_module.main([]) == 0
    assert suite_module.main(["--preset", "light", "--soak", "--soak-agents", "300", "--soak-steps", "500"]) == 0
    assert calls == [
        (out, True, 7, ["py-spy", "yappi"], "agentfarm", None),
        ("profiling_report", False, 42, [], "agentfarm", None),
        ("profiling_report", False, 42, [], "light", (300, 500)),
    ]
