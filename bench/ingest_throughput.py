"""Ingest throughput: source frames decoded per second by the Beam ingest, against a plain PyAV loop.

Writes a small UCF-101-like dataset (XviD AVI, 320x240, 25 fps) to a temporary
folder, then times, in this one process and over the same files:

* a plain PyAV loop: open each file, decode every frame to an RGB array;
* the ingest (``pipelines.ingest_videos``) on the DirectRunner with one and with
  two workers, each into a fresh folder: list, decode, resample, cut, resize,
  encode H.264, write shards, index and quarantine report.

Both decode every frame of every file, so frames/s is total source frames over
wall time. The ratio says what the ingest's extra work (and Beam) costs, or
what its workers win back. Results go to ``bench/results/ingest_throughput.json``.

    python -m bench.ingest_throughput [--videos 48] [--frames 150]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import av
import numpy as np

from bench.common import cpu_model
from pipelines import ingest_videos
from schemas.config import BeamConfig, ClipFormat, UCF101Source

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_throughput.json"
CLASSES = ["ApplyEyeMakeup", "Basketball", "HandstandPushups", "JumpRope"]


def write_dataset(root: Path, videos: int, frames: int) -> list[Path]:
    """A UCF-101 layout of moving-texture XviD AVIs (texture, so the codec has real work to do)."""
    rng = np.random.default_rng(0)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_text("".join(f"{i + 1} {c}\r\n" for i, c in enumerate(CLASSES)))
    train, test, paths = [], [], []
    for i in range(videos):
        cls = CLASSES[i % len(CLASSES)]
        group = i // len(CLASSES) + 5  # groups 5-7 are split 1's test set, 8 on its training set
        rel = f"{cls}/v_{cls}_g{group:02d}_c01.avi"
        (train if group > 7 else test).append(rel)
        path = root / "UCF-101" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        texture = rng.integers(0, 256, (240 + frames, 320 + frames, 3), dtype=np.uint8)
        with av.open(str(path), "w") as c:
            s = c.add_stream("mpeg4", rate=25)
            s.width, s.height, s.pix_fmt, s.codec_tag = 320, 240, "yuv420p", "XVID"
            s.bit_rate = 1_000_000
            for n in range(frames):
                frame = np.ascontiguousarray(texture[n : n + 240, n : n + 320])
                c.mux(s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            c.mux(s.encode(None))
        paths.append(path)
    (lists / "trainlist01.txt").write_text("".join(f"{r} {CLASSES.index(r.split('/')[0]) + 1}\r\n" for r in train))
    (lists / "testlist01.txt").write_text("".join(f"{r}\r\n" for r in test))
    return paths


def plain_decode(paths: list[Path]) -> tuple[int, float]:
    start = time.perf_counter()
    frames = 0
    for path in paths:
        with av.open(str(path)) as c:
            for frame in c.decode(video=0):
                frame.to_ndarray(format="rgb24")
                frames += 1
    return frames, time.perf_counter() - start


def timed_ingest(root: Path, out: Path, workers: int) -> float:
    source = UCF101Source(root=str(root))
    start = time.perf_counter()
    ingest_videos(source, ClipFormat(frames=16, size=64, fps=25), out, BeamConfig(direct_num_workers=workers), shard_size=8)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=48)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = write_dataset(tmp / "data", args.videos, args.frames)
        plain_decode(paths[:2])  # warm the file cache and PyAV's codec set-up
        frames, plain_s = min((plain_decode(paths) for _ in range(2)), key=lambda r: r[1])
        runs = []
        for workers in (1, 2):
            seconds = timed_ingest(tmp / "data", tmp / f"out-{workers}", workers)
            runs.append({"runner": "direct", "workers": workers, "seconds": round(seconds, 3),
                         "frames_per_s": round(frames / seconds, 1),
                         "ratio_to_plain": round((frames / seconds) / (frames / plain_s), 3)})

    result = {
        "benchmark": "ingest_throughput",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "dataset": {"videos": args.videos, "frames_per_video": args.frames, "source": "XviD AVI 320x240 25 fps",
                    "clip": "16 frames, 64x64, 25 fps, 1 clip per video, H.264 crf 18"},
        "plain_pyav": {"frames": frames, "seconds": round(plain_s, 3), "frames_per_s": round(frames / plain_s, 1)},
        "ingest": runs,
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "av": av.__version__,
            "ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
            "apache_beam": version("apache-beam"),
            "numpy": np.__version__,
            "note": "shared machine: other work ran at the same time, so absolute figures are noisy",
        },
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{'pipeline':<28}{'frames':>8}{'seconds':>10}{'frames/s':>11}{'ratio':>8}")
    print(f"{'plain PyAV decode loop':<28}{frames:>8}{plain_s:>10.2f}{frames / plain_s:>11.1f}{1:>8.2f}")
    for run in runs:
        print(f"{'ingest, direct x' + str(run['workers']):<28}{frames:>8}{run['seconds']:>10.2f}"
              f"{run['frames_per_s']:>11.1f}{run['ratio_to_plain']:>8.2f}")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
