"""Property tests: whatever a user types, the CLI ends with exit 0, or exit 2 and one line.

Bad values are generated for every config field (found by walking the config dataclasses, so a
new field is fuzzed without touching this file): negative, zero, huge, NaN, inf, wrong types,
unknown keys, unwritable paths; and for every flag. The CLI runs in-process (``farm.cli.main``)
on a tiny world for two steps, so a valid case is fast; a few cases also run as real processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import subprocess
import sys
import tempfile
import typing
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from farm.config import SimulationConfig, load_config
from tests.conftest import REPO_ROOT, subprocess_env

# Per-case time limit: a tiny run takes well under a second; a refusal must come before any
# allocation. Generous, because the machine running the tests may be loaded.
CASE_DEADLINE = timedelta(seconds=30)
FUZZ = settings(max_examples=40, deadline=CASE_DEADLINE, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _leaf_fields(cls: type = SimulationConfig, prefix: str = "") -> list[str]:
    """Dotted names of every leaf field of the config, e.g. ``'storage.queue_size'``."""
    hints = typing.get_type_hints(cls)
    out: list[str] = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out += _leaf_fields(hint, f"{prefix}{f.name}.")
        else:
            out.append(prefix + f.name)
    return out


FIELDS = _leaf_fields()
UNWRITABLE = ["/proc/agentfarm/x.db", "/proc/x.db", "/nonexistent/dir/x.db", "/dev/null", "/dev/null/x.db", "", "/"]
BAD_VALUES = st.one_of(
    st.sampled_from([-1, -10**9, 0, 0.0, -0.5, 10**18, 2**63, 10**30, 1e300, -1e300, float("nan"),
                     float("inf"), float("-inf"), True, False, None, "", "abc", "NaN", [], [1], [[1, 2]],
                     {"a": 1}, {}]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(UNWRITABLE),
)
# A tiny valid run the bad value goes into; "{tmp}" is the case's temporary directory.
BASE = {
    "world": {"width": 20.0, "height": 20.0},
    "agents": {"system": 1, "independent": 1, "control": 1},
    "storage": {"db_path": "{tmp}/run.db"},
}
POLICIES = st.sampled_from(["random", "rule", "ddqn", "ppo"])


def _nested(dotted: str, value) -> dict:
    *parents, leaf = dotted.split(".")
    node: dict = {leaf: value}
    for part in reversed(parents):
        node = {part: node}
    return node


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _fill(data, tmp: str):
    if isinstance(data, dict):
        return {k: _fill(v, tmp) for k, v in data.items()}
    if isinstance(data, str):
        return data.replace("{tmp}", tmp)
    return data


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``farm.cli.main(argv)`` in-process: (exit code, stdout, stderr)."""
    from farm.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def assert_clean_ending(code, err: str) -> None:
    if currently_in_test_context():
        event(f"exit {code}")  # --hypothesis-show-statistics: how many cases ran, how many were refused
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("run_simulation: error: "), err
    else:
        assert len(lines) <= 1, err  # at most a warning or notice


@st.composite
def bad_configs(draw) -> dict:
    """A tiny run with one field (or an unknown key) replaced by a bad value."""
    data = _merge(BASE, {"decision": {t: draw(POLICIES) for t in ("system", "independent", "control")}})
    if draw(st.integers(0, 9)) == 0:  # an unknown key, at the root or in a section
        section = draw(st.sampled_from(["", "world.", "agents.", "storage.", "decision.ddqn."]))
        return _merge(data, _nested(section + "no_such_" + draw(st.text("abc", min_size=1, max_size=4)), 1))
    dotted = draw(st.sampled_from(FIELDS))
    value = draw(BAD_VALUES)
    data = _merge(data, _nested(dotted, value))
    if dotted == "storage.persist_path":
        data = _merge(data, _nested("storage.db_path", ":memory:"))
    if dotted == "decision.checkpoint_dir":
        data = _merge(data, {"decision": {"system": "ddqn", "checkpoint_every": 1}})
    return data


@FUZZ
@given(data=bad_configs())
def test_any_config_file_ends_in_exit_0_or_one_line_exit_2(data):
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):  # relative paths land in tmp
        path = Path(tmp) / "case.json"
        path.write_text(json.dumps(_fill(data, tmp)))  # json writes NaN / Infinity, and Python reads them
        code, _, err = run_cli(["--steps", "2", "--no-progress", "--config", str(path)])
        assert_clean_ending(code, err)


