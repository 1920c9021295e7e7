"""Launch groups of a measurement (spawned peak memory, forked rest) and the settling of flagged
regressions (tools/historylib/confirm.py), against hand-computed truths."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tools"))

from historylib import confirm, history, selection  # noqa: E402

NAMES = [
    "bench_x.Build.time_build", "bench_x.Build.peakmem_build", "bench_x.Build.track_bytes",
    "bench_scalability.StepScaling.time_step", "bench_scalability.StepScaling.peakmem_step",
    "bench_soak.Soak.track_peak_rss", "bench_import.ImportTime.peakmem_import_farm",
]


def selected(regexes: list[str]) -> set[str]:
    return {name for name in NAMES if any(re.search(regex, name) for regex in regexes)}


@pytest.mark.parametrize("bench", [None, ["default"], ["grid"], ["all"], ["default", "grid"], ["bench_x"],
                                   [r"^bench_x\.Build\.time_build$"]])
def test_launch_groups_partition_the_selection(bench):
    regexes = selection.resolve(bench)
    wanted = set(NAMES) if regexes is None else selected(regexes)
    (spawn, spawned), (fork, forked) = selection.launch_groups(bench)
    assert (spawn, fork) == ("spawn", "forkserver")
    assert selected(spawned) | selected(forked) == wanted
    assert not selected(spawned) & selected(forked)
    assert all(".peakmem_" in name for name in selected(spawned))
    assert not any(".peakmem_" in name for name in selected(forked))


def test_measure_runs_peak_memory_spawned_and_the_rest_forked(tmp_path, monkeypatch):
    calls = []

    def fake_run_asv(*args, **kwargs):
        if args[0] == "run":  # not the `asv setup` of an environment that does not exist yet
            calls.append((args, kwargs))
        return 0, ""

    monkeypatch.setattr(history, "run_asv", fake_run_asv)
    monkeypatch.setattr(history.memoryworkers, "run_asv", fake_run_asv)
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, **{name: {"params": []} for name in NAMES}}))
    monkeypatch.setattr(history, "BENCHMARKS_FILE", listing)
    rc = history.measure(["a" * 40], "box", ["bench_x"], hashfile=tmp_path / "h.txt", log_path=tmp_path / "log")
    assert rc == 0 and len(calls) == 2
    launches = [args[args.index("--launch-method") + 1] for args, _ in calls]
    assert launches == ["spawn", "forkserver"]
    assert [kwargs["append_log"] for _, kwargs in calls] == [False, True]  # one log for both runs
    calls.clear()
    # a selection with no peak-memory benchmark runs asv once, forked
    assert history.measure(["a" * 40], "box", [r"^bench_x\.Build\.time_build$"], hashfile=tmp_path / "h.txt",
                           log_path=tmp_path / "log") == 0
    assert len(calls) == 1 and "forkserver" in calls[0][0]


def test_known_benchmarks_lists_each_parameter_combination(tmp_path):
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, "b.C.time_q": {"params": [["1", "2"], ["'a'"]]},
                                   "b.C.time_r": {"params": []}}))
    assert history.known_benchmarks(listing) == ["b.C.time_q", "b.C.time_q(1, 'a')", "b.C.time_q(2, 'a')",
                                                 "b.C.time_r"]
    assert history.known_benchmarks(tmp_path / "missing.json") is None


def test_selected_combinations_count_what_asv_launches(tmp_path):
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, "b.C.time_q": {"params": [["1", "2", "3"], ["'a'", "'b'"]]},
                                   "b.C.time_r": {"params": []}}))
    count = lambda regexes: history.selected_combinations(regexes, listing)  # noqa: E731
    assert count([""]) == 7  # 3 x 2 combinations and one plain benchmark
    assert count([r"time_q\(1, "]) == 2 and count([r"time_q\(2, 'b'\)"]) == 1
    # asv matches a parameterized benchmark's combinations only, never its bare name
    assert count([r"time_q$"]) == 0 and count([r"time_r$"]) == 1
    assert count([r"time_q\(1, 'a'\)", r"time_r"]) == 2
    assert history.selected_combinations([""], tmp_path / "missing.json") is None
    # what a probe spawns: between one and SPAWN_AT_MOST (2) combinations
    assert history.spawns_probe([r"time_q\(1, "], listing) and history.spawns_probe([r"time_r$"], listing)
    assert not history.spawns_probe([r"time_q\("], listing)  # 6
    assert not history.spawns_probe([r"nothing"], listing)
    assert not history.spawns_probe([r"time_r$"], tmp_path / "missing.json")


def test_a_probe_spawns_its_forked_group_and_a_history_run_does_not(tmp_path, monkeypatch):
    calls = []

    def fake_run_asv(*args, **kwargs):
        if args[0] == "run":
            calls.append(args)
        return 0, ""

    monkeypatch.setattr(history, "run_asv", fake_run_asv)
    listing = tmp_path / "benchmarks.json"
    listing.write_text(json.dumps({"version": 2, **{name: {"params": []} for name in NAMES}}))
    monkeypatch.setattr(history, "BENCHMARKS_FILE", listing)
    one = [r"^bench_x\.Build\.time_build$"]
    assert history.spawns_probe(one)
    for spawn_probe, launch in ((True, "spawn"), (False, "forkserver")):
        calls.clear()
        assert history.measure(["a" * 40], "box", one, hashfile=tmp_path / "h.txt", log_path=tmp_path / "log",
                               spawn_probe=spawn_probe) == 0
        assert len(calls) == 1 and calls[0][calls[0].index("--launch-method") + 1] == launch


# --------------------------------------------------------------------------------- confirm
A, B = "a" * 40, "b" * 40


def flag(label="bench_x.Q.time_q(1)", old=1.0, new=1.2):
    return confirm.Flag(label, "ref", A, B, old, new)


def test_interleaved_order_shares_drift_between_the_commits():
    assert confirm.interleaved_order(A, B, 3) == [A, B, B, A, A, B]


@pytest.mark.parametrize("old, new, verdict", [
    ((1.00, 1.01, 0.99), (1.20, 1.19, 1.22), confirm.CONFIRMED),  # the 20 % step re-measured
    ((1.00, 1.01, 0.99), (1.01, 1.00, 1.02), confirm.DRIFT),  # no difference side by side
    ((1.00, 1.01, 0.99), (1.06, 1.05, 1.07), confirm.DRIFT),  # +6 %: less than half the flagged +20 %
    ((1.00, 1.15, 0.99), (1.20, 1.12, 1.22), confirm.DRIFT),  # big enough, but the samples overlap
])
def test_verdict_needs_half_the_flagged_step_and_separated_samples(old, new, verdict):
    settled = confirm.Settlement(flag(), old, new, "box")
    assert settled.verdict == verdict


def test_a_step_beyond_its_threshold_is_confirmed_even_when_drift_had_made_it_look_bigger():
    """Flagged +200 % (the sitting that measured the new commit ran in the host's slow mode),
    re-measured +60 % side by side: under half the flagged step, but twice a 30 % threshold."""
    big = flag(old=1.0, new=3.0)
    old, new = (1.00, 1.01, 0.99), (1.60, 1.58, 1.62)
    assert confirm.Settlement(big, old, new, "box").verdict == confirm.DRIFT  # no threshold: half the step
    assert confirm.Settlement(big, old, new, "box", threshold=0.30).verdict == confirm.CONFIRMED
    assert confirm.Settlement(big, old, (1.20, 1.19, 1.22), "box", threshold=0.30).verdict == confirm.DRIFT
    assert confirm.Settlement(big, (1.00, 1.65, 0.99), new, "box", threshold=0.30).verdict == confirm.DRIFT  # overlap
    settled = confirm.settle([confirm.Flag("p(1)", "ref", A, B, 1.0, 3.0)],
                             lambda commit, labels: {"p(1)": 1.0 if commit == A else 1.6}, "box", rounds=2,
                             threshold=lambda label: 0.30)
    assert settled[0].threshold == 0.30 and settled[0].verdict == confirm.CONFIRMED


def test_throughput_flags_are_read_the_right_way_round():
    rate = flag("bench_x.R.track_rows_per_second", old=100.0, new=80.0)  # a 20 % drop: worse
    assert rate.flagged_change == pytest.approx(0.2)
    assert confirm.Settlement(rate, (100, 101, 99), (80, 81, 79), "box").verdict == confirm.CONFIRMED
    assert confirm.Settlement(rate, (100, 101, 99), (120, 121, 119), "box").verdict == confirm.DRIFT


def test_settle_measures_each_commit_pair_interleaved_and_keeps_complete_points():
    calls = []
    values = {A: {"p(1)": 1.0, "q(1)": 2.0}, B: {"p(1)": 1.5, "q(1)": 2.0}}

    def fake_measure(commit, labels):
        calls.append((commit, tuple(labels)))
        return {label: values[commit][label] for label in labels if label in values[commit]}

    flags = [confirm.Flag("p(1)", "ref", A, B, 1.0, 1.5), confirm.Flag("q(1)", "ref", A, B, 2.0, 2.6),
             confirm.Flag("r(1)", "ref", A, B, 1.0, 2.0)]  # r is never measured: left out
    settled = confirm.settle(flags, fake_measure, "box", rounds=2)
    assert [c for c, _ in calls] == [A, B, B, A]  # one asv run per commit visit, all labels at once
    assert calls[0][1] == ("p(1)", "q(1)", "r(1)")
    assert [(s.flag.label, s.verdict) for s in settled] == [("p(1)", confirm.CONFIRMED), ("q(1)", confirm.DRIFT)]


def published(tmp_path: Path) -> Path:
    """A published html/ with two flagged steps of one benchmark and one of another."""
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.json").write_text(json.dumps({"revision_to_hash": {"1": A, "2": B, "3": "c" * 40}}))
    graph = "graphs/x.json"
    (html / "regressions.json").write_text(json.dumps({"regressions": [
        ["bench_x.Q.time_q(1)", graph, {"machine": "ref"}, 0, 1.3, 1.0, [[1, 2, 1.0, 1.2], [2, 3, 1.2, 1.3]]],
        ["bench_x.R.time_r", graph, {"machine": "ref"}, None, 2.0, 1.0, [[None, 2, 1.0, 2.0]]],
    ]}))
    (html / "regressions.xml").write_text(
        "<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"
        "<entry><title>30.00% bench_x.Q.time_q(1)</title><link href=\"index.html#q?machine=ref\" /></entry>"
        "<entry><title>100.00% bench_x.R.time_r</title><link href=\"index.html#r?machine=ref\" /></entry></feed>")
    results = tmp_path / "results" / "ref"
    results.mkdir(parents=True)
    (results / f"{A[:8]}-env.json").write_text("{}")
    return html


def test_published_flags_one_per_step_with_the_previous_measured_commit_for_a_missing_start(tmp_path):
    html = published(tmp_path)
    flags = confirm.published_flags(html, tmp_path / "results")
    assert [(f.label, f.before, f.after, f.old, f.new) for f in flags] == [
        ("bench_x.Q.time_q(1)", A, B, 1.0, 1.2), ("bench_x.Q.time_q(1)", B, "c" * 40, 1.2, 1.3),
        ("bench_x.R.time_r", A, B, 1.0, 2.0)]
    with pytest.raises(ValueError, match="no published regressions"):
        confirm.published_flags(tmp_path / "nowhere", tmp_path / "results")


def test_drift_verdicts_leave_the_regressions_page_and_feed_confirmed_ones_stay(tmp_path):
    html = published(tmp_path)
    settled = [confirm.Settlement(confirm.Flag("bench_x.Q.time_q(1)", "ref", A, B, 1.0, 1.2), (1, 1, 1),
                                  (1, 1, 1), "box"),
               confirm.Settlement(confirm.Flag("bench_x.R.time_r", "ref", A, B, 1.0, 2.0), (1, 1.01, 0.99),
                                  (2, 2.01, 1.99), "box")]
    path = tmp_path / "docs" / "regression_confirmations.json"
    assert confirm.merge_confirmations(path, settled, "python tools/asv_history.py confirm") == 2
    assert confirm.merge_confirmations(path, settled, "again") == 2  # replaced, not duplicated
    entries = json.loads(path.read_text())["confirmations"]
    assert [(e["benchmark"], e["commit"], e["verdict"]) for e in entries] == [
        ("bench_x.Q.time_q(1)", B[:8], "drift"), ("bench_x.R.time_r", B[:8], "confirmed")]
    assert entries[0]["evidence"].startswith("`again` on box, interleaved")
    assert confirm.drop_dismissed(html, path) == 1  # Q's step at B only; its step at c stays
    kept = json.loads((html / "regressions.json").read_text())["regressions"]
    assert [(e[0], e[6]) for e in kept] == [("bench_x.Q.time_q(1)", [[2, 3, 1.2, 1.3]]),
                                             ("bench_x.R.time_r", [[None, 2, 1.0, 2.0]])]
    assert (html / "regressions.xml").read_text().count("<entry>") == 2  # Q still has a step: kept
    assert confirm.drop_dismissed(html, path) == 0  # idempotent


def test_a_fully_dismissed_regression_leaves_the_feed(tmp_path):
    html = published(tmp_path)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"confirmations": [
        {"benchmark": "bench_x.R.time_r", "commit": B[:8], "verdict": "drift", "evidence": "x", "machine": "ref"}]}))
    assert confirm.drop_dismissed(html, path) == 1
    feed = (html / "regressions.xml").read_text()
    assert "bench_x.Q.time_q(1)" in feed and "bench_x.R.time_r" not in feed


C = "c" * 40  # a later commit that may have undone the step at B


@pytest.mark.parametrize("head, verdict", [
    ((1.02, 1.00, 1.04), confirm.FIXED),  # back to the level before the step
    ((0.60, 0.61, 0.59), confirm.FIXED),  # better than before the step
    ((1.25, 1.27, 1.24), confirm.CONFIRMED),  # +25 %: under half the +100 % step, but over a 20 % threshold
    ((1.90, 1.95, 2.00), confirm.CONFIRMED),  # the step persists
])
def test_a_step_is_fixed_only_when_the_later_commit_is_back_within_the_threshold(head, verdict):
    step = flag(old=1.0, new=2.0)  # flagged +100 %
    recovery = confirm.Recovery(step, C, (1.00, 1.01, 0.99), head, "box", threshold=0.20)
    assert recovery.verdict == verdict


def test_settle_recovery_interleaves_the_commit_before_the_step_with_the_later_one():
    calls = []

    def fake_measure(commit, labels):
        calls.append(commit)
        return {"p(1)": {A: 1.0, C: 1.01}[commit]}

    steps = [confirm.Flag("p(1)", "ref", A, B, 1.0, 1.8), confirm.Flag("q(1)", "ref", A, B, 1.0, 1.8)]
    recovered = confirm.settle_recovery(steps, C, fake_measure, "box", rounds=2, threshold=lambda label: 0.3)
    assert calls == [A, C, C, A]  # B itself is not measured again
    assert [(r.flag.label, r.verdict, r.threshold) for r in recovered] == [("p(1)", confirm.FIXED, 0.3)]


def test_a_fixed_step_keeps_its_confirmation_and_leaves_the_regressions_page(tmp_path):
    html = published(tmp_path)
    step = confirm.Flag("bench_x.R.time_r", "ref", A, B, 1.0, 2.0)
    path = tmp_path / "docs" / "regression_confirmations.json"
    confirm.merge_confirmations(path, [confirm.Settlement(step, (1, 1.01, 0.99), (2, 2.01, 1.99), "box")], "first")
    persisting = confirm.Recovery(step, C, (1, 1.01, 0.99), (2, 2.01, 1.99), "box", threshold=0.3)
    confirm.merge_confirmations(path, [persisting], "second")  # not fixed: the confirmed entry stays as it was
    [entry] = json.loads(path.read_text())["confirmations"]
    assert entry["verdict"] == "confirmed" and entry["evidence"].startswith("`first`")
    fixed = confirm.Recovery(step, C, (1, 1.01, 0.99), (0.9, 0.91, 0.92), "box", threshold=0.3)
    confirm.merge_confirmations(path, [fixed], "python tools/asv_history.py confirm --fixed-by c")
    [entry] = json.loads(path.read_text())["confirmations"]
    assert entry["verdict"] == "fixed" and entry["commit"] == B[:8]
    assert entry["evidence"].startswith("confirmed: `first` on box")
    assert f"then fixed by {C[:8]}: `python tools/asv_history.py confirm --fixed-by c`" in entry["evidence"]
    assert confirm.drop_dismissed(html, path) == 1
    kept = json.loads((html / "regressions.json").read_text())["regressions"]
    assert [e[0] for e in kept] == ["bench_x.Q.time_q(1)"]
