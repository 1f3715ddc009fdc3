"""Raw generator throughput: clips/s of ``generators.sample`` alone, nothing encoded or written.

For each shipped architecture at its generation batch size, at 64x64x16 and
128x128x16, in bf16 (autocast) and fp32, with one torch thread and with
torch's default (one per core). ``sample`` runs the network 8 clips at a time
whatever the batch size (see ``generators.sampling.CHUNK``), so the batch
size sets how many clips one call returns, not the network's batch. Weights
are untrained (throughput does not depend on them). Each figure is the median
of ``--reps`` calls after one warm-up call. On a GPU the same table is
measured on the GPU and the device is recorded.

    python -m bench.generator_throughput [--reps 3] [--sizes 64 128]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch

from bench.common import ARCHITECTURES, CLASSES, build_checkpoint, measure, summarise, table, write_result

SHIPPED = ("default", "augment-ucf101")


def thread_counts(device: torch.device) -> list[int]:
    """One torch thread and torch's default; on a GPU only the default (the CPU just feeds it)."""
    default = torch.get_num_threads()
    return [default] if device.type == "cuda" or default == 1 else [1, default]


def raw_throughput(G, batch_size: int, precision: str, device: torch.device, threads: int, reps: int) -> dict:
    """Median clips/s of ``sample`` over ``reps`` calls of ``batch_size`` clips (distinct seeds per call)."""
    from generators import sample, torch_threads

    labels = [i % len(CLASSES) for i in range(batch_size)]
    with torch_threads(threads):
        sample(G, labels[:8], list(range(8)), device=device, precision=precision)  # oneDNN/cuDNN set-up
        runs = []
        for r in range(reps):
            seeds = range(r * batch_size, (r + 1) * batch_size)
            # sample returns numpy arrays, so a GPU's work is finished when it returns
            runs.append(measure(lambda: sample(G, labels, list(seeds), device=device, precision=precision)))
    return summarise(runs, batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from generators import load_generator
    from generators.device import resolve_device

    device = resolve_device("auto")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for arch in SHIPPED:
                G = load_generator(build_checkpoint(Path(tmp) / f"{arch}-{size}.pt", size, arch), device=device)[0]
                bs = ARCHITECTURES[arch]["batch_size"]
                for precision in ("bf16", "fp32"):
                    for threads in thread_counts(device):
                        fig = raw_throughput(G, bs, precision, device, threads, args.reps)
                        rows.append({"size": size, "frames": 16, "architecture": arch, **ARCHITECTURES[arch],
                                     "precision": precision, "torch_threads": threads, **fig})
                        print(f"{size}x{size}x16 {arch:<15} {precision} threads={threads}: "
                              f"{fig['clips_per_s']:.1f} clips/s", flush=True)

    path = write_result(
        "generator_throughput",
        {"device": str(device), "reps": args.reps, "weights": "untrained (seeded); throughput does not depend on them",
         "results": rows},
        note="median of reps; shared machine, see cores_used and machine.load_average_at_start",
    )
    print()
    print(table(["clip / architecture / precision", "threads", "batch", "clips/s", "cpu s/clip", "cores used"],
                [[f"{r['size']}x{r['size']}x16 {r['architecture']} {r['precision']}", r["torch_threads"],
                  r["batch_size"], f"{r['clips_per_s']:.1f}", f"{r['cpu_s_per_clip']:.4f}", r["cores_used"]]
                 for r in rows], [40, 9, 7, 10, 12, 12]))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
