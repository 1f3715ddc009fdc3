"""Generation: a plan of (label, seed) pairs becomes encoded clips in shards with an index.

The generator is loaded once per worker (in ``setup``) and run in batches; the
shard job encodes each batch on other threads while the next one is generated.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.beam_runner import run_shard_pipeline
from pipelines.plan import ShardTask, into_shards, plan_synthetic
from pipelines.shard_job import ProducedClip, ShardJob
from schemas.config import BeamConfig, GenerateConfig

INDEX_NAME = "index.parquet"
GENERATOR_NAME = "vgan-two-stream"


class GeneratorProducer:
    """Samples a shard's clips from a checkpoint's EMA generator, ``batch_size`` at a time."""

    def __init__(self, checkpoint: str | os.PathLike, cfg: GenerateConfig):
        self.checkpoint = str(checkpoint)
        self.cfg = cfg
        self.generator = None
        self.meta: dict = {}

    def setup(self) -> None:
        from generators import load_generator
        from generators.training import resolve_device

        self.device = resolve_device(self.cfg.device)
        self.generator, self.meta = load_generator(self.checkpoint, device=self.device)

    def __call__(self, shard: ShardTask):
        from generators import boxes_from_mask, sample

        clips = shard.clips
        for start in range(0, len(clips), self.cfg.batch_size):
            batch = clips[start : start + self.cfg.batch_size]
            out = sample(
                self.generator,
                [t.label for t in batch],
                [t.seed for t in batch],
                self.cfg.truncation,
                device=self.device,
                precision=self.cfg.precision,
            )
            for task, video, mask in zip(batch, out.videos, out.masks):
                fields = {
                    "generator": GENERATOR_NAME,
                    "checkpoint_sha256": self.meta["sha256"],
                    "seed": task.seed,
                    "truncation": self.cfg.truncation,
                }
                yield ProducedClip(task, video, fields, boxes_from_mask(mask))


def planned_counts(cfg: GenerateConfig, class_names: list[str]) -> dict[str, int]:
    """Clips per class: ``counts`` when given, else ``clips_per_class`` of every trained class."""
    return dict(cfg.counts) if cfg.counts else {name: cfg.clips_per_class for name in class_names}


def generate_dataset(
    checkpoint: str | os.PathLike, cfg: GenerateConfig, out_dir: str | os.PathLike, beam_cfg: BeamConfig
) -> Path:
    """Generate the planned clips into ``out_dir`` (shards + index.parquet); finished shards are reused.

    Class names and clip format come from the checkpoint itself, so a plan can
    never pair a label with another class's name; ``cfg.counts`` naming a class
    the checkpoint does not know is an error before anything is written.
    """
    from generators import load_generator

    meta = load_generator(checkpoint)[1]
    class_names = meta["class_names"]
    tasks = plan_synthetic(class_names, planned_counts(cfg, class_names), cfg.seed)
    job = ShardJob(out_dir, origin="synthetic", fps=meta["clip"].fps, crf=cfg.crf)
    producer = GeneratorProducer(checkpoint, cfg)
    return run_shard_pipeline(into_shards(tasks, cfg.shard_size), job, producer, beam_cfg, Path(out_dir) / INDEX_NAME)
