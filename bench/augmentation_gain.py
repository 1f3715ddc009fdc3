"""Do synthetic clips make a recognizer better where real clips are few? Real only against real + synthetic.

For each regime of k real training clips per class (nested subsets: the 5-shot
clips lie inside the 10-shot ones):

1. train the class-conditional VGAN on those k clips per class only, so no
   clip the recognizer is tested on, and no real clip outside the regime,
   reaches the synthetic data;
2. generate ``--synthetic-per-class`` clips per class with the product's own
   Beam pipeline (H.264 shards + index), as a user would read them;
3. for each seed, train the same recognizer (the R(2+1)D network of
   :mod:`evaluation.judge`, 16 channels) twice with the same number of
   gradient steps, the same augmentation and the same seed: on the k real
   clips alone, and on :class:`pipelines.MixedClips` of those clips and the
   synthetic version at ``--synthetic-fraction``;
4. test both on the same held-out real clips, which nothing else ever sees.

With ``--filter-synthetic`` the mixed arm gets only the synthetic clips that
the same seed's real-only recognizer (trained on the k clips and nothing else)
labels as intended: a filter a user with k clips per class can apply too.

As a diagnosis of the generator (not an input to any recognizer), each regime
also reports the label fidelity of its synthetic clips: the accuracy on them
of a reference classifier trained on every real training clip.

Writes ``bench/results/<name>.json`` and ``<name>.png`` (``--name``, default ``augmentation_gain``)
(accuracy against k, both curves, seed spread as error bars), prints a table.

    python -m bench.augmentation_gain                      # the recorded run (about 50 min on 2 cores)
    python -m bench.augmentation_gain --regimes 5 --seeds 0 --generator-steps 100 --recognizer-steps 20
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import RESULTS, table, write_result
from evaluation.judge import JudgeNet, embed, load_clips
from evaluation.quality import accuracy
from evaluation.recognizer import RecognizerSpec, Stage, spread
from evaluation.recognizer import train_recognizer as fit
from generators import train
from pipelines import (
    ClipDataset,
    ClipTransform,
    MixedClips,
    generate_dataset,
    prepare_procedural,
)
from schemas.classes import PROCEDURAL_CLASSES
from schemas.config import (
    BeamConfig,
    ClipFormat,
    GenerateConfig,
    ModelConfig,
    ProceduralSource,
    TrainConfig,
)

log = logging.getLogger("augmentation_gain")

CLIP = ClipFormat(frames=16, size=32, fps=8)  # the augment-demo clip format
# 72 clips per class, the last third held out: 48 training clips per class ("all") and 24 test clips.
SOURCE = ProceduralSource(clips_per_class=72, test_fraction=1 / 3, seed=0)
RECOGNIZER_CHANNELS = 16
RECOGNIZER_LR, RECOGNIZER_WEIGHT_DECAY = 3e-3, 0.05
BATCH = 32
TRANSFORM = ClipTransform(crop_scale=(0.8, 1.0), brightness=0.1, contrast=0.1)


def train_recognizer(data: MixedClips, steps: int, seed: int, num_classes: int) -> JudgeNet:
    """``steps`` updates of a fresh R(2+1)D on batches of ``data`` (built with ``weights=True``), epoch after epoch."""
    spec = RecognizerSpec(RECOGNIZER_CHANNELS, steps, BATCH, RECOGNIZER_LR, RECOGNIZER_WEIGHT_DECAY, view="residual")
    return fit([Stage(data.batches(BATCH), steps)], num_classes, CLIP.frames, CLIP.size, spec, seed)


def top1(net: JudgeNet, videos: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """Top-1 accuracy (overall, not class-averaged) of ``net`` on uint8 clips."""
    return accuracy(embed(net, videos, torch.device("cpu"), "fp32").labels, labels, num_classes)[0]


def run(args: argparse.Namespace) -> dict:
    work = Path(args.workdir)
    beam = BeamConfig()
    classes = list(PROCEDURAL_CLASSES)
    real_dir = prepare_procedural(SOURCE, CLIP, work / "real", beam).parent
    train_all = ClipDataset(real_dir, split="train")
    test_videos, test_labels = load_clips(ClipDataset(real_dir, split="test"))
    all_k = len(train_all) // len(classes)
    log.info("real: %d training clips (%d per class), %d test clips", len(train_all), all_k, len(test_labels))

    # Diagnosis only: how recognisable each regime's synthetic clips are to a classifier of all real training clips.
    reference = train_recognizer(MixedClips(train_all, transform=TRANSFORM, seed=0, weights=True), args.recognizer_steps, 0, len(classes))
    reference_acc = top1(reference, test_videos, test_labels, len(classes))
    log.info("reference classifier (all real training clips): %.3f on the test clips", reference_acc)

    regimes = []
    for k in args.regimes:
        k = all_k if k == 0 else k
        real_k = train_all.first_per_class(k)
        started = time.perf_counter()
        train_cfg = TrainConfig(
            steps=args.generator_steps, batch_size=16, precision="bf16", checkpoint_every=args.generator_steps,
            model=ModelConfig(z_dim=128, channels=32),
        )  # fmt: skip
        ckpt = train(real_k, classes, train_cfg, CLIP, work / f"k{k}" / "generator.pt")
        generator_s = time.perf_counter() - started
        synthetic_dir = generate_dataset(
            ckpt, GenerateConfig(clips_per_class=args.synthetic_per_class, seed=1, precision="bf16"), work / f"k{k}" / "synthetic", beam
        ).parent
        synthetic = ClipDataset(synthetic_dir)
        synthetic_videos, synthetic_labels = load_clips(synthetic)
        fidelity = top1(reference, synthetic_videos, synthetic_labels, len(classes))

        real_only, mixed, kept = [], [], []
        for seed in args.seeds:
            net = train_recognizer(MixedClips(real_k, transform=TRANSFORM, seed=seed, weights=True), args.recognizer_steps, seed, len(classes))
            real_only.append(top1(net, test_videos, test_labels, len(classes)))
            if args.filter_synthetic:  # the real-only recognizer saw the k clips and nothing else: no leak
                agrees = embed(net, synthetic_videos, torch.device("cpu"), "fp32").labels == synthetic_labels
                kept.append(float(agrees.mean()))
                chosen = synthetic.subset(np.flatnonzero(agrees).tolist())
            else:
                chosen = synthetic
            data = MixedClips(real_k, [chosen], args.synthetic_fraction, transform=TRANSFORM, seed=seed, weights=True)
            net = train_recognizer(data, args.recognizer_steps, seed, len(classes))
            mixed.append(top1(net, test_videos, test_labels, len(classes)))
            log.info("k=%d seed=%d real: %.3f, mixed: %.3f", k, seed, real_only[-1], mixed[-1])
        gains = [100 * (m - r) for r, m in zip(real_only, mixed)]
        regimes.append({
            "k": k,
            "real_clips": len(real_k),
            "synthetic_clips": len(synthetic_labels),
            "generator_train_s": round(generator_s, 1),
            "synthetic_label_fidelity": round(fidelity, 4),
            "real_only": spread(real_only),
            "real_plus_synthetic": spread(mixed),
            "gain_points": spread(gains),
            **({"synthetic_kept": spread(kept)} if kept else {}),
        })  # fmt: skip
    return {"reference_accuracy": round(reference_acc, 4), "test_clips": len(test_labels), "regimes": regimes}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = [r["k"] for r in result["regimes"]]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    for key, label in (("real_only", "real only"), ("real_plus_synthetic", "real + synthetic")):
        means = [100 * r[key]["mean"] for r in result["regimes"]]
        stds = [100 * r[key]["std"] for r in result["regimes"]]
        ax.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=label)
    ax.axhline(100 / len(PROCEDURAL_CLASSES), color="grey", linestyle=":", label="chance")
    ax.set_ylim(0, 100)
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("real training clips per class (k)")
    ax.set_ylabel("top-1 on held-out real clips (%)")
    ax.set_title("Procedural set, 8 classes")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regimes", type=int, nargs="+", default=[5, 10, 25, 0], help="k per class; 0 = all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--generator-steps", type=int, default=2000)
    parser.add_argument("--recognizer-steps", type=int, default=300)
    parser.add_argument("--synthetic-per-class", type=int, default=64)
    parser.add_argument("--synthetic-fraction", type=float, default=0.5)
    parser.add_argument("--filter-synthetic", action="store_true",
                        help="mix in only the synthetic clips that the same seed's real-only recognizer labels as intended")
    parser.add_argument("--workdir", default="/tmp/vgan-augmentation-gain",
                        help="clips and checkpoints; a re-run with other recognizer settings reuses them")
    parser.add_argument("--name", default="augmentation_gain", help="results file name, for variants")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
    started = time.perf_counter()
    result = run(args)
    result["settings"] = {
        "data": f"procedural set, 8 classes, clips {CLIP.frames}x{CLIP.size}x{CLIP.size} at {CLIP.fps} fps, "
        f"source seed {SOURCE.seed}",
        "generator": f"two-stream VGAN z_dim 128, channels 32, batch 16, {args.generator_steps} steps bf16, "
        f"trained on the k clips per class",
        "recognizer": f"R(2+1)D (evaluation.judge.JudgeNet) {RECOGNIZER_CHANNELS} channels, residual input, {args.recognizer_steps} "
        f"steps of batch {BATCH}, AdamW lr {RECOGNIZER_LR} one-cycle, label smoothing 0.1, fp32, {TRANSFORM}",
        "synthetic_per_class": args.synthetic_per_class,
        "synthetic_fraction": args.synthetic_fraction,
        "synthetic_filter": "kept where the same seed's real-only recognizer agrees with the label"
        if args.filter_synthetic else None,
        "seeds": args.seeds,
    }
    result["total_s"] = round(time.perf_counter() - started, 1)
    rows = [
        [r["k"], f"{100 * r['real_only']['mean']:.1f} ± {100 * r['real_only']['std']:.1f}",
         f"{100 * r['real_plus_synthetic']['mean']:.1f} ± {100 * r['real_plus_synthetic']['std']:.1f}",
         f"{r['gain_points']['mean']:+.1f} ± {r['gain_points']['std']:.1f}", f"{100 * r['synthetic_label_fidelity']:.1f}",
         f"{100 * r['synthetic_kept']['mean']:.1f}" if "synthetic_kept" in r else "all"]
        for r in result["regimes"]
    ]  # fmt: skip
    header = ["k/class", "real only %", "real+synth %", "gain (points)", "synth fidelity %", "synth kept %"]
    print(table(header, rows, [9, 16, 16, 16, 18, 14]))
    path = write_result(args.name, result, note="top-1 on held-out real clips; mean ± std over seeds")
    plot(result, RESULTS / f"{args.name}.png")
    print(f"wrote {path} and {RESULTS / f'{args.name}.png'} in {result['total_s']:.0f} s")


if __name__ == "__main__":
    main()
