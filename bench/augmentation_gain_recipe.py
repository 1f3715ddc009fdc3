"""Which mixing recipe makes synthetic clips never hurt? Real only against real + synthetic, per candidate recipe.

The protocol of :mod:`bench.augmentation_gain` (procedural set, 8 classes,
16x32x32 clips, nested k-shot subsets, a generator trained on the k clips per
class only, the same recognizer steps, augmentation and seed in both arms,
192 held-out real test clips), with each candidate :class:`pipelines.MixRecipe`
as the mixed arm:

- ``plain``: synthetic fraction 0.5 at every k (the recorded run's mix);
- ``fraction_k``: fraction 0.5 up to k = 5, 0.25 up to 10, 0.1 beyond;
- ``rehearsal``: fraction 0.5, the last 25 % of steps on real clips only;
- ``confidence``: fraction 0.5, each synthetic clip's loss weighted by the
  probability of its intended label under the same seed's real-only
  recognizer (a judge of the k clips, which a user with k clips has too;
  the flow's judge writes the same figure into the index);
- ``fraction_k_rehearsal``: the two together; ``all``: all three;
- second round: ``conf_f67`` (0.67 up to k = 5, 0.25 up to 10, 0.05 beyond,
  25 % rehearsal, confidence weights), ``conf_r50`` (as ``all`` with 0.05
  beyond k = 10 and 50 % rehearsal), ``conf_f05`` (as ``all`` with 0.05 beyond
  and no rehearsal);
- third round: ``smooth_f05``, ``conf_f05`` with the confidence as label
  smoothing instead of a loss weight (``MixRecipe(confidence="smoothing")``);
  ``curr_f05``, ``conf_f05`` with an easy-first curriculum (the first half of
  the mixed steps draw only the upper half of the synthetic clips by the
  k-shot judge's confidence; a bench arm, not a recipe field).

Differences from :mod:`bench.augmentation_gain`, so that it runs where
Beam and PyAV are not installed (a lent GPU machine): the real clips come
decoded from ``--real-npz`` (written by ``--write-real-npz`` on a machine with
the whole project: the product's own render, H.264 and decode), and the
synthetic clips are sampled straight from the generator, without the H.264
round trip the product's clips take. Results are written after every seed
(atomically), so a run stopped by its time limit keeps the seeds it finished.

    python -m bench.augmentation_gain_recipe --write-real-npz /tmp/real.npz     # on the CPU machine
    python -m bench.augmentation_gain_recipe --real-npz /tmp/real.npz --regimes 5 --device cuda --out r5.json
    python -m bench.augmentation_gain_recipe --merge r5.json r10.json ... --name augmentation_gain_recipe
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from evaluation.judge import embed
from evaluation.recognizer import RecognizerSpec, Stage, spread, top1, train_recognizer
from schemas.atomic import atomic_open

log = logging.getLogger("augmentation_gain_recipe")

FRAMES, SIZE = 16, 32  # bench.augmentation_gain.CLIP, without importing the Beam side
GENERATOR_MODEL = {"z_dim": 128, "channels": 32}  # the recorded runs' network; --generator may change it

CANDIDATES = {  # every field spelled out: MixRecipe's defaults are the shipped recipe and move with it
    "plain": {"fractions": (), "f_beyond": 0.5, "rehearsal": 0.0, "confidence": "off"},
    "fraction_k": {"fractions": ((5, 0.5), (10, 0.25)), "f_beyond": 0.1, "rehearsal": 0.0, "confidence": "off"},
    "rehearsal": {"fractions": (), "f_beyond": 0.5, "rehearsal": 0.25, "confidence": "off"},
    "confidence": {"fractions": (), "f_beyond": 0.5, "rehearsal": 0.0, "confidence": "weight"},
    "fraction_k_rehearsal": {"fractions": ((5, 0.5), (10, 0.25)), "f_beyond": 0.1, "rehearsal": 0.25,
                             "confidence": "off"},
    "all": {"fractions": ((5, 0.5), (10, 0.25)), "f_beyond": 0.1, "rehearsal": 0.25, "confidence": "weight"},
    # second round, after the first showed confidence weighting helping most and k = 25 still losing
    "conf_f67": {"fractions": ((5, 0.67), (10, 0.25)), "f_beyond": 0.05, "rehearsal": 0.25, "confidence": "weight"},
    "conf_r50": {"fractions": ((5, 0.5), (10, 0.25)), "f_beyond": 0.05, "rehearsal": 0.5, "confidence": "weight"},
    "conf_f05": {"fractions": ((5, 0.5), (10, 0.25)), "f_beyond": 0.05, "rehearsal": 0.0, "confidence": "weight"},
    # third round: the judge's confidence as label smoothing instead of a loss weight (arXiv 2505.19495)
    "smooth_f05": {"fractions": ((5, 0.5), (10, 0.25)), "f_beyond": 0.05, "rehearsal": 0.0, "confidence": "smoothing"},
}
#: bench-only arms, an easy-first curriculum over a candidate (a MixRecipe field only once it measures better):
#: name -> (candidate, share of its mixed steps, at the start, that draw only the synthetic clips the k-shot judge
#: is most confident of - the upper half - before all of them)
CURRICULA = {"curr_f05": ("conf_f05", 0.5)}


def recipe_of(name: str):
    from pipelines.dataset.mixing import MixRecipe

    return MixRecipe(**CANDIDATES[CURRICULA[name][0] if name in CURRICULA else name])


def write_real_npz(path: str) -> None:
    """Render, encode and decode the procedural set exactly as :mod:`bench.augmentation_gain` does; save it."""
    from bench.augmentation_gain import CLIP, SOURCE
    from evaluation.judge import load_clips
    from pipelines import ClipDataset, prepare_procedural
    from schemas.config import BeamConfig

    real = prepare_procedural(SOURCE, CLIP, Path(path).with_suffix("") / "real", BeamConfig()).parent
    train, test = ClipDataset(real, split="train"), ClipDataset(real, split="test")
    (tv, tl), (sv, sl) = load_clips(train), load_clips(test)
    names = [train.class_names[i] for i in range(len(train.class_names))]
    np.savez_compressed(path, train_videos=tv, train_labels=tl, test_videos=sv, test_labels=sl, class_names=np.array(names))


def first_per_class(labels: np.ndarray, k: int) -> np.ndarray:
    """Positions of the first ``k`` clips of each class (the nested k-shot subset of ``ClipDataset.first_per_class``)."""
    keep = np.concatenate([np.flatnonzero(labels == c)[:k] for c in np.unique(labels)])
    return np.sort(keep)


def arm_names(args) -> dict[tuple[str, int], str]:
    """(candidate, synthetic clips per class) -> arm name, less ``--skip``; a skip that names no arm is an error."""
    arms = {(name, n): name if len(args.synthetic_per_class) == 1 else f"{name} x{n}"
            for n in args.synthetic_per_class for name in args.candidates}  # fmt: skip
    unknown = set(args.skip) - set(arms.values())
    if unknown:  # arm names carry " xN" only when several counts are compared: a typo must not run every arm
        raise SystemExit(f"--skip names no arm of this run: {sorted(unknown)}; its arms: {sorted(arms.values())}")
    return {key: arm for key, arm in arms.items() if arm not in args.skip}


def synthetic_look(videos: np.ndarray, labels: np.ndarray, real_k, test_videos: np.ndarray, names: dict, sheet: Path) -> dict:
    """How close the synthetic clips lie to the k real clips their generator learnt from, and a contact sheet of both.

    Median pixel RMS distance of each synthetic clip to its nearest training
    clip, against the same for the held-out real clips (what a genuinely new
    clip's distance looks like), and the gate's memorised share. A generator
    that copies its 5 clips per class adds little a recognizer has not seen.
    And their brightness against the training clips' range (the gate's
    ``exposure_outlier_fraction``): DiffAugment's colour shifts leak into a
    generator trained on this few clips.
    """
    from evaluation.quality import brightness_range, exposure_outliers, mean_brightness, nearest_neighbour, pixel_embedding
    from pipelines.release.preview import contact_sheet
    from schemas.config import QualityConfig

    train_px, synthetic_px, test_px = pixel_embedding(real_k.videos), pixel_embedding(videos), pixel_embedding(test_videos)
    nn_synthetic = nearest_neighbour(synthetic_px, train_px)[0]
    nn_test = nearest_neighbour(test_px, train_px)[0]

    span = brightness_range(train_px)  # the gate's exposure_outlier_fraction, against these k clips per class

    def exposure(px: np.ndarray) -> dict:
        return {"outside_training_range": round(exposure_outliers(span, px), 4),
                "brightness_5_50_95": np.round(np.quantile(mean_brightness(px), [0.05, 0.5, 0.95]), 3).tolist()}  # fmt: skip

    limit = QualityConfig().memorisation_distance
    per_class = [np.flatnonzero(labels == c)[:2] for c in names]
    contact_sheet([videos[i] for rows in per_class for i in rows], "k-shot generator: one real training clip per class, then two synthetic per class",
                  sheet, real=[real_k.videos[np.flatnonzero(np.asarray(real_k.labels) == c)[0]] for c in names], scale=2)  # fmt: skip
    return {"synthetic_nn_pixel_distance": round(float(np.median(nn_synthetic)), 4),
            "real_test_nn_pixel_distance": round(float(np.median(nn_test)), 4),
            "memorised_fraction": round(float(np.mean(nn_synthetic < limit)), 4), "contact_sheet": sheet.name,
            "synthetic_exposure": exposure(synthetic_px), "real_test_exposure": exposure(test_px)}  # fmt: skip


def run_regime(args, k: int, real: dict, device: torch.device, on_seed=lambda partial: None) -> dict:
    """One regime's arms over the seeds; ``on_seed`` gets the result so far after each seed (a killed run keeps it)."""
    from generators import train
    from generators.checkpoint import load_generator
    from generators.sampling import sample
    from pipelines.dataset.mixing import (
        ArrayClips,
        ClipTransform,
        MixedClips,
        MixRecipe,
    )
    from schemas.config import ClipFormat, ModelConfig, TrainConfig

    names = {i: str(n) for i, n in enumerate(real["class_names"])}
    transform = ClipTransform(crop_scale=(0.8, 1.0), brightness=args.photometric, contrast=args.photometric)
    spec = RecognizerSpec(channels=args.recognizer_channels, steps=args.recognizer_steps, view=args.recognizer_view)
    train_labels = real["train_labels"]
    keep = first_per_class(train_labels, k)
    real_k = ArrayClips(real["train_videos"][keep], train_labels[keep], names, f"real k={k}")
    test_v, test_l = real["test_videos"], real["test_labels"]

    started = time.perf_counter()
    switches = json.loads(args.generator)
    cfg = TrainConfig(steps=args.generator_steps, batch_size=16, precision=args.precision, device=device.type,
                      checkpoint_every=args.generator_steps,
                      **{**switches, "model": ModelConfig(**{**GENERATOR_MODEL, **switches.get("model", {})})})  # fmt: skip
    clip = ClipFormat(frames=FRAMES, size=SIZE, fps=8)
    ckpt = train(real_k, list(names.values()), cfg, clip, Path(args.workdir) / f"k{k}" / "generator.pt")
    generator_s = time.perf_counter() - started
    G, _ = load_generator(ckpt, device)
    # the largest set per class, sampled once; smaller counts take each class's first clips (nested sets)
    most = max(args.synthetic_per_class)
    labels = np.array([c for c in names for _ in range(most)])
    seeds = [1_000_000 + i for i in range(len(labels))]
    videos = sample(G, labels.tolist(), seeds, device=device, precision=args.precision).videos
    rank = np.arange(len(labels)) % most  # a clip's place within its class
    nested = {n: rank < n for n in args.synthetic_per_class}
    pools = {n: ArrayClips(videos[take], labels[take].tolist(), names, f"synthetic k={k}, {n} per class")
             for n, take in nested.items()}  # fmt: skip
    look = synthetic_look(videos, labels, real_k, test_v, names, Path(args.out).with_suffix(f".k{k}.png"))
    log.info("k=%d: generator %.0f s, %d synthetic clips, %s", k, generator_s, len(labels), look)
    if args.look_only:
        return {"k": k, "generator_train_s": round(generator_s, 1), "synthetic_look": look,
                "total_s": round(time.perf_counter() - started, 1)}  # fmt: skip

    def stages(data: MixedClips, recipe: MixRecipe | None, easy: tuple[MixedClips, float] | None = None) -> list[Stage]:
        if recipe is None:
            return [Stage(data.batches(spec.batch_size), spec.steps)]
        mixed, rehearse = recipe.split_steps(spec.steps)
        first = round(mixed * easy[1]) if easy else 0
        out = [Stage(easy[0].batches(spec.batch_size), first, recipe.clip_values)] if first else []
        out.append(Stage(data.batches(spec.batch_size), mixed - first, recipe.clip_values))
        if rehearse:
            real_only = MixedClips(real_k, transform=transform, seed=data.seed, weights=True)
            out.append(Stage(real_only.batches(spec.batch_size), rehearse))
        return out

    arms_of = arm_names(args)
    arms: dict[str, list[float]] = {"real_only": [], **{arm: [] for arm in arms_of.values()}}

    def summary() -> dict:
        return {
            "k": k, "real_clips": len(real_k), "synthetic_clips": len(labels), "generator_train_s": round(generator_s, 1),
            "synthetic_look": look,
            "real_only": spread(arms["real_only"]),
            "candidates": {
                arm: {"accuracy": spread(arms[arm]),
                      "gain_points": spread([100 * (m - r) for r, m in zip(arms["real_only"], arms[arm])], 2),
                      "synthetic_fraction": recipe_of(name).synthetic_fraction(k),
                      "synthetic_per_class": n}
                for (name, n), arm in arms_of.items()
            },
            "seeds_done": len(arms["real_only"]),
            "total_s": round(time.perf_counter() - started, 1),
        }  # fmt: skip

    for seed in args.seeds:
        net = train_recognizer(stages(MixedClips(real_k, transform=transform, seed=seed, weights=True), None),
                               len(names), FRAMES, SIZE, spec, seed, device)  # fmt: skip
        arms["real_only"].append(top1(net, test_v, test_l, device))
        probs = embed(net, videos, device, "fp32").probs
        p_intended = probs[np.arange(len(labels)), labels]
        log.info("k=%d seed=%d: confidence weights, quartiles %s", k, seed, np.round(np.quantile(p_intended, [0, 0.25, 0.5, 0.75, 1]), 3))
        for (name, n), arm in arms_of.items():
            recipe = recipe_of(name)
            f = recipe.synthetic_fraction(k)
            conf = p_intended[nested[n]]
            weights = [conf] if recipe.confidence != "off" else None
            data = MixedClips(real_k, [pools[n]], f, transform=transform, seed=seed, weights=True, synthetic_weights=weights)
            easy = None
            if name in CURRICULA:
                top = conf >= np.median(conf)
                pool = ArrayClips(pools[n].videos[top], np.asarray(pools[n].labels)[top].tolist(), names, "confident half")
                easy = (MixedClips(real_k, [pool], f, transform=transform, seed=seed, weights=True,
                                   synthetic_weights=[conf[top]] if weights else None), CURRICULA[name][1])  # fmt: skip
            net = train_recognizer(stages(data, recipe, easy), len(names), FRAMES, SIZE, spec, seed, device)
            arms[arm].append(top1(net, test_v, test_l, device))
            log.info("k=%d seed=%d %s: real %.3f, mixed %.3f", k, seed, arm, arms["real_only"][-1], arms[arm][-1])
        on_seed(summary())
    return summary()


