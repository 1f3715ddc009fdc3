"""Surveillance generation: planned clips become generated actors composited into camera scenes.

The plan is the generation plan (one key, label and seed per clip); each clip's
seed also picks its scene and, through :func:`generators.composite.plan_actors`,
how many actors it holds, their actions, latents and where they stand. A clip
is therefore a pure function of (checkpoint, scene list, seed, configuration),
and the shard pipeline, resumption and index are the ones plain generation uses.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pipelines.jobs.generate import (
    GENERATOR_NAME,
    GeneratorProducer,
    local_worker_share,
    run_generation,
)
from pipelines.jobs.plan import ShardTask
from pipelines.jobs.shard_job import ProducedClip
from pipelines.sources.scenes import Scene, load_scenes, procedural_scenes
from schemas.config import BeamConfig, GenerateConfig, SurveillanceConfig

COMPOSITOR_NAME = f"{GENERATOR_NAME}+composite"


def scenes_for(cfg: SurveillanceConfig, size: int) -> list[Scene]:
    """The configured scenes: the user's folder, or the built-in rooms."""
    if cfg.scenes:
        return load_scenes(cfg.scenes, size)
    return procedural_scenes(cfg.procedural_scenes, size, cfg.scene_seed)


def perspective_for(cfg: SurveillanceConfig, scene: Scene):
    """The ground-plane rule of ``scene``: its own horizon when it knows one, the configuration's otherwise."""
    from generators.composite import Perspective

    horizon = cfg.horizon if scene.horizon is None else scene.horizon
    return Perspective(horizon, cfg.height_at_bottom, cfg.nearest_feet, cfg.farthest_feet)


def composite_clips(generator, items: list[tuple[Scene, int, int]], class_names: list[str],
                    cfg: SurveillanceConfig, gen: GenerateConfig, device, precision: str) -> list:
    """Surveillance clips for ``items`` of (scene, label, seed): actors planned from each seed, sampled
    from ``generator`` in one batch (so the network runs full chunks), and blended into their scenes."""
    from generators.composite import ActorLayer, composite, plan_actors
    from generators.sampling import sample_layers

    classes = list(range(len(class_names)))
    plans = []
    for scene, label, seed in items:
        size = scene.image.shape[0]
        plans.append(plan_actors(seed, label, classes, size, size, perspective_for(cfg, scene),
                                 (cfg.min_actors, cfg.max_actors)))
    flat = [a for plan in plans for a in plan]
    layers = sample_layers(generator, [a for a, _, _ in flat], [s for _, s, _ in flat], gen.truncation,
                           device=device, precision=precision)
    out, k = [], 0
    for (scene, _, _), plan in zip(items, plans):
        actors = [ActorLayer(layers.foregrounds[k + j], layers.masks[k + j], a, class_names[a], layers.backgrounds[k + j])
                  for j, (a, _, _) in enumerate(plan)]
        out.append(composite(scene.image, actors, [p for _, _, p in plan]))
        k += len(plan)
    return out


def scene_of(scenes: list[Scene], seed: int) -> Scene:
    """The scene a clip is placed in: drawn from its seed, so it does not depend on the shard it lands in."""
    return scenes[int(np.random.default_rng([seed, 0x5CE]).integers(len(scenes)))]


class CompositeProducer(GeneratorProducer):
    """Makes a shard's clips by compositing generated actors into scenes (loaded once per worker)."""

    def __init__(self, checkpoint: str | os.PathLike, cfg: GenerateConfig, surveillance: SurveillanceConfig,
                 cores: int | None = None, sole_worker: bool = False):
        super().__init__(checkpoint, cfg, cores, sole_worker)
        self.surveillance = surveillance
        self.scenes: list[Scene] | None = None

    def setup(self) -> None:
        super().setup()
        self.scenes = scenes_for(self.surveillance, self.info.clip.size)

    def __call__(self, shard: ShardTask):
        from generators import torch_threads

        names = list(self.info.class_names)
        clips = shard.clips
        for start in range(0, len(clips), self.cfg.batch_size):
            batch = clips[start : start + self.cfg.batch_size]
            items = [(scene_of(self.scenes, t.seed), t.label, t.seed) for t in batch]
            with torch_threads(self.torch_threads):
                made = composite_clips(self.generator, items, names, self.surveillance, self.cfg, self.device,
                                       self.cfg.precision)
            for task, (scene, _, _), clip in zip(batch, items, made):
                fields = {
                    "generator": COMPOSITOR_NAME,
                    "checkpoint_sha256": self.info.sha256,
                    "seed": task.seed,
                    "truncation": self.cfg.truncation,
                    "scene": scene.path,
                    "scene_sha256": scene.sha256,
                    "actors": [t.row() for t in clip.tracks],
                    "box_coverage": clip.box_coverage,
                }
                yield ProducedClip(task, clip.video, fields, clip.union_boxes)


def composite_dataset(checkpoint: str | os.PathLike, cfg: GenerateConfig, surveillance: SurveillanceConfig,
                      out_dir: str | os.PathLike, beam_cfg: BeamConfig) -> Path:
    """Generate the planned clips as composited surveillance clips into ``out_dir`` (shards + index.parquet).

    The scenes are listed (and a user's folder checked) here, before any
    worker starts, so a bad scene file fails the run at once with its name.
    """
    from generators import read_checkpoint_info

    info = read_checkpoint_info(checkpoint)
    scenes_for(surveillance, info.clip.size)
    producer = CompositeProducer(checkpoint, cfg, surveillance, *local_worker_share(beam_cfg))
    return run_generation(info, cfg, producer, out_dir, beam_cfg)
