"""The soak: 1 000 agents for 10 000 steps of the AgentFarm preset, learning on, the SQLite log on
disk, in a world that sustains its population (``farm.profiling.soak``: dense nodes regenerating
by 1 every step, the population cap at the initial count).

Long-running (tens of minutes): not part of the default selection (``tools/asv_history.py``
leaves module ``bench_soak`` out); run it on purpose, e.g. ``asv run --bench bench_soak``. One
soak runs in ``setup_cache`` (once per commit); the ``track_*`` methods read its figures. The
leak check is ``track_rss_growth_percent_per_1000_steps``: the RSS slope after the replay
buffers are full, in percent of RSS per 1000 steps; the target is <= 1.
"""

from __future__ import annotations

try:
    from farm.profiling.soak import run_soak
except ImportError:  # a commit older than the soak
    run_soak = None

AGENTS = 1_000
STEPS = 10_000
SEED = 42


class Soak:
    """Figures of one 1 000-agent, 10 000-step soak."""

    version = 1
    rounds = 1
    repeat = 1
    number = 1
    timeout = 3600

    def setup_cache(self):
        if run_soak is None:  # never None: asv_runner would pass no cache at all
            return {"skip": "farm.profiling.soak is not available at this commit"}
        result = run_soak(AGENTS, STEPS, seed=SEED)
        usage = result.usage
        return {
            "wall_seconds": usage.wall_seconds,
            "step_p50_seconds": result.latency_ms(50) / 1e3,
            "step_p99_seconds": result.latency_ms(99) / 1e3,
            "peak_rss_bytes": usage.peak_rss_bytes,
            "average_rss_bytes": usage.average_rss_bytes,
            "db_bytes": result.db_bytes,
            "rss_growth_percent": result.rss_growth[1],
            "min_population_share": result.min_population_share,
        }

    setup_cache.timeout = 3600

    def setup(self, cache):
        if "skip" in cache:
            raise NotImplementedError(cache["skip"])

    def track_wall_seconds(self, cache):
        """Construction + 10 000 steps + close."""
        return cache["wall_seconds"]

    track_wall_seconds.unit = "seconds"

    def track_step_p50(self, cache):
        return cache["step_p50_seconds"]

    track_step_p50.unit = "seconds"

    def track_step_p99(self, cache):
        return cache["step_p99_seconds"]

    track_step_p99.unit = "seconds"

    def track_peak_rss(self, cache):
        return cache["peak_rss_bytes"]

    track_peak_rss.unit = "bytes"

    def track_average_rss(self, cache):
        """Time-weighted mean RSS over the run."""
        return cache["average_rss_bytes"]

    track_average_rss.unit = "bytes"

    def track_db_bytes(self, cache):
        """Database size on disk after close (main file + WAL + shared memory)."""
        return cache["db_bytes"]

    track_db_bytes.unit = "bytes"

    def track_rss_growth_percent_per_1000_steps(self, cache):
        """Leak check: target <= 1."""
        return cache["rss_growth_percent"]

    track_rss_growth_percent_per_1000_steps.unit = "percent"

    def track_min_population_share(self, cache):
        """Lowest population after a step over the cap (1.0: never below the cap). Larger is better."""
        return cache["min_population_share"]

    track_min_population_share.unit = "ratio"
