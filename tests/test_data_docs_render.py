"""The Data Docs render with no network, in a real headless Chromium whose name lookups all fail.

GX's pages draw the index's table of results with bootstrap-table from a CDN;
offline that page was blank. The site now carries its styles and scripts
(``pipelines/release/docs_assets.py``), and this looks for the rendered rows in
the browser's DOM and for ink in its screenshot, against the same site with its
CDN links left in place as the control. Screenshots are kept beside the site.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.release.docs_assets import assets_dir
from pipelines.release.validate import validate_index
from schemas.manifest import FeatureNetwork, QualityFigure, QualitySummary
from tests.test_validation import SPEC, _good_rows, _write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (.ci/run installs it with apt-get)"),
    pytest.mark.skipif(not (assets_dir() / "jquery").is_dir(),
                       reason=f"Data Docs assets not installed in {assets_dir()} (scripts/setup.sh installs them with npm)"),
]


def _figure(name: str, value: float, bound: str | None, threshold: float | None) -> QualityFigure:
    return QualityFigure(name=name, value=value, reference=value, bound=bound, threshold=threshold,
                         samples={"synthetic": 12}, description=f"{name} of the test")


QUALITY = QualitySummary(
    passed=True,
    judge=FeatureNetwork(name="judge test", sha256=hashlib.sha256(b"j").hexdigest(), resize="none", frames=16, accuracy=0.9),
    figures=[_figure("diversity_ratio", 0.8, "min", 0.4), _figure("frechet_distance_ratio", 2.0, "max", 15.0),
             _figure("judge_accuracy", 0.9, "min", 0.8), _figure("label_fidelity", 0.7, "min", 0.5)],
)


def _browse(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # no network, even on a machine that has one
         "--virtual-time-budget=10000", "--window-size=1280,900", *args, url],
        capture_output=True, text=True, timeout=180, check=True,
    )


def _ink(png: Path) -> float:
    """Share of pixels that are not near-white: a page with styles and a drawn table has far more."""
    pixels = np.asarray(Image.open(png).convert("L"))
    return float((pixels < 200).mean())


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs")
    candidate = root / "tiny" / ".candidates" / "3f9a"
    candidate.mkdir(parents=True)
    report = validate_index(_write(_good_rows(), candidate / "index.parquet"), SPEC, candidate / "validation",
                            quality=QUALITY)
    control = root / "cdn_only"
    shutil.copytree(candidate / "validation" / "data_docs", control)
    shutil.rmtree(control / "static" / "vendor")
    for page in control.rglob("*.html"):  # the pages as GX writes them, pointing at the CDNs
        page.write_text(re.sub(r'(?:\.\./)*static/vendor/[^"]+', "https://cdn.invalid/asset", page.read_text()))
    return report, control


def test_the_index_page_draws_its_result_rows_offline(sites, tmp_path):
    report, control = sites
    index = report.data_docs_index
    dom = _browse(index.as_uri(), tmp_path, "--dump-dom").stdout
    rows = re.findall(r'<tr[^>]*data-href="([^"]+)"[^>]*data-index="\d+"', dom)  # rows bootstrap-table drew
    # per suite (the index's and the quality figures'): its expectations and its one validation result
    assert len(rows) == 4 and sum(r.startswith("validations/") for r in rows) == 2, rows
    assert "clip_index_quality" in dom
    assert not re.findall(r'<tr[^>]*data-index="\d+"', _browse((control / "index.html").as_uri(), tmp_path, "--dump-dom").stdout)

    shot, blank = index.parent / "offline.png", tmp_path / "cdn_only.png"
    _browse(index.as_uri(), tmp_path, f"--screenshot={shot}")
    _browse((control / "index.html").as_uri(), tmp_path, f"--screenshot={blank}")
    assert _ink(shot) > 2 * _ink(blank) and _ink(shot) > 0.01, (_ink(shot), _ink(blank))


def test_result_pages_lead_with_the_judge_name_the_asset_and_the_run(sites, tmp_path):
    report, _ = sites
    docs = report.data_docs_index.parent
    (quality_page,) = (docs / "validations" / "clip_index_quality").rglob("*.html")
    assert quality_page.parent.parent.name == "tiny-3f9a"  # the run: <dataset>-<candidate>, not index.parquet
    dom = _browse(quality_page.as_uri(), tmp_path, "--dump-dom").stdout
    text = re.sub(r"<[^>]+>", " ", dom)
    positions = {f.name: text.find(f"{f.name} of the test") for f in QUALITY.figures}
    assert all(p >= 0 for p in positions.values()), positions
    assert min(positions, key=positions.get) == "judge_accuracy", positions
    assert re.search(r"Data asset:\s*quality figures", text) and not re.search(r"Data asset:\s*None", text)
    index_page = next((docs / "validations" / "clip_index").rglob("*.html")).read_text()
    assert re.search(r"Data asset:\s*(</?[^>]+>\s*)*index\.parquet", index_page)
    assert stat.S_IMODE(docs.stat().st_mode) == 0o755
