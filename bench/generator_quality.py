"""Generator families and training switches, trained for the same time budget and gated by one judge.

Every arm trains on the same real procedural clips (rendered and H.264-encoded
as the demo's prepare step does, ``ProceduralSource`` defaults; or ``--real``,
a set prepared before, where Beam is not installed), by default in fp32 on the
CPU on one thread (``--device cuda --precision bf16`` on a GPU), for
``--minutes`` of training: CPU time on the CPU, wall time on a GPU
(``--clock``). Training runs in chunks of ``--chunk`` steps (train, then
resume: resuming is exact, so this is the run that one uninterrupted call
would give); at ``--evals`` evenly spaced points of the budget the EMA
generator is sampled as generation does (the demo's plan of 32 clips per
class, its seeds), round-tripped through H.264, and measured with
``pipelines.release.gate.assess`` against one judge trained once on the real
training split (the demo's: residual input). Evaluation time is not charged
to the budget. On a GPU, ``--parallel`` runs each arm in its own process at
the same time (small models leave a GPU mostly idle). Results:
``bench/results/<name>.json`` (every figure at every evaluation point, steps
per CPU second and per wall second, the command and the machine),
``<name>.png`` (per class: a real clip, then one clip of each arm) and
``<name>_curves.png`` (the figures against training steps, with the
targets), plus a markdown table on stdout. ``bench/gpu_session.sh`` is the
GPU run.

    python -m bench.generator_quality --size 32 --minutes 2 --work /tmp/gq

Why CPU time on the CPU: on a machine shared with other jobs a process
gets anything from a tenth of a core to two cores, so equal wall time is not
equal work, and torch's threads spin when more of them run than there are
free cores (measured here: one VGAN step took 6 CPU-s on two threads, 0.9 on
one). CPU seconds of a one-thread process are the steady measure. On a GPU
the CPU only launches kernels, and wall time is the budget.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import RESULTS, write_result
from evaluation.judge import load_clips, load_judge, train_judge
from generators import load_generator, sample, train
from pipelines.dataset.reader import ClipDataset
from pipelines.jobs.plan import plan_synthetic
from pipelines.media.video_io import decode_video, encode_mp4
from pipelines.release.gate import assess, measure, measure_clips
from pipelines.release.preview import contact_sheet
from pipelines.release.validate import validate_quality
from pipelines.sources import source_classes
from pipelines.sources.critic_inputs import critic_inputs
from schemas.config import (
    BeamConfig, ClipFormat, GenerateConfig, JudgeConfig, ModelConfig, ProceduralSource, QualityConfig, TrainConfig,
)  # fmt: skip
from schemas.layout import INDEX

log = logging.getLogger("bench.generator_quality")

#: arm name -> TrainConfig overrides (``model``: ModelConfig fields); "vgan" is the default configuration
#: (the demo deployment's network: z_dim 128, channels 32)
#: the demo's network and switches before its learning rate was measured, the base of the learning-rate arms
_DEMO16 = {"model": {"channels": 16}, "critic_frame_diffs": True, "mask_l1": 0.15}
ARMS: dict[str, dict] = {
    "vgan": {},
    "vgan+r1": {"r1_gamma": 1.0},
    "cmgan": {"model": {"architecture": "cmgan"}},
    "cmgan+r1": {"model": {"architecture": "cmgan"}, "r1_gamma": 1.0},
    "cmgan+diffs": {"model": {"architecture": "cmgan"}, "critic_frame_diffs": True},
    "cmgan+r1+diffs": {"model": {"architecture": "cmgan"}, "r1_gamma": 1.0, "critic_frame_diffs": True},
    "vgan+diffs": {"critic_frame_diffs": True},
    "vgan+diffs+mask0.15": {"critic_frame_diffs": True, "mask_l1": 0.15},
    "vgan16+diffs+mask0.15": {"model": {"channels": 16}, "critic_frame_diffs": True, "mask_l1": 0.15},
    "vgan+diffs+binary": {"critic_frame_diffs": True, "mask_binary": 1.0},
    "vgan16+diffs+mask0.15+scene": {"model": {"channels": 16}, "critic_frame_diffs": True, "mask_l1": 0.15,
                                    "scene_critic": 1.0},
    "cmgan+diffs+scene": {"model": {"architecture": "cmgan"}, "critic_frame_diffs": True, "mask_l1": 0.15,
                          "scene_critic": 1.0},
    "vgan16+diffs+scene+binary": {"model": {"channels": 16}, "critic_frame_diffs": True, "mask_l1": 0.15,
                                  "scene_critic": 1.0, "mask_binary": 1.0},
    "vgan16+diffs+scene+matte": {"model": {"channels": 16}, "critic_frame_diffs": True, "mask_l1": 0.15,
                                 "scene_critic": 1.0, "matte_critic": 1.0},
    "vgan16+diffs+mask0.15+matte": {"model": {"channels": 16}, "critic_frame_diffs": True, "mask_l1": 0.15,
                                    "matte_critic": 1.0},
    # the demo's configuration at other learning rates (both networks; 2e-4 is the default), batch sizes, mode seeking
    **{f"vgan16+diffs+mask0.15+lr{lr}": {**_DEMO16, "lr_g": float(lr), "lr_d": float(lr)} for lr in ("5e-4", "1e-3", "2e-3")},
    "vgan16+diffs+mask0.15+b8": {**_DEMO16, "batch_size": 8},
    "vgan16+diffs+mask0.15+lr1e-3+ms2": {**_DEMO16, "lr_g": 1e-3, "lr_d": 1e-3, "mode_seeking": 2.0},
    "vgan16+diffs+mask0.15+lr1e-3+b8": {**_DEMO16, "lr_g": 1e-3, "lr_d": 1e-3, "batch_size": 8},
    # the demo's configuration without DiffAugment's colour: with it the generator learnt the augmentation's
    # brightness shifts (a third of a demo version's clips outside the real clips' brightness range)
    "vgan16+diffs+mask0.15+lr1e-3+ms2-color": {**_DEMO16, "lr_g": 1e-3, "lr_d": 1e-3, "mode_seeking": 2.0,
                                               "augment": ["translation", "cutout"]},
}
#: figures of the table, in order
TABLE = ["label_fidelity", "lowest_class_fidelity", "frechet_distance_ratio", "diversity_ratio", "motion_ratio",
         "lowest_class_motion_ratio", "flicker_ratio", "exposure_outlier_fraction", "memorised_fraction",
         "frozen_fraction"]  # fmt: skip


def _round_trip(videos: np.ndarray, fps: float, gen: GenerateConfig) -> np.ndarray:
    """Encode and decode every clip, as a candidate's clips are before the gate measures them."""
    return np.stack([decode_video(encode_mp4(v, fps, gen.crf, gen.preset)) for v in videos])


