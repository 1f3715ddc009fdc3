"""The flow's value step at several recognizer lengths: what it measures and what it costs.

The value step (``pipelines/release/value.py``) trains a recognizer per seed on
the real training split alone and with a candidate's synthetic clips, and
reports the gain on the real test split. Too short a recognizer measures
nothing (it is near chance in both arms); too long a one costs the flow
minutes. This runs ``measure_value`` itself, unchanged, on a candidate a run
left (refused or not) for each ``--steps``, on one thread, and records both
arms' accuracies per seed, the gains and the CPU seconds; the table goes to
stdout and ``bench/results/<name>.json``.

    python -m bench.value_step CANDIDATE_DIR REAL_DIR --steps 60 200 300
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch

from bench.common import write_result
from pipelines.release.value import measure_value
from schemas.config import ValueConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidate", type=Path, help="a candidate folder a run left (index + shards)")
    parser.add_argument("real", type=Path, help="the real clips that run prepared (its .cache/real-*)")
    parser.add_argument("--steps", type=int, nargs="+", default=[60, 200, 300])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="the demo's")
    parser.add_argument("--channels", type=int, default=8, help="the demo's")
    parser.add_argument("--batch-size", type=int, default=16, help="the demo's")
    parser.add_argument("--view", default="residual", choices=["residual", "raw", "both"],
                        help="recognizer input: the run's quality.judge.input (the demo's: residual)")
    parser.add_argument("--name", default="value_step")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(1)  # CPU seconds of one thread: the steady measure on a shared machine

    rows = []
    for steps in args.steps:
        cfg = ValueConfig(seeds=args.seeds, steps=steps, channels=args.channels, batch_size=args.batch_size)
        start = time.process_time()
        value = measure_value(args.candidate, args.real, cfg, args.view)
        rows.append({"steps": steps, "cpu_s": round(time.process_time() - start, 1), "real_only": value.real_only,
                     "with_synthetic": value.with_synthetic, "gains": value.gains, "gain_points": value.gain_points,
                     "gain_std": value.gain_std, "recognizer": value.recognizer, "recipe": value.recipe,
                     "synthetic_fraction": value.synthetic_fraction, "test_clips": value.test_clips})  # fmt: skip
    out = write_result(args.name, {"candidate": str(args.candidate), "real": str(args.real), "rows": rows},
                       note="measure_value of the flow, one thread; accuracies on the real test split per seed")  # fmt: skip
    print("| recognizer steps | real only | with synthetic | gains (points) | mean ± std | CPU s |\n|---:|---|---|---|---|---:|")
    for r in rows:
        print(f"| {r['steps']} | {r['real_only']} | {r['with_synthetic']} | {r['gains']} | "
              f"{r['gain_points']:+.2f} ± {r['gain_std']:.2f} | {r['cpu_s']} |")  # fmt: skip
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
