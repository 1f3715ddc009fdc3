"""Preview images for a dataset card: a contact sheet per class and animated GIFs.

A reviewer judges a synthetic class at a glance from these, so the sheet shows
motion (frames spread evenly across each clip's duration) rather than only the
first frame. Images are written under a temporary name and renamed, like every
other file of a dataset version, so a crash never leaves a truncated PNG/GIF.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from schemas.atomic import atomic_open

GAP = 2
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)


def contact_sheet(videos: list[np.ndarray], title: str, path: str | Path, frames_per_clip: int = 8,
                  real: list[np.ndarray] | None = None, tracks: list[list[dict]] | None = None,
                  scale: int = 1) -> Path:
    """Write a PNG with one row per clip and ``frames_per_clip`` frames per row under a title strip.

    Every video is uint8 ``(T, H, W, 3)`` and all share ``H`` and ``W``; clips
    with fewer than ``frames_per_clip`` frames repeat frames rather than fail.
    With ``real`` clips, they come first under a "real" strip and the
    synthetic ones follow under a "synthetic" strip, so a reviewer compares
    the two on one picture. ``scale`` enlarges every pixel (nearest neighbour,
    no smoothing that would hide artefacts): small clips are unreadable at 1:1.
    ``tracks`` (per synthetic clip, its ``actors`` as the index holds them)
    draws each actor's box in a colour of its own with its track id, so a
    reviewer sees the labels on the pixels.
    """
    if not videos:
        raise ValueError("contact_sheet needs at least one video")
    if frames_per_clip < 1:
        raise ValueError(f"frames_per_clip must be positive, got {frames_per_clip}")
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    real = list(real or [])
    for i, video in enumerate(videos):
        _check_video(video, f"videos[{i}]")
    for i, video in enumerate(real):
        _check_video(video, f"real[{i}]")
    height, width = videos[0].shape[1:3]
    if any(v.shape[1:3] != (height, width) for v in videos + real):
        raise ValueError(f"all videos must be {height}x{width}, got {[v.shape[1:3] for v in videos + real]}")
    if tracks is not None and len(tracks) != len(videos):
        raise ValueError(f"got tracks for {len(tracks)} clips but {len(videos)} videos")

    font = ImageFont.load_default()
    sections = [(f"real ({len(real)})", real), (f"synthetic ({len(videos)})", videos)] if real else [(None, videos)]
    strip = _text_height(font, title) + 2 * GAP + 2
    rows_height = sum((strip if label else 0) + len(clips) * (height + GAP) for label, clips in sections)
    sheet = Image.new("RGB", (frames_per_clip * (width + GAP) + GAP, strip + rows_height + GAP), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP + 1, GAP + 1), title, fill=TEXT, font=font)
    y = strip + GAP
    for label, clips in sections:
        if label:
            draw.text((GAP + 1, y), label, fill=TEXT, font=font)
            y += strip
        for row, video in enumerate(clips):
            # Evenly spaced over the whole clip, first and last frame included.
            picks = np.linspace(0, len(video) - 1, frames_per_clip).round().astype(int)
            for col, t in enumerate(picks):
                frame = Image.fromarray(video[t])
                if tracks is not None and clips is videos:
                    _draw_boxes(frame, tracks[row] or [], int(t), font)
                sheet.paste(frame, (GAP + col * (width + GAP), y))
            y += height + GAP
    if scale > 1:
        sheet = sheet.resize((sheet.width * scale, sheet.height * scale), Image.NEAREST)
    with atomic_open(path) as f:
        sheet.save(f, format="PNG")
    return Path(path)


def sheet_scale(width: int, frames_per_clip: int = 8, min_width: int = 640) -> int:
    """The smallest whole enlargement that makes a sheet of ``width``-pixel frames at least ``min_width`` wide."""
    natural = frames_per_clip * (width + GAP) + GAP
    return max(1, -(-min_width // natural))


def preview_markdown(sheets: list[Path], title: str, max_width: int = 320, max_classes: int = 24) -> str:
    """Markdown with every class's contact sheet embedded as a ``data:`` PNG, for the Prefect UI.

    The UI shows an artifact's markdown but cannot open a ``file://`` path on
    the machine that ran the flow, so the pictures travel inside it, shrunk to
    ``max_width`` pixels; past ``max_classes`` classes only their file names
    are listed, which keeps the artifact small for UCF-101's 101 classes.
    """
    if not sheets:
        raise ValueError("preview_markdown needs at least one contact sheet")
    lines = [f"# {title}", ""]
    for path in sheets[:max_classes]:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.width > max_width:
                im = im.resize((max_width, max(1, round(im.height * max_width / im.width))), Image.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, format="PNG", optimize=True)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        lines += [f"## {path.stem}", "", f"![{path.stem}](data:image/png;base64,{data})", ""]
    if len(sheets) > max_classes:
        rest = ", ".join(p.name for p in sheets[max_classes:])
        lines += [f"{len(sheets) - max_classes} more classes, in the candidate's `preview/`: {rest}", ""]
    return "\n".join(lines)


TRACK_COLOURS = ((255, 64, 64), (64, 220, 64), (80, 140, 255), (255, 220, 0), (255, 64, 255), (0, 230, 230))


def _draw_boxes(frame: Image.Image, actors: list[dict], t: int, font) -> None:
    """Each actor's box at frame ``t`` with its track id; none where it is off-frame."""
    draw = ImageDraw.Draw(frame)
    for actor in actors:
        box = actor["boxes"][t]
        if box is None:
            continue
        colour = TRACK_COLOURS[(actor["track_id"] - 1) % len(TRACK_COLOURS)]
        x0, y0, x1, y1 = box
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


