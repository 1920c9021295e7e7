"""tools/dashboard_overview.py: the overview page, against the result files it is built from.

Two inputs: the committed history (``results/``, ``html/``), copied into a temporary site, and a
hand-built history (a small git repository and result files whose every value is known), where
the heatmaps, changes, annotations, machines and confirmations are checked cell by cell. The page
is then opened in headless Chromium (skipped without it) from ``file://``.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "results"
HTML = REPO_ROOT / "html"
SCREENS = Path("/work/briefs/screens")
sys.path.insert(0, str(REPO_ROOT / "tools"))

import dashboard_overview as ov  # noqa: E402 (tools/ is not a package)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
needs_history = pytest.mark.skipif(not (RESULTS / "benchmarks.json").exists(), reason="no committed results/")


# ------------------------------------------------------------------------------------------------
# helpers


class _Elements(HTMLParser):
    """Every start tag as (tag, attributes, text up to the next tag)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[list] = []

    def handle_starttag(self, tag, attrs):
        self.items.append([tag, dict(attrs), ""])

    def handle_data(self, data):
        if self.items:
            self.items[-1][2] += data


def elements(page: str, tag: str | None = None, **attrs) -> list[tuple[str, dict, str]]:
    parser = _Elements()
    parser.feed(page)
    return [tuple(i) for i in parser.items
            if (tag is None or i[0] == tag) and all(i[1].get(k.replace("_", "-")) == v for k, v in attrs.items())]


def tile(page: str, key: str) -> str:
    match = re.search(rf'<article class="tile" id="tile-{key}".*?</article>', page, re.DOTALL)
    assert match, f"no tile {key}"
    return match.group(0)


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def copy_site(dst: Path) -> Path:
    """The files of the published site the overview reads and writes (not the graphs)."""
    dst.mkdir()
    for name in ("index.html", "index.json", "regressions.json"):
        if (HTML / name).exists():
            shutil.copy(HTML / name, dst / name)
    return dst


def run_chromium(url: str, profile: Path, *extra: str, size: str = "1400,1800") -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         f"--window-size={size}", *extra, url],
        check=False, capture_output=True, text=True, timeout=180,
    )


# ------------------------------------------------------------------------------------------------
# the committed history


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    site = copy_site(tmp_path_factory.mktemp("committed") / "html")
    page_path = ov.build_overview(RESULTS, site, REPO_ROOT)
    return site, page_path.read_text(encoding="utf-8")


def _result_value(machine: str, commit: str, benchmark: str, params: tuple[str, ...]) -> float:
    """A value read straight from the commit's result file (independent of the module's parser)."""
    [path] = [p for p in (RESULTS / machine).glob(f"{commit[:8]}-*.json")]
    data = json.loads(path.read_text())
    row = dict(zip(data["result_columns"], data["results"][benchmark]))
    combos = list(itertools.product(*row["params"])) if row["params"] else [()]
    return row["result"][combos.index(params)]


@needs_history
def test_every_component_has_a_tile(committed):
    _, page = committed
    keys = [attrs["data-component"] for _, attrs, _ in elements(page, "article")]
    assert keys == ["spatial", "observation", "storage", "decision", "resources", "simulation", "workload",
                    "scalability"]


@needs_history
@pytest.mark.parametrize("key", ["simulation", "spatial"])
def test_headline_is_the_newest_measured_value_of_the_result_file(committed, key):
    _, page = committed
    [(_, attrs, text)] = elements(tile(page, key), "span", **{"class": "value"})
    benchmark, params, commit = attrs["data-benchmark"], tuple(json.loads(attrs["data-params"])), attrs["data-commit"]
    expected = _result_value(ov.DEFAULT_MACHINE, commit, benchmark, params)
    assert float(attrs["data-raw"]) == expected
    assert text == ov.fmt_value(expected, json.loads((RESULTS / "benchmarks.json").read_text())[benchmark]["unit"])
    # newest: every other commit that measured this benchmark is an ancestor of it (a commit may
    # hold only another selection's results, e.g. the workload pass)
    files = [json.loads(p.read_text()) for p in (RESULTS / ov.DEFAULT_MACHINE).glob("*-*.json")]
    measured = {f["commit_hash"] for f in files if (f["results"].get(benchmark) or [None])[0] is not None}
    for other in measured - {commit}:
        subprocess.run(["git", "-C", str(REPO_ROOT), "merge-base", "--is-ancestor", other, commit], check=True)


