"""The augment flow with a surveillance section, end to end on a temporary Prefect server."""

from __future__ import annotations

import json
from pathlib import Path

from prefect.testing.utilities import prefect_test_harness


def test_the_flow_publishes_composited_clips_with_tracks_exports_and_box_previews(tmp_path):
    from flows.augment import augment
    from pipelines.dataset.index_io import read_index
    from schemas.config import AugmentConfig
    from schemas.manifest import Manifest
    from tests.conftest import tiny_config_dict

    data = tiny_config_dict(tmp_path / "out")
    data["surveillance"] = {"procedural_scenes": 2, "max_actors": 2, "min_box_coverage": 0.5}
    data["train"] |= {"scene_critic": 1.0, "matte_critic": 1.0}  # as the deployment trains: the flow hands both their data
    config = AugmentConfig.model_validate(data)
    with prefect_test_harness(server_startup_timeout=120):
        version = Path(augment(config))
    rows = read_index(version / "index.parquet").to_pylist()
    assert len(rows) == 10 and all(1 <= len(r["actors"]) <= 2 and r["scene"] for r in rows)
    manifest = Manifest.model_validate_json((version / "manifest.json").read_text())
    figure = next(f for f in manifest.quality.figures if f.name == "box_coverage")
    assert figure.threshold == 0.5 and figure.passed is True and 0.5 <= figure.value <= 1
    coco = json.loads((version / "exports" / "coco-video.json").read_text())
    assert len(coco["videos"]) == 10 and len(coco["images"]) == 10 * 8
    assert all((version / "exports" / "mot" / r["key"] / "gt" / "gt.txt").is_file() for r in rows)
    sheets = sorted((version / "preview").glob("*.png"))
    assert [p.stem for p in sheets] == ["000-walk_left", "001-jump"]
    from PIL import Image

    with Image.open(sheets[0]) as im:
        assert im.width >= 8 * 128  # frames enlarged so boxes and track ids fit
