"""Peak memory of generation for 1,000 and 10,000 clips: it should not grow with the count.

Each count runs in a fresh child process (so its peak is its own):
``generate_dataset`` on the DirectRunner, 32x32x16 clips from the demo
deployment's model (z 64, 32 channels; untrained weights), batch 32, 64 clips
per shard. RSS is sampled every 0.2 s; the kernel's own peak (``ru_maxrss``)
is recorded too. A shard's clips are held until its tar is written and at most
two shards are in flight, so the peak should depend on the shard size, not the
count; what does grow with the count is the plan and the merged index (a few
hundred bytes per clip).

    python -m bench.generation_memory [--counts 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from bench.common import ARCHITECTURES, CLASSES, Meter, build_checkpoint, table, write_result

SIZE, ARCH, SHARD_SIZE = 32, "augment-demo", 64
MIB = 2**20


def child(count: int, tmp: Path) -> dict:
    from pipelines import generate_dataset
    from schemas.config import BeamConfig, GenerateConfig

    ckpt = build_checkpoint(tmp / "g.pt", SIZE, ARCH)
    per_class, extra = divmod(count, len(CLASSES))
    counts = {c: per_class + (i < extra) for i, c in enumerate(CLASSES)}
    cfg = GenerateConfig(counts=counts, batch_size=ARCHITECTURES[ARCH]["batch_size"], shard_size=SHARD_SIZE)
    before = psutil.Process().memory_info().rss
    with Meter() as m:
        generate_dataset(ckpt, cfg, tmp / "data", BeamConfig())
    trace = [rss for _, rss in m.rss_trace]
    at = {f"rss_at_{q}pct_mib": round(trace[min(len(trace) - 1, len(trace) * q // 100)] / MIB, 1) for q in (10, 50, 90)}
    return {
        "clips": count,
        "wall_s": round(m.wall_s, 1),
        "clips_per_s": round(count / m.wall_s, 1),
        "rss_before_run_mib": round(before / MIB, 1),
        **at,
        "peak_rss_mib": round(m.peak_rss / MIB, 1),
        "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "index_bytes": (tmp / "data" / "index.parquet").stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(child(args.child, Path(tmp))))
        return

    runs = []
    for count in args.counts:
        out = subprocess.run([sys.executable, "-m", "bench.generation_memory", "--child", str(count)],
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"{count} clips: peak RSS {runs[-1]['peak_rss_mib']} MiB", flush=True)

    first, last = runs[0], runs[-1]
    growth = round(last["ru_maxrss_mib"] - first["ru_maxrss_mib"], 1)
    path = write_result(
        "generation_memory",
        {"config": {"size": SIZE, "frames": 16, "architecture": ARCH, **ARCHITECTURES[ARCH], "precision": "bf16",
                    "shard_size": SHARD_SIZE, "runner": "direct"},
         "runs": runs,
         "peak_growth_mib": growth,
         "peak_growth_per_1000_clips_mib": round(growth / ((last["clips"] - first["clips"]) / 1000), 2)},
        note="one child process per count; RSS sampled every 0.2 s, ru_maxrss is the kernel's peak",
    )
    print()
    print(table(["clips", "before run MiB", "at 50% MiB", "peak (sampled) MiB", "ru_maxrss MiB", "clips/s"],
                [[r["clips"], r["rss_before_run_mib"], r["rss_at_50pct_mib"], r["peak_rss_mib"], r["ru_maxrss_mib"],
                  r["clips_per_s"]] for r in runs], [8, 16, 12, 20, 15, 10]))
    print(f"peak grew by {growth} MiB from {first['clips']} to {last['clips']} clips; written to {path}")


if __name__ == "__main__":
    main()