@needs_history
def test_chart_has_one_point_per_measured_commit(committed):
    _, page = committed
    files = list((RESULTS / ov.DEFAULT_MACHINE).glob("*-*.json"))
    name = "bench_simulation.EngineSpeedTarget.track_median_step_ms"
    # A skipped benchmark (a commit without its API) is stored as NaN and has no point.
    values = [json.loads(p.read_text())["results"].get(name, [None])[0] for p in files]
    measured = sum(1 for value in values if value is not None and math.isfinite(value[0]))
    points = elements(tile(page, "simulation"), "circle", **{"class": "pt"})
    assert len(points) == measured > 0


@needs_history
def test_grid_section_says_whether_it_is_measured(committed):
    _, page = committed
    grid_measured = any(
        (json.loads(p.read_text())["results"].get(ov.SCALING_TIME) or [None])[0] is not None
        for p in (RESULTS / ov.DEFAULT_MACHINE).glob("*-*.json"))
    if grid_measured:
        assert len(elements(page, "table", **{"class": "heat"})) >= 3
    else:
        assert 'id="grid-not-measured"' in page and "Not measured yet." in page


@needs_history
def test_every_flagged_regression_is_listed(committed):
    site, page = committed
    if not (site / "regressions.json").exists():
        pytest.skip("no regressions.json published")
    jumps = sum(len(r[6]) for r in json.loads((site / "regressions.json").read_text())["regressions"]
                if f"machine-{ov.DEFAULT_MACHINE}/" in r[1])
    rows = elements(page, "tr", **{"class": "regression"})
    assert len(rows) == jumps
    confirmations = ov.load_confirmations(REPO_ROOT / ov.CONFIRMATIONS_FILE)
    if not confirmations:
        assert all(attrs["data-verdict"] == "unconfirmed" for _, attrs, _ in rows)


@needs_history
def test_link_is_injected_once_and_rebuilding_changes_nothing(committed, tmp_path):
    site, _ = committed
    index = (site / "index.html").read_text()
    assert index.count(ov.LINK_MARKER) == 1
    assert '<a href="overview.html"' in index
    before = {p.name: p.read_bytes() for p in site.iterdir()}
    ov.build_overview(RESULTS, site, REPO_ROOT)
    assert {p.name: p.read_bytes() for p in site.iterdir()} == before


@needs_history
def test_page_needs_no_network(committed):
    _, page = committed
    for _, attrs, _ in elements(page):
        for key in ("src", "href", "action", "data"):
            assert not re.match(r"\s*(https?:)?//", attrs.get(key) or ""), (key, attrs[key])
    assert "url(" not in page and "@import" not in page
    assert "fetch(" not in page and "XMLHttpRequest" not in page


@needs_history
def test_cli_builds_the_same_page(committed, tmp_path):
    _, page = committed
    site = copy_site(tmp_path / "html")
    out = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "dashboard_overview.py"), "--results", str(RESULTS),
                          "--html", str(site), "--repo", str(REPO_ROOT)], check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (site / "overview.html").read_text() == page
    bad = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "dashboard_overview.py"), "--results", str(RESULTS),
                          "--html", str(site), "--machine", "no-such-machine"], check=False, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "no-such-machine" in bad.stderr


# ------------------------------------------------------------------------------------------------
# a hand-built history: every value known


