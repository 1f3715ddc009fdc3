"""Plans: which clips a pipeline makes, with stable keys and seeds, grouped into shards.

A plan is computed before any pixel is made, so that every worker, every
re-run and every resumed run agrees on which key lands in which shard. A clip's
key and seed depend only on its class and its index within the class, never on
how many other classes or clips were asked for.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Iterator

from pipelines.sources.listing import VideoItem
from schemas.layout import SHARD_NAME


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


@dataclass(frozen=True)
class ClassPlan:
    """Clips counted per class, cut into class-interleaved shards that are computed on demand.

    Clips are ordered by (index within class, label), so shards take the
    classes round-robin and each is class-balanced, which shard-level
    shuffling in WebDataset-style readers relies on. Nothing per clip is
    stored: :meth:`shard` works out shard ``i``'s clips from the counts, so a
    plan of ten million clips is as small as one of ten, and the pipeline
    sends workers shard numbers rather than lists of clips.
    """

    prefix: str  # of every key: "syn" or "real"
    classes: tuple[tuple[int, str, int], ...]  # (label, name, clip count), by label
    base_seed: int
    shard_size: int
    test_count: int = 0  # the last ``test_count`` clips of each class are the test split

    def __post_init__(self):
        if self.shard_size < 1:
            raise ValueError(f"shard_size must be positive, got {self.shard_size}")

    @property
    def num_clips(self) -> int:
        return sum(count for _, _, count in self.classes)

    def __len__(self) -> int:
        """The number of shards."""
        return -(-self.num_clips // self.shard_size)

    def shard(self, shard_id: int) -> ShardTask:
        """Shard ``shard_id``: clips ``shard_id * shard_size`` onwards in (index, label) order."""
        if not 0 <= shard_id < len(self):
            raise IndexError(f"shard {shard_id} is outside this plan of {len(self)} shards")
        start = shard_id * self.shard_size
        wanted = min(self.shard_size, self.num_clips - start)
        index = bisect.bisect_right(range(max(c for _, _, c in self.classes)), start, key=self._clips_before) - 1
        skip = start - self._clips_before(index)
        clips: list[ClipTask] = []
        while len(clips) < wanted:
            row = [(label, name, count) for label, name, count in self.classes if count > index]
            for label, name, count in row[skip : skip + wanted - len(clips)]:
                split = "test" if index >= count - self.test_count else "train"
                key = f"{self.prefix}-c{label:03d}-{index:06d}"
                clips.append(ClipTask(key, label, name, index, derive_seed(self.base_seed, label, index), split))
            index, skip = index + 1, 0
        return ShardTask(shard_id, tuple(clips))

    def __iter__(self) -> Iterator[ShardTask]:
        return (self.shard(i) for i in range(len(self)))

    def tasks(self) -> Iterator[ClipTask]:
        """Every planned clip, in shard order."""
        return (task for shard in self for task in shard.clips)

    def _clips_before(self, index: int) -> int:
        """How many clips come before the first clip of number ``index``."""
        return sum(min(count, index) for _, _, count in self.classes)


def plan_synthetic(class_names: list[str], counts: dict[str, int], base_seed: int, shard_size: int) -> ClassPlan:
    """Clips to generate: ``counts[name]`` clips of each named class, labelled by its trained index."""
    unknown = [c for c in counts if c not in class_names]
    if unknown:
        raise ValueError(f"cannot generate unknown classes {unknown}; the generator knows {class_names}")
    classes = sorted((class_names.index(name), name, n) for name, n in counts.items() if n > 0)
    return ClassPlan("syn", tuple(classes), base_seed, shard_size)


def plan_procedural(class_names: list[str], clips_per_class: int, test_fraction: float, base_seed: int,
                    shard_size: int) -> ClassPlan:
    """Real clips of the procedural set; the last ``test_fraction`` of each class is the test split."""
    n_test = max(1, round(clips_per_class * test_fraction))
    if n_test >= clips_per_class:
        raise ValueError(f"test_fraction {test_fraction} leaves no training clips out of {clips_per_class}")
    classes = tuple((label, name, clips_per_class) for label, name in enumerate(class_names))
    return ClassPlan("real", classes, base_seed, shard_size, test_count=n_test)


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
