"""Preview images for a dataset card: a contact sheet per class and animated GIFs.

A reviewer judges a synthetic class at a glance from these, so the sheet shows
motion (frames spread evenly across each clip's duration) rather than only the
first frame. Images are written under a temporary name and renamed, like every
other file of a dataset version, so a crash never leaves a truncated PNG/GIF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from schemas.atomic import atomic_open

GAP = 2
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)


def contact_sheet(videos: list[np.ndarray], title: str, path: str | Path, frames_per_clip: int = 8,
                  tracks: list[list[dict]] | None = None, scale: int = 1) -> Path:
    """Write a PNG with one row per clip and ``frames_per_clip`` frames per row under a title strip.

    Every video is uint8 ``(T, H, W, 3)`` and all share ``H`` and ``W``; clips
    with fewer than ``frames_per_clip`` frames repeat frames rather than fail.
    ``tracks`` (per clip, its ``actors`` as the index holds them) draws each
    actor's box in a colour of its own with its track id, so a reviewer sees
    the labels on the pixels; ``scale`` enlarges frames (nearest neighbour)
    so that small clips leave room for them.
    """
    if not videos:
        raise ValueError("contact_sheet needs at least one video")
    if frames_per_clip < 1:
        raise ValueError(f"frames_per_clip must be positive, got {frames_per_clip}")
    for i, video in enumerate(videos):
        _check_video(video, f"videos[{i}]")
    height, width = videos[0].shape[1:3]
    if any(v.shape[1:3] != (height, width) for v in videos):
        raise ValueError(f"all videos must be {height}x{width}, got {[v.shape[1:3] for v in videos]}")
    if tracks is not None and len(tracks) != len(videos):
        raise ValueError(f"got tracks for {len(tracks)} clips but {len(videos)} videos")
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    height, width = height * scale, width * scale

    font = ImageFont.load_default()
    strip = _text_height(font, title) + 2 * GAP + 2
    sheet = Image.new(
        "RGB",
        (frames_per_clip * (width + GAP) + GAP, strip + len(videos) * (height + GAP) + GAP),
        BACKGROUND,
    )
    ImageDraw.Draw(sheet).text((GAP + 1, GAP + 1), title, fill=TEXT, font=font)
    for row, video in enumerate(videos):
        # Evenly spaced over the whole clip, first and last frame included.
        picks = np.linspace(0, len(video) - 1, frames_per_clip).round().astype(int)
        y = strip + GAP + row * (height + GAP)
        for col, t in enumerate(picks):
            frame = Image.fromarray(video[t])
            if scale > 1:
                frame = frame.resize((width, height), Image.Resampling.NEAREST)
            if tracks is not None:
                _draw_boxes(frame, tracks[row] or [], int(t), scale, font)
            sheet.paste(frame, (GAP + col * (width + GAP), y))
    with atomic_open(path) as f:
        sheet.save(f, format="PNG")
    return Path(path)


TRACK_COLOURS = ((255, 64, 64), (64, 220, 64), (80, 140, 255), (255, 220, 0), (255, 64, 255), (0, 230, 230))


def _draw_boxes(frame: Image.Image, actors: list[dict], t: int, scale: int, font) -> None:
    """Each actor's box at frame ``t`` with its track id; none where it is off-frame."""
    draw = ImageDraw.Draw(frame)
    for actor in actors:
        box = actor["boxes"][t]
        if box is None:
            continue
        colour = TRACK_COLOURS[(actor["track_id"] - 1) % len(TRACK_COLOURS)]
        x0, y0, x1, y1 = (v * scale for v in box)
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour)
        draw.text((x0 + 2, y0 + 1), str(actor["track_id"]), fill=colour, font=font)


def animated_preview(video: np.ndarray, path: str | Path, fps: float) -> Path:
    """Write ``video`` (uint8 ``(T, H, W, 3)``) as a looping GIF at ``fps``.

    GIF timing has 10 ms resolution, so the per-frame duration is rounded; Pillow
    also merges consecutive identical frames (adding their durations).
    """
    _check_video(video, "video")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    frames = [Image.fromarray(frame) for frame in video]
    duration = max(10, round(1000 / fps / 10) * 10)
    with atomic_open(path) as f:
        frames[0].save(f, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0)
    return Path(path)


def _check_video(video: np.ndarray, name: str) -> None:
    if not isinstance(video, np.ndarray) or video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3:
        shape = getattr(video, "shape", None)
        dtype = getattr(video, "dtype", type(video).__name__)
        raise ValueError(f"{name} must be a uint8 array (T, H, W, 3), got {dtype} {shape}")
    if len(video) == 0:
        raise ValueError(f"{name} has no frames")


def _text_height(font, text: str) -> int:
    """Bottom of the text's bounding box when drawn at the origin (descenders included)."""
    return ImageDraw.Draw(Image.new("RGB", (1, 1))).textbbox((0, 0), text or " ", font=font)[3]