AGENTS = ["10", "1000"]
WORLDS = ["'50x50'", "'500x500'"]
DENSITIES = ["'sparse'", "'dense'"]
STAGES = ["'observe'", "'step'"]
SUBJECTS = ["Engine core: first loop", "Loop: vectorized step", "README: typo", "Spatial: faster KD-tree"]
# EngineSpeedTarget per commit: 3.0 -> 2.5 (named "Loop:") -> 2.0 (README, but 20 % better) -> 2.1
ENGINE = [3.0, 2.5, 2.0, 2.1]


def grid_time(commit_i: int, agents: str, world: str, density: str) -> float:
    """Step seconds of the synthetic grid: grows with agents and world; commit 3 halves the 1000-agent row."""
    v = int(agents) * 1e-5 * (2.0 if world == "'500x500'" else 1.0) * (1.5 if density == "'dense'" else 1.0)
    return v / 2 if commit_i == 3 and agents == "1000" else v


def _benchmarks() -> dict:
    def meta(name, unit, kind, param_names=(), params=()):
        return {"name": name, "unit": unit, "type": kind, "version": "1",
                "param_names": list(param_names), "params": [list(p) for p in params]}

    grid = (["agents", "world", "density"], [AGENTS, WORLDS, DENSITIES])
    return {
        ov.SCALING_TIME: meta(ov.SCALING_TIME, "seconds", "time", *grid),
        ov.SCALING_MEMORY: meta(ov.SCALING_MEMORY, "bytes", "peakmemory", *grid),
        ov.COMPLEXITY: meta(ov.COMPLEXITY, "exponent", "track", ["stage"], [STAGES]),
        "bench_simulation.EngineSpeedTarget.track_median_step_ms":
            meta("bench_simulation.EngineSpeedTarget.track_median_step_ms", "ms", "track"),
        "version": 2,
    }


def _result_file(path: Path, commit: str, date: int, machine: str, results: dict) -> None:
    columns = ["result", "params", "version", "started_at", "duration"]
    path.write_text(json.dumps({
        "commit_hash": commit, "env_name": "env", "date": date, "params": {"machine": machine},
        "python": "3.11", "requirements": {}, "env_vars": {}, "result_columns": columns,
        "results": {name: [values, params, "1", date, 1.0] for name, (values, params) in results.items()},
        "durations": {}, "version": 2,
    }))


