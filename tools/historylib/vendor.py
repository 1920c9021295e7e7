"""The offline dashboard: asv's CDN scripts and styles copied into ``html/vendor/``."""

from __future__ import annotations

import logging
import re
import subprocess
import tarfile
from pathlib import Path

from .gitrepo import REPO_ROOT
from .proc import NPM_TIMEOUT, ToolError, run

log = logging.getLogger(__name__)

# asv's index.html loads these from CDNs; `publish` copies them from npm into html/vendor/ so the
# dashboard also works offline (and in the headless-browser check). (CDN URL, npm package, file).
VENDORED_ASSETS = (
    ("https://code.jquery.com/jquery-3.3.1.min.js", "jquery@3.3.1", "dist/jquery.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js", "flot@0.8.3", "jquery.flot.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js", "flot@0.8.3", "jquery.flot.time.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js", "flot@0.8.3",
     "jquery.flot.selection.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js", "flot@0.8.3",
     "jquery.flot.categories.js"),
    ("https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js", "flot-orderbars@1.0.0",
     "js/jquery.flot.orderBars.js"),
    # 1.0.1 is not on npm; 1.1.3 has the same $.fn.stupidtable API.
    ("https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js", "stupid-table-plugin@1.1.3",
     "stupidtable.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js", "blueimp-md5@2.19.0", "js/md5.min.js"),
    ("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js", "bootstrap@3.1.1",
     "dist/js/bootstrap.min.js"),
    ("https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css", "bootstrap@3.1.1",
     "dist/css/bootstrap.min.css"),
)
TAG_WITH_URL = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https://[^"]+)"[^>]*>')
DEFAULT_CACHE = REPO_ROOT / ".asv" / "vendor"


def fetch(package: str, cache_dir: Path) -> Path | None:
    """The npm tarball of ``package`` (``name@version``) in ``cache_dir``, fetched once with
    ``npm pack``; None when npm or the package is unavailable."""
    name, version = package.rsplit("@", 1)
    tarball = cache_dir / f"{name}-{version}.tgz"
    if not tarball.exists():
        try:
            run(["npm", "pack", package, "--silent"], cwd=cache_dir, timeout=NPM_TIMEOUT)
        except (ToolError, subprocess.CalledProcessError):
            return None
    return tarball if tarball.exists() else None


def extract(tarball: Path, member: str) -> bytes | None:
    """The bytes of ``package/<member>`` in an npm tarball; None when it is not there."""
    try:
        with tarfile.open(tarball) as archive:
            source = archive.extractfile(f"package/{member}")  # KeyError when absent
            return None if source is None else source.read()
    except (KeyError, tarfile.TarError, OSError):
        return None


def vendor_dashboard(html_dir: Path, cache_dir: Path = DEFAULT_CACHE) -> bool:
    """Copy the dashboard's CDN scripts and styles into ``html_dir/vendor`` and point the pages
    at them.

    Returns:
        True when every asset was vendored; False when npm, a package or a file in it is
        missing: then no page is changed and the dashboard keeps its CDN links.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    assets: dict[str, tuple[str, bytes]] = {}
    for url, package, member in VENDORED_ASSETS:
        tarball = fetch(package, cache_dir)
        if tarball is None:
            log.warning("could not fetch %s with npm; the dashboard keeps its CDN links", package)
            return False
        data = extract(tarball, member)
        if data is None:
            log.warning("%s has no %s; the dashboard keeps its CDN links", package, member)
            return False
        assets[url] = (f"vendor/{package}/{member}", data)
    for relative, data in assets.values():
        target = html_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for page in html_dir.glob("*.html"):
        text = page.read_text()

        def replace(match: re.Match) -> str:
            url = match.group(2)
            if url not in assets:
                return match.group(0)
            tag = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", match.group(0))
            return tag.replace(url, assets[url][0])

        page.write_text(TAG_WITH_URL.sub(replace, text))
    return True
