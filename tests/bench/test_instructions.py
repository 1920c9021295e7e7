"""Instruction counts (``benchmarks/_valgrind.py``, ``benchmarks/bench_instructions.py``).

The parser is checked on synthetic callgrind and cachegrind files; where valgrind is installed,
a real count of a tiny workload must repeat within 0.5 % in a second child process and must grow
about twofold when the workload doubles.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import _valgrind, bench_instructions
from benchmarks._valgrind import CountReport, Workload, count_workloads, parse_output

CALLGRIND_DUMP = """\
# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 11846
cmd:  /usr/bin/python3.11 count.py spec.json
part: 2

desc: I1 cache:
desc: D1 cache:
desc: LL cache:
desc: Timerange: Basic block 29780 - 75944
desc: Trigger: Client Request: radius_query-kdtree

positions: line
events: Ir

summary: 0
fl=(1) ???
fn=(1) PyEval_EvalFrameDefault
0 499000
fn=(2) sum
0 566

totals: 499566
"""

CACHEGRIND_OUT = """\
desc: I1 cache:         32768 B, 64 B, 8-way associative
cmd: python3 -c pass
events: Ir I1mr ILmr
fl=/usr/bin/python3
fn=main
10 1234 5 2
summary: 1652310448 1234 567
"""

PROBE = "benchmarks._valgrind:probe"


def test_parser_reads_the_trigger_and_the_totals_of_a_callgrind_dump():
    trigger, totals = parse_output(CALLGRIND_DUMP)
    assert trigger == "radius_query-kdtree"
    assert totals == {"Ir": 499_566}  # totals:, not the summary: 0 callgrind writes after a zero


def test_parser_reads_the_summary_of_a_cachegrind_file():
    trigger, totals = parse_output(CACHEGRIND_OUT)
    assert trigger is None
    assert totals == {"Ir": 1_652_310_448, "I1mr": 1_234, "ILmr": 567}


def test_parser_pads_omitted_trailing_events_and_rejects_other_text():
    _, totals = parse_output("events: Ir Dr Dw\nsummary: 42\n")
    assert totals == {"Ir": 42, "Dr": 0, "Dw": 0}
    with pytest.raises(ValueError, match="not a callgrind"):
        parse_output("==123== I   refs: 779,920\n")


def test_workload_validates_its_fields():
    with pytest.raises(ValueError, match="name"):
        Workload("two words", PROBE)
    with pytest.raises(ValueError, match="builder"):
        Workload("probe", "benchmarks._valgrind.probe")
    with pytest.raises(ValueError, match="calls"):
        Workload("probe", PROBE, (10,), calls=0)
    with pytest.raises(ValueError, match="unique"):
        count_workloads([Workload("a", PROBE, (1,)), Workload("a", PROBE, (2,))])


def test_report_tells_a_skip_from_a_failure():
    report = CountReport(counts={"a": 10.0}, skipped={"b": "no valgrind"}, failed={"c": "boom"})
    assert report.value("a") == 10.0
    with pytest.raises(NotImplementedError, match="no valgrind"):
        report.value("b")
    with pytest.raises(RuntimeError, match="boom"):
        report.value("c")
    with pytest.raises(RuntimeError, match="no instruction count"):
        report.value("d")


def test_a_missing_module_skips_without_starting_valgrind(monkeypatch):
    monkeypatch.setattr(_valgrind, "client_library", lambda: pytest.fail("valgrind must not start"))
    monkeypatch.setattr(_valgrind, "unavailable", lambda: None)
    report = count_workloads([Workload("w", PROBE, (1,), requires="farm.no_such_module")])
    assert report.counts == {} and report.failed == {}
    assert "farm.no_such_module" in report.skipped["w"]


def test_tracks_skip_with_one_install_line_without_valgrind(monkeypatch):
    reason = "valgrind (with callgrind.h) is not installed: apt-get install -y valgrind"
    monkeypatch.setattr(_valgrind, "unavailable", lambda: reason)
    bench = bench_instructions.RegenerationInstructions()
    report = bench.setup_cache()
    with pytest.raises(NotImplementedError) as raised:
        bench.setup(report)
    assert str(raised.value) == reason
    assert "\n" not in str(raised.value) and "apt-get install -y valgrind" in str(raised.value)


def test_torch_tracks_share_one_valgrind_child():
    from asv_runner.benchmarks._base import get_setup_cache_key

    decision = bench_instructions.DecisionForwardInstructions.setup_cache
    step = bench_instructions.StepInstructions.setup_cache
    assert get_setup_cache_key(decision) == get_setup_cache_key(step)
    radius = bench_instructions.RadiusQueryInstructions.setup_cache
    assert get_setup_cache_key(radius) != get_setup_cache_key(decision)


def test_every_track_reports_instructions():
    tracks = [(cls, name) for cls in vars(bench_instructions).values() if isinstance(cls, type)
              for name in vars(cls) if name.startswith("track_")]
    assert len(tracks) == 6
    for cls, name in tracks:
        assert name.endswith("_instructions") and cls.unit == "instructions", (cls.__name__, name)


needs_valgrind = pytest.mark.skipif(_valgrind.unavailable() is not None, reason=str(_valgrind.unavailable()))


@needs_valgrind
def test_a_real_count_repeats_and_grows_with_the_workload():
    """Two runs of the same child agree within 0.5 %; doubling the probe doubles its count.

    (A pure-Python probe is the worst case for the allocator state a child's other workloads
    leave behind, up to 4 % here, so both runs hold the same workloads, as asv's runs do.)"""
    workloads = [Workload("small", PROBE, (20_000,)), Workload("double", PROBE, (40_000,))]
    first = count_workloads(workloads, timeout=300)
    second = count_workloads(workloads, timeout=300)
    assert not first.failed and not second.failed, (first.failed, second.failed)
    small, again, double = first.value("small"), second.value("small"), first.value("double")
    assert small > 1_000_000  # the loop's instructions, not just the client-request overhead
    assert abs(again - small) / small < 0.005, (small, again)
    assert 1.8 < double / small < 2.2, (small, double)


@needs_valgrind
def test_a_builder_that_raises_is_a_failure_and_the_others_still_count():
    report = count_workloads([Workload("bad", PROBE, ("not a number",)), Workload("good", PROBE, (1_000,))],
                             timeout=300)
    assert "TypeError" in report.failed["bad"]
    assert report.value("good") > 0
