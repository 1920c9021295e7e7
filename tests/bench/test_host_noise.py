"""tools/historylib/hostnoise.py: the slow-mode figures of hand-built timelines, and the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))

from historylib import hostnoise  # noqa: E402


def _timeline(durations_ms: list[float]) -> list[tuple[float, float]]:
    """Back-to-back calls: each starts when the previous one ends."""
    out, offset = [], 0.0
    for ms in durations_ms:
        out.append((offset, ms / 1e3))
        offset += ms / 1e3
    return out


def test_a_steady_host_has_no_slow_mode():
    summary = hostnoise.summarize(_timeline([1.0, 1.1, 1.0, 1.2, 1.0] * 200))
    assert summary.calls == 1000
    assert summary.fastest_s == pytest.approx(1e-3)
    assert summary.slow_fraction == 0.0
    assert math.isnan(summary.slow_factor)
    assert summary.bursts == 0 and summary.burst_longest_s == 0.0
    assert summary.slow_windows == 0.0
    assert "none" in hostnoise.report(summary)


def test_bursts_of_a_twice_slower_mode_are_counted_and_timed():
    # 600 fast calls of 1 ms, a 0.5 s burst (250 calls of 2 ms), 600 fast calls, then a 10 ms burst of 5 calls.
    durations = [1.0] * 600 + [2.0] * 250 + [1.0] * 600 + [2.0] * 5 + [1.0] * 45
    summary = hostnoise.summarize(_timeline(durations), window_s=0.5)
    assert summary.calls == 1500
    assert summary.span_s == pytest.approx(sum(durations) / 1e3)
    assert summary.slow_fraction == pytest.approx(255 / 1500)
    assert summary.slow_factor == pytest.approx(2.0)
    assert summary.bursts == 2
    assert summary.burst_longest_s == pytest.approx(0.5)
    assert summary.burst_median_s == pytest.approx((0.5 + 0.01) / 2)
    # windows of 0.5 s: [0, .5) 500 fast; [.5, 1) 100 fast + 200 slow (reads slow); [1, 1.5) 50 slow + 400 fast;
    # [1.5, 1.755) 200 fast, 5 slow, 45 fast
    assert summary.slow_windows == pytest.approx(1 / 4)
    assert "x2.00" in hostnoise.report(summary)


def test_a_burst_at_the_end_of_the_timeline_is_closed():
    summary = hostnoise.summarize(_timeline([1.0] * 10 + [3.0] * 4))
    assert summary.bursts == 1
    assert summary.burst_longest_s == pytest.approx(0.012)
    assert summary.slow_factor == pytest.approx(3.0)


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="empty timeline"):
        hostnoise.summarize([])
    with pytest.raises(ValueError, match="seconds must be positive, got -1"):
        hostnoise.record_timeline(-1)


def test_the_noise_command_measures_this_host_and_writes_its_figures(tmp_path):
    out = tmp_path / "noise.json"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "asv_history.py"), "noise", "--seconds", "0.3",
                           "--json", str(out)], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "probe calls over" in proc.stdout
    figures = json.loads(out.read_text())
    assert figures["calls"] > 10
    assert 0.0 <= figures["slow_fraction"] <= 1.0
    assert figures["fastest_s"] > 0
