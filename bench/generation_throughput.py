"""End-to-end generation against the raw generator and against a naive loop, in one process run.

For each configuration, repeated ``--reps`` times and interleaved (so that a
busy spell on a shared machine hits all three alike):

* raw: ``generators.sample`` alone at the configuration's batch size and
  precision (two batches per run), with one torch thread and with torch's
  default; the faster is "the generator's own speed";
* end-to-end: ``pipelines.generate_dataset`` on the DirectRunner (plan ->
  batched generation -> H.264 encode -> tar shards -> index parts -> merged
  index) into a fresh folder; its clips/s over the raw figure is the
  ``end_to_end_ratio``;
* naive (first configuration only): one clip at a time through the network in
  fp32, each MP4 written as its own file, the index written at the end; once
  with torch's default threads, as a plain script would run, and once with one.

The first configuration is also run end to end with other splits of the cores
between torch and the encode threads (``split_cores``): half the cores each,
and every core each at one priority, to show why the shipped split (every core
each, encoders at the lowest priority) is what it is; these and the naive loop
run in the first two reps only (they are slow). Medians are reported; every run is kept in
``bench/results/generation_throughput.json`` with its CPU seconds.

    python -m bench.generation_throughput [--reps 3] [--clips 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from bench.common import ARCHITECTURES, CLASSES, build_checkpoint, measure, summarise, table, write_result

# (size, architecture, precision): the default model at the default clip size, the UCF-101
# deployment's wider model, and the default model at 128x128.
CONFIGS = [(64, "default", "bf16"), (64, "augment-ucf101", "bf16"), (128, "default", "bf16")]
SHARD_SIZE = 64
NAIVE_CLIPS = 32


def raw_run(G, n: int, batch_size: int, precision: str, threads: int, offset: int, device) -> dict:
    from generators import sample, torch_threads

    def run():
        for start in range(0, n, batch_size):
            seeds = range(offset + start, offset + min(n, start + batch_size))
            sample(G, [s % len(CLASSES) for s in seeds], list(seeds), device=device, precision=precision)

    with torch_threads(threads):
        return measure(run)


def end_to_end_run(checkpoint: Path, n: int, batch_size: int, precision: str, out: Path) -> dict:
    from pipelines import generate_dataset
    from schemas.config import BeamConfig, GenerateConfig

    cfg = GenerateConfig(counts={c: n // len(CLASSES) for c in CLASSES}, batch_size=batch_size,
                         shard_size=SHARD_SIZE, precision=precision)
    try:
        return measure(lambda: generate_dataset(checkpoint, cfg, out, BeamConfig()))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def naive_run(G, fps: float, n: int, threads: int, out: Path, device) -> dict:
    """One clip at a time in fp32, one MP4 file per clip, a Parquet index written at the end."""
    from generators import to_uint8, torch_threads
    from generators.sampling import latents
    from pipelines.jobs.plan import plan_synthetic
    from pipelines.media.video_io import encode_mp4

    tasks = list(plan_synthetic(CLASSES, {c: n // len(CLASSES) for c in CLASSES}, base_seed=1, shard_size=n).tasks())

    def run():
        out.mkdir(parents=True)
        rows = []
        for t in tasks:
            with torch.inference_mode():
                video = to_uint8(G(latents([t.seed], G.z_dim).to(device), torch.tensor([t.label], device=device)))[0]
            mp4 = encode_mp4(video, fps)
            (out / f"{t.key}.mp4").write_bytes(mp4)
            rows.append({"key": t.key, "label": t.label, "label_name": t.label_name, "seed": t.seed,
                         "file": f"{t.key}.mp4", "size": len(mp4), "sha256": hashlib.sha256(mp4).hexdigest()})
        pq.write_table(pa.Table.from_pylist(rows), out / "index.parquet")

    try:
        with torch_threads(threads):
            return measure(run)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def split_variant(torch_threads: int, encode_threads: int, background: bool):
    """Make generation split the cores as given instead of by ``split_cores``."""
    def split(cores, device_type="cpu", sole_worker=False):
        return torch_threads, encode_threads, background

    return mock.patch("pipelines.jobs.generate.split_cores", split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clips", type=int, default=1024, help="clips per end-to-end run at 64x64 (half at 128x128)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from generators import load_generator
    from generators.device import resolve_device
    from pipelines.jobs.generate import available_cores, split_cores

    default_threads = torch.get_num_threads()
    thread_options = sorted({1, default_threads})
    device = resolve_device("auto")
    shipped_split = split_cores(available_cores(), device.type, sole_worker=True)  # the DirectRunner's one worker
    # what generation did before: half the cores each, all at one priority; and every core each at one priority
    variants = [v for v in [(max(1, default_threads // 2), 2, False), (default_threads, 2, False)] if v != shipped_split]
    configs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i, (size, arch, precision) in enumerate(CONFIGS):
            ckpt = build_checkpoint(tmp / f"{arch}-{size}.pt", size, arch)
            G, info = load_generator(ckpt, device=device)
            bs = ARCHITECTURES[arch]["batch_size"]
            n = args.clips if size <= 64 else args.clips // 2
            n_raw = min(n, 2 * bs)
            raw_runs = {t: [] for t in thread_options}
            e2e, naive_runs, variant_runs = [], {t: [] for t in thread_options}, {v: [] for v in variants}
            raw_run(G, 8, 8, precision, 1, 0, device)  # warm-up: oneDNN builds its kernels for these shapes
            for r in range(args.reps):
                for t in thread_options:
                    raw_runs[t].append(raw_run(G, n_raw, bs, precision, t, r * n_raw, device))
                e2e.append(end_to_end_run(ckpt, n, bs, precision, tmp / "out"))
                if i == 0 and r < 2:
                    for v in variants:
                        with split_variant(*v):
                            variant_runs[v].append(end_to_end_run(ckpt, n, bs, precision, tmp / "out"))
                    for t in thread_options:
                        naive_runs[t].append(naive_run(G, info.clip.fps, NAIVE_CLIPS, t, tmp / "naive", device))
                print(f"{size}x{size}x16 {arch} {precision}: rep {r + 1}/{args.reps} done", flush=True)

            raw = {t: summarise(runs, n_raw) for t, runs in raw_runs.items()}
            best = max(raw, key=lambda t: raw[t]["clips_per_s"])
            end = summarise(e2e, n)
            entry = {
                "size": size, "frames": 16, "architecture": arch, **ARCHITECTURES[arch], "precision": precision,
                "shard_size": SHARD_SIZE, "split_cores": list(shipped_split),
                "raw": {f"torch_threads_{t}": raw[t] for t in thread_options},
                "raw_best_torch_threads": best,
                "end_to_end": end,
                "end_to_end_ratio": round(end["clips_per_s"] / raw[best]["clips_per_s"], 3),
                "cpu_ratio": round(raw[1]["cpu_s_per_clip"] / end["cpu_s_per_clip"], 3),
            }
            if i == 0:
                entry["split_variants"] = [
                    {"torch_threads": v[0], "encode_threads": v[1], "encode_in_background": v[2], **summarise(runs, n)}
                    for v, runs in variant_runs.items()
                ]
                naive = {f"torch_threads_{t}": summarise(runs, NAIVE_CLIPS) for t, runs in naive_runs.items()}
                for name, t in (("default_threads", default_threads), ("one_thread", 1)):
                    naive[f"speedup_over_naive_{name}"] = round(
                        end["clips_per_s"] / naive[f"torch_threads_{t}"]["clips_per_s"], 2)
                entry["naive"] = naive
            configs.append(entry)

    headline = configs[0]
    path = write_result(
        "generation_throughput",
        {"end_to_end_ratio": headline["end_to_end_ratio"],
         "end_to_end_ratio_config": f"{headline['size']}x{headline['size']}x16 {headline['architecture']} "
                                    f"{headline['precision']} batch {headline['batch_size']}",
         "target": 0.85, "reps": args.reps, "device": str(device),
         "weights": "untrained (seeded); throughput does not depend on them",
         "definitions": {
             "end_to_end_ratio": "median end-to-end clips/s / median raw sample() clips/s "
                                 "at the faster torch thread count",
             "cpu_ratio": "raw CPU s per clip (1 torch thread) / end-to-end CPU s per clip: the share of the "
                          "pipeline's CPU that is the generator; what the wall ratio tends to when every core is busy",
         },
         "configs": configs},
        note="medians of interleaved reps on a shared machine; cores_used says how many cores each run got",
    )

    rows = []
    for c in configs:
        name = f"{c['size']}x{c['size']}x16 {c['architecture']} {c['precision']} b{c['batch_size']}"
        raw = c["raw"][f"torch_threads_{c['raw_best_torch_threads']}"]
        rows.append([name + f" raw (torch x{c['raw_best_torch_threads']})", f"{raw['clips_per_s']:.1f}",
                     f"{raw['cpu_s_per_clip']:.4f}", raw["cores_used"], "1.00"])
        e = c["end_to_end"]
        rows.append([name + " end-to-end", f"{e['clips_per_s']:.1f}", f"{e['cpu_s_per_clip']:.4f}", e["cores_used"],
                     f"{c['end_to_end_ratio']:.2f} (cpu {c['cpu_ratio']:.2f})"])
        for v in c.get("split_variants", []):
            priority = "encode in background" if v["encode_in_background"] else "one priority"
            rows.append([f"  split torch {v['torch_threads']} / encode {v['encode_threads']}, {priority}",
                         f"{v['clips_per_s']:.1f}", f"{v['cpu_s_per_clip']:.4f}", v["cores_used"],
                         f"{v['clips_per_s'] / raw['clips_per_s']:.2f}"])
        for key, fig in c.get("naive", {}).items():
            if isinstance(fig, dict):
                rows.append([f"  naive, {key.replace('_', ' ')}", f"{fig['clips_per_s']:.1f}",
                             f"{fig['cpu_s_per_clip']:.4f}", fig["cores_used"],
                             f"{fig['clips_per_s'] / raw['clips_per_s']:.2f}"])
    print()
    print(table(["pipeline", "clips/s", "cpu s/clip", "cores used", "ratio to raw"], rows, [58, 9, 12, 12, 22]))
    n = headline["naive"]
    print(f"speed-up over naive: x{n['speedup_over_naive_default_threads']} (torch default threads), "
          f"x{n['speedup_over_naive_one_thread']} (one thread)")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
