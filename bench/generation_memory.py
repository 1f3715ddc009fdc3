"""Peak memory of generation for 1,000, 10,000 and 100,000 clips: it should not grow with the count.

Each count runs in a fresh child process (so its peak is its own):
``generate_dataset`` on the DirectRunner, 32x32x16 clips from the demo
deployment's model (z 64, 32 channels; untrained weights), batch 32, 64 clips
per shard. RSS is sampled every 0.2 s; the kernel's own peak (``ru_maxrss``)
is recorded too, and the peak is split at the final merge of the index parts
(``merge_indexes``). Nothing in a run should hold something per clip: the plan
is sent to the workers as shard numbers (each works out its shard's clips), a
shard's clips are held until its tar is written, at most two shards are in
flight, and the merge streams the parts into the index a row group at a time.

Each count is run with Arrow's default allocator (mimalloc in the wheels) and
with the system one (``ARROW_DEFAULT_MEMORY_POOL=system``), because mimalloc
keeps pages that Arrow freed, which can look like growth that is not live data.

    python -m bench.generation_memory [--counts 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import ARCHITECTURES, CLASSES, Meter, build_checkpoint, table, write_result

SIZE, ARCH, SHARD_SIZE = 32, "augment-demo", 64
POOLS = ("default", "system")
MIB = 2**20


def child(count: int, tmp: Path) -> dict:
    import pyarrow as pa

    import pipelines.jobs.runner as beam_runner
    from pipelines import generate_dataset
    from schemas.config import BeamConfig, GenerateConfig

    ckpt = build_checkpoint(tmp / "g.pt", SIZE, ARCH)
    per_class, extra = divmod(count, len(CLASSES))
    counts = {c: per_class + (i < extra) for i, c in enumerate(CLASSES)}
    cfg = GenerateConfig(counts=counts, batch_size=ARCHITECTURES[ARCH]["batch_size"], shard_size=SHARD_SIZE)

    merge_started: list[float] = []
    merge = beam_runner.merge_indexes

    def marked_merge(*args, **kwargs):
        merge_started.append(time.perf_counter())
        return merge(*args, **kwargs)

    beam_runner.merge_indexes = marked_merge  # a phase mark for the profile; behaviour unchanged
    before = psutil.Process().memory_info().rss
    with Meter() as m:
        generate_dataset(ckpt, cfg, tmp / "data", BeamConfig())
    split = merge_started[0] - m._t0
    trace = [rss for t, rss in m.rss_trace if t < split]
    at = {f"rss_at_{q}pct_mib": round(trace[min(len(trace) - 1, len(trace) * q // 100)] / MIB, 1) for q in (10, 50, 90)}
    return {
        "clips": count,
        "arrow_pool": pa.default_memory_pool().backend_name,
        "wall_s": round(m.wall_s, 1),
        "clips_per_s": round(count / m.wall_s, 1),
        "rss_before_run_mib": round(before / MIB, 1),
        **at,
        "peak_before_merge_mib": round(max(trace) / MIB, 1),
        "peak_rss_mib": round(m.peak_rss / MIB, 1),
        "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "index_bytes": (tmp / "data" / "index.parquet").stat().st_size,
    }


def growth(runs: list[dict], key: str) -> dict:
    """How much ``key`` grew from the smallest count to the largest, in all and per 1,000 clips."""
    first, last = runs[0], runs[-1]
    mib = round(last[key] - first[key], 1)
    return {"mib": mib, "per_1000_clips_mib": round(mib / ((last["clips"] - first["clips"]) / 1000), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(child(args.child, Path(tmp))))
        return

    by_pool = {}
    for pool in POOLS:
        env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
        if pool != "default":
            env["ARROW_DEFAULT_MEMORY_POOL"] = pool
        runs = []
        for count in args.counts:
            out = subprocess.run([sys.executable, "-m", "bench.generation_memory", "--child", str(count)],
                                 check=True, capture_output=True, text=True, env=env)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"{pool} pool, {count} clips: peak RSS {runs[-1]['peak_rss_mib']} MiB", flush=True)
        by_pool[pool] = {"runs": runs, "peak_growth": growth(runs, "ru_maxrss_mib"),
                         "growth_before_merge": growth(runs, "peak_before_merge_mib")}

    path = write_result(
        "generation_memory",
        {"config": {"size": SIZE, "frames": 16, "architecture": ARCH, **ARCHITECTURES[ARCH], "precision": "bf16",
                    "shard_size": SHARD_SIZE, "runner": "direct"},
         "arrow_pools": by_pool},
        note="one child process per count and Arrow pool; RSS sampled every 0.2 s, ru_maxrss is the kernel's peak; "
             "peak_before_merge is the sampled peak before the index parts are merged",
    )
    print()
    rows = [[pool, r["arrow_pool"], r["clips"], r["rss_before_run_mib"], r["rss_at_50pct_mib"], r["peak_before_merge_mib"],
             r["ru_maxrss_mib"], r["clips_per_s"]] for pool, res in by_pool.items() for r in res["runs"]]
    print(table(["pool", "backend", "clips", "before MiB", "at 50% MiB", "before merge MiB", "peak MiB", "clips/s"],
                rows, [9, 10, 8, 12, 12, 18, 10, 9]))
    for pool, res in by_pool.items():
        print(f"{pool} pool: peak grew {res['peak_growth']['mib']} MiB, "
              f"{res['growth_before_merge']['mib']} MiB of it before the index merge")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
