"""H.264 encode throughput per core, what x264's preset costs, and whether a hardware encoder is there.

On a GPU the generator makes clips far faster than one CPU core encodes them,
so the encoder sets what a GPU box sustains. Measured here, on 16-frame clips
at 64x64 and 128x128 of two kinds (x264's work depends on the pixels): the
output of an untrained generator (noisy texture, the hardest case) and
rendered procedural clips (what a trained generator imitates):

* ``pipelines.media.video_io.encode_mp4`` as shipped (x264 at its default preset,
  crf 18, one thread per clip for byte-identical output) on one thread:
  clips/s per core;
* the same on a pool of one thread per core, as the shard writer runs it;
* every x264 preset from ultrafast to medium with the shipped crf and
  options, with the PSNR of the decoded clip against its source (RGB, so
  the yuv420p chroma subsampling is part of the loss): what each preset
  costs and what it buys, the measurement behind ``generate.preset``'s default;
* ``h264_nvenc``: whether this PyAV build has it, whether it opens (it needs
  an NVIDIA GPU that has NVENC: an H100 or A100 has none), and if it does,
  its clips/s.

    python -m bench.encode_throughput [--reps 3] [--clips 48]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import av
import numpy as np

from bench.common import measure, table, write_result

FPS = 25
PRESETS = ("medium", "fast", "faster", "veryfast", "superfast", "ultrafast")
NVENC = "h264_nvenc"


def encode_with(video: np.ndarray, codec: str, options: dict[str, str]) -> bytes:
    """An MP4 of ``video`` from any PyAV encoder, muxed as ``encode_mp4`` does; for comparisons only."""
    rate = Fraction(FPS)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = video.shape[2], video.shape[1], "yuv420p"
        stream.time_base = stream.codec_context.time_base = 1 / rate
        stream.codec_context.options = options
        for index, pixels in enumerate(video):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts, frame.time_base = index, 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def x264_preset(preset: str):
    options = {"crf": "18", "preset": preset, "threads": "1", "x264-params": "mbtree=0"}
    return lambda v: encode_with(v, "libx264", options)


def nvenc_status() -> dict:
    """Whether the build lists ``h264_nvenc`` and whether an encoder can actually be opened here."""
    status = {"in_build": NVENC in av.codecs_available, "opens": False, "error": None}
    if status["in_build"]:
        try:
            ctx = av.CodecContext.create(NVENC, "w")
            ctx.width, ctx.height, ctx.pix_fmt, ctx.time_base = 64, 64, "yuv420p", Fraction(1, FPS)
            ctx.open()
            status["opens"] = True
        except (av.FFmpegError, ValueError) as exc:
            status["error"] = f"{type(exc).__name__}: {exc}"
    return status


def clips(kind: str, size: int, count: int) -> list[np.ndarray]:
    if kind == "procedural":
        from pipelines.sources.procedural import render_clip
        from schemas.classes import PROCEDURAL_CLASSES

        names = list(PROCEDURAL_CLASSES)
        return [render_clip(names[i % len(names)], i, 16, size, size)[0] for i in range(count)]
    import torch

    from generators import VideoGenerator, sample

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G = VideoGenerator(8, 128, 32, 16, size).eval().requires_grad_(False)
    return list(sample(G, [i % 8 for i in range(count)], list(range(count))).videos)


def throughput(encode, videos: list[np.ndarray], reps: int, threads: int = 1) -> dict:
    """Median clips/s and CPU s per clip of encoding ``videos`` on ``threads`` threads, and mean bytes per clip."""
    runs = []
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(encode, videos[:threads]))  # codec set-up
        for _ in range(reps):
            runs.append(measure(lambda: list(pool.map(encode, videos))))
    return {
        "threads": threads,
        "clips_per_s": round(statistics.median(len(videos) / r["wall_s"] for r in runs), 1),
        "cpu_s_per_clip": round(statistics.median(r["cpu_s"] / len(videos) for r in runs), 5),
        "cores_used": round(statistics.median(r["cores_used"] for r in runs), 2),
        "bytes_per_clip": int(np.mean([len(encode(v)) for v in videos[:8]])),
        "psnr_db": psnr(encode, videos[:8]),
    }


def psnr(encode, videos: list[np.ndarray]) -> float:
    """PSNR (dB, RGB, over all clips' pixels) of the decoded clips against their sources."""
    from pipelines.media.video_io import decode_video

    mse = np.mean([np.mean((decode_video(encode(v)).astype(np.float64) - v) ** 2) for v in videos])
    return round(float(10 * np.log10(255**2 / mse)), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clips", type=int, default=48)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from pipelines.media.video_io import DEFAULT_PRESET, encode_mp4

    def shipped(video):
        return encode_mp4(video, FPS)

    nvenc = nvenc_status()
    rows = []
    for size in (64, 128):
        for kind in ("generator", "procedural"):
            videos = clips(kind, size, args.clips)
            entry = {"size": size, "frames": 16, "content": kind,
                     # the comparison encoder at the shipped preset must give encode_mp4's bytes
                     "shipped_preset": DEFAULT_PRESET,
                     "comparison_encoder_matches_encode_mp4": x264_preset(DEFAULT_PRESET)(videos[0]) == shipped(videos[0]),
                     "shipped_one_thread": throughput(shipped, videos, args.reps),
                     "shipped_pool": throughput(shipped, videos, args.reps, threads=os.cpu_count()),
                     "presets": {p: throughput(x264_preset(p), videos, args.reps) for p in PRESETS}}
            if nvenc["opens"]:
                entry["nvenc"] = throughput(lambda v: encode_with(v, NVENC, {"preset": "p4", "rc": "vbr", "cq": "18"}),
                                            videos, args.reps, threads=os.cpu_count())
            rows.append(entry)
            per_core = entry["shipped_one_thread"]["clips_per_s"]
            print(f"{size}x{size}x16 {kind}: {per_core:.1f} clips/s on one thread", flush=True)

    path = write_result(
        "encode_throughput",
        {"fps": FPS, "clips_per_measurement": args.clips, "reps": args.reps, "nvenc": nvenc,
         "gpu_figures": "measured" if nvenc["opens"] else "not measured: no NVENC-capable GPU on this machine",
         "results": rows},
        note="median of reps; the shipped preset is generate.preset's default, the others are for comparison",
    )
    out = []
    for r in rows:
        name = f"{r['size']}x{r['size']}x16 {r['content']}"
        for label, fig in [("encode_mp4, 1 thread", r["shipped_one_thread"]),
                           (f"encode_mp4, {r['shipped_pool']['threads']} threads", r["shipped_pool"]),
                           *[(f"x264 {p}, 1 thread", f) for p, f in r["presets"].items() if p != DEFAULT_PRESET],
                           *([("h264_nvenc", r["nvenc"])] if "nvenc" in r else [])]:
            out.append([f"{name} {label}", f"{fig['clips_per_s']:.1f}", f"{fig['cpu_s_per_clip'] * 1000:.2f}",
                        fig["cores_used"], fig["bytes_per_clip"], fig["psnr_db"]])
    print()
    print(table(["clips / encoder", "clips/s", "cpu ms/clip", "cores used", "bytes/clip", "PSNR dB"], out,
                [52, 9, 13, 12, 12, 9]))
    print(f"h264_nvenc in this build: {nvenc['in_build']}, opens: {nvenc['opens']}"
          + (f" ({nvenc['error']})" if nvenc["error"] else ""))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