@pytest.fixture()
def synthetic(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commits = []
    for i, subject in enumerate(SUBJECTS):
        (repo / "f.txt").write_text(str(i))
        git(repo, "add", "f.txt")
        git(repo, "commit", "-q", "-m", subject)
        commits.append(git(repo, "rev-parse", "HEAD"))
    results = tmp_path / "results"
    (results / "ref-box").mkdir(parents=True)
    (results / "other-box").mkdir()
    (results / "benchmarks.json").write_text(json.dumps(_benchmarks()))
    for m in ("ref-box", "other-box"):
        (results / m / "machine.json").write_text(json.dumps({"machine": m, "version": 1}))
    grid_params = [AGENTS, WORLDS, DENSITIES]
    combos = list(itertools.product(*grid_params))
    for i, commit in enumerate(commits):
        memory = [None if i == 0 else 1e8 + int(a) * 1e5 for a, _w, _d in combos]
        results_i = {
            "bench_simulation.EngineSpeedTarget.track_median_step_ms": ([ENGINE[i]], []),
            ov.COMPLEXITY: ([1.0 + 0.1 * i, 0.5], [STAGES]),
        }
        if i >= 1:  # the grid is measured from the second commit on
            results_i[ov.SCALING_TIME] = ([grid_time(i, *c) for c in combos], grid_params)
            results_i[ov.SCALING_MEMORY] = (memory, grid_params)
        # all commits share one date: only git can order them
        _result_file(results / "ref-box" / f"{commit[:8]}-env.json", commit, 1000, "ref-box", results_i)
    _result_file(results / "other-box" / f"{commits[-1][:8]}-env.json", commits[-1], 1000, "other-box",
                 {"bench_simulation.EngineSpeedTarget.track_median_step_ms": ([9.0], [])})
    site = tmp_path / "html"
    site.mkdir()
    (site / "index.html").write_text(
        '<html><body><ul class="nav"><li id="nav-li-regressions"><a href="#/regressions">Regressions</a></li>'
        "</ul></body></html>")
    (site / "index.json").write_text(json.dumps(
        {"project": "toy", "revision_to_hash": {str(10 + i): c for i, c in enumerate(commits)}}))
    graph = "graphs/branch-main/machine-ref-box/bench_simulation.EngineSpeedTarget.track_median_step_ms.json"
    (site / "regressions.json").write_text(json.dumps({"regressions": [
        ["bench_simulation.EngineSpeedTarget.track_median_step_ms", graph, {}, None, 2.1, 2.0, [[12, 13, 2.0, 2.1]]],
        [f"{ov.SCALING_TIME}(10, '50x50', 'sparse')", graph.replace("bench_simulation.EngineSpeedTarget.track_median"
                                                                    "_step_ms", ov.SCALING_TIME),
         {}, 0, 1.0, 1.0, [[11, 12, 1.0, 1.2]]],
        ["bench_x.Y.time_z", "graphs/machine-other-box/bench_x.Y.time_z.json", {}, None, 1, 1, [[12, 13, 1, 2]]],
    ]}))
    (repo / "docs").mkdir()
    (repo / "docs" / "regression_confirmations.json").write_text(json.dumps({"version": 1, "confirmations": [
        {"benchmark": "bench_simulation.EngineSpeedTarget.track_median_step_ms", "commit": commits[3][:10],
         "verdict": "drift", "evidence": "asv run 3 times each side: 2.02 vs 2.03 ms", "machine": "ref-box"},
        {"benchmark": "bench_simulation.EngineSpeedTarget.track_median_step_ms", "commit": commits[3][:10],
         "verdict": "confirmed", "evidence": "another machine's entry", "machine": "other-box"},
    ]}))
    return {"repo": repo, "results": results, "site": site, "commits": commits}


def test_grid_heatmaps_hold_the_newest_values_and_the_change_against_base(synthetic):
    commits = synthetic["commits"]
    page = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box",
                             base_commit=commits[1][:9]).read_text()
    head_cells = [float(a["data-raw"]) for _, a, _ in elements(page.split('id="base-control"')[0], "td")
                  if "data-raw" in a and a.get("title", "").count(",") == 2]
    time_cells = head_cells[:len(AGENTS) * len(WORLDS) * len(DENSITIES)]
    expected = [grid_time(3, a, w, d) for d in DENSITIES for a in AGENTS for w in WORLDS]
    assert time_cells == expected
    # one pre-rendered block per possible base: commits 1 and 2 (commit 0 has no grid, 3 is the newest)
    blocks = elements(page, "div", **{"class": "base-block"})
    assert [a["data-base"] for _, a, _ in blocks] == commits[1:3]
    assert ["hidden" in a for _, a, _ in blocks] == [False, True]
    base_block = page.split(f'data-base="{commits[1]}"')[1].split('class="base-block"')[0]
    changes = [float(a["data-change"]) for _, a, _ in elements(base_block, "td") if "data-change" in a]
    time_changes = changes[:8]
    truth = [grid_time(3, a, w, d) / grid_time(1, a, w, d) - 1 for d in DENSITIES for a in AGENTS for w in WORLDS]
    assert time_changes == pytest.approx(truth)
    assert sorted({round(c, 9) for c in time_changes}) == [-0.5, 0.0]
    assert elements(page, "script", id="overview-data")


def test_missing_memory_at_the_base_is_a_grey_cell(synthetic):
    page = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box").read_text()
    assert 'id="grid-not-measured"' not in page
    assert page.count('<td class="na">') == 0  # memory missing only at commit 0, which has no grid block
    results = synthetic["results"] / "ref-box"
    path = next(results.glob(f"{synthetic['commits'][3][:8]}-*.json"))
    data = json.loads(path.read_text())
    data["results"][ov.SCALING_MEMORY][0][0] = None  # (10, 50x50, sparse) failed at the newest commit
    path.write_text(json.dumps(data))
    page = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box").read_text()
    # the head heatmap and the two change blocks each lose that one cell
    assert page.count('<td class="na">') == 3


