"""Generator families and training switches, trained for the same CPU-time budget and gated by one judge.

Every arm trains on the same real procedural clips (rendered and H.264-encoded
as the demo's prepare step does, ``ProceduralSource`` defaults), by default
in fp32 on the CPU on one thread (``--device cuda --precision bf16`` on a
GPU), for ``--cpu-minutes`` of training CPU time. Training runs in chunks of
``--chunk`` steps (train, then resume: resuming is exact, so this is the run
that one uninterrupted call would give); at ``--evals`` evenly spaced points
of the budget the EMA generator is sampled as generation does (the demo's
plan of 32 clips per class, its seeds), round-tripped through H.264, and
measured with ``pipelines.release.gate.assess`` against one judge trained
once on the real training split. Evaluation time is not charged to the
budget. Results: ``bench/results/generator_quality_<size>.json`` (every
figure at every evaluation point, steps per CPU second and per wall second)
and ``generator_quality_<size>.png`` (per class: a real clip, then one clip
of each arm), plus a markdown table on stdout.

    python bench/generator_quality.py --size 32 --cpu-minutes 2 --work /tmp/gq

Why CPU time, not wall time: on a machine shared with other jobs a process
gets anything from a tenth of a core to two cores, so equal wall time is not
equal work, and torch's threads spin when more of them run than there are
free cores (measured here: one VGAN step took 6 CPU-s on two threads, 0.9 on
one). CPU seconds of a one-thread process are the steady measure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from evaluation.judge import load_clips, load_judge, train_judge
from generators import load_generator, sample, train
from pipelines.dataset.reader import ClipDataset
from pipelines.jobs.generate import planned_counts
from pipelines.jobs.plan import plan_synthetic
from pipelines.jobs.prepare import prepare_procedural
from pipelines.media.video_io import decode_video, encode_mp4
from pipelines.release.gate import assess, measure, measure_clips
from pipelines.release.preview import contact_sheet
from pipelines.sources import source_classes
from schemas.config import (
    BeamConfig, ClipFormat, GenerateConfig, JudgeConfig, ModelConfig, ProceduralSource, QualityConfig, TrainConfig,
)  # fmt: skip

RESULTS = Path(__file__).resolve().parent / "results"

#: arm name -> (architecture, TrainConfig overrides); "vgan" is today's default configuration
ARMS: dict[str, tuple[str, dict]] = {
    "vgan": ("vgan", {}),
    "vgan+r1": ("vgan", {"r1_gamma": 1.0}),
    "cmgan": ("cmgan", {}),
    "cmgan+r1": ("cmgan", {"r1_gamma": 1.0}),
    "cmgan+diffs": ("cmgan", {"critic_frame_diffs": True}),
    "cmgan+r1+diffs": ("cmgan", {"r1_gamma": 1.0, "critic_frame_diffs": True}),
}
#: figures of the table, in order
TABLE = ["label_fidelity", "lowest_class_fidelity", "frechet_distance_ratio", "diversity_ratio", "motion_ratio",
         "lowest_class_motion_ratio", "flicker_ratio", "memorised_fraction", "frozen_fraction"]  # fmt: skip


def _round_trip(videos: np.ndarray, fps: float, gen: GenerateConfig) -> np.ndarray:
    """Encode and decode every clip, as a candidate's clips are before the gate measures them."""
    return np.stack([decode_video(encode_mp4(v, fps, gen.crf, gen.preset)) for v in videos])


def _figures(result) -> dict[str, float | None]:
    figures = {f.name: f.value for f in result.summary.figures}
    per_class = [v for k, v in figures.items() if k.startswith("label_fidelity__") and v is not None]
    figures["lowest_class_fidelity"] = min(per_class) if per_class else None
    return figures