def settings(args) -> dict:
    return {
        "data": "procedural set, 8 classes, clips 16x32x32 at 8 fps, source seed 0; real clips rendered, H.264-encoded and "
        "decoded by the product (--write-real-npz); synthetic clips sampled straight from the generator (no H.264)",
        "generator": f"two-stream VGAN, batch 16, {args.generator_steps} steps {args.precision}, trained on the k "
        f"clips per class; model {GENERATOR_MODEL}, then these training switches: {args.generator}",
        "recognizer": RecognizerSpec(channels=args.recognizer_channels, steps=args.recognizer_steps, view=args.recognizer_view).describe(),
        "recognizer_augmentation": f"random resized crop 0.8-1.0, brightness and contrast +-{args.photometric:g}, no flips",
        "synthetic_per_class": args.synthetic_per_class,
        "skipped_arms": args.skip,
        "look_only": args.look_only,  # no recognizer trained: seeds and candidates below did not run
        "seeds": args.seeds,
        "candidates": {n: CANDIDATES[n] if n in CANDIDATES else {"curriculum": CURRICULA[n]} for n in args.candidates},
        "device": args.device,
    }


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    regimes = sorted(result["regimes"], key=lambda r: r["k"])
    ks = [r["k"] for r in regimes]
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=120)
    for name in regimes[0]["candidates"]:
        means = [r["candidates"][name]["gain_points"]["mean"] for r in regimes]
        stds = [r["candidates"][name]["gain_points"]["std"] for r in regimes]
        ax.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=name)
    ax.axhline(0, color="grey", linestyle=":")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("real training clips per class (k)")
    ax.set_ylabel("gain on held-out real clips (points)")
    ax.set_title("Mixing recipes, procedural set (mean ± std over seeds)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def merge(paths: list[str], name: str) -> None:
    from bench.common import RESULTS, table, write_result

    parts = [json.loads(Path(p).read_text()) for p in paths]
    result = {"regimes": sorted([r for p in parts for r in p["regimes"]], key=lambda r: r["k"]),
              "settings": parts[0]["settings"], "total_s": round(sum(p["total_s"] for p in parts), 1)}  # fmt: skip
    if any("candidates" not in r for r in result["regimes"]):
        raise SystemExit("--merge takes runs that trained recognizers; a --look-only run's --out file is its record")
    rows = []
    for r in result["regimes"]:
        for cand, c in r["candidates"].items():
            g = c["gain_points"]
            rows.append([r["k"], cand, f"{c['synthetic_fraction']:g}", r.get("seeds_done", len(g["runs"])),
                         f"{100 * r['real_only']['mean']:.1f} ± {100 * r['real_only']['std']:.1f}",
                         f"{100 * c['accuracy']['mean']:.1f} ± {100 * c['accuracy']['std']:.1f}", f"{g['mean']:+.1f} ± {g['std']:.1f}"])  # fmt: skip
    print(table(["k/class", "recipe", "f", "seeds", "real only %", "mixed %", "gain (points)"], rows, [8, 22, 6, 6, 14, 14, 14]))
    path = write_result(name, result, note="top-1 on held-out real clips; mean ± std over seeds; gain per seed, same seed both arms")
    plot(result, RESULTS / f"{name}.png")
    print(f"wrote {path} and {RESULTS / f'{name}.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real-npz", help="decoded real clips (from --write-real-npz)")
    parser.add_argument("--write-real-npz", help="render the procedural set with the product and save it here; then exit")
    parser.add_argument("--merge", nargs="+", help="merge per-regime result files into bench/results/<name>.json/.png")
    parser.add_argument("--regimes", type=int, nargs="+", default=[5, 10, 25, 0], help="k per class; 0 = all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=[*CANDIDATES, *CURRICULA])
    parser.add_argument("--generator-steps", type=int, default=2000)
    parser.add_argument("--generator", default="{}",
                        help=f"training switches as JSON (TrainConfig fields; 'model' merged over {GENERATOR_MODEL}); "
                        "augment-demo's are '{\"model\": {\"channels\": 16}, \"critic_frame_diffs\": true, \"mask_l1\": 0.15}'")
    parser.add_argument("--recognizer-steps", type=int, default=300)
    parser.add_argument("--recognizer-channels", type=int, default=16)
    parser.add_argument("--recognizer-view", default="residual", choices=["residual", "raw", "both"],
                        help="recognizer input; the recorded runs' is residual (both learns the backgrounds at k = 5)")
    parser.add_argument("--photometric", type=float, default=0.1,
                        help="the recognizer's clip augmentation in both arms: largest brightness shift (share of the grey "
                        "range) and relative contrast change")
    parser.add_argument("--synthetic-per-class", type=int, nargs="+", default=[64],
                        help="synthetic clips per class; several counts compare nested sets of one generator")
    parser.add_argument("--look-only", action="store_true",
                        help="train (or resume) and sample the generator, measure and draw its clips, train no recognizer")
    parser.add_argument("--skip", nargs="+", default=[], help="arms (candidate x count) to leave out, e.g. 'plain x256'")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", default="/tmp/vgan-augmentation-gain-recipe")
    parser.add_argument("--out", default="augmentation_gain_recipe_part.json", help="per-run result file (written as it goes)")
    parser.add_argument("--name", default="augmentation_gain_recipe", help="results name for --merge")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", force=True)
    if args.write_real_npz:
        return write_real_npz(args.write_real_npz)
    if args.merge:
        return merge(args.merge, args.name)
    arm_names(args)  # before any training
    data = np.load(args.real_npz)
    real = {k: data[k] for k in data.files}
    device = torch.device(args.device)
    all_k = int(np.bincount(real["train_labels"]).min())
    done: list[dict] = []

    def write(regimes: list[dict]) -> None:
        result = {"regimes": regimes, "settings": settings(args), "total_s": round(sum(r["total_s"] for r in regimes), 1)}
        with atomic_open(args.out, "w") as f:  # a run killed mid-write keeps the previous seeds' file
            f.write(json.dumps(result, indent=1))

    for k in args.regimes:
        done.append(run_regime(args, all_k if k == 0 else k, real, device, on_seed=lambda partial: write([*done, partial])))
        write(done)


if __name__ == "__main__":
    main()
