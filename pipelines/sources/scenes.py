"""Static camera scenes to composite generated actors into: the user's own views, or built-in ones.

A scene folder holds one file per camera: a still image, or a video from that
camera. A video's background is the per-pixel temporal median of frames spread
over it, which removes whoever walks through as long as each pixel shows the
empty scene more than half of the time. Every scene is fitted to the clip
square the way ingested clips are (short side scaled to the size, centre
crop), so any size works, odd or not square. Each scene is listed with its path
and the sha256 of its file, which go into the index beside each clip made in it.

Without a folder the built-in procedural rooms are used
(:func:`pipelines.sources.procedural.render_scene`); they know their horizon,
which a user's scene takes from the configuration.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from pipelines.media.video_clips import VideoRejected, sample_frames
from pipelines.sources.procedural import render_scene
from schemas.config import Source

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".mov", ".webm")
MEDIAN_FRAMES = 31  # frames a video's background is the median of


@dataclass(frozen=True)
class Scene:
    """One camera view, fitted to the clip square."""

    path: str  # the file it came from, or "procedural:scene?seed=N"
    sha256: str  # of that file (of the image bytes for a procedural scene)
    image: np.ndarray  # uint8 (size, size, 3)
    horizon: float | None = None  # share of the height where people vanish; None = the configuration's


def load_scenes(folder: str | os.PathLike, size: int) -> list[Scene]:
    """Every image and video directly in ``folder``, by file name, as scenes of ``size`` pixels square.

    A folder without a usable file, or a file that cannot be read, is an error
    that names it: a scene the user asked for must not silently go missing.
    """
    return [load_scene(p, size) for p in scene_files(folder)]


def scene_files(folder: str | os.PathLike) -> list[Path]:
    """The scene files directly in ``folder``, by name; an error naming the folder if it has none."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"scene folder {root} does not exist or is not a folder")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS + VIDEO_EXTENSIONS)
    if not files:
        raise ValueError(f"scene folder {root} holds no image ({', '.join(IMAGE_EXTENSIONS)}) "
                         f"or video ({', '.join(VIDEO_EXTENSIONS)})")
    return files


def load_scene(path: str | os.PathLike, size: int) -> Scene:
    """One scene file: an image fitted to the square, or a video's temporal-median background."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        try:
            frames = sample_frames(str(path), size, MEDIAN_FRAMES)
        except VideoRejected as exc:
            raise ValueError(f"scene video {path}: {exc}") from exc
        image = np.median(frames, axis=0).round().astype(np.uint8)
    else:
        try:
            with Image.open(path) as im:
                image = fit_square(np.asarray(im.convert("RGB")), size)
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"scene image {path} cannot be read: {exc}") from exc
    return Scene(str(path), _sha256_file(path), image)


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """Scale the short side of ``image`` (uint8 (H, W, 3), any H and W) to ``size`` and crop the centre square."""
    h, w = image.shape[:2]
    scale = size / min(h, w)
    sw, sh = max(size, round(w * scale)), max(size, round(h * scale))
    resized = np.asarray(Image.fromarray(image).resize((sw, sh), Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR))
    top, left = (sh - size) // 2, (sw - size) // 2
    return np.ascontiguousarray(resized[top : top + size, left : left + size])


def procedural_scenes(count: int, size: int, seed: int = 0) -> list[Scene]:
    """``count`` built-in rooms of ``size`` pixels square, scene ``i`` rendered from seed ``seed + i``."""
    if count < 1:
        raise ValueError(f"need at least one scene, got {count}")
    scenes = []
    for i in range(count):
        image, horizon = render_scene(seed + i, size, size)
        digest = hashlib.sha256(image.tobytes()).hexdigest()
        scenes.append(Scene(f"procedural:scene?seed={seed + i}", digest, image, horizon))
    return scenes


#: At most this many training clips give their median to :func:`empty_scenes`: enough variety for a critic of
#: still images, and a bounded decode (14 ms a 32x32x16 clip here) on a UCF-101-sized split.
MAX_MEDIAN_CLIPS = 1024


def empty_scenes(source: Source, clips: Sequence[tuple[Any, int]], size: int) -> np.ndarray:
    """Empty camera views of a real training set, uint8 ``(N, size, size, 3)``: what the scene critic calls real.

    The procedural set renders its rooms without actors, one per training clip
    (:func:`procedural_scenes` from the source's seed): exact, and a waving
    actor's still body is not in them. Footage has no empty view, so each clip
    gives its per-pixel temporal median, as a scene video does here; that
    removes whoever moves across the pixel, but keeps a person who stands
    still, and a moving camera blurs it.
    """
    if len(clips) == 0:
        raise ValueError("no training clips to take empty scenes from")
    if source.kind == "procedural":
        return np.stack([s.image for s in procedural_scenes(len(clips), size, source.seed)])
    picks = np.unique(np.linspace(0, len(clips) - 1, min(len(clips), MAX_MEDIAN_CLIPS)).round().astype(int))
    return np.stack([np.median(np.asarray(clips[int(i)][0]), axis=0).round().astype(np.uint8) for i in picks])


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def scenes_fingerprint(folder: str | os.PathLike | None) -> str:
    """A cheap key of a scene folder's files (names, sizes, modification times), so new scenes mean a new run.

    Empty for the built-in rooms, which the configuration fully determines.
    """
    if folder is None:
        return ""
    h = hashlib.sha256()
    for p in scene_files(folder):
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]