def test_annotations_name_the_component_or_a_large_improvement(synthetic):
    commits = synthetic["commits"]
    page = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box").read_text()
    notes = elements(tile(page, "simulation"), "li")
    tips = [a["title"] for _, a, _ in notes]
    # "Engine core:" and "Loop:" name the step; "README: typo" is annotated for its 20 % improvement;
    # "Spatial:" neither names the step nor improves it (2.0 -> 2.1).
    assert tips == [f"{ov.short(c)} {s}" for c, s in zip(commits[:3], SUBJECTS[:3])]
    classes = [a["class"] for _, a, _ in elements(tile(page, "simulation"), "span") if "num" in a.get("class", "")]
    assert classes == ["num", "num", "num moved"]
    [(_, value, _)] = elements(tile(page, "simulation"), "span", **{"class": "value"})
    assert float(value["data-raw"]) == 2.1 and value["data-commit"] == commits[3]
    delta = tile(page, "simulation").split('class="delta')[1]
    assert ov.fmt_change(2.1 / 3.0 - 1) in delta and "good" in delta.split(">")[0]
    assert "not measured yet" in tile(page, "spatial")


def test_each_machine_gets_a_page_and_the_default_is_overview_html(synthetic):
    path = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box")
    other = synthetic["site"] / "overview-other-box.html"
    assert path.name == "overview.html" and other.exists()
    for page in (path.read_text(), other.read_text()):
        chips = [(a["href"], text) for _, a, text in elements(page, "a") if "chip" in a.get("class", "")]
        assert chips == [("overview-other-box.html", "other-box"), ("overview.html", "ref-box")]
    other_page = other.read_text()
    [(_, value, _)] = elements(tile(other_page, "simulation"), "span", **{"class": "value"})
    assert float(value["data-raw"]) == 9.0
    assert 'id="grid-not-measured"' in other_page


def test_regressions_are_matched_to_their_confirmations(synthetic):
    page = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box").read_text()
    rows = elements(page, "tr", **{"class": "regression"})
    assert [a["data-verdict"] for _, a, _ in rows] == ["unconfirmed", "drift"]  # 1.2x first, then 1.05x
    assert "2.02 vs 2.03 ms" in page and "another machine" not in page
    assert "bench_x.Y.time_z" not in page  # another machine's regression


def test_link_injection_is_idempotent_and_keeps_asv_navigation(synthetic):
    index = synthetic["site"] / "index.html"
    assert ov.inject_link(index) is True
    once = index.read_text()
    assert ov.inject_link(index) is False and index.read_text() == once
    assert once.index("nav-li-regressions") < once.index(ov.LINK_MARKER) and once.count("overview.html") == 1


@pytest.mark.parametrize("entry, message", [
    ({"benchmark": "a.B.c", "commit": "abcdef1", "verdict": "maybe", "evidence": "x"}, "'maybe'"),
    ({"benchmark": "a.B.c", "commit": "xyz", "verdict": "drift", "evidence": "x"}, "'xyz'"),
    ({"benchmark": "a.B.c", "commit": "abcdef1", "verdict": "drift", "evidence": ""}, "evidence"),
    ({"benchmark": "a.B.c", "commit": "abcdef1", "verdict": "unconfirmed", "evidence": "x"}, "verdict"),
    ({"benchmark": "a.B.c", "commit": "abcdef1", "verdict": "drift", "evidence": "x", "by": "me"}, "'by'"),
])
def test_malformed_confirmations_are_refused(tmp_path, entry, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"version": 1, "confirmations": [entry]}))
    with pytest.raises(ValueError, match=re.escape(message)):
        ov.load_confirmations(path)


