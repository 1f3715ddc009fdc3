"""Plans: which clips a pipeline makes, with stable keys and seeds, grouped into shards.

A plan is computed before any pixel is made, so that every worker, every
re-run and every resumed run agrees on which key lands in which shard. A clip's
key and seed depend only on its class and its index within the class, never on
how many other classes or clips were asked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipelines.listing import VideoItem
from pipelines.shards import SHARD_NAME


@dataclass(frozen=True)
class ClipTask:
    key: str
    label: int
    label_name: str
    index: int
    seed: int
    split: str


@dataclass(frozen=True)
class ShardTask:
    shard_id: int
    clips: tuple[ClipTask, ...]

    @property
    def name(self) -> str:
        return SHARD_NAME.format(self.shard_id)


def derive_seed(base_seed: int, label: int, index: int) -> int:
    """A seed for clip ``index`` of class ``label``: stable across runs, machines and Python versions."""
    digest = hashlib.sha256(f"{base_seed}:{label}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def plan_synthetic(class_names: list[str], counts: dict[str, int], base_seed: int) -> list[ClipTask]:
    """Clips to generate: ``counts[name]`` clips of each named class, labelled by its trained index."""
    unknown = [c for c in counts if c not in class_names]
    if unknown:
        raise ValueError(f"cannot generate unknown classes {unknown}; the generator knows {class_names}")
    tasks = []
    for name, n in counts.items():
        label = class_names.index(name)
        for i in range(n):
            tasks.append(ClipTask(f"syn-c{label:03d}-{i:06d}", label, name, i, derive_seed(base_seed, label, i), "train"))
    return tasks


def plan_procedural(class_names: list[str], clips_per_class: int, test_fraction: float, base_seed: int) -> list[ClipTask]:
    """Real clips of the procedural set; the last ``test_fraction`` of each class is the test split."""
    n_test = max(1, round(clips_per_class * test_fraction))
    if n_test >= clips_per_class:
        raise ValueError(f"test_fraction {test_fraction} leaves no training clips out of {clips_per_class}")
    tasks = []
    for label, name in enumerate(class_names):
        for i in range(clips_per_class):
            split = "test" if i >= clips_per_class - n_test else "train"
            tasks.append(ClipTask(f"real-c{label:03d}-{i:06d}", label, name, i, derive_seed(base_seed, label, i), split))
    return tasks


def into_shards(tasks: list[ClipTask], shard_size: int) -> list[ShardTask]:
    """Cut a plan into shards of ``shard_size`` clips, classes interleaved.

    Round-robin over classes keeps every shard class-balanced, which is what
    shard-level shuffling in WebDataset-style readers relies on.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    ordered = sorted(tasks, key=lambda t: (t.index, t.label))
    return [
        ShardTask(i, tuple(ordered[start : start + shard_size]))
        for i, start in enumerate(range(0, len(ordered), shard_size))
    ]


@dataclass(frozen=True)
class VideoClipTask(ClipTask):
    """A clip to cut from a real video. All clips of one video share its seed, so they are drawn together."""

    video_index: int
    clip: int
    path: str
    source_path: str
    time_range: tuple[float, float] | None


def plan_videos(videos: list[VideoItem], clips_per_video: int, base_seed: int) -> list[VideoClipTask]:
    """Clips of listed real videos: ``clips_per_video`` per video, keyed by label, video and clip number.

    ``videos`` come in listing order; a video's number counts the videos of its
    class before it, so keys stay put when other classes are added or dropped.
    """
    seen: dict[int, int] = {}
    tasks = []
    for video in videos:
        v = seen.get(video.label, 0)
        seen[video.label] = v + 1
        seed = derive_seed(base_seed, video.label, v)
        for c in range(clips_per_video):
            key = f"real-c{video.label:03d}-{v:06d}-{c:02d}"
            tasks.append(
                VideoClipTask(key, video.label, video.label_name, v * clips_per_video + c, seed, video.split,
                              v, c, video.path, video.source_path, video.time_range)
            )
    return tasks


def into_video_shards(tasks: list[VideoClipTask], shard_size: int) -> list[ShardTask]:
    """Cut a video plan into shards of whole videos (each decoded once), classes interleaved.

    A shard holds ``shard_size // clips_per_video`` videos (at least one), so
    it has about ``shard_size`` clips.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    videos: dict[tuple[int, int], list[VideoClipTask]] = {}
    for t in tasks:
        videos.setdefault((t.video_index, t.label), []).append(t)
    ordered = [videos[k] for k in sorted(videos)]
    per_shard = max(1, shard_size // max(len(v) for v in ordered)) if ordered else 1
    return [
        ShardTask(i, tuple(t for video in ordered[start : start + per_shard] for t in video))
        for i, start in enumerate(range(0, len(ordered), per_shard))
    ]
