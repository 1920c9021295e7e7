"""Each profiler on a tiny real simulation: non-empty, parseable output that names the engine's
functions; and a missing or refused profiler reported with one clear line."""

from __future__ import annotations

import inspect
import mmap
import os
import pstats
import stat
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from farm.profiling import availability, pyspy_runner
from farm.profiling.availability import PTRACE_DENIED_MESSAGE, ToolUnavailable
from farm.profiling.cprofile_runner import HotspotOrder, hotspots, profile_call
from farm.profiling.line_profiling import line_profile
from farm.profiling.memory_profiling import memory_line_profile, trace_allocations
from farm.profiling.pyspy_runner import parse_top_screen, py_spy_record, py_spy_top
from farm.profiling.targets import ProfileTarget, simulation_targets
from farm.profiling.thread_profiling import profile_threads
from farm.profiling.workload import workload_command

PLAN_TARGETS = ("Simulation.observe", "Simulation.act", "Simulation.update_spatial_index", "ResourceManager.regenerate")


def test_targets_cover_the_plan_and_are_plain_functions(tiny_sim):
    targets = simulation_targets(tiny_sim)
    labels = [t.label for t in targets]
    for label in PLAN_TARGETS:
        assert label in labels
    assert f"{type(tiny_sim.observation_builder).__name__}.build" in labels
    assert f"{type(tiny_sim.agent_index).__name__}.update" in labels
    for policy in tiny_sim.policies.values():
        assert f"{type(policy).__name__}.act" in labels
    assert all(hasattr(t.function, "__code__") for t in targets)
    assert len({id(t.function) for t in targets}) == len(targets)


def test_cprofile_writes_a_loadable_prof_with_sorted_hotspots(tiny_sim, tmp_path):
    result = profile_call(lambda: tiny_sim.run(10), tmp_path / "run.prof", limit=15)
    stats = pstats.Stats(str(result.prof_path))
    names = {key[2] for key in stats.stats}
    assert {"observe", "act", "decide"} <= names
    cumulative = [h.cumulative_seconds for h in result.by_cumulative]
    own = [h.self_seconds for h in result.by_self]
    assert cumulative == sorted(cumulative, reverse=True) and own == sorted(own, reverse=True)
    assert len(result.by_self) == 15
    assert any("simulation.py" in h.function and "(step)" in h.function for h in result.by_cumulative)
    assert not any(h.function.startswith("farm/profiling/") for h in result.by_cumulative)
    # the table agrees with pstats' own figures
    step_key = next(k for k in stats.stats if k[2] == "step" and k[0].endswith("simulation.py"))
    step_row = next(
        h
        for h in hotspots(stats, HotspotOrder.CUMULATIVE, 1000)
        if "(step)" in h.function and "simulation.py" in h.function
    )
    assert step_row.calls == stats.stats[step_key][1] == 10


def test_line_profiler_times_every_target_line_by_line(tiny_sim):
    targets = simulation_targets(tiny_sim)
    result = line_profile(lambda: tiny_sim.run(5), targets)
    by_label = {f.label: f for f in result.functions}
    for label in PLAN_TARGETS:
        profile = by_label[label]
        assert profile.total_seconds > 0
        assert all(line.hits > 0 for line in profile.lines)
        assert max(line.hits for line in profile.lines) >= 5  # once per step at least
    observe = by_label["Simulation.observe"]
    assert any("observation_builder.build" in line.source for line in observe.lines)
    assert "Simulation.observe" in result.text or "def observe" in result.text


def test_line_profiler_missing_is_reported(monkeypatch, tiny_sim):
    monkeypatch.setitem(sys.modules, "line_profiler", None)  # import now raises ImportError
    with pytest.raises(ToolUnavailable, match="line_profiler is not installed"):
        line_profile(lambda: None, simulation_targets(tiny_sim))


def test_memory_profiler_reports_lines_of_a_target(tiny_sim):
    target = next(t for t in simulation_targets(tiny_sim) if t.label == "Simulation.observe")
    result = memory_line_profile(lambda: tiny_sim.run(2), [target])
    (profile,) = result.functions
    assert profile.label == "Simulation.observe" and len(profile.lines) > 3
    source, first = inspect.getsourcelines(target.function)
    for line in profile.lines:  # each figure is charged to a real line of observe, with its text
        assert first <= line.lineno < first + len(source)
        assert line.source == source[line.lineno - first].rstrip()
    assert max(line.occurrences for line in profile.lines) >= 2
    assert "Mem usage" in result.text


