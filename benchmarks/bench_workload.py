"""The workload AgentFarm users run: the ``agentfarm`` preset (issue 11.3).

The preset: 100x100 world, the 13 observation channels at R = 5 with bilinear resources, a
shared DDQN policy for each agent type, the SQLite log on disk (balanced profile), in a world
that holds its population at the initial count (:data:`SUSTAINING`). Sizes: 100
and 1 000 agents; learning off (``decision.ddqn.learning_starts = 10**9``) or on (the preset's
default: train every 2 steps, batch 64); the MLP or the CNN network.

How it is measured: each (agents, learning, network) combination runs in a child process of its
own (:func:`measure_workload`, so peak memory is that combination's alone), which:

1. builds the preset (log to a file in a temporary directory) and runs 200 steps: the
   200-step run's wall time and the process's peak RSS;
2. runs :data:`TIMED_STEPS` more steps and records each step's wall time, the stepping
   thread's CPU time and each stage's time (``sim.stage_seconds``): medians, and the mean step
   and the mean time off the CPU (:class:`WorkloadLogWait`). At 1 000 agents the replay buffers are full by then (about
   333 transitions per type and step, 10 000 held): steady state. At 100 agents they are not
   (about 33 per type and step: 6 200-9 100 of 10 000 held after 230 steps, seed 7), so each
   timed step still writes its frames into memory touched for the first time, as the first ~300
   steps of every 100-agent run do;
3. measures the floors of the step's parts on the same data, in the same process: a scipy
   cKDTree build and batched radius queries of the same points, the numpy gather of the same
   windows, a batched forward of the same networks, sqlite3 ``executemany`` of the same rows
   (one transaction) and, learning on, one DDQN train step per type every ``train_every``
   steps (amortised). Apart from the floor sum, the floor of storing a step's transitions: the
   copy of the step's observations into resident memory as large as the replay buffers.

One ``setup_cache`` (shared by the four classes, so it runs once) runs the eight children and
one that only imports what the preset imports (the floor of the peak-memory budget,
:func:`import_floor_rss`); every ``track_`` reads its figure from the result. Module cost: the
children (about 40 s on the 2-core reference machine, most of it the 1 000-agent CNN runs) plus
one short forked process per tracked number (69). The workload selection (this module and
``bench_latency.StepLatency``) took about 100 s per commit there. One torch
thread (asv's environment sets ``OMP_NUM_THREADS=1``; the preset's ``torch_threads`` is 1).

Commits older than ``SimulationConfig.preset`` skip every benchmark here (NotImplementedError).
This file is also a script (``python bench_workload.py '<json>'``): the child, and what
``tools/perf_report.py`` runs against other commits' ``farm``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

AGENTS = [100, 1_000]  # initial agents, split evenly over the three types
LEARNING = ["off", "on"]  # DDQN training: never (learning_starts = 10**9), or the preset's
NETWORKS = ["mlp", "cnn"]  # decision.network.kind
# Stages of sim.stage_seconds; "learn" exists only on commits that time learning apart from act.
STAGES = ["observe", "decide", "act", "learn", "regenerate_resources", "update_spatial_index", "log_step"]
RUN_STEPS = 200  # steps of the timed run
TIMED_STEPS = 30  # steady-state steps whose per-step times give the medians
FLOOR_REPEATS = 5  # each floor: median of this many measurements
SEED = 7
STORE_REPLAYS = 50  # warm reruns of the last step's learn stage (measure_store_parts)


def preset_available() -> bool:
    """Whether this commit's farm has ``SimulationConfig.preset``."""
    try:
        from farm.config import SimulationConfig
    except ImportError:
        return False
    return hasattr(SimulationConfig, "preset")


# Resources that hold the population near its cap: the same as
# farm.profiling.soak.SUSTAINING_RESOURCES, written out so the module runs on commits without it.
SUSTAINING = {
    "resources.density": "dense",
    "resources.regeneration": "deterministic",
    "resources.regen_rate": 1.0,
    "resources.regen_amount": 1.0,
}


