"""Train a deployment's generator outside the flow (on a lent GPU, say), then hand it to the flow.

The flow trains its generator on the real clips its prepare step made and keeps
the checkpoint in its cache (``flows.augment.generator_checkpoint_path``). On a
machine without Prefect, Beam or GX (the lent GPU machines), ``train`` runs the
same :func:`generators.train` with the deployment's training configuration on a
copy of those real clips, with only ``steps`` and ``device`` changed (the two
fields a resume may change), and keeps a copy of the checkpoint at each step of
``--keep``. Back here, ``place`` puts one of them where a run of the deployment
with ``--train-steps`` equal to its step looks for it, so that run resumes at
the last step (trains nothing) and goes on to generate, gate and publish::

    python -m bench.train_generator train --deployment augment-surveillance --real REAL_DIR \\
        --keep 2000 6000 --device cuda --out /tmp/gen
    python -m bench.train_generator place /tmp/gen/generator-6000.pt --deployment augment-surveillance \\
        --real OUT/surveillance-actors/.cache/real-<key> --output-root OUT
    vgan run augment-surveillance --output-root OUT --train-steps 6000

``REAL_DIR`` is the ``.cache/real-<key>`` folder a run of the deployment
prepared (its log names it). ``train`` writes ``training.json`` beside the
checkpoints: steps per second between marks and the device's name.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import torch

from flows.cli import build_config
from generators import read_checkpoint_info, train
from pipelines.dataset.reader import ClipDataset, class_names
from pipelines.sources.critic_inputs import critic_inputs

log = logging.getLogger("bench.train_generator")


def _train(args) -> None:
    config = build_config(args.deployment, {("train", "steps"): max(args.keep), ("train", "device"): args.device})
    clips = ClipDataset(args.real, split="train")
    names = class_names(args.real)
    inputs = critic_inputs(config.source, config.train, config.clip, clips)
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt = args.out / "generator.pt"
    ckpt.unlink(missing_ok=True)
    marks, done, elapsed = [], 0, 0.0
    for step in sorted(args.keep):
        start = time.perf_counter()
        train(clips, names, config.train.model_copy(update={"steps": step}), config.clip, ckpt, **inputs)
        seconds = time.perf_counter() - start
        elapsed += seconds
        kept = args.out / f"generator-{step}.pt"
        shutil.copyfile(ckpt, kept)
        marks.append({"step": step, "steps_per_s": (step - done) / seconds, "elapsed_s": round(elapsed, 1),
                      "checkpoint": kept.name})  # fmt: skip
        log.info("step %d: %.2f steps/s, %s", step, marks[-1]["steps_per_s"], kept)
        done = step
    ckpt.unlink()
    device = torch.cuda.get_device_name() if config.train.device == "cuda" else "cpu"
    (args.out / "training.json").write_text(json.dumps({
        "deployment": args.deployment, "device": device, "train": config.train.model_dump(mode="json"),
        "clip": config.clip.model_dump(mode="json"), "real": str(args.real), "real_train_clips": len(clips),
        "marks": marks,
    }, indent=2) + "\n")  # fmt: skip


def _place(args) -> None:
    from flows.augment import generator_checkpoint_path  # Prefect: only on the machine that runs the flow

    step = read_checkpoint_info(args.checkpoint).step
    config = build_config(args.deployment, {("output_root",): str(args.output_root), ("train", "steps"): step})
    target = generator_checkpoint_path(config, args.real)
    if target.exists():
        raise SystemExit(f"{target} exists: a run already trained there; remove it first to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.checkpoint, target)
    print(f"{args.checkpoint} (step {step}) -> {target}\nnow: vgan run {args.deployment} "
          f"--output-root {args.output_root} --train-steps {step}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the deployment's generator on prepared real clips")
    t.add_argument("--deployment", required=True)
    t.add_argument("--real", type=Path, required=True, help="the real clips a run of the deployment prepared")
    t.add_argument("--keep", type=int, nargs="+", required=True, help="steps at which a checkpoint is kept")
    t.add_argument("--device", choices=["cpu", "cuda"], default="cuda")
    t.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("place", help="put a kept checkpoint where the flow resumes from it")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--deployment", required=True)
    p.add_argument("--real", type=Path, required=True, help="the real clips the flow prepared (same as for train)")
    p.add_argument("--output-root", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    _train(args) if args.command == "train" else _place(args)


if __name__ == "__main__":
    main()