def _fresh_resident_pages(nbytes: int) -> mmap.mmap:
    """New anonymous pages, written so they are resident (never memory a previous test freed:
    glibc may be told to keep freed memory, see farm.utils.allocator)."""
    pages = mmap.mmap(-1, nbytes)
    np.frombuffer(pages, dtype=np.uint8).fill(1)
    return pages


def _allocate_64_mib():
    kept = _fresh_resident_pages(64 * 2**20)
    small = sum(range(10))
    return kept, small


def test_memory_profiler_charges_a_known_allocation_to_its_line():
    target = ProfileTarget("_allocate_64_mib", _allocate_64_mib)
    result = memory_line_profile(_allocate_64_mib, [target])
    (profile,) = result.functions
    by_line = {line.lineno - _allocate_64_mib.__code__.co_firstlineno: line for line in profile.lines}
    assert 48 <= by_line[1].increment_mib <= 80, by_line[1]  # the np.ones line
    assert abs(by_line[2].increment_mib) < 8  # a 10-element sum allocates nothing sizeable
    assert by_line[2].usage_mib >= by_line[1].increment_mib


def test_memory_profiler_missing_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "memory_profiler", None)
    with pytest.raises(ToolUnavailable, match="memory_profiler is not installed"):
        memory_line_profile(lambda: None, [])


def _allocate_known_blocks():
    return [np.ones(250_000) for _ in range(4)]  # 4 x 2 MB, held by the return value


def test_tracemalloc_charges_allocations_to_the_calling_line():
    result = trace_allocations(_allocate_known_blocks, top=5, focus=(os.path.dirname(__file__),))
    top = result.sites[0]
    assert top.location.endswith(f"{os.path.basename(__file__)}:{_allocate_known_blocks.__code__.co_firstlineno + 1}")
    assert 4 * 2_000_000 <= top.size_bytes < 4 * 2_000_000 + 10_000
    assert result.peak_bytes >= 8_000_000 and result.net_bytes >= 8_000_000


def test_tracemalloc_on_a_simulation_finds_engine_sites(tiny_config):
    from farm import Simulation

    holder = []

    def run():
        sim = Simulation(tiny_config)
        sim.run(3)
        holder.append(sim)

    result = trace_allocations(run, top=10)
    holder[0].close()
    assert result.sites and result.peak_bytes > 0
    assert any("/farm/" in site.location for site in result.sites)


def test_yappi_separates_threads_by_name(tiny_config):
    import threading

    def run():
        worker = threading.Thread(target=lambda: sum(i * i for i in range(300_000)), name="log-writer")
        worker.start()
        from farm import Simulation

        with Simulation(tiny_config) as sim:
            sim.run(3)
        worker.join()

    result = profile_threads(run)
    names = {t.name for t in result.threads}
    assert {"MainThread", "log-writer"} <= names
    assert not result.only_main_thread
    main = next(t for t in result.threads if t.name == "MainThread")
    assert any("observe" in f.function for f in main.functions), [f.function for f in main.functions][:20]
    writer = next(t for t in result.threads if t.name == "log-writer")
    assert not any("observe" in f.function for f in writer.functions)  # the engine ran on the main thread only


def test_yappi_only_main_thread(tiny_sim):
    result = profile_threads(lambda: tiny_sim.run(2))
    assert result.only_main_thread and [t.name for t in result.threads] == ["MainThread"]


def test_yappi_missing_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "yappi", None)
    with pytest.raises(ToolUnavailable, match="yappi is not installed"):
        profile_threads(lambda: None)


def _py_spy_or_skip():
    try:
        availability.find_py_spy()
    except ToolUnavailable as exc:
        pytest.skip(str(exc))


