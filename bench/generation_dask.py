"""Scale-out: the same generation on Beam's DaskRunner over a local ``distributed`` cluster of 1 and 2 workers.

The plan (64x64x16, default model, bf16, batch 32, 256 clips in shards of 32,
so that two workers have shards to share) runs:

* on the DirectRunner in this process, for reference;
* with ``BeamConfig(runner="dask", dask_workers=N)`` exactly as a user runs it:
  the pipeline starts its own local cluster and closes it, so the figure
  includes starting N worker processes and importing torch and Beam in them;
* on a cluster started once beforehand (configured as the pipeline configures
  its own) and named by ``dask_address`` (the route to a remote cluster),
  after a small warm-up run, which is the steady state a long run sees. Repeated ``--reps`` times; the median is reported.

Every run records the CPU seconds of this process and all its children (the
workers), so ``cores_used`` shows how much of the machine the cluster got.

    python -m bench.generation_dask [--reps 2] [--clips 256]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import ARCHITECTURES, CLASSES, build_checkpoint, measure, summarise, table, write_result

SIZE, ARCH, PRECISION, SHARD_SIZE = 64, "default", "bf16", 32


def run(checkpoint: Path, n: int, beam_cfg, out: Path) -> dict:
    from pipelines import generate_dataset
    from schemas.config import GenerateConfig

    cfg = GenerateConfig(counts={c: n // len(CLASSES) for c in CLASSES}, precision=PRECISION,
                         batch_size=ARCHITECTURES[ARCH]["batch_size"], shard_size=SHARD_SIZE)
    try:
        return measure(lambda: generate_dataset(checkpoint, cfg, out, beam_cfg))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # distributed configures its own loggers at import, in this process and in every worker it starts
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")

    import dask
    from distributed import LocalCluster

    from pipelines.jobs.runner import DASK_WORKER_CONFIG
    from schemas.config import BeamConfig

    n = args.clips
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ckpt = build_checkpoint(tmp / "g.pt", SIZE, ARCH)
        run(ckpt, 16, BeamConfig(), tmp / "out")  # warm-up: imports, model load, oneDNN kernels
        direct = summarise([run(ckpt, n, BeamConfig(), tmp / "out") for _ in range(args.reps)], n)
        results.append({"runner": "direct", "workers": 1, "steady": direct})
        print(f"direct: {direct['clips_per_s']:.1f} clips/s", flush=True)
        for workers in args.workers:
            as_user = run(ckpt, n, BeamConfig(runner="dask", dask_workers=workers), tmp / "out")
            start = time.perf_counter()
            with dask.config.set(DASK_WORKER_CONFIG):  # the workers the pipeline would start itself
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
            with cluster:
                startup_s = time.perf_counter() - start
                cfg = BeamConfig(runner="dask", dask_address=cluster.scheduler_address)
                run(ckpt, SHARD_SIZE * workers, cfg, tmp / "out")  # warm-up: every worker imports and loads once
                steady = summarise([run(ckpt, n, cfg, tmp / "out") for _ in range(args.reps)], n)
            results.append({"runner": "dask", "workers": workers, "cluster_startup_s": round(startup_s, 2),
                            "including_cluster_start": summarise([as_user], n), "steady": steady})
            print(f"dask x{workers}: {steady['clips_per_s']:.1f} clips/s steady, "
                  f"{n / as_user['wall_s']:.1f} clips/s with cluster start", flush=True)

    dask = {r["workers"]: r for r in results if r["runner"] == "dask"}
    scaling = (round(dask[2]["steady"]["clips_per_s"] / dask[1]["steady"]["clips_per_s"], 2)
               if {1, 2} <= dask.keys() else None)
    path = write_result(
        "generation_dask",
        {"config": {"size": SIZE, "frames": 16, "architecture": ARCH, **ARCHITECTURES[ARCH], "precision": PRECISION,
                    "shard_size": SHARD_SIZE, "clips": n},
         "results": results, "scaling_2_over_1_workers": scaling},
        note="local distributed cluster, threads_per_worker=1; cores_used counts this process and all its children",
    )
    rows = []
    for r in results:
        name = "DirectRunner, in process" if r["runner"] == "direct" else f"DaskRunner, {r['workers']} worker(s)"
        s = r["steady"]
        rows.append([name + ", steady", f"{s['clips_per_s']:.1f}", f"{s['cpu_s_per_clip']:.4f}", s["cores_used"]])
        if "including_cluster_start" in r:
            u = r["including_cluster_start"]
            rows.append([name + ", with cluster start", f"{u['clips_per_s']:.1f}", f"{u['cpu_s_per_clip']:.4f}",
                         u["cores_used"]])
    print()
    print(table(["runner", "clips/s", "cpu s/clip", "cores used"], rows, [50, 10, 12, 12]))
    print(f"2 workers / 1 worker (steady): {scaling}; written to {path}")


if __name__ == "__main__":
    main()
