"""The built-in procedural action set as a real clip dataset, in the same format as the output (origin="real").

Real videos are ingested by
:mod:`pipelines.jobs.ingest`. Every source ends up as shards plus an index that
training and validation read the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.jobs.runner import run_shard_pipeline
from pipelines.jobs.plan import ShardTask, plan_procedural
from pipelines.sources.procedural import render_clip_tracks, source_path
from pipelines.jobs.shard_job import ProducedClip, ShardJob
from pipelines.sources import source_classes
from schemas.layout import INDEX
from schemas.config import BeamConfig, ClipFormat, ProceduralSource



class ProceduralProducer:
    """Renders the procedural clips of a shard; nothing to load, so ``setup`` is empty."""

    def __init__(self, clip: ClipFormat):
        self.clip = clip

    def setup(self) -> None:
        pass

    def __call__(self, shard: ShardTask):
        for task in shard.clips:
            video, boxes, actors = render_clip_tracks(task.label_name, task.seed, self.clip.frames, self.clip.size,
                                                      self.clip.size)
            for actor in actors:  # the renderer numbers classes its own way; the plan's label is the dataset's
                actor["label"] = task.label
            labels = {"source_path": source_path(task.label_name, task.seed), "start_frame": 0, "actors": actors}
            yield ProducedClip(task, video, labels, boxes)


def prepare_procedural(
    source: ProceduralSource, clip: ClipFormat, out_dir: str | os.PathLike, beam_cfg: BeamConfig, shard_size: int = 64
) -> Path:
    """Render the procedural set into ``out_dir`` (shards + index.parquet) and return the index path."""
    plan = plan_procedural(source_classes(source), source.clips_per_class, source.test_fraction, source.seed, shard_size)
    job = ShardJob(out_dir, origin="real", fps=clip.fps)
    return run_shard_pipeline(plan, job, ProceduralProducer(clip), beam_cfg, Path(out_dir) / INDEX)
