"""Git in the scratch repositories of the benchmark-workflow tests (clones, toy histories)."""

from __future__ import annotations

import subprocess
from pathlib import Path

GIT_TIMEOUT = 120  # seconds for one git command


def git(repo: Path, *args: str) -> str:
    """``git ARGS`` run in ``repo``: its standard output, stripped; raises if git fails."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          timeout=GIT_TIMEOUT).stdout.strip()


def status(repo: Path) -> set[str]:
    """Every entry of ``git status --porcelain -z --untracked-files=all`` in ``repo``."""
    return {entry for entry in git(repo, "status", "--porcelain", "-z", "--untracked-files=all").split("\0") if entry}