def _figures(result) -> dict[str, float | None]:
    figures = {f.name: f.value for f in result.summary.figures}
    per_class = [v for k, v in figures.items() if k.startswith("label_fidelity__") and v is not None]
    figures["lowest_class_fidelity"] = min(per_class) if per_class else None
    # what the gate's suite refuses (per-class figures included), so an arm's "passes" is read, not guessed
    figures["gate_failures"] = [f.name for f in validate_quality(result.summary).figures if f.passed is False]
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


def _setup(args) -> dict:
    """The real clips, the judge (trained once, then reused from ``--work``) and what every arm is measured against."""
    clip = ClipFormat(frames=args.frames, size=args.size, fps=8)
    source = ProceduralSource(clips_per_class=args.clips_per_class)
    names = source_classes(source)
    real = args.real or args.work / f"real-{args.size}-{args.clips_per_class}"
    if not (real / INDEX).exists():
        # Beam: imported only where the real clips are rendered here
        from pipelines.jobs.prepare import prepare_procedural

        prepare_procedural(source, clip, real, BeamConfig())
    real_train, real_test = ClipDataset(real, split="train"), ClipDataset(real, split="test")
    judge_cfg = JudgeConfig(steps=args.judge_steps, input=args.judge_input, precision=args.precision, device=args.device)
    judge_path = args.work / f"judge-{args.size}-{args.clips_per_class}-{args.judge_input}-{args.judge_steps}.pt"
    judge = load_judge(train_judge(real_train, real_test, names, clip, judge_cfg, judge_path))
    videos, labels = load_clips(real_train)
    gen = GenerateConfig(precision=args.precision, device=args.device)
    plan = sorted(plan_synthetic(names, gen.planned_counts(names), gen.seed, gen.shard_size).tasks(), key=lambda t: t.key)
    return {
        "clip": clip, "names": names, "judge": judge, "gen": gen, "plan": plan,
        "train_m": measure(real, judge, split="train"), "test_m": measure(real, judge, split="test"),
        "dataset": list(zip(videos, labels.tolist())), "test": load_clips(real_test),
        "source": source, "real_train": real_train,
    }  # fmt: skip


