"""Any tree of class folders: ``<root>/<class>/*.{mp4,avi,mkv,mov,webm}``.

There are no official splits, so each class's videos are split into train and
test from ``split_seed``: the same seed and the same files always give the same
split, and adding a class does not move another class's videos.
"""

from __future__ import annotations

import random
from pathlib import Path

from pipelines.sources.listing import LayoutError, Listing, VideoItem, is_video, require_dir, select_classes
from schemas.config import FolderSource

EXPECTED = "class folders of videos: <root>/<class>/<video>.{mp4,avi,mkv,mov,webm}"


def inputs(source: FolderSource) -> list[Path]:
    return [Path(source.root).expanduser()]


def held_out_videos(names: list[str], class_name: str, fraction: float, seed: int) -> set[str]:
    """The names held out for testing: a seeded draw of ``round(n * fraction)`` of them, at least one, never all."""
    if len(names) < 2:
        return set()
    n_test = min(len(names) - 1, max(1, round(len(names) * fraction)))
    # Seeding with a string is stable across Python versions and processes (no hash randomisation).
    return set(random.Random(f"{seed}:{class_name}").sample(sorted(names), n_test))


def list_videos(source: FolderSource) -> Listing:
    root = require_dir(Path(source.root).expanduser(), "class-folder root", EXPECTED)
    videos = {
        d.name: sorted(f.name for f in d.iterdir() if f.is_file() and is_video(f.name))
        for d in sorted(root.iterdir())
        if d.is_dir() and not d.name.startswith(".")
    }
    all_classes = [name for name, files in videos.items() if files]
    if not all_classes:
        raise LayoutError(f"{root} has no class folder holding videos; expected {EXPECTED}")
    classes = select_classes(all_classes, source.classes, f"class folders under {root}")
    items = []
    for label, name in enumerate(classes):
        held_out = held_out_videos(videos[name], name, source.test_fraction, source.split_seed)
        for file in videos[name]:
            split = "test" if file in held_out else "train"
            items.append(VideoItem(str(root / name / file), f"{name}/{file}", label, name, split))
    return Listing(classes, items)