def test_base_must_be_one_measured_commit(synthetic):
    with pytest.raises(ValueError, match="'ffffffff'"):
        ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box",
                          base_commit="ffffffff")


@pytest.mark.parametrize("value, unit, text", [
    (0.0123, "seconds", "12.3 ms"), (2.5e-6, "seconds", "2.50 \u00b5s"), (79405056, "bytes", "75.7 MiB"),
    (1.605, "\u00b5s/agent", "1.60 \u00b5s/agent"), (13.2, "ratio", "13.2\u00d7"), (float("nan"), "ms", "\u2013"),
])
def test_fmt_value(value, unit, text):
    assert ov.fmt_value(value, unit) == text


# ------------------------------------------------------------------------------------------------
# in a browser


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page asked for: every URL in Chromium's net log except Chromium's own services."""
    urls = set(re.findall(r'"url":"([^"]+)"', netlog.read_text(errors="replace")))
    own = re.compile(r"^https?://([a-z0-9.-]+\.)?(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)/")
    return sorted(u for u in urls if not own.match(u) and not u.startswith(("file:", "data:", "chrome")))


@needs_chromium
@needs_history
def test_committed_overview_renders_offline_in_chromium(committed, tmp_path):
    site, _ = committed
    url = (site / "overview.html").as_uri()
    out = run_chromium(url, tmp_path / "p1", "--virtual-time-budget=5000", f"--log-net-log={tmp_path / 'net.json'}",
                       "--host-resolver-rules=MAP * ~NOTFOUND", "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    assert 'data-js="ready"' in dom, "the inline script did not run"
    assert len(elements(dom, "article")) == len(ov.COMPONENTS)
    assert len(elements(dom, "svg")) >= 8
    assert _page_requests(tmp_path / "net.json") == []
    shot = tmp_path / "overview.png"
    out = run_chromium(url, tmp_path / "p2", f"--screenshot={shot}")
    assert out.returncode == 0 and shot.stat().st_size > 20_000
    if SCREENS.parent.exists():
        SCREENS.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENS / "overview-committed.png")


@needs_chromium
def test_base_chooser_is_built_by_the_script(synthetic, tmp_path):
    path = ov.build_overview(synthetic["results"], synthetic["site"], synthetic["repo"], machine="ref-box")
    out = run_chromium(path.as_uri(), tmp_path / "p", "--virtual-time-budget=5000", "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    options = [a["value"] for _, a, _ in elements(out.stdout, "option")]
    assert options == synthetic["commits"][1:3]
    [(_, select, _)] = elements(out.stdout, "select")
    assert select["id"] == "base-select"
    shot = tmp_path / "grid.png"
    out = run_chromium(path.as_uri(), tmp_path / "p2", f"--screenshot={shot}", size="1400,2900")
    assert out.returncode == 0 and shot.exists()
    if SCREENS.parent.exists():
        SCREENS.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENS / "overview-grid-synthetic.png")


def test_commits_follow_git_then_index_then_dates(synthetic, tmp_path):
    commits = synthetic["commits"]
    benchmarks = _benchmarks()
    series, dates = ov.load_series(synthetic["results"], "ref-box", benchmarks)
    subjects = ov.order_commits(series, dates, synthetic["repo"], {})  # git alone (no index.json)
    assert series.commits == commits and [subjects[c] for c in commits] == SUBJECTS
    series, _ = ov.load_series(synthetic["results"], "ref-box", benchmarks)
    index = {"revision_to_hash": {str(10 + i): c for i, c in enumerate(reversed(commits))}}
    ov.order_commits(series, dates, tmp_path, index)  # no git repository: asv's revision numbers
    assert series.commits == commits[::-1]
    series, _ = ov.load_series(synthetic["results"], "ref-box", benchmarks)
    by_date = {c: 5000 - i for i, c in enumerate(commits)}
    subjects = ov.order_commits(series, by_date, tmp_path, {})  # neither: the result files' dates
    assert series.commits == commits[::-1] and set(subjects.values()) == {""}
