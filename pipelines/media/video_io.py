"""H.264 MP4 encoding and decoding with PyAV, entirely in memory.

Every clip in a dataset shard is an MP4 held as bytes (it goes straight into a
tar member), so encoding writes to an ``io.BytesIO`` rather than a temporary
file. Two properties matter to the rest of the project:

* **Determinism.** A clip is a pure function of its inputs and its sha256 is
  recorded in the index, so identical frames must give identical bytes from run
  to run. x264's output depends on its thread count, so that is pinned rather
  than left to the number of cores; macroblock-tree rate control is off (see
  ``_X264_PARAMS``); and the muxer is asked for bit-exact output (no library
  version string). Bytes can still differ between machines whose CPUs give x264
  different instruction sets, or between x264 versions: compare pixels, not
  hashes, across machines.
* **Exact frame count and rate.** fps may be fractional (7.5, 29.97, 30000/1001),
  so the stream rate and time base are :class:`fractions.Fraction` values and
  frame ``i`` gets timestamp ``i``; :func:`probe` reads back the same rate and
  :func:`decode_video` the same number of frames.

Decoding failures of any kind (empty input, garbage, a truncated file) surface as
:class:`VideoDecodeError`, a ``ValueError`` that names the source, so callers can
skip or report a bad clip without catching PyAV's own exception hierarchy.
"""

from __future__ import annotations

import io
import math
import numbers
import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from typing import get_args

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from schemas.config import DEFAULT_PRESET, X264Preset

_CODEC = "libx264"
_PIX_FMT = "yuv420p"
# One encoder thread: x264 output depends on its thread count, and the number
# of cores differs between machines. Clips are small, so the cost is minor.
_THREADS = 1
# Macroblock-tree rate control off: with it, x264's AVX-512 code gave different
# bytes from run to run on small frames (64x48 varied, 256x256 did not), i.e. it
# depends on memory it does not own. Without it the output is stable; files are
# some 10-25% larger at the same crf, with slightly higher fidelity.
_X264_PARAMS = "mbtree=0"
X264_PRESETS = get_args(X264Preset)
# 30000/1001 needs a denominator of 1001; anything finer is float noise. Shared by the encoder and the resampler.
MAX_FPS_DENOMINATOR = 1001


class VideoDecodeError(ValueError):
    """A video could not be opened or decoded; the message names the source.

    ``reason`` is the same without the source's name, for reports that list
    sources anyway (the ingest's quarantine report).
    """

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about its first video stream."""

    frames: int
    height: int
    width: int
    fps: float
    codec: str


def _fps_fraction(fps: float | Fraction) -> Fraction:
    """Turn ``fps`` into the exact rational rate the stream is written with."""
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise ValueError(f"fps must be a number, got {fps!r}")
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    rate = Fraction(fps if isinstance(fps, Fraction) else float(fps)).limit_denominator(MAX_FPS_DENOMINATOR)
    if rate <= 0:
        raise ValueError(f"fps {fps!r} is too small to be represented")
    return rate


def _check_video(video: np.ndarray) -> None:
    """Reject input that x264/yuv420p cannot take, with a message that says why."""
    if not isinstance(video, np.ndarray):
        raise ValueError(f"video must be a numpy array, got {type(video).__name__}")
    if video.dtype != np.uint8:
        raise ValueError(f"video must be uint8, got dtype {video.dtype}")
    if video.ndim != 4 or video.shape[-1] != 3:
        raise ValueError(f"video must have shape (T, H, W, 3), got {video.shape}")
    frames, height, width, _ = video.shape
    if frames < 1 or height < 2 or width < 2:
        raise ValueError(f"video needs at least 1 frame of 2x2 pixels, got shape {video.shape}")
    if height % 2 or width % 2:
        # yuv420p halves the chroma planes, so both dimensions must be even.
        raise ValueError(f"H.264 yuv420p needs even height and width, got {height}x{width}")


def encode_mp4(video: np.ndarray, fps: float | Fraction, crf: int = 18, preset: str = DEFAULT_PRESET) -> bytes:
    """Encode RGB frames ``uint8 (T, H, W, 3)`` as an H.264 (yuv420p) MP4 and return its bytes.

    ``crf`` is x264's constant rate factor (0 = lossless, 51 = worst) and
    ``preset`` its speed/compression trade-off (:data:`X264_PRESETS`). The
    ``moov`` atom stays at the end: moving it to the front (faststart) needs a
    second pass over a named file, and readers take a clip's whole byte range
    from its shard anyway.
    """
    _check_video(video)
    if isinstance(crf, bool) or not isinstance(crf, (int, np.integer)) or not 0 <= crf <= 51:
        raise ValueError(f"crf must be an integer in 0..51, got {crf!r}")
    if preset not in X264_PRESETS:
        raise ValueError(f"preset must be one of {X264_PRESETS}, got {preset!r}")
    rate = _fps_fraction(fps)
    frames, height, width, _ = video.shape
    buffer = io.BytesIO()
    with av.open(
        buffer,
        mode="w",
        format="mp4",
        options={"fflags": "+bitexact"},
    ) as container:
        stream = container.add_stream(_CODEC, rate=rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = _PIX_FMT
        stream.time_base = 1 / rate
        stream.codec_context.time_base = 1 / rate
        stream.codec_context.thread_count = _THREADS
        stream.codec_context.options = {
            "crf": str(int(crf)),
            "preset": preset,
            "threads": str(_THREADS),
            "x264-params": _X264_PARAMS,
        }
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(video[index]), format="rgb24")
            frame.pts = index
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))  # flush the frames x264 still holds for lookahead
    return buffer.getvalue()


def _describe(source: bytes | str | os.PathLike) -> str:
    """Name a source in an error message without dumping its bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes in memory>"
    return os.fspath(source)


