"""Subprocesses with a timeout on every call, and the one-line error of the tools."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

# Seconds. Every subprocess the tools start has one of these limits.
GIT_TIMEOUT = 120
NPM_TIMEOUT = 180
PIP_TIMEOUT = 1800
ASV_SHORT_TIMEOUT = 900  # machine, check, publish, compare, preview-less commands
ASV_RUN_TIMEOUT = 6 * 3600  # one `asv run` (a chunk of the history) or `asv find`


class ToolError(Exception):
    """An error caused by input or the environment: reported in one line, exit code 2."""


def run(cmd: list[str], cwd: Path, timeout: float, env: dict | None = None, check: bool = True) -> str:
    """Run ``cmd`` and return its stdout.

    Args:
        cmd: the command and its arguments.
        cwd: working directory.
        timeout: seconds before the command is killed.
        env: environment (default: inherited).
        check: raise on a non-zero exit.

    Returns:
        The command's standard output.

    Raises:
        ToolError: when the command cannot start or runs past ``timeout``.
        subprocess.CalledProcessError: when ``check`` and the command fails.
    """
    try:
        done = subprocess.run(cmd, cwd=cwd, check=check, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{cmd[0]} {' '.join(cmd[1:3])} ran past its {timeout:.0f} s timeout") from exc
    except FileNotFoundError as exc:
        raise ToolError(f"{cmd[0]} is not installed (not found on PATH)") from exc
    return done.stdout


def stream(cmd: list[str], cwd: Path, timeout: float, on_line: Callable[[str], None],
           env: dict | None = None) -> tuple[int, bool]:
    """Run ``cmd``, passing each output line (stdout and stderr merged) to ``on_line``.

    The command runs in its own process group, which is killed when it runs past ``timeout``.

    Args:
        cmd: the command and its arguments.
        cwd: working directory.
        timeout: seconds before the whole process group is killed.
        on_line: called with every line, newline included.
        env: environment (default: inherited).

    Returns:
        ``(exit code, timed_out)``.
    """
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1, env=env, start_new_session=True)
    except FileNotFoundError as exc:
        raise ToolError(f"{cmd[0]} is not installed (not found on PATH)") from exc
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    try:
        lines: Iterable[str] = proc.stdout or ()
        for line in lines:
            on_line(line)
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            kill()
            proc.wait()
    return rc, timed_out.is_set()
