"""Where end-to-end generation spends its time, per thread, sampled with py-spy.

Runs one ``generate_dataset`` (64x64x16, default model, bf16, DirectRunner) in
a child process under ``py-spy record --threads --idle`` and sorts every sample
by what its thread was doing: the producer (the thread that runs the
generator), the encode pool and the shard finisher. Idle samples count, so
"waiting" is time that thread spent blocked. The shares say whether the
generator waits on encoding or I/O, and how busy the encoders are.

A second profile runs ``encode_mp4`` in a loop twice, once sampling every
active moment and once only moments when it holds the GIL: the ratio is the
share of an encode that no other thread of the process can run beside, which
caps how many encode threads one worker process can keep busy (Amdahl).

py-spy is not a dependency of the project (``pip install py-spy``); without it
this benchmark says so and writes nothing.

    python -m bench.profile_generation [--clips 512] [--rate 100]
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import table, write_result

# (category, substring of a frame) in priority order: the first match on a stack names it.
# The producer is the thread that runs the pipeline: the in-memory runner runs the DoFn there.
PRODUCER = [
    ("generator forward", "forward_parts (generators/networks.py"),
    ("sample: latents, to_uint8, masks", "sample (generators/sampling.py"),
    ("boxes from mask", "boxes_from_mask"),
    ("waiting for the previous shard to finish", "drain (pipelines/jobs/shard_job.py"),
    ("checking for finished shards", "finished (pipelines/jobs/shard_job.py"),
    ("handing clips to the encoders", "collect (pipelines/jobs/shard_job.py"),
    ("merging the index parts", "merge_indexes"),
    ("other work in the DoFn (setup, bundle start and end)", "WriteShardFn."),
    ("Beam runner, outside the DoFn", "run_shard_pipeline"),
]
ENCODER = [
    ("encoding (encode_mp4)", "encode_mp4"),
    ("idle, waiting for clips", "_worker (concurrent/futures/thread.py"),
]
FINISHER = [
    ("waiting for the shard's encodes", "result (concurrent/futures/_base.py"),
    ("writing the tar", "write_shard"),
    ("sha256 of the tar", "sha256_file"),
    ("per-clip stats (flicker, motion)", "_row (pipelines/jobs/shard_job.py"),
    ("writing the index part", "write_index"),
    ("idle, waiting for a shard", "_worker (concurrent/futures/thread.py"),
]


def child(out: Path, clips: int) -> None:
    from bench.common import CLASSES, build_checkpoint
    from pipelines import generate_dataset
    from schemas.config import BeamConfig, GenerateConfig

    ckpt = build_checkpoint(out / "g.pt", 64, "default")
    cfg = GenerateConfig(counts={c: clips // len(CLASSES) for c in CLASSES}, batch_size=32, shard_size=64)
    generate_dataset(ckpt, cfg, out / "data", BeamConfig())


def encode_child(clips: int) -> None:
    from generators import VideoGenerator, sample
    from pipelines.media.video_io import encode_mp4

    G = VideoGenerator(8, 128, 32, 16, 64).eval()
    videos = sample(G, [i % 8 for i in range(8)], list(range(8))).videos
    for i in range(clips):
        encode_mp4(videos[i % len(videos)], 25)


def samples_in(raw: Path, frame: str) -> int:
    return sum(int(line.rsplit(" ", 1)[1]) for line in raw.read_text().splitlines() if frame in line)


def categorise(raw: Path) -> dict[str, collections.Counter]:
    """Samples per thread role and category; a stack's role is read from its thread name and frames."""
    roles: dict[str, collections.Counter] = {"producer": collections.Counter(), "encoder": collections.Counter(),
                                             "finisher": collections.Counter()}
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        thread = stack.split(";", 1)[0]
        if "encode_" in thread:
            role, rules = "encoder", ENCODER
        elif "finish-shard" in thread:
            role, rules = "finisher", FINISHER
        elif "run_shard_pipeline" in stack:  # the in-memory runner runs the DoFn in the launching thread
            role, rules = "producer", PRODUCER
        else:
            continue  # imports and set-up before the pipeline, Beam's own threads, progress logging
        category = next((name for name, frame in rules if frame in stack), "other")
        roles[role][category] += int(count)
    return roles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=512)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--encode-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.child:
        child(args.child, args.clips)
        return
    if args.encode_child:
        encode_child(args.clips)
        return
    # PATH first, then beside this interpreter (a virtual environment that is not activated).
    pyspy = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if pyspy is None:
        print("py-spy is not installed (pip install py-spy); nothing profiled")
        return

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        cmd = [pyspy, "record", "--threads", "--idle", "--format", "raw", "--rate", str(args.rate),
               "--output", str(raw), "--", sys.executable, "-m", "bench.profile_generation",
               "--clips", str(args.clips), "--child", tmp]
        subprocess.run(cmd, check=True, capture_output=True)
        roles = categorise(raw)
        encode_samples = {}
        for mode in ("active", "gil"):
            out = Path(tmp) / f"encode-{mode}.txt"
            cmd = [pyspy, "record", *(["--gil"] if mode == "gil" else []), "--format", "raw", "--rate", str(args.rate),
                   "--output", str(out), "--", sys.executable, "-m", "bench.profile_generation",
                   "--clips", str(args.clips), "--encode-child"]
            subprocess.run(cmd, check=True, capture_output=True)
            encode_samples[mode] = samples_in(out, "encode_mp4 (pipelines/media/video_io.py")
        gil_share = encode_samples["gil"] / encode_samples["active"]

    shares = {}
    rows = []
    for role, counts in roles.items():
        total = sum(counts.values())
        shares[role] = {k: round(v / total, 3) for k, v in counts.most_common()} if total else {}
        rows += [[f"{role}: {k}", f"{100 * v:.1f}%"] for k, v in shares[role].items()]
    path = write_result(
        "generation_profile",
        {"config": {"size": 64, "frames": 16, "architecture": "default", "precision": "bf16", "batch_size": 32,
                    "shard_size": 64, "clips": args.clips, "runner": "direct"},
         "profiler": f"py-spy {subprocess.run([pyspy, '--version'], capture_output=True, text=True).stdout.split()[-1]}"
                     f" record --threads --idle --rate {args.rate}",
         "shares": shares,
         "reading": "share of each thread role's samples (idle included); "
                    "the encoder role sums over the pool's threads",
         "encode_gil": {"samples_active": encode_samples["active"], "samples_holding_gil": encode_samples["gil"],
                        "gil_share": round(gil_share, 3),
                        "max_busy_encode_threads_per_process": round(1 / gil_share, 1)}},
        note="one profiled run on a shared machine",
    )
    print(table(["thread: activity", "share"], rows, [60, 10]))
    print(f"encode_mp4 holds the GIL for {100 * gil_share:.0f}% of its time: one process keeps at most "
          f"~{1 / gil_share:.0f} encode threads busy")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