def _evaluate(checkpoint: Path, plan, clip: ClipFormat, gen: GenerateConfig, judge, train_set, test_set, quality):
    """Gate figures of a checkpoint's EMA generator on the demo's generation plan, and raw sampling speed."""
    device = "cuda" if gen.device == "cuda" else "cpu"
    G, _ = load_generator(checkpoint, device=device)
    labels, seeds, keys = [t.label for t in plan], [t.seed for t in plan], [t.key for t in plan]
    # warm-up: oneDNN (and cuDNN) pick kernels on first use
    sample(G, labels[:8], seeds[:8], gen.truncation, device=device, precision=gen.precision)
    start, start_cpu = time.perf_counter(), time.process_time()
    videos = sample(G, labels, seeds, gen.truncation, device=device, precision=gen.precision).videos
    sample_s, sample_cpu_s = time.perf_counter() - start, time.process_time() - start_cpu
    decoded = _round_trip(videos, clip.fps, gen)
    measured = measure_clips(decoded, labels, keys, judge)
    figures = _figures(assess(measured, train_set, test_set, judge, quality))
    # the gate's motion ratio is over all clips; a class whose clips stand still hides in it
    per_class = [measured.motion[measured.labels == c].mean() / test_set.motion[test_set.labels == c].mean()
                 for c in sorted(set(measured.labels.tolist()))]  # fmt: skip
    figures["lowest_class_motion_ratio"] = float(min(per_class))
    figures["sample_clips_per_s"] = len(plan) / sample_s
    figures["sample_clips_per_cpu_s"] = len(plan) / sample_cpu_s
    return figures, decoded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32, help="clip height and width (the demo's is 32)")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--cpu-minutes", type=float, default=2.0, help="training CPU time per arm")
    parser.add_argument("--evals", type=int, default=2, help="evaluation points per arm, evenly spaced in the budget")
    parser.add_argument("--chunk", type=int, default=10, help="training steps between budget checks")
    parser.add_argument("--arms", nargs="+", default=["vgan", "cmgan", "cmgan+r1", "cmgan+diffs"], choices=list(ARMS))
    parser.add_argument("--batch-size", type=int, default=16, help="the demo's")
    parser.add_argument("--threads", type=int, default=1, help="torch threads; more than the idle cores only spin")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="of training, sampling and the judge")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="fp32 on CPUs without bf16 units (bf16 is ~50x slower there); bf16 on GPUs")  # fmt: skip
    parser.add_argument("--clips-per-class", type=int, default=48, help="real clips rendered per class (the demo's)")
    parser.add_argument("--judge-steps", type=int, default=300, help="the demo's")
    parser.add_argument("--work", type=Path, help="folder for real clips, judge and checkpoints (default: a temporary one)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("generators.training").setLevel(logging.WARNING)  # one line per chunk is noise here
    torch.set_num_threads(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="generator_quality-"))
    work.mkdir(parents=True, exist_ok=True)

    clip = ClipFormat(frames=args.frames, size=args.size, fps=8)
    source = ProceduralSource(clips_per_class=args.clips_per_class)
    names = source_classes(source)
    real = work / f"real-{args.size}-{args.clips_per_class}"
    if not (real / "index.parquet").exists():
        prepare_procedural(source, clip, real, BeamConfig())
    real_train, real_test = ClipDataset(real, split="train"), ClipDataset(real, split="test")
    judge_cfg = JudgeConfig(steps=args.judge_steps, precision=args.precision, device=args.device)
    judge_path = work / f"judge-{args.size}-{args.clips_per_class}-{args.judge_steps}.pt"
    judge = load_judge(train_judge(real_train, real_test, names, clip, judge_cfg, judge_path))
    train_m, test_m = measure(real, judge, split="train"), measure(real, judge, split="test")
    videos, labels = load_clips(real_train)
    dataset = list(zip(videos, labels.tolist()))
    test_videos, test_labels = load_clips(real_test)

    gen = GenerateConfig(precision=args.precision, device=args.device)
    plan = sorted(plan_synthetic(names, planned_counts(gen, names), gen.seed, gen.shard_size).tasks(), key=lambda t: t.key)
    quality = QualityConfig()

    reference = {"judge_test_accuracy": judge.meta["test_accuracy"],
                 "lowest_class_test_accuracy": min(judge.meta["test_class_accuracy"])}  # fmt: skip
    results: dict[str, dict] = {}
    samples: dict[str, np.ndarray] = {}
    for arm in args.arms:
        architecture, overrides = ARMS[arm]
        config = TrainConfig(
            steps=args.chunk, batch_size=args.batch_size, precision=args.precision, device=args.device,
            checkpoint_every=10**6, model=ModelConfig(architecture=architecture), **overrides,
        )  # fmt: skip
        ckpt = work / f"{arm}-{args.size}.pt"
        ckpt.unlink(missing_ok=True)
        budget_s = args.cpu_minutes * 60
        marks = [budget_s * (i + 1) / args.evals for i in range(args.evals)]
        wall = cpu = 0.0
        curve = []
        logging.info("arm %s: %s for %.1f CPU minutes", arm, overrides or "defaults", args.cpu_minutes)
        while marks:
            t0, c0 = time.perf_counter(), time.process_time()
            train(dataset, names, config, clip, ckpt)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            if cpu >= marks[0]:
                marks.pop(0)
                figures, decoded = _evaluate(ckpt, plan, clip, gen, judge, train_m, test_m, quality)
                point = {"train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1), "steps": config.steps, **figures}
                curve.append(point)
                logging.info("arm %s: %s", arm, {k: point.get(k) for k in ["steps", "train_cpu_s", *TABLE]})
                samples[arm] = decoded
            config = config.model_copy(update={"steps": config.steps + args.chunk})
        final = curve[-1]
        results[arm] = {
            "architecture": architecture, "overrides": overrides, "steps": final["steps"],
            "steps_per_cpu_s": final["steps"] / final["train_cpu_s"],
            "train_clips_per_cpu_s": final["steps"] * args.batch_size / final["train_cpu_s"],
            "steps_per_s": final["steps"] / final["train_wall_s"],
            "train_clips_per_s": final["steps"] * args.batch_size / final["train_wall_s"], "curve": curve,
        }  # fmt: skip
        # written after every arm, so that an interrupted run keeps what it measured
        sheet = _sheet(samples, names, plan, test_videos, test_labels, args)
        out = RESULTS / f"generator_quality_{args.size}.json"
        out.write_text(json.dumps({
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "clip": clip.model_dump(mode="json"), "cpu_minutes_per_arm": args.cpu_minutes,
            "batch_size": args.batch_size, "threads": args.threads, "precision": args.precision,
            "device": torch.cuda.get_device_name() if args.device == "cuda" else f"cpu ({os.cpu_count()} cores, shared)",
            "real_clips": {"train": len(dataset), "test": len(test_videos)}, "synthetic_clips": len(plan),
            "reference": reference, "contact_sheet": sheet.name, "arms": results,
        }, indent=2) + "\n")  # fmt: skip

    print(f"\n{args.size}x{args.size}x{args.frames}, {args.cpu_minutes:g} CPU minutes of training per arm "
          f"(judge accuracy on real test clips {reference['judge_test_accuracy']:.3f}, "
          f"lowest class {reference['lowest_class_test_accuracy']:.3f})\n")  # fmt: skip
    head = ["arm", *TABLE, "steps", "steps/CPU-s", "train clips/CPU-s", "sample clips/CPU-s"]
    print("| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for arm, r in results.items():
        f = r["curve"][-1]
        cells = ["n/a" if f.get(k) is None else f"{f[k]:.3g}" for k in TABLE]
        print(f"| {arm} | {' | '.join(cells)} | {r['steps']} | {r['steps_per_cpu_s']:.3g} | "
              f"{r['train_clips_per_cpu_s']:.3g} | {f['sample_clips_per_cpu_s']:.3g} |")  # fmt: skip
    print(f"\nwritten to {out} and {sheet}")


def _sheet(samples: dict[str, np.ndarray], names, plan, test_videos, test_labels, args) -> Path:
    """Contact sheet: per class, one real test clip, then the first planned clip of that class from each arm."""
    rows = []
    for c in range(len(names)):
        rows.append(test_videos[int(np.flatnonzero(test_labels == c)[0])])
        for arm in samples:
            rows.append(samples[arm][next(i for i, t in enumerate(plan) if t.label == c)])
    title = f"{args.size}px, {args.cpu_minutes:g} CPU-min each; rows per class: {', '.join(['real', *samples])}"
    return contact_sheet(rows, title, RESULTS / f"generator_quality_{args.size}.png", frames_per_clip=args.frames)


if __name__ == "__main__":
    main()
