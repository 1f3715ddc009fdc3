"""How good the boxes of a published surveillance version are, measured on its own clips remade from their seeds.

Each clip of the version is composited again from (checkpoint, scene, seed) with
the configuration of the run (read from ``prefect.yaml`` for the deployment,
with the same overrides as the run), which also checks that clips are
reproducible: the re-encoded clip must have the sha256 the index holds. Per
clip, against the empty scene (pixels changed by more than 8 grey levels):

* ``coverage``: share of the changed pixels that lie inside some actor's box, or within one
  pixel of it (what the gate's ``box_coverage`` figure averages), and ``coverage_strict``
  without that pixel of soft mask edge;
* ``fill``: share of the pixels inside the boxes that changed (how tight the boxes are;
  an actor's own colour can match the scene, and a box is a rectangle round a body, so 1 is not reachable).

    python bench/surveillance_boxes.py out/surveillance-actors/latest out/surveillance-actors/.cache/generator-*/generator.pt \
        --deployment augment-surveillance
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    from flows.cli import build_config
    from generators import load_generator
    from generators.composite import CHANGED_LEVEL, box_coverage
    from pipelines.dataset.index_io import read_index
    from pipelines.dataset.reader import resolve_version
    from pipelines.dataset.shards import sha256_bytes
    from pipelines.jobs.composite import composite_clips, scene_of, scenes_for
    from pipelines.media.video_io import encode_mp4

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("version")
    parser.add_argument("checkpoint")
    parser.add_argument("--deployment", default="augment-surveillance")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "surveillance_boxes.json"))
    args = parser.parse_args()

    config = build_config(args.deployment, {})
    version = resolve_version(args.version)
    G, info = load_generator(args.checkpoint)
    scenes = scenes_for(config.surveillance, info.clip.size)
    rows = read_index(version / "index.parquet").to_pylist()
    coverage, strict, fill, same = [], [], [], 0
    for row in rows:
        scene = scene_of(scenes, row["seed"])
        (clip,) = composite_clips(G, [(scene, row["label"], row["seed"])], list(info.class_names), config.surveillance,
                                  config.generate, "cpu", config.generate.precision)
        same += sha256_bytes(encode_mp4(clip.video, info.clip.fps, config.generate.crf, config.generate.preset)) == row["sha256"]
        changed = (np.abs(clip.video.astype(np.int16) - scene.image.astype(np.int16)) > CHANGED_LEVEL).any(-1)
        inside = np.zeros_like(changed)
        for track in clip.tracks:
            for t in np.flatnonzero(~np.isnan(track.boxes).any(1)):
                x0, y0, x1, y1 = track.boxes[t].astype(int)
                inside[t, y0:y1, x0:x1] = True
        if changed.any():
            coverage.append(box_coverage(clip.video, scene.image, [t.boxes for t in clip.tracks]))
            strict.append(box_coverage(clip.video, scene.image, [t.boxes for t in clip.tracks], margin=0))
        if inside.any():
            fill.append(float((changed & inside).sum() / inside.sum()))

    def stats(values: list[float]) -> dict:
        a = np.array(values)
        return {"mean": round(float(a.mean()), 4), "p05": round(float(np.percentile(a, 5)), 4),
                "min": round(float(a.min()), 4), "clips": len(a)}

    result = {
        "version": str(version), "checkpoint_sha256": info.sha256, "deployment": args.deployment,
        "clips": len(rows), "reproduced_bit_exact": same,
        "coverage": stats(coverage), "coverage_strict": stats(strict), "fill": stats(fill),
        "index_box_coverage_mean": round(float(np.mean([r["box_coverage"] for r in rows if r["box_coverage"] is not None])), 4),
        "actors_per_clip": round(float(np.mean([len(r["actors"]) for r in rows])), 3),
        "actor_frames_without_box": round(float(np.mean([b is None for r in rows for a in r["actors"] for b in a["boxes"]])), 4),
    }  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
