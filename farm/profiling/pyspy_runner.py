"""py-spy around a simulation subprocess: ``record`` (flame graph SVG) and ``top`` (hot functions).

py-spy samples another process through ptrace. Where that is refused (containers without
CAP_SYS_PTRACE, Yama ptrace_scope 3) both calls raise :class:`ToolUnavailable` with one line
saying so; a missing executable does the same. ``py-spy top`` draws a terminal screen, so it runs
under a pseudo-terminal and the last screen is parsed into rows.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from farm.profiling.availability import PTRACE_DENIED_MESSAGE, ToolUnavailable, find_py_spy

__all__ = ["FlameGraph", "TopRow", "TopSnapshot", "py_spy_record", "py_spy_top", "parse_top_screen"]

_DENIED_PATTERNS = ("permission denied", "operation not permitted", "ptrace")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
_TOP_ROW = re.compile(r"^\s*([\d.]+)%\s+([\d.]+)%\s+([\d.]+)s\s+([\d.]+)s\s+(\S.*?)\s*$")
_TOTAL_SAMPLES = re.compile(r"Total Samples\s+(\d+)")


@dataclass(frozen=True)
class FlameGraph:
    """A py-spy flame graph written to disk.

    Attributes:
        svg_path: the flame graph (an SVG; open in a browser).
        samples: stack samples py-spy collected.
        errors: samples py-spy failed to read.
    """

    svg_path: Path
    samples: int
    errors: int


@dataclass(frozen=True)
class TopRow:
    """One function's row of ``py-spy top``.

    One function of ``py-spy top``: share of samples in its own body and in it or its callees,
    and the matching seconds.
    """

    own_percent: float
    total_percent: float
    own_seconds: float
    total_seconds: float
    function: str


@dataclass(frozen=True)
class TopSnapshot:
    """The last screen of ``py-spy top``.

    Attributes:
        total_samples: samples behind the last screen.
        rows: its rows, highest own time first (py-spy's order).
    """

    total_samples: int
    rows: tuple[TopRow, ...]


def _raise_if_denied(output: str) -> None:
    lowered = output.lower()
    if any(pattern in lowered for pattern in _DENIED_PATTERNS):
        raise ToolUnavailable(PTRACE_DENIED_MESSAGE)


def py_spy_record(
    command: Sequence[str],
    svg_path: str | Path,
    rate: int = 100,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout_s: float = 300.0,
) -> FlameGraph:
    """``py-spy record -o svg_path -r rate -- command``; the command's own output is discarded."""
    exe = find_py_spy()
    svg = Path(svg_path)
    svg.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [exe, "record", "-o", str(svg), "-r", str(rate), "--", *command],
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or not svg.is_file():
        _raise_if_denied(output)
        last = output.strip().splitlines()[-1] if output.strip() else f"exit status {proc.returncode}"
        raise RuntimeError(f"py-spy record failed: {last}")
    match = re.search(r"Samples:\s*(\d+)\s*Errors:\s*(\d+)", output)
    samples, errors = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    return FlameGraph(svg, samples, errors)


def parse_top_screen(screen: str) -> TopSnapshot:
    """Parse the last ``py-spy top`` screen contained in ``screen`` (terminal codes removed)."""
    text = _ANSI.sub("\n", screen).replace("\r", "\n")
    starts = [m.start() for m in _TOTAL_SAMPLES.finditer(text)]
    if not starts:
        return TopSnapshot(0, ())
    last = text[starts[-1]:]
    total = int(_TOTAL_SAMPLES.match(last).group(1))  # type: ignore[union-attr]
    rows = []
    for line in last.splitlines():
        match = _TOP_ROW.match(line)
        if match:
            own_p, total_p, own_s, total_s, function = match.groups()
            rows.append(TopRow(float(own_p), float(total_p), float(own_s), float(total_s), function))
    return TopSnapshot(total, tuple(rows))


def py_spy_top(
    command: Sequence[str],
    rate: int = 100,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout_s: float = 300.0,
    columns: int = 200,
    rows: int = 60,
) -> TopSnapshot:
    """Run a command under ``py-spy top`` and keep its last screen.

    ``py-spy top -- command`` under a ``columns x rows`` pseudo-terminal, until the command
    exits; returns the last screen it drew.
    """
    exe = find_py_spy()
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    try:
        proc = subprocess.Popen(
            [exe, "top", "-r", str(rate), "--delay", "0.5", "--", *command],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            close_fds=True,
        )
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise RuntimeError(f"py-spy top did not finish within {timeout_s} s")
        proc.wait(timeout=10)
    finally:
        os.close(master)
    screen = b"".join(chunks).decode("utf-8", errors="replace")
    snapshot = parse_top_screen(screen)
    if not snapshot.rows:
        _raise_if_denied(screen)
        tail = _ANSI.sub(" ", screen).strip().splitlines()
        raise RuntimeError(f"py-spy top produced no rows: {tail[-1] if tail else f'exit status {proc.returncode}'}")
    return snapshot
