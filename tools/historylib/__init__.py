"""Shared helpers of the benchmark-history tools (``tools/asv_history.py``, ``tools/regression_drill.py``).

One concept per module:

- :mod:`historylib.proc`: subprocesses, always with a timeout; :class:`ToolError` (one line, exit 2).
- :mod:`historylib.gitrepo`: git, the engine commits of a branch, the configured branch.
- :mod:`historylib.asvconf`: ``asv.conf.json``, derived configs, running asv.
- :mod:`historylib.machine`: the machine name derived from the hardware, the reference check.
- :mod:`historylib.selection`: named benchmark selections and the larger-is-better list.
- :mod:`historylib.results`: values read from asv results JSON.
- :mod:`historylib.gate`: the direction-aware regression gate.
- :mod:`historylib.bisect`: bisection of one benchmark and one parameter combination.
- :mod:`historylib.history`: the resumable, chunked history run.
- :mod:`historylib.spread`: run-to-run and session-to-session spread statistics.
- :mod:`historylib.vendor`: the offline dashboard assets.
"""
