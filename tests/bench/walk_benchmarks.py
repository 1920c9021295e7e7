"""Walk every benchmark of a suite the way asv's runner does, without timing anything.

Run as a script with ``PYTHONPATH`` holding the directory that contains ``benchmarks/`` (and the
``farm/`` under test). For every benchmark and parameter combination it runs ``setup_cache``
(once per cache key), ``setup`` and ``teardown`` through asv_runner's own Benchmark objects, and
writes one JSON object: ``{name: {"params": [...], "version": ..., "outcomes": [...]}}`` where each
outcome is ``"ok"`` (setup succeeded), ``"skip"`` (NotImplementedError) or
``"error: <exception>"``. ``--run`` also calls the benchmark body once after a successful setup.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import traceback

from asv_runner.discovery import disc_benchmarks


def describe(exc: BaseException) -> str:
    return "error: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()


def walk(root: str, run_bodies: bool = False) -> dict:
    report: dict = {}
    caches: dict = {}
    for benchmark in disc_benchmarks(root, ignore_import_errors=False):
        combos = list(itertools.product(*benchmark._params)) if benchmark._params else [()]
        outcomes = []
        if benchmark.setup_cache_key is not None and benchmark.setup_cache_key not in caches:
            try:
                caches[benchmark.setup_cache_key] = ("ok", benchmark.do_setup_cache())
            except Exception as exc:  # noqa: BLE001 - every failure is reported
                caches[benchmark.setup_cache_key] = (describe(exc), None)
        for index in range(len(combos)):
            if benchmark._params:
                benchmark.set_param_idx(index)
            if benchmark.setup_cache_key is not None:
                status, cache = caches[benchmark.setup_cache_key]
                if status != "ok":
                    outcomes.append("setup_cache " + status)
                    continue
                benchmark.set_cache(cache)
            else:
                benchmark.set_cache(None)
            try:
                skipped = benchmark.do_setup()
                outcome = "skip" if skipped else "ok"
                if not skipped and run_bodies:
                    benchmark.do_run()
            except NotImplementedError:
                outcome = "skip"
            except Exception as exc:  # noqa: BLE001
                outcome = describe(exc)
            try:
                benchmark.do_teardown()
            except Exception as exc:  # noqa: BLE001
                outcome = "teardown " + describe(exc)
            outcomes.append(outcome)
        report[benchmark.name] = {
            "params": [[repr(value) for value in axis] for axis in benchmark._params],
            "version": benchmark.version,
            "outcomes": outcomes,
        }
    return report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", help="the benchmarks/ directory (its parent must be on sys.path)")
    parser.add_argument("out", help="where the JSON report is written (asv_runner prints on stdout)")
    parser.add_argument("--run", action="store_true", help="also call each benchmark once after setup")
    args = parser.parse_args()
    report = walk(args.root, args.run)
    with open(args.out, "w") as handle:
        json.dump(report, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
