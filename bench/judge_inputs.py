"""Held-out accuracy of the judge per input view (raw frames, temporal residual, both), on real footage and procedural clips.

For each data set, one judge per view is trained with the deployment's
judge settings (``JudgeConfig``; only ``input`` changes) on the real
training split, early-stopped on its own held-out training clips, and
measured on the test split, which training never sees. Results go to
``bench/results/judge_real.json`` with the command that made them.

    python bench/real_footage.py /tmp/real5                     # 5 real recordings, UCF-101 layout
    python bench/judge_inputs.py --ucf101-root /tmp/real5 --procedural --work /tmp/judge-bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

from evaluation.judge import load_judge, train_judge
from flows.cli import build_config
from pipelines import ClipDataset, ingest_videos, prepare_procedural
from pipelines.dataset.reader import class_names as read_class_names
from schemas.config import ClipFormat, UCF101Source

RESULTS = Path(__file__).resolve().parent / "results" / "judge_real.json"
VIEWS = ("raw", "residual", "both")


def measure_views(real: Path, clip: ClipFormat, judge_cfg, work: Path, views=VIEWS) -> dict:
    """Train one judge per view on ``real``'s training split; their test and validation accuracies."""
    train, test = ClipDataset(real, split="train"), ClipDataset(real, split="test")
    names = read_class_names(real)
    rows = {}
    for view in views:
        cfg = judge_cfg.model_copy(update={"input": view})
        started = time.perf_counter()
        judge = load_judge(train_judge(train, test, names, clip, cfg, work / f"judge-{view}.pt"))
        rows[view] = {
            "test_accuracy": round(judge.meta["test_accuracy"], 4),
            "test_class_accuracy": [round(a, 4) for a in judge.meta["test_class_accuracy"]],
            "validation_accuracy": judge.meta["validation_accuracy"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        logging.info("%s %s: %s", real, view, rows[view])
    return {"classes": names, "n_train": len(train), "n_test": len(test), "chance": round(1 / len(names), 4),
            "judge": judge_cfg.model_dump(mode="json"), "clip": clip.model_dump(mode="json"), "views": rows}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ucf101-root", type=Path, help="real footage in UCF-101 layout (bench/real_footage.py)")
    parser.add_argument("--procedural", action="store_true", help="also measure on the demo deployment's procedural set")
    parser.add_argument("--work", type=Path, required=True, help="folder for the ingested clips and the judges")
    parser.add_argument("--clip-frames", type=int, default=8)
    parser.add_argument("--clip-size", type=int, default=32)
    parser.add_argument("--clip-fps", type=float, default=10)
    parser.add_argument("--clips-per-video", type=int, default=2)
    parser.add_argument("--views", nargs="+", default=list(VIEWS), choices=VIEWS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)

    results = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "command": " ".join(["python", *sys.argv]),
               "precision": "fp32", "sets": {}}  # fmt: skip
    if args.ucf101_root:
        cfg = build_config("augment-ucf101", {})
        clip = ClipFormat(frames=args.clip_frames, size=args.clip_size, fps=args.clip_fps)
        source = UCF101Source(root=str(args.ucf101_root), split=1,
                              sampling={"clips_per_video": args.clips_per_video, "mode": "uniform"})  # fmt: skip
        real = args.work / "real-footage"
        if not (real / "index.parquet").exists():
            ingest_videos(source, clip, real, cfg.beam)
        judge_cfg = cfg.quality.judge.model_copy(update={"precision": "fp32", "device": "cpu"})
        results["sets"]["real_footage"] = {"root": str(args.ucf101_root)} | measure_views(
            real, clip, judge_cfg, args.work / "judges-real", args.views
        )
    if args.procedural:
        cfg = build_config("augment-demo", {})
        real = args.work / "procedural"
        if not (real / "index.parquet").exists():
            prepare_procedural(cfg.source, cfg.clip, real, cfg.beam)
        judge_cfg = cfg.quality.judge.model_copy(update={"precision": "fp32", "device": "cpu"})
        results["sets"]["procedural_demo"] = measure_views(real, cfg.clip, judge_cfg, args.work / "judges-procedural", args.views)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: {v: r["test_accuracy"] for v, r in s["views"].items()} for k, s in results["sets"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
