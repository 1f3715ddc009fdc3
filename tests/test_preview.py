"""Contact sheets and animated previews have the promised layout and frame count."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from pipelines.release.preview import GAP, animated_preview, contact_sheet, preview_markdown, sheet_scale


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


def test_real_clips_sit_above_synthetic_ones_and_the_sheet_is_enlarged(tmp_path):
    rng = np.random.default_rng(3)
    real, synthetic = [_clip(rng, frames=8) for _ in range(2)], [_clip(rng, frames=8) for _ in range(3)]
    scale = sheet_scale(32, frames_per_clip=4)
    assert scale == 5 and sheet_scale(32, frames_per_clip=4, min_width=10) == 1  # 4 * 34 + 2 = 138 px -> 690 px

    path = contact_sheet(synthetic, "jump", tmp_path / "jump.png", frames_per_clip=4, real=real, scale=scale)

    with Image.open(path) as im:
        sheet = np.asarray(im.convert("RGB"))
    natural = sheet[::scale, ::scale]  # nearest-neighbour enlargement: every 5th pixel is the original
    assert sheet.shape[1] == scale * (4 * (32 + GAP) + GAP)

    def row_of(frame: np.ndarray) -> int:
        """The y where ``frame`` sits in the first column of the natural-size sheet."""
        return next(y for y in range(natural.shape[0] - 31) if np.array_equal(natural[y:y + 32, GAP:GAP + 32], frame))

    assert row_of(real[0][0]) < row_of(real[1][0]) < row_of(synthetic[0][0]) < row_of(synthetic[2][0])


def test_preview_markdown_embeds_small_pngs_and_lists_the_rest(tmp_path):
    rng = np.random.default_rng(4)
    sheets = [contact_sheet([_clip(rng)], name, tmp_path / f"{name}.png", scale=3) for name in ("a", "b", "c")]

    text = preview_markdown(sheets, "candidate x", max_width=100, max_classes=2)

    images = re.findall(r"!\[(\w)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert [name for name, _ in images] == ["a", "b"]
    with Image.open(io.BytesIO(base64.b64decode(images[0][1]))) as im:
        assert im.format == "PNG" and im.width == 100
    assert "1 more classes" in text and "c.png" in text and "file://" not in text
    with pytest.raises(ValueError):
        preview_markdown([], "none")