@settings(max_examples=200, deadline=CASE_DEADLINE, derandomize=True, database=None)
@given(data=bad_configs())
def test_the_config_loader_returns_a_config_or_raises_one_line_value_error(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.json"
        path.write_text(json.dumps(_fill(data, tmp)))
        try:
            config = load_config(path)
        except ValueError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert isinstance(config, SimulationConfig)
            assert load_config_roundtrip(config) == config


def load_config_roundtrip(config: SimulationConfig) -> SimulationConfig:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "again.json"
        path.write_text(config.to_json())
        return load_config(path)


# Every field gets each of these, whatever its type (the hypothesis tests above sample them).
EVERY_FIELD_VALUES = [-1, 0, 10**30, 1e300, float("nan"), float("inf"), "abc", None, True, [1], {}, "/proc/x/y"]


def _case(dotted: str, value) -> dict:
    """BASE with ``dotted`` set to ``value``, and what the field needs in order to matter."""
    policy = "ppo" if dotted.startswith("decision.ppo") else "ddqn" if dotted.startswith("decision.") else "random"
    data = _merge(_merge(BASE, {"decision": {"system": policy}}), _nested(dotted, value))
    if dotted == "storage.persist_path":
        data = _merge(data, _nested("storage.db_path", ":memory:"))
    if dotted == "decision.checkpoint_dir":
        data = _merge(data, _nested("decision.checkpoint_every", 1))
    return data


def test_every_field_with_every_bad_value_loads_or_fails_in_one_line(tmp_path):
    failures = []
    for dotted in FIELDS:
        for value in EVERY_FIELD_VALUES:
            path = tmp_path / "case.json"
            path.write_text(json.dumps(_fill(_case(dotted, value), str(tmp_path))))
            try:
                load_config(path)
            except ValueError as exc:
                if not str(exc) or "\n" in str(exc):
                    failures.append((dotted, value, str(exc)))
            except Exception as exc:  # noqa: BLE001 - collected, so one run shows every offender
                failures.append((dotted, value, repr(exc)))
    assert not failures, failures


def test_every_field_at_a_huge_value_runs_or_is_refused_in_one_line(tmp_path):
    """The values validation lets through are the dangerous ones: 10**30 of anything."""
    failures = []
    for dotted in FIELDS:
        case = tmp_path / dotted
        case.mkdir()
        path = case / "case.json"
        path.write_text(json.dumps(_fill(_case(dotted, 10**30), str(case))))
        with contextlib.chdir(case):
            code, _, err = run_cli(["--steps", "2", "--no-progress", "--config", str(path)])
        lines = err.strip().splitlines()
        if code not in (0, 2) or "Traceback" in err or (code == 2 and len(lines) != 1) or len(lines) > 1:
            failures.append((dotted, code, err[-500:]))
    assert not failures, failures


FLAG_VALUES = {
    "--steps": st.one_of(st.integers(-5, 3).map(str), st.sampled_from(["1e3", "x", "", "nan", "10**9"])),
    "--agents": st.one_of(st.integers(-3, 6).map(str),
                          st.sampled_from(["1e9", "10000000000000", "system=-1", "wizard=2", "system=", "=3",
                                           "system=2,control=x", "nan", "", "0"])),
    "--seed": st.one_of(st.integers(-2, 2).map(str), st.sampled_from([str(2**64), "-1", "x", "1.5"])),
    "--world-size": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                              st.sampled_from(["1e200", "1e9", "1e9x1", "0x5", "5x", "x", "3x4x5", "-2", "inf"])),
    "--db": st.sampled_from([*UNWRITABLE, "none", ":memory:", "{tmp}", "{tmp}/ok.db"]),
    "--policy": st.sampled_from(["random", "rule", "dqn", "", "PPO", "1"]),
    "--policy-system": st.sampled_from(["ddqn", "nope"]),
    "--preset": st.sampled_from(["light", "agentfarm", "heavy", ""]),
    "--config": st.sampled_from(["{tmp}", "{tmp}/missing.toml", "/dev/null", "/proc/self/status"]),
    "--profile-out": st.sampled_from([*UNWRITABLE, "{tmp}", "{tmp}/a/b/c.prof"]),
}


@FUZZ
@given(flags=st.dictionaries(st.sampled_from(sorted(FLAG_VALUES)), st.just(None), min_size=1, max_size=3),
       data=st.data())
def test_any_flags_end_in_exit_0_or_one_line_exit_2(flags, data):
    argv = ["--steps", "2", "--agents", "3", "--world-size", "20", "--no-progress"]
    for flag in flags:
        argv += [flag, data.draw(FLAG_VALUES[flag], label=flag)]
    if "--profile-out" in flags:
        argv.append("--perf-profile")
    if "--preset" in flags:
        argv += ["--db", "none"]  # the agentfarm preset logs to simulation.db in the working directory
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp):  # relative paths land in tmp
        argv = [a.replace("{tmp}", tmp) for a in argv]
        if "--db" not in flags and "--preset" not in flags:
            argv += ["--db", f"{tmp}/run.db"]
        code, _, err = run_cli(argv)
        assert_clean_ending(code, err)


@pytest.mark.parametrize(
    "args",
    [
        ["--world-size", "1e200"],
        ["--agents", "100000000"],
        ["--perf-profile", "--profile-out", "/proc/nope/x.prof"],
        ["--seed", "nan"],
    ],
)
def test_as_a_real_process(tmp_path, args):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "run_simulation.py"), "--steps", "2", "--agents", "3",
                             "--db", "none", *args], cwd=tmp_path, env=subprocess_env(), capture_output=True,
                            text=True, timeout=60)
    assert_clean_ending(result.returncode, result.stderr)
    assert result.returncode == 2 and list(tmp_path.iterdir()) == []
