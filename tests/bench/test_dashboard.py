"""The published dashboard, checked as a person would: serve html/, open it in headless Chromium.

Skips when Chromium is absent or nothing is published yet (``python tools/asv_history.py main``
publishes html/). The page must list the benchmarks of ``html/index.json`` (not asv's "external
dependencies failed to load" page), and a benchmark's page must draw its graph (flot canvases and
y-axis tick labels, which flot only adds once it has plotted data).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
HTML = REPO_ROOT / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium"),
    pytest.mark.skipif(not (HTML / "index.json").exists(), reason="nothing published in html/ yet"),
]


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *args, **kwargs: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # port 0: a free port
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def dump_dom(url: str, profile: Path) -> str:
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_benchmark_list_renders(server, tmp_path):
    dom = dump_dom(server, tmp_path)
    assert "failed to load" not in dom, "the dashboard's scripts did not load (see vendor_dashboard)"
    names = json.loads((HTML / "index.json").read_text())["benchmarks"]
    listed = [name for name in names if name in dom]
    assert len(listed) == len(names), f"not listed: {sorted(set(names) - set(listed))[:10]}"


def test_a_graph_renders(server, tmp_path):
    index = json.loads((HTML / "index.json").read_text())
    name = "bench_simulation.FullRun.time_run"
    if name not in index["benchmarks"]:
        name = sorted(index["benchmarks"])[0]
    dom = dump_dom(f"{server}#{name}", tmp_path)
    assert 'class="flot-base"' in dom, "no graph canvas"
    assert "flot-tick-label" in dom, "the graph has no axis: nothing was plotted"
