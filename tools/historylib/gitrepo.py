"""git for the history tools: revisions, first-parent history, engine commits, the branch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .proc import GIT_TIMEOUT, ToolError, run

REPO_ROOT = Path(__file__).resolve().parents[2]
# A commit belongs to the history when it changed one of these (not results, docs or tools).
ENGINE_PATHS = ("farm", "setup.py")
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def git(*args: str, cwd: Path = REPO_ROOT) -> str:
    """Stdout of ``git ARGS`` in ``cwd`` (timeout :data:`GIT_TIMEOUT`); raises on failure."""
    return run(["git", *args], cwd=cwd, timeout=GIT_TIMEOUT)


def rev_parse(rev: str, cwd: Path = REPO_ROOT) -> str:
    """The full hash of ``rev``.

    Raises:
        ToolError: ``rev`` names no commit (one line for the user, exit 2).
    """
    try:
        return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=cwd).strip()
    except subprocess.CalledProcessError:
        raise ToolError(f"unknown revision {rev!r}: not a commit of {cwd}") from None


def check_range(spec: str, cwd: Path = REPO_ROOT) -> tuple[str, str]:
    """``FROM..TO`` as two full hashes (each checked with :func:`rev_parse`)."""
    if spec.count("..") != 1 or spec.count("...") or not all(spec.split("..")):
        raise ToolError(f"bad range {spec!r}: expected FROM..TO")
    start, end = spec.split("..")
    return rev_parse(start, cwd), rev_parse(end, cwd)


def first_parent_commits(rev: str, cwd: Path = REPO_ROOT) -> list[str]:
    """First-parent ancestors of ``rev``, oldest first (what asv graphs for a branch)."""
    if ".." in rev:
        check_range(rev, cwd)
    else:
        rev_parse(rev, cwd)
    return git("rev-list", "--first-parent", "--reverse", rev, cwd=cwd).split()


def touches(commit: str, paths=ENGINE_PATHS, cwd: Path = REPO_ROOT) -> bool:
    """Whether ``commit`` changed any of ``paths`` relative to its first parent (merges
    included: a merge counts when it brought engine changes into the branch)."""
    parents = git("rev-list", "--parents", "-n", "1", commit, cwd=cwd).split()[1:]
    base = parents[0] if parents else EMPTY_TREE
    return bool(git("diff", "--name-only", base, commit, "--", *paths, cwd=cwd).strip())


def engine_commits(rev: str, last: int | None = None, cwd: Path = REPO_ROOT) -> list[str]:
    """The first-parent commits of ``rev`` that changed the engine, oldest first; the newest
    ``last`` of them (None or 0: all)."""
    commits = [c for c in first_parent_commits(rev, cwd) if touches(c, cwd=cwd)]
    return commits[-last:] if last else commits


def default_branch(conf: dict, cwd: Path = REPO_ROOT) -> str:
    """The branch the history follows: the first of asv.conf.json's ``branches``, else the
    remote's default branch, else the checked-out branch."""
    branches = [b for b in conf.get("branches") or [] if b]
    if branches:
        return branches[0]
    try:
        return git("symbolic-ref", "--short", "refs/remotes/origin/HEAD", cwd=cwd).strip().split("/", 1)[1]
    except (subprocess.CalledProcessError, IndexError):
        pass
    try:
        return git("symbolic-ref", "--short", "HEAD", cwd=cwd).strip()
    except subprocess.CalledProcessError:
        raise ToolError("cannot tell which branch the history follows: set \"branches\" in asv.conf.json") from None


def subject(commit: str, cwd: Path = REPO_ROOT) -> str:
    """``<hash> <subject>`` of one commit."""
    return git("log", "-1", "--format=%H %s", commit, cwd=cwd).strip()