def open_video(source: bytes | str | os.PathLike) -> av.container.InputContainer:
    """Open ``source`` for reading its first video stream; every way that fails is :class:`VideoDecodeError`.

    The one opener of the project (decoding clips here, cutting real videos in
    :mod:`pipelines.media.video_clips`). A missing file stays
    ``FileNotFoundError``. Metadata that is not UTF-8 (an AVI title in
    Latin-1) is decoded with replacement characters rather than stopping the
    video: PyAV raises ``UnicodeDecodeError`` for it otherwise, although every
    frame decodes. Anything else PyAV raises while opening, whatever its type,
    names the source in one :class:`VideoDecodeError`.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise VideoDecodeError(f"cannot decode {_describe(source)}: the input is empty")
        target = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        target = os.fspath(source)
        st = os.stat(target)  # FileNotFoundError / PermissionError name the path themselves
        if not stat.S_ISREG(st.st_mode):
            raise VideoDecodeError(f"{_describe(source)} is not a regular file", "not a regular file")
        if st.st_size == 0:
            raise VideoDecodeError(f"{_describe(source)} is an empty file (0 bytes)", "empty file (0 bytes)")
    else:
        raise TypeError(f"source must be bytes or a path, got {type(source).__name__}")
    try:
        container = av.open(target, mode="r", metadata_errors="replace")
    except Exception as exc:  # FFmpegError, and whatever else a hostile header makes PyAV raise
        raise VideoDecodeError(f"cannot open {_describe(source)} as a video: {exc}", f"not a readable video file: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(f"{_describe(source)} has no video stream", "the file has no video stream")
    if container.streams.video[0].codec_context is None:
        container.close()
        raise VideoDecodeError(f"{_describe(source)} has an unreadable codec: no decoder for its video stream",
                               "unreadable codec: no decoder for its video stream")
    return container


def decode_video(source: bytes | str | os.PathLike) -> np.ndarray:
    """Decode every frame of the first video stream to ``uint8 (T, H, W, 3)`` RGB.

    A file whose container promises more frames than can be decoded (a damaged
    sample table, or a truncated file whose index comes first) is reported as
    corrupt rather than silently returned short.
    """
    container = open_video(source)
    with container:
        stream = container.streams.video[0]
        stream.thread_count = _THREADS
        expected = stream.frames
        try:
            # One reformatter for the clip: frame.to_ndarray(format=...) would set up a new
            # swscale context per frame, which took 60% of decoding a 32x32x16 clip.
            rgb = VideoReformatter()
            frames = [rgb.reformat(frame, format="rgb24").to_ndarray() for frame in container.decode(stream)]
        except (av.FFmpegError, UnicodeDecodeError, ValueError, OverflowError) as exc:
            raise VideoDecodeError(f"cannot decode {_describe(source)}: {exc}") from exc
    if not frames:
        raise VideoDecodeError(f"{_describe(source)} contains no decodable frames")
    if expected and len(frames) != expected:
        raise VideoDecodeError(
            f"{_describe(source)} is truncated or corrupt: decoded {len(frames)} of {expected} frames"
        )
    return np.stack(frames)


def _count_frames(container: av.container.InputContainer, stream: av.video.VideoStream) -> int:
    """Count frames by demuxing (no decoding) for containers that do not store the count."""
    return sum(1 for packet in container.demux(stream) if packet.size)


def probe(source: bytes | str | os.PathLike) -> VideoInfo:
    """Read frame count, size, rate and codec of the first video stream without decoding pixels."""
    container = open_video(source)
    with container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise VideoDecodeError(f"{_describe(source)} does not state a frame rate")
        ctx = stream.codec_context
        try:
            frames = stream.frames or _count_frames(container, stream)
        except (av.FFmpegError, UnicodeDecodeError, ValueError, OverflowError) as exc:
            raise VideoDecodeError(f"cannot read packets of {_describe(source)}: {exc}") from exc
        return VideoInfo(frames=frames, height=ctx.height, width=ctx.width, fps=float(rate), codec=ctx.name)