def _run_arm(args, arm: str, ctx: dict) -> tuple[dict, np.ndarray]:
    """Train one arm for the budget in chunks, evaluating at evenly spaced points; its result and last clips."""
    overrides = ARMS[arm]
    config = TrainConfig(**{  # an arm may set its own batch size or learning rates
        "steps": args.chunk, "batch_size": args.batch_size, "precision": args.precision, "device": args.device,
        "checkpoint_every": 10**6, **overrides, "model": ModelConfig(**overrides.get("model", {})),
    })  # fmt: skip
    inputs = critic_inputs(ctx["source"], config, ctx["clip"], ctx["real_train"])  # in the order of ctx["dataset"]
    ckpt = args.work / f"{arm}-{args.size}.pt"
    ckpt.unlink(missing_ok=True)
    budget_s = args.minutes * 60
    marks = [budget_s * (i + 1) / args.evals for i in range(args.evals)]
    wall = cpu = 0.0
    curve = []
    log.info("arm %s: %s for %.1f %s minutes", arm, overrides or "defaults", args.minutes, args.clock)
    while marks:
        t0, c0 = time.perf_counter(), time.process_time()
        train(ctx["dataset"], ctx["names"], config, ctx["clip"], ckpt, **inputs)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        if (cpu if args.clock == "cpu" else wall) >= marks[0]:
            marks.pop(0)
            figures, decoded = _evaluate(ckpt, ctx["plan"], ctx["clip"], ctx["gen"], ctx["judge"], ctx["train_m"],
                                         ctx["test_m"], QualityConfig())  # fmt: skip
            point = {"train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1), "steps": config.steps, **figures}
            curve.append(point)
            log.info("arm %s: %s", arm, {k: point.get(k) for k in ["steps", "train_wall_s", *TABLE, "gate_failures"]})
        config = config.model_copy(update={"steps": config.steps + args.chunk})
    final = curve[-1]
    result = {
        "architecture": config.model.architecture, "overrides": overrides, "steps": final["steps"],
        "steps_per_cpu_s": final["steps"] / final["train_cpu_s"],
        "train_clips_per_cpu_s": final["steps"] * config.batch_size / final["train_cpu_s"],
        "steps_per_s": final["steps"] / final["train_wall_s"],
        "train_clips_per_s": final["steps"] * config.batch_size / final["train_wall_s"], "curve": curve,
    }  # fmt: skip
    return result, decoded


def _run_arms_in_parallel(args) -> dict[str, tuple[dict, np.ndarray]]:
    """One child process per arm (all share the GPU); each leaves its result and clips in ``--work``.

    The judge is already in ``--work``, so every child measures with the same one.
    """
    children = {}
    for arm in args.arms:
        cmd = [sys.executable, "-m", "bench.generator_quality", *_child_argv(args), "--arms", arm, "--child"]
        with open(args.work / f"{arm}-{args.size}.log", "w") as out:  # the child keeps its own copy of the handle
            children[arm] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).parent.parent)
    out = {}
    for arm, child in children.items():
        if child.wait() != 0:
            raise SystemExit(f"arm {arm} failed: see {args.work / f'{arm}-{args.size}.log'}")
        out[arm] = _read_part(args, arm)
    return out


def _child_argv(args) -> list[str]:
    """This run's options, minus the arms and the parallel switch, for a child that runs one arm."""
    argv, skip = [], False
    for a in sys.argv[1:]:
        if a.startswith("--"):
            skip = a in ("--arms", "--parallel", "--reuse")
        if not skip:
            argv.append(a)
    return argv if "--work" in argv else [*argv, "--work", str(args.work)]


def _part_paths(args, arm: str) -> tuple[Path, Path]:
    return args.work / f"part-{arm}-{args.size}.json", args.work / f"part-{arm}-{args.size}.npy"


