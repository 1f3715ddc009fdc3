"""Ingest memory: peak RSS of cutting one clip out of a 60 s and a 600 s source video.

Writes two synthetic source videos with PyAV (H.264, 64x48, 25 fps: 1,500 and
15,000 frames, frame ``n`` a flat colour that changes every frame), then, each
in a fresh Python process, runs ``pipelines.media.video_clips.cut_clips`` with
256x256 clips of 16 frames at 8 fps, one clip per video (the shape of the
report in issue 20). The child reports its peak RSS after imports and after
cutting; the difference is what the cut cost. ``--code DIR`` measures another
checkout of the project (e.g. one from before the two-pass cut), so the same
script gives the before and after figures.

Writes ``bench/results/ingest_memory.json`` and ``ingest_memory.png``
(``--name`` changes the name; ``--label`` names the code measured).

    python -m bench.ingest_memory [--code DIR] [--label after] [--seconds 60 600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from bench.common import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"
FPS = 25
WIDTH, HEIGHT = 64, 48
CHILD = """
import json, resource, sys, time
from pipelines.media.video_clips import cut_clips
from schemas.config import ClipFormat, VideoSampling
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
clips = cut_clips(sys.argv[1], ClipFormat(frames=16, size=256, fps=8), VideoSampling(clips_per_video=1), seed=0)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import pipelines.media.video_clips as code
print(json.dumps({"code": code.__file__, "base_mb": base / 1024, "peak_mb": peak / 1024, "wall_s": wall, "clip": list(clips[0][0].shape)}))
"""


def write_source(path: Path, seconds: int) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        for n in range(seconds * FPS):
            frame[...] = (n % 256, (n // 256) % 256, 128)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def measure(code: Path, video: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)}
    # cwd too: "python -c" puts the working folder first on sys.path, ahead of PYTHONPATH.
    out = subprocess.run([sys.executable, "-c", CHILD, str(video)], env=env, cwd=code, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=120)
    for label, runs in result["runs"].items():
        secs = [r["seconds"] for r in runs]
        ax.plot(secs, [r["peak_mb"] - r["base_mb"] for r in runs], marker="o", label=label)
    ax.set_xlabel("source video length (s), 64x48 at 25 fps")
    ax.set_ylabel("peak RSS of the cut (MB)")
    ax.set_title("cut_clips: one 16x256x256 clip at 8 fps")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1], help="checkout to measure")
    parser.add_argument("--label", default="after", help="name of the measured code in the results")
    parser.add_argument("--seconds", type=int, nargs="+", default=[60, 600])
    parser.add_argument("--name", default="ingest_memory")
    args = parser.parse_args()
    path = RESULTS / f"{args.name}.json"
    result = json.loads(path.read_text()) if path.is_file() else {"runs": {}}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in args.seconds:
            video = write_source(Path(tmp) / f"source-{seconds}s.mp4", seconds)
            runs.append({"seconds": seconds, **measure(args.code, video)})
            print(args.label, runs[-1], flush=True)
    result["runs"][args.label] = runs
    result.setdefault("commands", {})[args.label] = (
        f"python -m bench.ingest_memory --code {args.code} --label {args.label!r} --seconds {' '.join(map(str, args.seconds))}")
    result.update({
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": f"H.264 {WIDTH}x{HEIGHT} at {FPS} fps, synthetic (bench/ingest_memory.py write_source)",
        "clip": "ClipFormat(frames=16, size=256, fps=8), VideoSampling(clips_per_video=1)",
        "cpu": cpu_model(), "pyav": av.__version__, "time": time.time(),
    })  # fmt: skip
    path.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, RESULTS / f"{args.name}.png")


if __name__ == "__main__":
    main()
