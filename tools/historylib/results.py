"""Values read straight from asv results JSON (``results/<machine>/<hash8>-<env>.json``).

A point is one benchmark at one parameter combination, labelled as asv labels it:
``bench_x.Cls.time_y(p1, p2)`` (parameters as asv stores them, strings in quotes), or the bare
name for a benchmark without parameters.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path


def result_files(results_dir: Path, machine: str, commit: str | None = None) -> list[Path]:
    """Result files of ``machine`` (of one ``commit`` when given), ``machine.json`` excluded."""
    pattern = f"{commit[:8]}-*.json" if commit else "*-*.json"
    return sorted(p for p in (results_dir / machine).glob(pattern) if p.name != "machine.json")


def points_of_file(path: Path, since: float | None = None) -> dict[str, float]:
    """``{label: value}`` of every measured (finite) point of one results file; with ``since``
    (seconds since the epoch), only of the benchmarks asv started (``started_at``, milliseconds)
    at or after that time."""
    data = json.loads(path.read_text())
    columns = data.get("result_columns", ["result", "params"])
    i_result, i_params = columns.index("result"), columns.index("params")
    i_started = columns.index("started_at") if "started_at" in columns else None
    points: dict[str, float] = {}
    for name, entry in data.get("results", {}).items():
        values, params = entry[i_result], entry[i_params] if len(entry) > i_params else []
        if values is None or (since is not None and (i_started is None or _started(entry, i_started) < since * 1e3)):
            continue
        if not isinstance(values, list):
            values = [values]
        labels = [f"{name}({', '.join(combo)})" for combo in itertools.product(*params)] if params else [name]
        for label, value in zip(labels, values):
            if isinstance(value, (int, float)) and math.isfinite(value):
                points[label] = float(value)
    return points


def load_points(results_dir: Path, machine: str, commit: str | None = None,
                since: float | None = None) -> dict[str, float]:
    """Every measured point of ``machine`` (of one ``commit`` when given; files merged); with
    ``since``, only those measured at or after it (see :func:`points_of_file`)."""
    points: dict[str, float] = {}
    for path in result_files(results_dir, machine, commit):
        points.update(points_of_file(path, since))
    return points


def measured_commits(results_dir: Path, machine: str) -> set[str]:
    """The 8-character hashes that have a result file of ``machine``."""
    return {path.name.split("-")[0] for path in result_files(results_dir, machine)}


def recorded_versions(results_dir: Path, machine: str) -> dict[str, dict[str, str]]:
    """``{8-character hash: {benchmark name: version}}`` of every entry asv recorded (measured,
    failed or skipped) in ``machine``'s result files."""
    recorded: dict[str, dict[str, str]] = {}
    for path in result_files(results_dir, machine):
        try:
            data = json.loads(path.read_text())
            i_version = data.get("result_columns", []).index("version")
        except (OSError, ValueError):
            continue
        versions = recorded.setdefault(path.name.split("-")[0], {})
        for name, entry in data.get("results", {}).items():
            if len(entry) > i_version:
                versions[name] = str(entry[i_version])
    return recorded


def covering_commits(recorded: dict[str, dict[str, str]], wanted: dict[str, str]) -> set[str]:
    """The 8-character hashes whose results (``recorded``: :func:`recorded_versions`) hold an
    entry for every benchmark of ``wanted`` (``{name: version}``) at that version (measured,
    failed or skipped: asv recorded it), e.g. a selection already run. A benchmark whose
    ``version`` changed counts as missing."""
    return {commit for commit, versions in recorded.items()
            if all(versions.get(name) == str(version) for name, version in wanted.items())}


def touching_commits(recorded: dict[str, dict[str, str]], wanted: dict[str, str]) -> set[str]:
    """The 8-character hashes whose results (``recorded``: :func:`recorded_versions`) hold an
    entry for at least one benchmark of ``wanted`` (any version)."""
    return {commit for commit, versions in recorded.items() if any(name in versions for name in wanted)}


