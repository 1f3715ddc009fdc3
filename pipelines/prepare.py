"""Ingest: the real clip dataset, in the same format as the output (origin="real").

Here the built-in procedural action set; real videos are ingested by
:mod:`pipelines.ingest`. Every source ends up as shards plus an index that
training and validation read the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.beam_runner import run_shard_pipeline
from pipelines.plan import ShardTask, plan_procedural
from pipelines.procedural import render_clip
from pipelines.shard_job import ProducedClip, ShardJob
from schemas.classes import PROCEDURAL_CLASSES
from schemas.config import BeamConfig, ClipFormat, ProceduralSource

INDEX_NAME = "index.parquet"


class ProceduralProducer:
    """Renders the procedural clips of a shard; nothing to load, so ``setup`` is empty."""

    def __init__(self, clip: ClipFormat):
        self.clip = clip

    def setup(self) -> None:
        pass

    def __call__(self, shard: ShardTask):
        for task in shard.clips:
            video, boxes = render_clip(task.label_name, task.seed, self.clip.frames, self.clip.size, self.clip.size)
            source = f"procedural:{task.label_name}?seed={task.seed}"
            yield ProducedClip(task, video, {"source_path": source, "start_frame": 0}, boxes)


def source_classes(source) -> list[str]:
    """The class names of a source, in label order; a real source is listed (no video is opened)."""
    if isinstance(source, ProceduralSource):
        return list(source.classes or PROCEDURAL_CLASSES)
    from pipelines.sources import list_videos

    return list_videos(source).class_names


def prepare_procedural(
    source: ProceduralSource, clip: ClipFormat, out_dir: str | os.PathLike, beam_cfg: BeamConfig, shard_size: int = 64
) -> Path:
    """Render the procedural set into ``out_dir`` (shards + index.parquet) and return the index path."""
    plan = plan_procedural(source_classes(source), source.clips_per_class, source.test_fraction, source.seed, shard_size)
    job = ShardJob(out_dir, origin="real", fps=clip.fps)
    return run_shard_pipeline(plan, job, ProceduralProducer(clip), beam_cfg, Path(out_dir) / INDEX_NAME)
