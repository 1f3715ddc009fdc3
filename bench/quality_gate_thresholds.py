"""Measure every quality-gate figure for good and broken generators, to set a deployment's thresholds.

With the judge and real clips that a run of the deployment cached, measures the
gate's figures (``pipelines.release.gate.assess``) for:

* ``trained``: the deployment's trained generator, sampled as generation does
  (same plan, seeds, truncation, precision);
* ``perfect``: fresh procedural clips (seeds the real set never used), i.e.
  samples of the real distribution itself; for a real-video source (UCF-101
  layout etc.) the real held-out test clips themselves, with their own labels;
* ``degraded``: the perfect clips blurred (3x3 box) with frame-to-frame noise
  (6 grey levels), standing in for a well-trained generator's artefacts;
* broken generators made from the trained generator's clips: ``constant``
  (mid-grey output), ``one_clip`` (one clip for every label), ``shuffled``
  (labels permuted), ``frozen`` (first frame repeated), ``copies`` (the
  real training clips themselves, correctly labelled), and ``flickering``
  (the perfect clips with noise of 20 grey levels, new in every frame).

Every set is encoded to H.264 and decoded again, as a candidate's clips are.
Thresholds belong between the ``perfect``/``degraded`` columns and the broken
ones, with margin. Results go to ``bench/results/quality_gate.json``
(``quality_gate_<deployment>.json`` for another deployment, or ``--out``) and
a markdown table to stdout (figures that fail in bold, and per set the figures
that refuse it under ``refused_by`` in the JSON); ``--sheet PNG`` also writes a contact sheet of the
first decoded clip of every class, perfect (real) above trained, so the table
sits beside what it measured.

    vgan run augment-demo --output-root /tmp/q      # trains generator and judge (the gate may fail)
    python bench/quality_gate_thresholds.py --output-root /tmp/q

    python bench/real_footage.py /tmp/real5                # real footage: see docs/quality-gate.md
    vgan run augment-ucf101 --ucf101-root /tmp/real5 --output-root /tmp/r ...
    python bench/quality_gate_thresholds.py --deployment augment-ucf101 --output-root /tmp/r \
            --set clip.frames=8 --set clip.size=32 --set clip.fps=10 ...   (what the run overrode) \
            --out bench/results/quality_gate_real.json --sheet bench/results/quality_gate_real.png
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from flows.cli import build_config
from generators import load_generator, sample
from evaluation.judge import load_judge
from pipelines.jobs.plan import plan_synthetic
from pipelines.sources.procedural import render_clip
from pipelines.release.gate import assess, measure, measure_clips
from pipelines.release.preview import contact_sheet, sheet_scale
from pipelines.release.validate import validate_quality
from pipelines.dataset.reader import ClipDataset
from pipelines.media.video_io import decode_video, encode_mp4

RESULTS = Path(__file__).resolve().parent / "results" / "quality_gate.json"


def _one(pattern: str, root: Path) -> Path:
    found = sorted(root.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern} under {root}, found {[str(p) for p in found]}; name it explicitly")
    return found[0]


def _degrade(videos: np.ndarray, blur: bool = True, noise: float = 6.0, seed: int = 0) -> np.ndarray:
    """3x3 box blur of every frame, then Gaussian noise of ``noise`` grey levels, independent per pixel and frame."""
    x = torch.from_numpy(videos).float().movedim(-1, -3)  # (N, T, 3, H, W)
    n, t, c, h, w = x.shape
    if blur:
        x = F.avg_pool2d(F.pad(x.reshape(n * t, c, h, w), (1,) * 4, mode="replicate"), 3, stride=1).reshape(x.shape)
    x = x + noise * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return x.round().clamp(0, 255).to(torch.uint8).movedim(-3, -1).numpy()


def _round_trip(videos: np.ndarray, fps: float, crf: int, preset: str) -> np.ndarray:
    return np.stack([decode_video(encode_mp4(v, fps, crf, preset)) for v in videos])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployment", default="augment-demo")
    parser.add_argument("--output-root", required=True, help="output root of a finished run of the deployment")
    parser.add_argument("--real", type=Path, help="real clip dataset folder (default: the one cached under the root)")
    parser.add_argument("--judge", type=Path, help="judge file (default: the one cached under the root)")
    parser.add_argument("--checkpoint", type=Path, help="generator checkpoint (default: the one cached under the root)")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="a configuration override the run was made with, e.g. clip.fps=10 (value read as JSON)")
    parser.add_argument("--out", type=Path, help="results file (default: bench/results/quality_gate[_<deployment>].json)")
    parser.add_argument("--sheet", type=Path, help="also write a PNG: per class, a decoded perfect and a trained clip")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    overrides = {("output_root",): args.output_root}
    for item in args.set:
        path, _, value = item.partition("=")
        try:
            overrides[tuple(path.split("."))] = json.loads(value)
        except json.JSONDecodeError:
            overrides[tuple(path.split("."))] = value
    config = build_config(args.deployment, overrides)
    cache = Path(config.output_root) / config.dataset / ".cache"
    real = args.real or _one("real-*", cache)
    judge_path = args.judge or _one("judge-*/judge.pt", cache)
    checkpoint = args.checkpoint or _one("generator-*/generator.pt", cache)
    judge = load_judge(judge_path)
    train, test = measure(real, judge, split="train"), measure(real, judge, split="test")

    G, info = load_generator(checkpoint)
    names, gen = list(info.class_names), config.generate
    # By key (class by class), the order these figures were first measured in; "shuffled" depends on it.
    planned = plan_synthetic(names, gen.planned_counts(names), gen.seed, gen.shard_size)
    plan = sorted(planned.tasks(), key=lambda t: t.key)
    labels, keys = [t.label for t in plan], [t.key for t in plan]
    trained = sample(G, labels, [t.seed for t in plan], gen.truncation, precision=gen.precision).videos
    real_train = ClipDataset(real, split="train")
    by_label = {c: [i for i, y in enumerate(real_train.labels) if y == c] for c in range(len(names))}
    sets = {
        "trained": trained,
        "constant": np.full_like(trained, 128),
        "one_clip": np.repeat(trained[:1], len(trained), axis=0),
        "shuffled": trained[np.random.default_rng(0).permutation(len(trained))],
        "frozen": np.repeat(trained[:, :1], trained.shape[1], axis=1),
        "copies": np.stack([real_train.video(by_label[t.label][t.index % len(by_label[t.label])]) for t in plan]),
    }
    own = {}  # sets with labels of their own, not the plan's
    if config.source.kind == "procedural":
        f, s = config.clip.frames, config.clip.size
        sets["perfect"] = np.stack([render_clip(t.label_name, 10**6 + t.seed % 10**6, f, s, s)[0] for t in plan])
    else:  # real video: the held-out test clips are the only samples of the real distribution we have
        real_test = ClipDataset(real, split="test")
        sets["perfect"] = np.stack([real_test.video(i) for i in range(len(real_test))])
        own = {n: (list(real_test.labels), [r["key"] for r in real_test.rows]) for n in ("perfect", "degraded", "flickering")}
    sets["degraded"] = _degrade(sets["perfect"])
    sets["flickering"] = _degrade(sets["perfect"], blur=False, noise=20.0)

    results, firsts, refused_by = {}, {}, {}
    for name, videos in sets.items():
        set_labels, set_keys = own.get(name, (labels, keys))
        decoded = _round_trip(videos, config.clip.fps, gen.crf, gen.preset)
        firsts[name] = [decoded[set_labels.index(c)] for c in sorted(set(set_labels))]
        measured = measure_clips(decoded, set_labels, set_keys, judge)
        figures = validate_quality(assess(measured, train, test, judge, config.quality).summary).figures
        results[name] = {f.name: f.value for f in figures}
        refused_by[name] = [f.name for f in figures if f.passed is False]  # the gate's own suite decides
        reference = {f.name: f.reference for f in figures}
        thresholds = {f.name: (f.bound, f.threshold) for f in figures}
    columns = ["perfect", "degraded", "trained", "constant", "one_clip", "shuffled", "frozen", "copies", "flickering"]
    columns = [c for c in columns if c in results]
    print(f"| figure | real test | {' | '.join(columns)} | threshold |")
    print(f"| --- | ---: | {' | '.join('---:' for _ in columns)} | --- |")
    for fig in results["trained"]:
        bound, thr = thresholds[fig]
        cells = " | ".join(("**n/a**" if fig in refused_by[c] else "n/a") if results[c].get(fig) is None
                           else ("**{:.3g}**" if fig in refused_by[c] else "{:.3g}").format(results[c][fig])
                           for c in columns)  # fmt: skip
        ref = "" if reference[fig] is None else f"{reference[fig]:.3g}"
        print(f"| {fig} | {ref} | {cells} | {'' if thr is None else ('>= ' if bound == 'min' else '<= ') + f'{thr:g}'} |")
    sheet = None
    if args.sheet:
        contact_sheet(firsts["trained"], f"real test above {info.step}-step generator", args.sheet,
                      real=firsts["perfect"], scale=sheet_scale(config.clip.size))  # fmt: skip
        sheet = {"path": str(args.sheet), "rows": [names[c] for c in sorted(set(labels))]}
        print(f"contact sheet: {args.sheet}, rows in each half: {', '.join(sheet['rows'])}")
    out = args.out or (RESULTS if args.deployment == "augment-demo" else RESULTS.with_name(f"quality_gate_{args.deployment}.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "deployment": args.deployment, "command": " ".join(["python", *sys.argv]), "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "judge": judge.name, "judge_test_accuracy": judge.meta["test_accuracy"], "checkpoint_sha256": info.sha256,
        "generator_steps": info.step, "clips": {"synthetic": len(plan), "real_train": len(train), "real_test": len(test)},
        "reference": reference, "thresholds": {k: v[1] for k, v in thresholds.items() if v[1] is not None},
        "figures": results, "refused_by": refused_by, "sheet": sheet,
    }, indent=2) + "\n")  # fmt: skip
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
