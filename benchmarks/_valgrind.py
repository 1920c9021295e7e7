"""Counting the instructions of a workload alone, under valgrind's callgrind.

Used by ``bench_instructions``; it defines no benchmark itself (asv imports every module of
``benchmarks/``, so this one only imports the standard library and runs nothing at import).

How a count is made (:func:`count_workloads`):

* One child process per call: ``setarch <arch> -R valgrind --tool=callgrind --instr-atstart=no
  python <script>``. ``-R`` turns address-space randomisation off, so object addresses (and with
  them id-hashed sets, allocator paths) repeat from run to run.
* The child's environment is fixed and small: one thread for OpenMP/MKL/OpenBLAS (and
  ``torch.set_num_threads(1)`` when torch is loaded), ``PYTHONHASHSEED=0``, ``LC_ALL=C``. Its
  ``sys.path`` is the parent's, and the ``benchmarks`` package is loaded from the parent's
  directory by file location, so the child imports the same ``farm`` as the asv process that
  launched it (never a ``farm/`` that happens to sit next to ``benchmarks/``).
* With instrumentation off, interpreter start-up, imports, every workload's setup and one
  warm-up call of each run at valgrind's uninstrumented speed and are not counted.
* Then instrumentation starts once and, per workload: ``gc.collect()``, the cyclic collector is
  disabled (as ``timeit`` does), ``CALLGRIND_ZERO_STATS``, ``calls`` calls, and
  ``CALLGRIND_DUMP_STATS_AT(name)``, which writes one file whose total ``Ir`` is the workload's.
  The client requests come from a tiny shared library compiled once with gcc from
  ``valgrind/callgrind.h`` and loaded with ctypes (cached under the temporary directory, keyed
  by the header and the source, see :func:`client_library`).

Counts cover every user-space instruction of every thread of the child (the kernel's are not
seen), in the Python code and in every library it calls. Two runs of the same child give the
same counts (measured: identical to the instruction, or within 0.05 % for the torch workloads).
A count also depends a little on the allocator state the child's other workloads and imports
leave behind: reordering the workloads of one child moved the component counts by at most
0.2 % (a pure-Python loop, the worst case, by up to 4 %). So the workloads of a child are fixed
per benchmark class, and a step of under ~0.3 % at a commit that does not touch the component
is layout, not work.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "INSTALL_HINT",
    "CountReport",
    "Workload",
    "client_library",
    "count_workloads",
    "parse_output",
    "probe",
    "unavailable",
]

INSTALL_HINT = "apt-get install -y valgrind"
# Environment of the counted child: everything that changes a count from run to run is pinned.
CHILD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "LC_ALL": "C",
}
# Variables passed through from the parent when set (where programs and temporary files live).
PASSED_ENV = ("PATH", "HOME", "TMPDIR", "LD_LIBRARY_PATH")
OUT_PREFIX = "callgrind.out"

_CLIENT_SOURCE = """\
#include <valgrind/callgrind.h>
#include <valgrind/valgrind.h>
int agentfarm_running_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void agentfarm_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void agentfarm_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void agentfarm_zero(void) { CALLGRIND_ZERO_STATS; }
void agentfarm_dump(const char *name) { CALLGRIND_DUMP_STATS_AT(name); }
"""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Workload:
    """One counted workload.

    Attributes:
        name: label of the count (letters, digits, ``_ . -``); unique within one call.
        builder: ``"package.module:function"``; ``function(*args)`` does the setup and returns the
            zero-argument callable whose instructions are counted. It raises NotImplementedError
            (or ImportError) when the commit lacks the API, which skips the workload.
        args: JSON-serialisable arguments of ``builder``.
        calls: counted calls; the reported count is instructions per call.
        requires: a module the workload needs (e.g. ``"farm.spatial"``); when the parent cannot
            find it, the workload is skipped without starting valgrind. Empty: no check.
    """

    name: str
    builder: str
    args: tuple = ()
    calls: int = 1
    requires: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"workload name must match {_NAME.pattern}, got {self.name!r}")
        module, _, function = self.builder.partition(":")
        if not module or not function:
            raise ValueError(f"workload builder must be 'module:function', got {self.builder!r}")
        if not isinstance(self.calls, int) or self.calls < 1:
            raise ValueError(f"workload calls must be an int >= 1, got {self.calls!r}")
        object.__setattr__(self, "args", tuple(self.args))


@dataclass
class CountReport:
    """What one child reported. Plain data, so asv's ``setup_cache`` can pickle it.

    Attributes:
        counts: workload name -> instructions per call (total ``Ir`` / ``calls``).
        skipped: workload name -> why it was skipped (the commit lacks the API, or valgrind).
        failed: workload name -> the error its setup or run raised.
        seconds: CPU seconds of the child by phase (start-up, each setup, each count), for
            diagnostics.
    """

    counts: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def value(self, name: str) -> float:
        """The count of ``name``. Raises NotImplementedError (skipped, asv records a skip) or
        RuntimeError (failed, asv records a failure)."""
        if name in self.counts:
            return self.counts[name]
        if name in self.skipped:
            raise NotImplementedError(self.skipped[name])
        raise RuntimeError(self.failed.get(name, f"no instruction count for {name!r}"))


def _header() -> Path | None:
    """``valgrind/callgrind.h`` next to the valgrind on PATH, or in /usr/include."""
    valgrind = shutil.which("valgrind")
    candidates = []
    if valgrind:
        candidates.append(Path(valgrind).resolve().parent.parent / "include" / "valgrind" / "callgrind.h")
    candidates.append(Path("/usr/include/valgrind/callgrind.h"))
    return next((path for path in candidates if path.is_file()), None)


def unavailable() -> str | None:
    """None when instructions can be counted here, else one line saying what to install."""
    if platform.system() != "Linux":
        return f"instruction counts need Linux with valgrind, not {platform.system()}"
    if shutil.which("valgrind") is None or _header() is None:
        return f"valgrind (with callgrind.h) is not installed: {INSTALL_HINT}"
    if shutil.which("gcc") is None:
        return "gcc is not installed (it compiles the callgrind client requests): apt-get install -y gcc"
    if shutil.which("setarch") is None:
        return "setarch is not installed (it turns ASLR off): apt-get install -y util-linux"
    return None


def client_library(cache_dir: Path | None = None) -> Path:
    """The shared library of client requests, compiled once and cached.

    Args:
        cache_dir: where to keep it; default ``<tempdir>/agentfarm-callgrind``.

    Returns:
        Path of ``libagentfarm-callgrind-<key>.so``, ``key`` a hash of the header and the source.
    """
    header = _header()
    if header is None:
        raise RuntimeError(f"valgrind/callgrind.h not found: {INSTALL_HINT}")
    key = hashlib.sha256(header.read_bytes() + _CLIENT_SOURCE.encode()).hexdigest()[:16]
    directory = Path(cache_dir) if cache_dir is not None else Path(tempfile.gettempdir()) / "agentfarm-callgrind"
    library = directory / f"libagentfarm-callgrind-{key}.so"
    if library.is_file():
        return library
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as build:
        source = Path(build) / "client.c"
        source.write_text(_CLIENT_SOURCE)
        built = Path(build) / library.name
        include = header.parent.parent  # the directory holding valgrind/
        result = subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{include}", "-o", str(built), str(source)],
                                check=False, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"gcc could not build the callgrind client library: {result.stderr.strip()}")
        os.replace(built, library)  # atomic: concurrent builders agree on the result
    return library


def parse_output(text: str) -> tuple[str | None, dict[str, int]]:
    """Read one callgrind (or cachegrind) output file.

    Args:
        text: the file's contents.

    Returns:
        ``(trigger, totals)``: ``trigger`` is the name given to ``CALLGRIND_DUMP_STATS_AT`` (None
        for a dump at program end or a cachegrind file); ``totals`` maps each event of the
        ``events:`` line (``Ir`` first) to its total, from ``totals:`` (callgrind) or
        ``summary:`` (cachegrind, and callgrind files without ``totals:``).
    """
    trigger = None
    events: list[str] = []
    lines: dict[str, list[int]] = {}
    for line in text.splitlines():
        if line.startswith("desc: Trigger: Client Request: "):
            trigger = line[len("desc: Trigger: Client Request: "):].strip()
        elif line.startswith("events:"):
            events = line.split(":", 1)[1].split()
        elif line.startswith(("totals:", "summary:")):
            label, _, values = line.partition(":")
            lines[label] = [int(value) for value in values.split()]
    values = lines.get("totals", lines.get("summary"))
    if not events or values is None:
        raise ValueError("not a callgrind/cachegrind output: no 'events:' and 'totals:'/'summary:' lines")
    values = values + [0] * (len(events) - len(values))  # trailing zero events may be omitted
    return trigger, dict(zip(events, values))


_CHILD = textwrap.dedent('''\
    import time
    started = time.process_time()
    import ctypes, gc, importlib, importlib.util, json, os, sys, traceback
    spec = json.load(open(sys.argv[1]))
    sys.path[:] = spec["sys_path"]
    package, directory = spec["package"], spec["package_dir"]
    if package not in sys.modules:
        found = importlib.util.spec_from_file_location(
            package, os.path.join(directory, "__init__.py"), submodule_search_locations=[directory])
        module = importlib.util.module_from_spec(found)
        sys.modules[package] = module
        found.loader.exec_module(module)
    lib = ctypes.CDLL(spec["library"])
    lib.agentfarm_dump.argtypes = [ctypes.c_char_p]
    status = {"skipped": {}, "failed": {}, "running": lib.agentfarm_running_on_valgrind(), "seconds": {}}
    status["seconds"]["start-up"] = time.process_time() - started
    ready = []
    for work in spec["workloads"]:
        module_name, function = work["builder"].split(":")
        clock = time.process_time()
        try:
            call = getattr(importlib.import_module(module_name), function)(*work["args"])
            if "torch" in sys.modules:
                sys.modules["torch"].set_num_threads(1)
            call()  # warm-up, not counted
        except (NotImplementedError, ImportError) as exc:
            status["skipped"][work["name"]] = f"{type(exc).__name__}: {exc}"
        except Exception:
            status["failed"][work["name"]] = traceback.format_exc(limit=-3).strip()
        else:
            ready.append((work, call))
        status["seconds"]["setup " + work["name"]] = time.process_time() - clock
    lib.agentfarm_start()
    for work, call in ready:
        clock = time.process_time()
        gc.collect()
        gc.disable()
        try:
            lib.agentfarm_zero()
            for _ in range(work["calls"]):
                call()
            lib.agentfarm_dump(work["name"].encode())
        except Exception:
            status["failed"][work["name"]] = traceback.format_exc(limit=-3).strip()
        finally:
            gc.enable()
        status["seconds"]["count " + work["name"]] = time.process_time() - clock
    lib.agentfarm_stop()
    with open(spec["status"], "w") as out:
        json.dump(status, out)
''')


def _missing_module(name: str) -> bool:
    """True when module ``name`` cannot be found (its parent packages are imported to look)."""
    if not name:
        return False
    try:
        return importlib.util.find_spec(name) is None
    except ImportError:
        return True


def _package_location() -> tuple[str, str]:
    """``(name, directory)`` of the package holding this module (``benchmarks`` under asv)."""
    package = __name__.rpartition(".")[0] or "benchmarks"
    return package.split(".")[0], str(Path(__file__).resolve().parent)


def _child_sys_path() -> list[str]:
    return [os.path.abspath(entry) if entry else os.getcwd() for entry in sys.path]


def count_workloads(workloads: list[Workload], timeout: float = 600.0, python: str | None = None) -> CountReport:
    """Count every workload in ONE valgrind child (imports are paid once).

    Args:
        workloads: what to count, in order; names must be unique.
        timeout: seconds before the child is killed (then every workload fails).
        python: interpreter of the child; default ``sys.executable``.

    Returns:
        A :class:`CountReport`. Where valgrind cannot run here, every workload is skipped with the
        one-line reason of :func:`unavailable`.
    """
    names = [work.name for work in workloads]
    if len(set(names)) != len(names):
        raise ValueError(f"workload names must be unique, got {names}")
    report = CountReport()
    reason = unavailable()
    if reason is not None:
        report.skipped = {name: reason for name in names}
        return report
    for work in workloads:
        if _missing_module(work.requires):
            report.skipped[work.name] = f"{work.requires} is not available at this commit"
    workloads = [work for work in workloads if work.name not in report.skipped]
    if not workloads:
        return report
    names = [work.name for work in workloads]
    library = client_library()
    package, package_dir = _package_location()
    with tempfile.TemporaryDirectory(prefix="agentfarm-instr-") as work_dir:
        work = Path(work_dir)
        spec = {
            "sys_path": _child_sys_path(),
            "package": package,
            "package_dir": package_dir,
            "library": str(library),
            "status": str(work / "status.json"),
            "workloads": [{"name": w.name, "builder": w.builder, "args": list(w.args), "calls": w.calls}
                          for w in workloads],
        }
        (work / "spec.json").write_text(json.dumps(spec))
        (work / "count.py").write_text(_CHILD)
        env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
        env.update(CHILD_ENV)
        command = [
            "setarch", platform.machine(), "-R",
            "valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-line=no",
            f"--callgrind-out-file={work / OUT_PREFIX}",
            python or sys.executable, str(work / "count.py"), str(work / "spec.json"),
        ]
        try:
            result = subprocess.run(
                command, check=False, cwd=work, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            report.failed = {name: f"valgrind child timed out after {timeout:.0f} s" for name in names}
            return report
        status_path = work / "status.json"
        if result.returncode != 0 or not status_path.is_file():
            tail = "\n".join(result.stderr.strip().splitlines()[-15:])
            report.failed = {name: f"valgrind child exited with {result.returncode}:\n{tail}" for name in names}
            return report
        status = json.loads(status_path.read_text())
        if not status["running"]:
            report.failed = {name: "the child did not run under valgrind (client requests are no-ops)"
                             for name in names}
            return report
        totals = {}
        for path in work.glob(OUT_PREFIX + ".*"):
            trigger, events = parse_output(path.read_text())
            if trigger is not None:
                totals[trigger] = events["Ir"]
        report.skipped.update(status["skipped"])
        report.failed.update(status["failed"])
        report.seconds = status["seconds"]
        for w in workloads:
            if w.name in report.skipped or w.name in report.failed:
                continue
            if w.name not in totals:
                report.failed[w.name] = "callgrind wrote no dump for this workload"
            else:
                report.counts[w.name] = totals[w.name] / w.calls
    return report


def probe(n: int):
    """A tiny workload for self-checks: the callable sums ``i * i`` for ``i < n`` in pure Python
    (about ``n`` loop iterations, so its count grows with ``n``)."""

    def call() -> int:
        total = 0
        for i in range(n):
            total += i * i
        return total

    return call
