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

import numpy as np

from evaluation.judge import load_judge, train_judge
from flows.cli import build_config
from pipelines import ClipDataset, ingest_videos, prepare_procedural
from pipelines.dataset.reader import class_names as read_class_names
from schemas.config import ClipFormat, UCF101Source

RESULTS = Path(__file__).resolve().parent / "results" / "judge_real.json"
VIEWS = ("raw", "residual", "both")


def measure_views(train, test, names: list[str], clip: ClipFormat, judge_cfg, work: Path, views=VIEWS) -> dict:
    """Train one judge per view on ``train`` (clip, label) pairs; their accuracy on ``test`` and on their validation clips."""
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
        logging.info("%s: %s", view, rows[view])
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
    parser.add_argument("--judge", action="append", default=[], metavar="FIELD=VALUE",
                        help="a JudgeConfig field other than the deployment's, e.g. channels=8 (value read as JSON)")
    parser.add_argument("--procedural-npz", type=Path,
                        help="the procedural clips as arrays proc_{train,test}_{x,y}, proc_names (instead of rendering them)")
    args = parser.parse_args(argv)
    judge_set = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.judge)}
    # a set measured with other judge settings than the deployment's is kept apart from it
    tag = "".join(f"__{k}={v}" for k, v in sorted(judge_set.items()))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)

    results = {"sets": {}}
    run = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "command": " ".join(["python", *sys.argv])}
    if args.ucf101_root:
        cfg = build_config("augment-ucf101", {})
        clip = ClipFormat(frames=args.clip_frames, size=args.clip_size, fps=args.clip_fps)
        source = UCF101Source(root=str(args.ucf101_root), split=1,
                              sampling={"clips_per_video": args.clips_per_video, "mode": "uniform"})  # fmt: skip
        real = args.work / "real-footage"
        if not (real / "index.parquet").exists():
            ingest_videos(source, clip, real, cfg.beam)
        judge_cfg = cfg.quality.judge.model_validate(cfg.quality.judge.model_dump() | {"precision": "fp32", "device": "cpu"} | judge_set)
        train, test = ClipDataset(real, split="train"), ClipDataset(real, split="test")
        results["sets"][f"real_footage{tag}"] = run | {"root": str(args.ucf101_root)} | measure_views(
            train, test, read_class_names(real), clip, judge_cfg, args.work / "judges-real", args.views
        )
    if args.procedural:
        cfg = build_config("augment-demo", {})
        judge_cfg = cfg.quality.judge.model_validate(cfg.quality.judge.model_dump() | {"precision": "fp32", "device": "cpu"} | judge_set)
        if args.procedural_npz:  # the same clips, decoded once elsewhere
            d = np.load(args.procedural_npz)
            train, test = (list(zip(d[f"proc_{s}_x"], d[f"proc_{s}_y"].tolist())) for s in ("train", "test"))
            names = [str(n) for n in d["proc_names"]]
        else:
            real = args.work / "procedural"
            if not (real / "index.parquet").exists():
                prepare_procedural(cfg.source, cfg.clip, real, cfg.beam)
            train, test, names = ClipDataset(real, split="train"), ClipDataset(real, split="test"), read_class_names(real)
        results["sets"][f"procedural_demo{tag}"] = run | measure_views(
            train, test, names, cfg.clip, judge_cfg, args.work / "judges-procedural", args.views
        )
    RESULTS.parent.mkdir(exist_ok=True)
    merged = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"sets": {}}  # runs add or replace their sets
    for name, measured in results["sets"].items():  # views measured by another run of the same set are kept
        before = merged["sets"].get(name, {})
        if before.get("judge") == measured["judge"] and before.get("n_test") == measured["n_test"]:
            measured["views"] = before["views"] | measured["views"]
        merged["sets"][name] = measured
    RESULTS.write_text(json.dumps(merged, indent=2) + "\n")
    print(json.dumps({k: {v: r["test_accuracy"] for v, r in s["views"].items()} for k, s in results["sets"].items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
