"""asv.conf.json, derived configs, and running asv (always with a timeout)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .gitrepo import REPO_ROOT
from .proc import ASV_SHORT_TIMEOUT, ToolError, stream

ASV_CONFIG = REPO_ROOT / "asv.conf.json"
ASV_VERSION = "0.6.6"
PERCENT_LINE = re.compile(r"^\[\s*(\d+(?:\.\d+)?)%\]\s*(·+)\s*(.*)$")
COMMIT_LINE = re.compile(r"For \S+ commit ([0-9a-f]{7,40})")
# asv lines with a percentage that are table rows or details, not progress.
NOT_PROGRESS = ("=", "-", "For parameters", "asv:", "Traceback")
FOUND_LINE = re.compile(r"Greatest (?:regression|improvement) found: ([0-9a-f]{7,40})")
# Every `asv run` rewrites ~/.asv-machine.json at its start (open, truncate, write: not atomic), so
# a concurrent asv (the other peak-memory share, a pass in another worktree) can read it
# half-written and stop before measuring anything, exit status 1: "Error parsing JSON in file
# '/root/.asv-machine.json': Expecting value". :func:`run_asv` starts such a run again.
MACHINE_FILE_RACE = re.compile(r"Error parsing JSON in file '[^']*\.asv-machine\.json'")
MACHINE_FILE_RETRIES = 2

log = logging.getLogger(__name__)


def load_asv_config(path: Path = ASV_CONFIG) -> dict:
    """asv.conf.json as a dict (it may hold // comments)."""
    from asv import util

    try:
        return util.load_json(str(path), js_comments=True)
    except util.UserError as exc:
        raise ToolError(f"cannot read {path}: {exc}") from None


def write_derived_config(out_path: Path, base: Path = ASV_CONFIG, root: Path = REPO_ROOT, **overrides) -> Path:
    """A copy of ``base`` with every path made absolute against ``root`` and ``overrides``
    applied, so asv can run against another results/html/env directory or repository."""
    conf = load_asv_config(base)
    for key in ("repo", "benchmark_dir", "env_dir", "results_dir", "html_dir"):
        if key in conf:
            conf[key] = str((root / conf[key]).resolve())
    conf.update({key: (str(value) if isinstance(value, Path) else value) for key, value in overrides.items()})
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(conf, indent=4))
    return out_path


def config_dir(config: Path | None, key: str, root: Path = REPO_ROOT) -> Path:
    """The absolute ``results_dir`` / ``html_dir`` / ... of ``config`` (default asv.conf.json);
    a relative path is taken against ``root``."""
    conf = load_asv_config(config or ASV_CONFIG)
    path = Path(conf.get(key, key.replace("_dir", "")))
    return path if path.is_absolute() else (root / path)


def asv_command(*args: str, config: Path | None = None) -> list[str]:
    """``python -m asv [--config CONFIG] ARGS``."""
    cmd = [sys.executable, "-m", "asv"]
    if config is not None:
        cmd += ["--config", str(config)]
    return cmd + list(args)


def run_asv(*args: str, config: Path | None = None, cwd: Path = REPO_ROOT, log_path: Path | None = None,
            progress: bool = False, total_commits: int = 0, timeout: float = ASV_SHORT_TIMEOUT,
            echo: bool = True, append_log: bool = False) -> tuple[int, str]:
    """Run asv, streaming its output (or, with ``progress``, one progress line); again when it
    read a half-written machine file (:func:`retry_machine_file_race`), its output appended to the
    same log.

    Args:
        args: asv's arguments.
        config: asv config file (default: asv.conf.json of ``cwd``).
        cwd: working directory.
        log_path: where the full output is also written.
        progress: show one progress line instead of asv's output.
        total_commits: commits of the run, for the progress line.
        timeout: seconds before asv (its whole process group) is killed.
        echo: print asv's output (ignored with ``progress``).
        append_log: add to ``log_path`` instead of starting it afresh.

    Returns:
        ``(exit code, output)`` of the last asv process.

    Raises:
        ToolError: asv ran past ``timeout``.
    """
    last: list[tuple[int, str]] = []

    def attempt(again: bool) -> tuple[int, str]:
        last[:] = [_run_asv_once(args, config, cwd, log_path, progress, total_commits, timeout, echo,
                                 append_log or again)]
        return last[0]

    retry_machine_file_race(attempt)
    return last[0]


def _run_asv_once(args: tuple[str, ...], config: Path | None, cwd: Path, log_path: Path | None, progress: bool,
                  total_commits: int, timeout: float, echo: bool, append_log: bool) -> tuple[int, str]:
    """One asv process: see :func:`run_asv`."""
    cmd = asv_command(*args, config=config)
    started = time.monotonic()
    lines: list[str] = []
    tty = sys.stdout.isatty()
    state = {"commit_no": 0, "commit": ""}
    log = open(log_path, "a" if append_log else "w") if log_path else None

    def on_line(line: str) -> None:
        lines.append(line)
        if log:
            log.write(line)
            log.flush()
        if not progress:
            if echo:
                sys.stdout.write(line)
                sys.stdout.flush()
            return
        found = COMMIT_LINE.search(line)
        if found:
            state["commit_no"] += 1
            state["commit"] = found.group(1)[:8]
        match = PERCENT_LINE.match(line.rstrip())
        if match and not match.group(3).lstrip().startswith(NOT_PROGRESS):
            elapsed = int(time.monotonic() - started)
            what = match.group(3).strip()
            status = (f"[history {float(match.group(1)):5.1f}%] commit {state['commit_no']}/{total_commits or '?'} "
                      f"{state['commit']} | {elapsed // 60}m{elapsed % 60:02d}s | {what[:70]}")
            sys.stdout.write("\r" + status.ljust(140)[:140] if tty else status + "\n")
            sys.stdout.flush()
        if "failed" in line.lower():
            sys.stdout.write(("\n" if tty else "") + line)

    try:
        if log:
            log.write("$ " + " ".join(cmd) + "\n")
        rc, timed_out = stream(cmd, cwd=cwd, timeout=timeout, on_line=on_line)
    finally:
        if log:
            log.close()
    if progress and tty:
        sys.stdout.write("\n")
    if timed_out:
        raise ToolError(f"asv {args[0] if args else ''} ran past its {timeout:.0f} s timeout"
                        + (f" (log: {log_path})" if log_path else ""))
    return rc, "".join(lines)


def retry_machine_file_race(attempt: Callable[[bool], tuple[int, str]]) -> int:
    """Run ``attempt(False)`` and, while it failed on a half-written ``~/.asv-machine.json``
    (:data:`MACHINE_FILE_RACE`: another asv process was rewriting it), ``attempt(True)``
    up to :data:`MACHINE_FILE_RETRIES` times. ``attempt(again)`` runs asv once and returns ``(exit
    code, output)``. Returns the last exit code."""
    rc, output = attempt(False)
    for _ in range(MACHINE_FILE_RETRIES):
        if rc == 0 or not MACHINE_FILE_RACE.search(output):
            break
        log.warning("asv read ~/.asv-machine.json while another asv process rewrote it; running it again")
        rc, output = attempt(True)
    return rc