def _write_part(args, arm: str, result: dict, decoded: np.ndarray) -> None:
    result_path, clips_path = _part_paths(args, arm)
    np.save(clips_path, decoded)
    result_path.write_text(json.dumps(result))


def _read_part(args, arm: str) -> tuple[dict, np.ndarray]:
    result_path, clips_path = _part_paths(args, arm)
    result = json.loads(result_path.read_text())
    # a part left by a run with another budget must not enter this run's table
    spent, budget = result["curve"][-1][f"train_{args.clock}_s"], args.minutes * 60
    if not budget <= spent < budget * 1.1:
        raise SystemExit(f"{result_path} is {spent / 60:.1f} {args.clock} minutes of training, not this run's "
                         f"{args.minutes:g}: train that arm again (without --reuse) or give its budget")  # fmt: skip
    return result, np.load(clips_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=32, help="clip height and width (the demo's is 32)")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=2.0, help="training time per arm (see --clock)")
    parser.add_argument("--clock", choices=["cpu", "wall"],
                        help="what --minutes counts: CPU time (default on the CPU) or wall time (default on a GPU)")  # fmt: skip
    parser.add_argument("--evals", type=int, default=2, help="evaluation points per arm, evenly spaced in the budget")
    parser.add_argument("--chunk", type=int, default=10, help="training steps between budget checks")
    parser.add_argument("--arms", nargs="+", default=["vgan", "cmgan", "cmgan+r1", "cmgan+diffs"], choices=list(ARMS))
    parser.add_argument("--parallel", action="store_true", help="one process per arm (on a GPU; never on 2 cores)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true",
                        help="arms whose results a run with the same --work, --size and budget left there are read, "
                             "not trained again (e.g. one arm was run alone with --child)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=16, help="the demo's")
    parser.add_argument("--threads", type=int, default=1, help="torch threads; more than the idle cores only spin")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="of training, sampling and the judge")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="fp32 on CPUs without bf16 units (bf16 is ~50x slower there); bf16 on GPUs")  # fmt: skip
    parser.add_argument("--clips-per-class", type=int, default=48, help="real clips rendered per class (the demo's)")
    parser.add_argument("--real", type=Path,
                        help="a real clip dataset prepared before (index + shards), e.g. where Beam is not installed")  # fmt: skip
    parser.add_argument("--judge-steps", type=int, default=300, help="the demo's")
    parser.add_argument("--judge-input", default="residual", choices=["both", "raw", "residual"],
                        help="the demo deployment's (procedural classes differ only in motion)")  # fmt: skip
    parser.add_argument("--name", help="results file name (default generator_quality_<size>)")
    parser.add_argument("--work", type=Path, help="folder for real clips, judge and checkpoints (default: a temporary one)")
    args = parser.parse_args()
    args.clock = args.clock or ("wall" if args.device == "cuda" else "cpu")
    args.name = args.name or f"generator_quality_{args.size}"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("generators.training").setLevel(logging.WARNING)  # one line per chunk is noise here
    torch.set_num_threads(args.threads)
    args.work = args.work or Path(tempfile.mkdtemp(prefix="generator_quality-"))
    args.work.mkdir(parents=True, exist_ok=True)

    if not args.child:
        try:  # the table's plots need it; say so before hours of training, not after
            import matplotlib  # noqa: F401
        except ImportError:
            raise SystemExit('bench.generator_quality plots with matplotlib: pip install -e ".[bench]"') from None
    ctx = _setup(args)
    if args.child:
        (arm,) = args.arms
        _write_part(args, arm, *_run_arm(args, arm, ctx))
        return
    done = {arm: _read_part(args, arm) for arm in args.arms if args.reuse and _part_paths(args, arm)[0].exists()}
    todo = argparse.Namespace(**{**vars(args), "arms": [a for a in args.arms if a not in done]})
    if args.parallel:
        runs = _run_arms_in_parallel(todo)
    else:
        runs = {}
        for arm in todo.arms:  # each arm's part is kept as it ends, so a later failure loses none (--reuse reads it)
            runs[arm] = _run_arm(args, arm, ctx)
            _write_part(args, arm, *runs[arm])
    runs = {arm: done[arm] if arm in done else runs[arm] for arm in args.arms}
    results = {arm: r for arm, (r, _) in runs.items()}
    samples = {arm: clips for arm, (_, clips) in runs.items()}

    judge = ctx["judge"]
    reference = {"judge_test_accuracy": judge.meta["test_accuracy"],
                 "lowest_class_test_accuracy": min(judge.meta["test_class_accuracy"])}  # fmt: skip
    sheet = _sheet(samples, ctx["names"], ctx["plan"], *ctx["test"], args)
    plot = _curves(results, reference, args)
    out = write_result(args.name, {
        "clip": ctx["clip"].model_dump(mode="json"), "minutes_per_arm": args.minutes, "clock": args.clock,
        "batch_size": args.batch_size, "threads": args.threads, "precision": args.precision, "device": args.device,
        "judge": judge.meta["config"].model_dump(mode="json"), "real_clips": {"train": len(ctx["dataset"]), "test": len(ctx["test"][1])},
        "synthetic_clips": len(ctx["plan"]), "reference": reference, "contact_sheet": sheet.name, "curves": plot.name,
        "arms": results,
    }, note="every arm on the same real clips for the same training time, gated by one judge")  # fmt: skip

    print(f"\n{args.size}x{args.size}x{args.frames}, {args.minutes:g} {args.clock} minutes of training per arm "
          f"on {args.device} (judge accuracy on real test clips {reference['judge_test_accuracy']:.3f}, "
          f"lowest class {reference['lowest_class_test_accuracy']:.3f})\n")  # fmt: skip
    head = ["arm", *TABLE, "gate", "steps", "steps/s", "steps/CPU-s", "train clips/s", "sample clips/s"]
    print("| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for arm, r in results.items():
        f = r["curve"][-1]
        cells = ["n/a" if f.get(k) is None else f"{f[k]:.3g}" for k in TABLE]
        cells.append("n/a" if "gate_failures" not in f else ", ".join(f["gate_failures"]) or "passes")
        print(f"| {arm} | {' | '.join(cells)} | {r['steps']} | {r['steps_per_s']:.3g} | {r['steps_per_cpu_s']:.3g} | "
              f"{r['train_clips_per_s']:.3g} | {f['sample_clips_per_s']:.3g} |")  # fmt: skip
    print(f"\nwritten to {out}, {sheet} and {plot}")


def _curves(results: dict[str, dict], reference: dict, args) -> Path:
    """Label fidelity, lowest class fidelity and Fréchet ratio against training steps, per arm, with the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [("label_fidelity", reference["judge_test_accuracy"] - 0.10, "label fidelity (target: judge - 0.10)"),
              ("lowest_class_fidelity", 0.75, "lowest class fidelity (target 0.75)"),
              ("frechet_distance_ratio", 3.0, "Fréchet ratio (target <= 3, log)")]  # fmt: skip
    # steps, not minutes, on the x axis: a machine's steps per second (in the JSON) turns them into its time
    for ax, (key, target, title) in zip(axes, panels):
        for arm, r in results.items():
            points = [(p["steps"], p[key]) for p in r["curve"] if p.get(key) is not None]
            ax.plot(*zip(*points), marker="o", label=f"{arm} ({r['steps_per_s']:.3g} steps/s)")
        ax.axhline(target, color="grey", linestyle="--", linewidth=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("generator training steps")
        if key == "frechet_distance_ratio":
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{args.size}x{args.size}x{args.frames}, batch {args.batch_size}, {args.precision} on {args.device}, "
                 f"{args.minutes:g} {args.clock} minutes per arm", fontsize=10)  # fmt: skip
    fig.tight_layout()
    path = RESULTS / f"{args.name}_curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _sheet(samples: dict[str, np.ndarray], names, plan, test_videos, test_labels, args) -> Path:
    """Contact sheet: per class, one real test clip, then the first planned clip of that class from each arm."""
    rows = []
    for c in range(len(names)):
        rows.append(test_videos[int(np.flatnonzero(test_labels == c)[0])])
        for arm in samples:
            rows.append(samples[arm][next(i for i, t in enumerate(plan) if t.label == c)])
    title = (f"{args.size}px, {args.minutes:g} {args.clock}-min each on {args.device}; "
             f"rows per class: {', '.join(['real', *samples])}")  # fmt: skip
    return contact_sheet(rows, title, RESULTS / f"{args.name}.png", frames_per_clip=args.frames)


if __name__ == "__main__":
    main()
