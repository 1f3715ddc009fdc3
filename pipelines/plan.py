"""Plans: which clips a pipeline makes, with stable keys and seeds, grouped into shards.

A plan is computed before any pixel is made, so that every worker, every
re-run and every resumed run agrees on which key lands in which shard. A clip's
key and seed depend only on its class and its index within the class, never on
how many other classes or clips were asked for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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