def workload_config(agents: int, learning: str, network: str, db_path: str | None):
    """The preset at ``agents`` agents, learning ``"on"``/``"off"``, MLP or CNN, logging to
    ``db_path``."""
    from farm.config import SimulationConfig

    base, extra = divmod(agents, 3)
    overrides = {
        "seed": SEED,
        "agents.system": base + (1 if extra > 0 else 0),
        "agents.independent": base + (1 if extra > 1 else 0),
        "agents.control": base,
        "storage.db_path": db_path,
        "decision.network.kind": network,
        # Hold the population at its initial size: in the preset's own world 1 000 agents starve
        # to under a hundred within the 200 warm-up steps, and a "1 000-agent" step would be a
        # small one. Dense nodes regenerating +1 per step, cap = initial count (the soak's world).
        **SUSTAINING,
        "agents.max_population": agents,
    }
    if learning == "off":
        overrides["decision.ddqn"] = {"learning_starts": 10**9}
    return SimulationConfig.preset("agentfarm").with_overrides(overrides)


def _median_seconds(function, repeats: int = FLOOR_REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _floor_spatial(sim) -> float:
    """cKDTree build on the agents and the two batched radius queries the engine makes."""
    from scipy.spatial import cKDTree

    cfg = sim.config.agents
    positions = sim.state.positions.copy()
    nodes = cKDTree(sim.resources.positions)
    social = max(cfg.share_range, cfg.attack_range)
    resource = max(cfg.perception_radius, cfg.gather_range)

    def run():
        tree = cKDTree(positions)
        tree.sparse_distance_matrix(tree, social, output_type="ndarray")
        cKDTree(positions).sparse_distance_matrix(nodes, resource, output_type="ndarray")

    return _median_seconds(run)


def _floor_gather(sim) -> float:
    """The fancy-index gather of every agent's (C, S, S) windows out of the padded layers."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view

    builder = sim.observation_builder
    channels, size, _ = builder.shape
    grid = builder.grid
    stack = np.random.default_rng(0).random((channels, grid.rows + 2 * grid.radius, grid.cols + 2 * grid.radius))
    windows = sliding_window_view(stack.astype(np.float32), (size, size), axis=(1, 2))  # (C, rows, cols, S, S)
    gy, gx = grid.cells_of(sim.state.positions)
    layer = np.arange(channels)[None, :]

    def run():
        windows[layer, gy[:, None], gx[:, None]]

    return _median_seconds(run)


def _floor_forward(sim, observations) -> float:
    """One batched forward of each type's online network over that type's observations."""
    import numpy as np
    import torch

    batches = []
    for agent_type, policy in sim.policies.items():
        rows = np.flatnonzero(sim.state.agent_types == agent_type)
        learner = next(iter(policy.learners.values()))
        batches.append((learner.online, torch.from_numpy(observations[rows[rows < len(observations)]])))

    def run():
        with torch.inference_mode():
            for network, batch in batches:
                network(batch)

    return _median_seconds(run)


def _floor_sqlite(log, directory: str) -> float:
    """sqlite3 ``executemany`` of the step's agent_states, agent_actions and interactions rows
    (tuples built beforehand), one transaction, same schema, balanced PRAGMAs, on disk."""
    import sqlite3

    from farm.storage.schema import TABLES, create_schema

    states = list(zip([1] * len(log.agent_ids), [log.step] * len(log.agent_ids), log.agent_ids.tolist(),
                      log.positions[:, 0].tolist(), log.positions[:, 1].tolist(), log.resources.tolist(),
                      log.health.tolist(), log.starvation.tolist(), log.rewards.tolist(), log.actions.tolist()))
    actions = list(zip([1] * len(log.agent_ids), [log.step] * len(log.agent_ids), log.agent_ids.tolist(),
                       log.actions.tolist(), log.action_targets.tolist(), log.action_success.astype(int).tolist(),
                       log.rewards.tolist()))
    interactions = list(zip([1] * len(log.interaction_sources), [log.step] * len(log.interaction_sources),
                            log.interaction_sources.tolist(), log.interaction_targets.tolist(),
                            log.interaction_kinds.tolist(), log.interaction_amounts.tolist()))
    connection = sqlite3.connect(os.path.join(directory, "floor.db"))
    connection.execute("PRAGMA journal_mode=WAL").fetchall()
    connection.execute("PRAGMA synchronous=NORMAL")
    create_schema(connection)
    work = [(TABLES[name].insert_sql(1), rows) for name, rows in
            (("agent_states", states), ("agent_actions", actions), ("interactions", interactions))]

    def run():
        with connection:
            for statement, rows in work:
                connection.executemany(statement, rows)

    try:
        return _median_seconds(run)
    finally:
        connection.close()


def _floor_train(sim) -> float:
    """One DDQN train step of each type's learner, divided by ``train_every`` (amortised)."""
    learners = [next(iter(policy.learners.values())) for policy in sim.policies.values()]
    every = sim.config.decision.ddqn.train_every

    def run():
        for learner in learners:
            learner.train_step()

    return _median_seconds(run) / every


def _policy_learners(sim) -> list:
    """Every learner of ``sim``'s policies (a policy without learners, e.g. random, has none)."""
    return [learner for policy in sim.policies.values() for learner in getattr(policy, "learners", {}).values()]


def _replay_bytes(sim) -> int:
    """Bytes held by every learner's replay buffer."""
    return sum(learner.buffer.nbytes for learner in _policy_learners(sim))


def _store_writer(sim, observations):
    """``(run, ring)``: ``ring`` is resident memory as large as ``sim``'s replay buffers (at least
    two steps of frames) and each ``run()`` copies ``observations (n, C, S, S)`` into its next
    ``n`` slots, wrapping to slot 0 when they do not fit."""
    import numpy as np

    n = observations.shape[0]
    slots = max(int(_replay_bytes(sim) // max(observations[0].nbytes, 1)), 2 * n)
    ring = np.ones((slots,) + observations.shape[1:], dtype=np.float32)  # every page touched
    position = 0

    def run():
        nonlocal position
        start = position if position + n <= slots else 0
        ring[start : start + n] = observations
        position = start + n

    return run, ring


def _floor_store(sim, observations) -> float:
    """Copying one step's observations (every live agent's frame) into resident memory as large
    as the replay buffers, the next slots each time (:func:`_store_writer`): the least that
    storing a step's transitions costs, since its frames land in memory that no cache holds."""
    run, _ = _store_writer(sim, observations)
    return _median_seconds(run, repeats=4 * FLOOR_REPEATS)


def record_over_store_floor(result: dict) -> float:
    """The learn stage of a :func:`measure_workload` result over its store floor (learning off:
    the stage is storing the step's transitions)."""
    return result["stages"]["learn"] / result["store_floor_seconds"]


def measure_workload(
    agents: int, learning: str, network: str, run_steps: int = RUN_STEPS, timed_steps: int = TIMED_STEPS
) -> dict:
    """Everything this module reports for one combination, measured in this process (see the
    module docstring). Seconds and bytes; ``stages`` maps stage name to median seconds.
    ``run_steps`` and ``timed_steps`` shrink only for smoke tests."""
    import resource

    from farm import Simulation

    with tempfile.TemporaryDirectory(prefix="bench-workload-") as directory:
        config = workload_config(agents, learning, network, os.path.join(directory, "run.db"))
        started = time.perf_counter()
        sim = Simulation(config)
        try:
            for _ in range(run_steps):
                sim.step()
            run_seconds = time.perf_counter() - started
            peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            peak_hwm = peak_rss_since_exec()
            step_times, main_cpu_times, stage_times, log = timed_stage_steps(sim, timed_steps)
            observations = sim.observation_builder.build()
            floors = {
                "spatial": _floor_spatial(sim),
                "gather": _floor_gather(sim),
                "forward": _floor_forward(sim, observations),
                "sqlite": _floor_sqlite(log, directory),
            }
            if learning == "on":
                floors["train"] = _floor_train(sim)
            buffer_bytes = _replay_bytes(sim)
            store_floor = _floor_store(sim, observations)
        finally:
            sim.close()
    step = statistics.median(step_times)
    return {
        "agents": agents, "learning": learning, "network": network, "population": len(sim.state),
        "run_seconds": run_seconds, "peak_rss_bytes": peak_rss, "peak_hwm_bytes": peak_hwm, "step_seconds": step,
        "stages": {stage: statistics.median(values) for stage, values in stage_times.items()},
        "floors": floors, "floor_sum_seconds": sum(floors.values()),
        "step_over_floor_sum": step / sum(floors.values()), "replay_buffer_bytes": buffer_bytes,
        "store_floor_seconds": store_floor,
        "step_mean_seconds": statistics.fmean(step_times),
        "main_thread_wait_seconds": mean_off_cpu(step_times, main_cpu_times),
    }


def timed_stage_steps(sim, steps: int) -> tuple[list[float], list[float], dict[str, list[float]], object]:
    """Run ``steps`` steps of ``sim``, timing each: ``(wall seconds, main-thread CPU seconds,
    {stage: seconds}, the last step's log)``, one entry per step. The CPU time is the calling
    thread's own (``time.thread_time``): not the log's writer thread, and not time spent waiting,
    for the GIL or anything else."""
    walls, main_cpu, stages = [], [], {stage: [] for stage in sim.stage_seconds}
    log = None
    for _ in range(steps):
        before = dict(sim.stage_seconds)
        step_started = time.perf_counter()
        cpu_started = time.thread_time()
        log = sim.step()
        main_cpu.append(time.thread_time() - cpu_started)
        walls.append(time.perf_counter() - step_started)
        for stage in stages:
            stages[stage].append(sim.stage_seconds[stage] - before[stage])
    return walls, main_cpu, stages, log


def mean_off_cpu(walls: list[float], cpus: list[float]) -> float:
    """Mean seconds per step that the stepping thread spent off its CPU: ``walls[i] - cpus[i]``
    averaged. With the log on disk this is mostly waiting for the GIL while the log's writer
    thread converts and binds rows (the writer's own sqlite work runs without it)."""
    return statistics.fmean(wall - cpu for wall, cpu in zip(walls, cpus, strict=True))


def _timed_steps(sim, steps: int) -> tuple[float, float]:
    """``(median wall seconds of a step, process CPU seconds per step)`` over ``steps`` steps: the
    CPU of every thread of the process (the log's background writer included)."""
    times = []
    cpu_started = time.process_time()
    for _ in range(steps):
        started = time.perf_counter()
        sim.step()
        times.append(time.perf_counter() - started)
    return statistics.median(times), (time.process_time() - cpu_started) / steps


def measure_rerun(agents: int, run_steps: int = RUN_STEPS, timed_steps: int = TIMED_STEPS,
                  directory: str | None = None) -> dict:
    """The preset (learning off, MLP) run twice into one database file, as a user who runs it
    again in the same directory does (the preset's ``db_path`` is ``simulation.db``): each run
    ``run_steps`` steps, then ``timed_steps`` more: the median wall time of a step and the
    process's CPU time per step (simulation and log writer together). Seconds. The file is
    ``runs.db`` in ``directory`` (kept), or in a temporary directory."""
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="bench-rerun-") as temporary:
            return measure_rerun(agents, run_steps, timed_steps, temporary)
    from farm import Simulation

    config = workload_config(agents, "off", "mlp", os.path.join(directory, "runs.db"))
    result = {}
    for run in ("first", "second"):
        with Simulation(config) as sim:
            for _ in range(run_steps):
                sim.step()
            result[f"{run}_run_step_seconds"], result[f"{run}_run_cpu_seconds"] = _timed_steps(sim, timed_steps)
    return result


def _learners(sim) -> list:
    """Every learner of ``sim``'s policies that stores frames (DDQN's replay): the ones whose
    ``record`` stores a step's transitions."""
    found = [learner for learner in _policy_learners(sim) if hasattr(getattr(learner, "buffer", None), "frames")]
    if not found:
        raise NotImplementedError("no learner stores its observations as frames at this commit")
    return found


def _timed_calls(function, seconds: list[float], off_main_thread: bool = False):
    """``function`` with each call's wall seconds appended to ``seconds`` (``off_main_thread``:
    only the calls made on another thread)."""
    def timed(*args, **kwargs):
        if off_main_thread and threading.current_thread() is threading.main_thread():
            return function(*args, **kwargs)
        started = time.perf_counter()
        result = function(*args, **kwargs)
        seconds.append(time.perf_counter() - started)
        return result

    return timed


def _numbered_without_copy(store):
    """A stand-in for ``store.put``: numbers the frames as ``put`` does and copies nothing."""
    import numpy as np

    def put(observations, background=True):
        start = store.written
        store.written = start + int(observations.shape[0])
        return np.arange(start, store.written, dtype=np.int64)

    return put


def measure_store_parts(agents: int, run_steps: int = RUN_STEPS, timed_steps: int = TIMED_STEPS,
                        replays: int = STORE_REPLAYS) -> dict:
    """The learn stage of the preset at learning off (storing each type's transitions) split
    into its parts, in this process: the why of issue 11's storing target.

    Runs the preset (MLP, log on disk) ``run_steps`` steps, then ``timed_steps`` more, timing in
    each the learn stage and, within it, every learner's frame write (``FrameStore.put``: the
    copy, or where the store copies large writes on its worker thread, the hand-off) and the
    step's wait at its end for the worker's copies (counted in the learn stage); the rest of the
    stage is the bookkeeping (each type's rows, pairing each agent's transition with its next
    frame, the replay ring's columns). The worker's copies themselves run beside the step's later
    stages (``worker_copy_seconds``, 0 where the store copies inline). Then the last step's learn stage again,
    ``replays`` times, back to back, every learner's state put back before each, the frame copy
    left out and the log's writer idle: the same bookkeeping with warm caches. In the step it
    runs after the step's other stages and between the copies, which write the step's frames
    (``frame_bytes_per_step``) into memory no cache holds. Seconds (medians over steps or
    reruns), and the Python and C function calls the stage makes without the copy
    (``sys.setprofile``; numpy's operators, indexing included, are not calls and are not
    counted).
    """
    from farm import Simulation

    with tempfile.TemporaryDirectory(prefix="bench-store-") as directory:
        sim = Simulation(workload_config(agents, "off", "mlp", os.path.join(directory, "run.db")))
        try:
            for _ in range(run_steps):
                sim.step()
            learners = _learners(sim)
            copies: list[float] = []
            waits: list[float] = []
            worker: list[float] = []
            last_calls: dict[int, tuple] = {}
            for index, learner in enumerate(learners):
                learner.buffer.frames.put = _timed_calls(learner.buffer.frames.put, copies)
                learner.record = _remembering_calls(learner, index, last_calls)
            learn, copy, wait, off_path = [], [], [], []
            with _timed_module_function("farm.core.simulation", "wait_for_copies", waits), \
                    _timed_module_function("farm.decision.frames", "_copy_into", worker, off_main_thread=True):
                for _ in range(timed_steps):
                    copies.clear()
                    waits.clear()
                    worker.clear()
                    before = sim.stage_seconds["learn"]
                    sim.step()
                    learn.append(sim.stage_seconds["learn"] - before)
                    copy.append(sum(copies))
                    wait.append(sum(waits))
                    off_path.append(sum(worker))
            if sim.logger is not None:  # the reruns share neither the CPU nor the GIL with the log's writer
                sim.logger.flush(wait=True)
            for learner in learners:
                del learner.record  # the class's method again
                learner.buffer.frames.put = _numbered_without_copy(learner.buffer.frames)
            warm = [_replay(sim, learners, last_calls) for _ in range(replays)]
            _restore(learners, last_calls)
            calls = _count_calls(sim.learn)
            observations = sim.observation_builder.build()
            store_floor = _floor_store(sim, observations)
        finally:
            sim.close()
    return {
        "agents": agents, "population": len(sim.state), "learners": len(learners),
        "learn_seconds": statistics.median(learn), "frame_copy_seconds": statistics.median(copy),
        "copy_wait_seconds": statistics.median(wait), "worker_copy_seconds": statistics.median(off_path),
        "bookkeeping_seconds": statistics.median(
            total - put - waited for total, put, waited in zip(learn, copy, wait, strict=True)),
        "bookkeeping_warm_seconds": statistics.median(warm), "bookkeeping_calls": calls,
        "store_floor_seconds": store_floor, "frame_bytes_per_step": int(observations.nbytes),
    }


@contextlib.contextmanager
def _timed_module_function(module_name: str, name: str, seconds: list[float], off_main_thread: bool = False):
    """Within the block, ``module_name.name`` appends each call's wall seconds to ``seconds``
    (``off_main_thread``: only calls from other threads); nothing where the module lacks it (an
    older commit)."""
    module = importlib.import_module(module_name)
    function = getattr(module, name, None)
    if function is None:
        yield
        return
    setattr(module, name, _timed_calls(function, seconds, off_main_thread))
    try:
        yield
    finally:
        setattr(module, name, function)


def _remembering_calls(learner, index: int, last_calls: dict):
    """``learner.record`` that keeps, under ``index``, its last call's arguments, the pairer's
    pending state and the frame store's next id before it (what :func:`_restore` puts back)."""
    record = learner.record

    def remembering(*args):
        pairer = learner.pairer
        pending = (pairer.pending_ids, pairer.pending_frames, pairer.pending_actions, pairer.pending_rewards)
        last_calls[index] = (pending, learner.buffer.frames.written, args)
        return record(*args)

    return remembering


def _restore(learners: list, last_calls: dict) -> None:
    """Put every learner back in the state its remembered ``record`` call started from: the
    pairer's pending transitions and the frame store's next id (so the frame store's ``put``
    must be :func:`_numbered_without_copy`'s: the same ids are numbered again, nothing copied)."""
    for index, learner in enumerate(learners):
        if index in last_calls:
            (pending, written, _), pairer = last_calls[index], learner.pairer
            pairer.pending_ids, pairer.pending_frames, pairer.pending_actions, pairer.pending_rewards = pending
            learner.buffer.frames.written = written


def _replay(sim, learners: list, last_calls: dict) -> float:
    """Wall seconds of ``sim``'s learn stage run again from the state of its last run
    (:func:`_restore`)."""
    _restore(learners, last_calls)
    started = time.perf_counter()
    sim.learn()
    return time.perf_counter() - started


def _count_calls(function) -> int:
    """Python and C function calls ``function()`` makes (``sys.setprofile`` events), not counting
    the call of ``function`` itself."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        function()
    finally:
        sys.setprofile(None)
    return count - 2  # the profiler also sees function's own call and the sys.setprofile(None) that ends it


def run_child(agents: int, learning: str, network: str, pythonpath: str | None = None, timeout: float = 600) -> dict:
    """:func:`measure_workload` in a fresh process (``pythonpath``: where its ``farm`` comes from)."""
    return _child({"agents": agents, "learning": learning, "network": network}, pythonpath, timeout)


def _child(arguments: dict, pythonpath: str | None, timeout: float) -> dict:
    """This file run as a script with ``arguments`` (see the ``__main__`` block), its JSON result."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    env.setdefault("OMP_NUM_THREADS", "1")
    args = json.dumps(arguments)
    done = subprocess.run([sys.executable, os.path.abspath(__file__), args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"workload child {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_rss_since_exec() -> int:
    """This process's peak RSS in bytes since it started its program: ``VmHWM`` of
    ``/proc/self/status`` (``ru_maxrss`` where there is none). Linux keeps ``ru_maxrss`` across
    ``exec``, so a child started by a larger parent reports at least the parent's RSS at the fork;
    ``VmHWM`` belongs to the new program's memory alone."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# What the preset's process imports before it builds anything: the floor of the peak-RSS target.
_IMPORT_FLOOR_CHILD = (
    "import sys, sqlite3, numpy, scipy.spatial, torch, farm; from farm import Simulation; "
    "sys.path.insert(0, sys.argv[1]); from bench_workload import peak_rss_since_exec; "
    "print(peak_rss_since_exec())"
)
# Issue 11's peak-RSS target: peak <= import floor + RSS_BUDGET_REPLAY_FACTOR x replay-buffer bytes.
RSS_BUDGET_REPLAY_FACTOR = 1.3


def import_floor_rss(pythonpath: str | None = None, timeout: float = 120) -> int:
    """Peak RSS (bytes, ``VmHWM``) of a fresh process that imported torch, numpy, scipy, sqlite3
    and farm and built nothing: the "torch-imported floor" the preset's peak memory is held against."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    env.setdefault("OMP_NUM_THREADS", "1")
    here = os.path.dirname(os.path.abspath(__file__))
    done = subprocess.run([sys.executable, "-c", _IMPORT_FLOOR_CHILD, here], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"import-floor child failed:\n{done.stderr[-2000:]}")
    return int(done.stdout.strip().splitlines()[-1])


def _key(agents, learning, network) -> str:
    return f"{agents}-{learning}-{network}"


def workload_cache() -> dict:
    """Every combination's :func:`measure_workload`, each in a child process; empty on a commit
    without the preset (asv passes a None cache on to no one). The ``setup_cache`` of both
    classes (one key: it runs once)."""
    if not preset_available():
        return {}
    cache = {_key(a, lr, n): run_child(a, lr, n) for a in AGENTS for lr in LEARNING for n in NETWORKS}
    cache["import_floor_rss_bytes"] = import_floor_rss()
    return cache


workload_cache.timeout = 900


class Workload:
    """The preset's step, 200-step run, memory and floors; see the module docstring."""

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 900
    params = (AGENTS, LEARNING, NETWORKS)
    param_names = ["agents", "learning", "network"]
    setup_cache = staticmethod(workload_cache)

    def setup(self, cache, agents, learning, network):
        if not cache:
            raise NotImplementedError("SimulationConfig.preset is not available at this commit")

    def track_step_ms(self, cache, agents, learning, network):
        """Median wall time of one steady-state step (ms)."""
        return 1e3 * cache[_key(agents, learning, network)]["step_seconds"]

    track_step_ms.unit = "ms"

    def track_run_200_steps_s(self, cache, agents, learning, network):
        """Wall time to build the preset and run 200 steps, log on disk (s)."""
        return cache[_key(agents, learning, network)]["run_seconds"]

    track_run_200_steps_s.unit = "s"

    def track_peak_rss_mb(self, cache, agents, learning, network):
        """Peak RSS of the child process (torch imported, 200 steps run) (MB)."""
        return cache[_key(agents, learning, network)]["peak_rss_bytes"] / 2**20

    track_peak_rss_mb.unit = "MB"

    def track_step_over_floor_sum(self, cache, agents, learning, network):
        """Step time over the sum of its parts' floors, measured in the same process."""
        return cache[_key(agents, learning, network)]["step_over_floor_sum"]

    track_step_over_floor_sum.unit = "ratio"

    def track_peak_rss_over_budget(self, cache, agents, learning, network):
        """Peak RSS (``VmHWM``, :func:`peak_rss_since_exec`) over the memory budget: the import
        floor (:func:`import_floor_rss`, measured in the same pass) plus 1.3 x the replay buffers'
        bytes (issue 11's target: <= 1)."""
        result = cache[_key(agents, learning, network)]
        budget = cache["import_floor_rss_bytes"] + RSS_BUDGET_REPLAY_FACTOR * result["replay_buffer_bytes"]
        return result["peak_hwm_bytes"] / budget

    track_peak_rss_over_budget.unit = "ratio"


class WorkloadRecord:
    """Storing one step's transitions: the ``learn`` stage with learning off (no training step
    is due, so the stage is ``policy.record`` of every type: pairing and the frame store), median
    ms of a steady-state step, MLP. Commits that time learning inside ``act`` skip."""

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 900
    params = (AGENTS,)
    param_names = ["agents"]
    setup_cache = staticmethod(workload_cache)

    def setup(self, cache, agents):
        if not cache:
            raise NotImplementedError("SimulationConfig.preset is not available at this commit")
        if "learn" not in cache[_key(agents, "off", "mlp")]["stages"]:
            raise NotImplementedError("learning is timed inside act at this commit")

    def track_record_ms(self, cache, agents):
        return 1e3 * cache[_key(agents, "off", "mlp")]["stages"]["learn"]

    track_record_ms.unit = "ms"

    def track_record_over_store_floor(self, cache, agents):
        """The same stage over the floor of storing the step's frames (:func:`_floor_store`),
        measured in the same process. At 100 agents the stage still writes into replay memory
        touched for the first time (see the module docstring), which the floor's resident ring
        does not: the ratio reads high there."""
        return record_over_store_floor(cache[_key(agents, "off", "mlp")])

    track_record_over_store_floor.unit = "ratio"


class WorkloadStages:
    """Median ms of each stage of a steady-state step of the preset as shipped (learning on,
    MLP). A stage the commit does not have (``learn`` before it was split from ``act``) is
    skipped."""

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 900
    params = (AGENTS, STAGES)
    param_names = ["agents", "stage"]
    setup_cache = staticmethod(workload_cache)

    def setup(self, cache, agents, stage):
        if not cache:
            raise NotImplementedError("SimulationConfig.preset is not available at this commit")
        if stage not in cache[_key(agents, "on", "mlp")]["stages"]:
            raise NotImplementedError(f"stage {stage!r} does not exist at this commit")

    def track_stage_ms(self, cache, agents, stage):
        return 1e3 * cache[_key(agents, "on", "mlp")]["stages"][stage]

    track_stage_ms.unit = "ms"


class WorkloadLogWait:
    """What the log's writer thread costs the steps, MLP, log on disk: the mean wall time of a
    steady-state step, and how long per step (mean) the stepping thread spent off its CPU
    (:func:`mean_off_cpu`). The preset hands its log to the writer every 10 steps; the writer
    then holds the GIL while it turns the rows into Python values and binds them, and the steps
    running meanwhile wait: a few steps out of ten, which the medians (``Workload.track_step_ms``,
    the stages) mostly leave out and the mean and the wait do not."""

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 900
    params = (AGENTS, LEARNING)
    param_names = ["agents", "learning"]
    setup_cache = staticmethod(workload_cache)

    def setup(self, cache, agents, learning):
        if not cache:
            raise NotImplementedError("SimulationConfig.preset is not available at this commit")

    def track_step_mean_ms(self, cache, agents, learning):
        """Mean wall time of a steady-state step (ms), the steps the writer holds up included."""
        return 1e3 * cache[_key(agents, learning, "mlp")]["step_mean_seconds"]

    track_step_mean_ms.unit = "ms"

    def track_main_thread_wait_ms(self, cache, agents, learning):
        """Mean time per step the stepping thread spent off its CPU (ms)."""
        return 1e3 * cache[_key(agents, learning, "mlp")]["main_thread_wait_seconds"]

    track_main_thread_wait_ms.unit = "ms"


RERUN_AGENTS = 1_000


def rerun_cache() -> dict:
    """:func:`measure_rerun` at :data:`RERUN_AGENTS` agents in a child process; empty on a commit
    without the preset."""
    if not preset_available():
        return {}
    return _child({"rerun": True, "agents": RERUN_AGENTS}, None, 900)


rerun_cache.timeout = 900


class WorkloadRerun:
    """The preset's step (1 000 agents, learning off, MLP) in a second run logged into the same
    database file as a first one, as a user who runs the preset twice in one directory does;
    each run 200 steps, then 30 timed ones: the median wall time of a step and the process's CPU
    time per step, the log's writer thread included (:func:`measure_rerun`, both runs in one
    child process). The other workload benchmarks log each run into a fresh file."""

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 900
    setup_cache = staticmethod(rerun_cache)

    def setup(self, cache):
        if not cache:
            raise NotImplementedError("SimulationConfig.preset is not available at this commit")

    def track_second_run_step_ms(self, cache):
        """Median wall time of a steady-state step of the second run (ms)."""
        return 1e3 * cache["second_run_step_seconds"]

    track_second_run_step_ms.unit = "ms"

    def track_second_over_first_run_step(self, cache):
        """The second run's median step over the first's, measured side by side in one process."""
        return cache["second_run_step_seconds"] / cache["first_run_step_seconds"]

    track_second_over_first_run_step.unit = "ratio"

    def track_second_over_first_run_cpu(self, cache):
        """The second run's CPU time per step over the first's (every thread: the log's writer
        too, which the wall time of a step does not see while it keeps up), side by side."""
        return cache["second_run_cpu_seconds"] / cache["first_run_cpu_seconds"]

    track_second_over_first_run_cpu.unit = "ratio"


if __name__ == "__main__":
    _args = json.loads(sys.argv[1])
    if _args.pop("rerun", False):
        print(json.dumps(measure_rerun(**_args)))
    elif _args.pop("store_parts", False):
        print(json.dumps(measure_store_parts(**_args)))
    else:
        print(json.dumps(measure_workload(**_args)))
