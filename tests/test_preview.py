"""Contact sheets and animated previews have the promised layout and frame count."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.release.preview import GAP, animated_preview, contact_sheet


def _clip(rng: np.random.Generator, frames: int = 16, size: int = 32) -> np.ndarray:
    # Random pixels, so no two frames are identical (Pillow merges identical GIF frames).
    return rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)


def test_contact_sheet_has_one_row_per_clip(tmp_path):
    rng = np.random.default_rng(0)
    videos = [_clip(rng) for _ in range(3)]

    path = contact_sheet(videos, "jump (3 clips)", tmp_path / "preview" / "jump.png", frames_per_clip=5)

    with Image.open(path) as im:
        assert im.format == "PNG"
        width, height = im.size
        sheet = np.asarray(im.convert("RGB"))
    assert width == 5 * (32 + GAP) + GAP
    strip = height - 3 * (32 + GAP) - GAP
    assert strip > 0  # the title strip sits above the grid
    # The last row's last cell is the clip's last frame; the first cell its first frame.
    last_row = strip + GAP + 2 * (32 + GAP)
    assert np.array_equal(sheet[last_row : last_row + 32, width - GAP - 32 : width - GAP], videos[2][-1])
    assert np.array_equal(sheet[strip + GAP : strip + GAP + 32, GAP : GAP + 32], videos[0][0])
    assert [p.name for p in path.parent.iterdir()] == ["jump.png"]  # no temporary left behind


def test_contact_sheet_repeats_frames_of_short_clips(tmp_path):
    rng = np.random.default_rng(1)
    path = contact_sheet([_clip(rng, frames=3)], "short", tmp_path / "short.png", frames_per_clip=8)
    with Image.open(path) as im:
        assert im.size[0] == 8 * (32 + GAP) + GAP


@pytest.mark.parametrize(
    "videos",
    [[], [np.zeros((4, 8, 8, 3), np.float32)], [np.zeros((4, 8, 8, 3), np.uint8), np.zeros((4, 16, 16, 3), np.uint8)]],
    ids=["empty", "float", "mixed sizes"],
)
def test_contact_sheet_rejects_bad_input(videos, tmp_path):
    with pytest.raises(ValueError):
        contact_sheet(videos, "bad", tmp_path / "bad.png")
    assert not any(tmp_path.iterdir())


def test_animated_preview_has_every_frame(tmp_path):
    video = _clip(np.random.default_rng(2), frames=12)

    path = animated_preview(video, tmp_path / "clip.gif", fps=8.0)

    with Image.open(path) as im:
        assert im.format == "GIF"
        assert im.n_frames == 12
        assert im.size == (32, 32)
        assert im.info["duration"] == 120  # 125 ms rounded to GIF's 10 ms ticks
        assert im.info["loop"] == 0