def params_label(name: str, params: list[str] | None) -> str:
    """The label pattern of one combination: ``name(p1, p2)``; values may omit asv's quotes."""
    return f"{name}({', '.join(params)})" if params else name


def _unquote(text: str) -> str:
    return text.strip().strip("'\"")


def find_point(points: dict[str, float], name: str, params: list[str] | None) -> float | None:
    """The value of benchmark ``name`` at the combination ``params`` (None: not measured).

    ``params`` are compared without asv's quotes (``kdtree`` matches ``'kdtree'``).
    """
    if not params:
        return points.get(name)
    want = [_unquote(p) for p in params]
    for label, value in points.items():
        if not label.startswith(name + "("):
            continue
        got = [_unquote(p) for p in label[len(name) + 1:-1].split(", ")]
        if got == want:
            return value
    return None


def combination_regex(name: str, params: list[str] | None) -> str:
    """An asv ``--bench`` regex selecting only ``name`` at ``params`` (asv matches
    ``name(p1, p2)`` for parameterized benchmarks)."""
    import re

    if not params:
        return f"^{re.escape(name)}$"
    inner = ", ".join(f"['\"]?{re.escape(_unquote(p))}['\"]?" for p in params)
    return f"^{re.escape(name)}\\({inner}\\)$"


def merge_result_files(source: Path, destination: Path) -> tuple[int, int]:
    """Merge the per-commit result files of one machine directory into another.

    For a pass measured in a second worktree (e.g. the instruction tracks, whose counts do not
    depend on load, beside a wall-time pass): each ``<hash8>-<env>.json`` of ``source`` is
    written to ``destination``; where the destination has that file, the two are joined
    benchmark by benchmark (``results`` and ``durations``). Where both measured a benchmark, the
    newer measurement (asv's ``started_at``) wins, so a benchmark re-measured in one checkout
    (e.g. a fix that makes it skip on old commits) is not undone by an older copy from another.
    The files are written as asv writes them (compact JSON). A destination without
    ``machine.json`` gets the source's.

    Returns:
        ``(files written, benchmark entries taken from source)``.

    Raises:
        ValueError: a file pair of another commit or environment than its name says.
    """
    import asv.util

    written = taken = 0
    if (source / "machine.json").exists() and not (destination / "machine.json").exists():
        destination.mkdir(parents=True, exist_ok=True)
        (destination / "machine.json").write_text((source / "machine.json").read_text())
    for path in sorted(source.glob("*-*.json")):
        if path.name == "machine.json":
            continue
        incoming = json.loads(path.read_text())
        target = destination / path.name
        if target.exists():
            merged = json.loads(target.read_text())
            for key in ("commit_hash", "env_name", "result_columns"):
                if merged.get(key) != incoming.get(key):
                    raise ValueError(f"cannot merge {path} into {target}: their {key} differ "
                                     f"({incoming.get(key)!r} vs {merged.get(key)!r})")
            columns = merged.get("result_columns") or []
            started = columns.index("started_at") if "started_at" in columns else None
            for name, entry in incoming.get("results", {}).items():
                current = merged["results"].get(name)
                newer_here = current is not None and started is not None and (
                    _started(current, started) > _started(entry, started))
                if newer_here:
                    continue  # the destination's measurement is the newer one
                merged["results"][name] = entry
                taken += 1
            merged.setdefault("durations", {}).update(incoming.get("durations", {}))
        else:
            merged = incoming
            taken += len(incoming.get("results", {}))
        destination.mkdir(parents=True, exist_ok=True)
        asv.util.write_json(str(target), merged, compact=True)
        written += 1
    return written, taken


def _started(entry: list, column: int) -> float:
    """asv's ``started_at`` of one results row (0 where missing)."""
    value = entry[column] if len(entry) > column else None
    return float(value) if isinstance(value, (int, float)) else 0.0
