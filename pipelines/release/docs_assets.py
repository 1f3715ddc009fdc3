"""Data Docs that render with no network: GX's CDN styles and scripts, served from copies beside the pages.

Great Expectations writes pages that load Bootstrap, jQuery, bootstrap-table
and Font Awesome from CDNs; offline (an air-gapped site, this project's CI) the
index page is blank, since its table of results is drawn by bootstrap-table.
``scripts/setup.sh`` installs those exact versions from the npm registry into
the environment (``<prefix>/share/vgan-docs-assets``); :func:`make_offline`
copies the files a site uses into its ``static/vendor/`` and points every page
at them with relative links, so the site still works when the version folder is
copied elsewhere. Chart scripts (Vega) are dropped: these pages draw no chart.
Where the assets are not installed the pages keep their CDN links, and a
warning says how to get them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import sys
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_ENV = "VGAN_DOCS_ASSETS"
"""Names a ``node_modules`` folder holding the assets, instead of the environment's own."""
NPM_PACKAGES = (
    "jquery@3.7.1", "bootstrap@4.3.1", "popper.js@1.12.9", "bootstrap-table@1.19.1",
    "@fortawesome/fontawesome-free@6.6.0", "bootstrap-datepicker@1.9.0", "@forevolve/bootstrap-dark@1.1.0",
)  # fmt: skip
"""What ``scripts/setup.sh`` installs: the versions GX's templates name, so the files are the CDN's bytes."""

_FILTER_CONTROL_CSS = "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css"
# CDN address -> file inside node_modules.
_BY_URL = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/dist/js/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/dist/umd/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # GX's templates name 1.19.0 for this style sheet (minified or not); 1.19.1's is the same rules.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        _FILTER_CONTROL_CSS,
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        _FILTER_CONTROL_CSS,
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    # The minified build of the same style sheet: 0.1 MB instead of 0.9 MB in every version.
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "@fortawesome/fontawesome-free/css/all.min.css",
}  # fmt: skip
# Font Awesome's style sheet loads its fonts from ../webfonts/. Only the woff2 of the two families the
# pages use (status ticks and crosses): every current browser takes woff2 before the 3x larger ttf.
_FONTS = [f"@fortawesome/fontawesome-free/webfonts/fa-{n}.woff2" for n in ("solid-900", "regular-400")]
_DROPPED = re.compile(r'<script src="https://cdn\.jsdelivr\.net/npm/vega[^"]*"></script>\s*')
_TAG = re.compile(r'<(?:link|script)\b[^>]*?(?:href|src)="(https://[^"]+)"[^>]*>')
_INTEGRITY = re.compile(r'\s+integrity="([^"]+)"')
_CROSSORIGIN = re.compile(r'\s+crossorigin="[^"]*"')
VENDOR_DIR = "static/vendor"


class AssetMismatch(RuntimeError):
    """An installed asset is not the file a page's integrity hash names (a wrong version was installed)."""


def assets_dir() -> Path:
    """Where the npm packages are: ``$VGAN_DOCS_ASSETS``, else ``<sys.prefix>/share/vgan-docs-assets/node_modules``."""
    named = os.environ.get(ASSETS_ENV)
    return Path(named) if named else Path(sys.prefix) / "share" / "vgan-docs-assets" / "node_modules"


def make_offline(site: str | os.PathLike, assets: str | os.PathLike | None = None) -> bool:
    """Copy the assets into ``site/static/vendor`` and point every page at them; False where they are not installed.

    Each rewritten tag loses ``crossorigin`` (a ``file://`` page cannot make a
    CORS request) and ``integrity``, after the local file is checked against
    that hash, so a page never runs a file other than the one GX pinned.
    """
    site, assets = Path(site), Path(assets) if assets is not None else assets_dir()
    missing = [rel for rel in {*_BY_URL.values(), *_FONTS} if not (assets / rel).is_file()]
    if missing:
        log.warning("Data Docs in %s load their styles and scripts from CDNs (offline they show a blank index): "
                    "%d asset files not found under %s; run scripts/setup.sh (it installs them with npm) or set %s",
                    site, len(missing), assets, ASSETS_ENV)
        return False
    vendor = site / VENDOR_DIR
    for rel in {*_BY_URL.values(), *_FONTS}:
        (vendor / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(assets / rel, vendor / rel)
    for page in site.rglob("*.html"):
        page.write_text(_rewrite(page.read_text(encoding="utf-8"), page.parent, vendor), encoding="utf-8")
    return True


def _rewrite(html: str, folder: Path, vendor: Path) -> str:
    html = _DROPPED.sub("", html)

    def local(match: re.Match) -> str:
        tag, url = match.group(0), match.group(1)
        rel = _BY_URL.get(url)
        if rel is None:
            return tag
        integrity = _INTEGRITY.search(tag)
        if integrity:
            _check_integrity(vendor / rel, integrity.group(1))
        tag = _CROSSORIGIN.sub("", _INTEGRITY.sub("", tag))
        return tag.replace(url, Path(os.path.relpath(vendor / rel, folder)).as_posix())

    return _TAG.sub(local, html)


def _check_integrity(path: Path, expected: str) -> None:
    algorithm, _, digest = expected.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, path.read_bytes()).digest()).decode()
    if actual != digest:
        raise AssetMismatch(f"{path} does not match the page's integrity hash {expected}; reinstall "
                            f"{' '.join(NPM_PACKAGES)} (scripts/setup.sh)")