def test_py_spy_record_writes_a_flame_graph_svg(tmp_path, subprocess_env):
    _py_spy_or_skip()
    try:
        flame = py_spy_record(workload_command(60, 400, world=50.0), tmp_path / "flame.svg", rate=200,
                              env=subprocess_env, cwd=tmp_path, timeout_s=120)
    except ToolUnavailable as exc:  # ptrace refused on this machine: that path is tested below
        pytest.skip(str(exc))
    root = ET.parse(flame.svg_path).getroot()
    assert root.tag.endswith("svg")
    assert flame.samples > 0
    text = flame.svg_path.read_text()
    assert "farm/core/simulation.py" in text or "simulation.py" in text


def test_py_spy_top_parses_rows(tmp_path, subprocess_env):
    _py_spy_or_skip()
    try:
        snapshot = py_spy_top(
            workload_command(60, 600, world=50.0), rate=200, env=subprocess_env, cwd=tmp_path, timeout_s=120
        )
    except ToolUnavailable as exc:
        pytest.skip(str(exc))
    assert snapshot.total_samples > 0 and snapshot.rows
    assert all(0 <= r.own_percent <= 100 and r.total_seconds >= r.own_seconds - 1e-9 for r in snapshot.rows)


def test_parse_top_screen_reads_the_last_screen():
    screen = (
        "\x1b[2J\x1b[HTotal Samples 10\r\n  %Own   %Total  OwnTime  TotalTime  Function (filename)\r\n"
        " 50.00%  50.00%   0.05s    0.05s   old (a.py)\r\n"
        "\x1b[2J\x1b[HTotal Samples 200\r\n  %Own   %Total  OwnTime  TotalTime  Function (filename)\r\n"
        " 60.00%  80.00%   1.20s    1.60s   Simulation.observe (farm/core/simulation.py)\r\n"
        "\x1b[1m  5.00% 100.00%   0.10s    2.00s   <module> (workload.py)\x1b[0m\r\n"
    )
    snapshot = parse_top_screen(screen)
    assert snapshot.total_samples == 200
    assert [r.function for r in snapshot.rows] == [
        "Simulation.observe (farm/core/simulation.py)",
        "<module> (workload.py)",
    ]
    assert snapshot.rows[0].own_seconds == 1.2 and snapshot.rows[1].total_percent == 100.0


def test_py_spy_missing_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ToolUnavailable) as caught:
        py_spy_record(["true"], tmp_path / "f.svg")
    assert "py-spy is not installed" in str(caught.value) and "\n" not in str(caught.value)


def test_ptrace_refusal_is_one_clear_line(monkeypatch, tmp_path):
    fake = tmp_path / "py-spy"
    fake.write_text(
        "#!/bin/sh\necho 'Error: Failed to attach: Operation not permitted (os error 1)' >&2\n"
        "echo 'Permission Denied: Try running again with elevated permissions' >&2\nexit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    for call in (lambda: py_spy_record(["true"], tmp_path / "f.svg", timeout_s=30),
                 lambda: pyspy_runner.py_spy_top(["true"], timeout_s=30)):
        with pytest.raises(ToolUnavailable) as caught:
            call()
        assert str(caught.value) == PTRACE_DENIED_MESSAGE


def test_custom_targets_are_accepted():
    def square(values):
        doubled = values * values
        return doubled.sum()

    result = line_profile(lambda: [square(np.arange(10.0)) for _ in range(3)], [ProfileTarget("square", square)])
    (profile,) = result.functions
    assert [line.hits for line in profile.lines] == [3, 3]


def test_memory_profiler_in_a_fresh_process_sees_the_observation_buffer(tmp_path, subprocess_env):
    from farm.profiling.isolated_memory import memory_profile_isolated

    profile, text = memory_profile_isolated(600, 2, "Simulation.observe", seed=5, env=subprocess_env, cwd=tmp_path)
    assert profile is not None and profile.label == "Simulation.observe"
    from farm import Simulation
    from farm.profiling.workload import workload_config

    with Simulation(workload_config(600, seed=5)) as sim:
        buffer_mib = 600 * np.prod(sim.observation_builder.shape) * 4 / 1024**2  # (n, C, S, S) float32
    build_line = next(line for line in profile.lines if "observation_builder.build" in line.source)
    # the first build in a fresh process must grow RSS by a good part of its output buffer
    assert build_line.increment_mib > 0.3 * buffer_mib and build_line.occurrences == 2
    assert "Mem usage" in text
