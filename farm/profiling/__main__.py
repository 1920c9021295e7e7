"""``python -m farm.profiling``: the profiling suite (same as ``run_profiling_suite``)."""

from farm.profiling.suite import main

raise SystemExit(main())
