"""Cut fixed-format clips out of one real video: decode, resample to the clip rate, pick starts, fit the square.

Real videos come at any rate, size and length, and some are broken. This
module turns one file into ``clips_per_video`` arrays ``uint8 (T, S, S, 3)`` or
raises :class:`VideoRejected` whose message is the reason a quarantine report
records; it never lets a PyAV exception escape.

* **Resampling** is by presentation time, not by frame number: slot ``k`` of
  the output (at time ``t0 + k / fps``) takes the source frame nearest to it.
  Times are exact fractions, so equal rates map frame to frame, and variable
  frame rates and millisecond time bases (WebM) neither drop nor double frames
  through rounding.
* **Fitting** happens per frame while decoding (FFmpeg's area scaler, then a
  centre crop or a centred black pad), so a long video costs memory only at
  the clip size, and frames that no slot needs are never converted.
* **Start frames** are reported in the source's own numbering (frame ``n`` at
  ``n / source fps`` from the start of the file), so a clip can be found in
  the original video whatever the clip rate.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from schemas.config import ClipFormat, VideoSampling

# Fewer packets than this share of the frames a container lists means the
# file was cut short. Packets, not frames: XviD's placeholders for dropped
# frames (common in UCF-101 and HMDB-51) are packets that decode to nothing.
_MIN_DECODED_SHARE = 0.98
# Containers that list no frame count (Matroska, WebM) state a duration that
# may include a longer audio track; this much shortfall is forgiven.
_DURATION_SLACK_S = 1
# 30000/1001 needs a denominator of 1001, as in the encoder (pipelines.media.video_io).
_MAX_FPS_DENOMINATOR = 1001


class VideoRejected(ValueError):
    """A video that gives no clips; the message says why, for the quarantine report."""


@dataclass
class ResampledVideo:
    """Frames at the clip rate, fitted to the square, and the source frame number of each."""

    frames: list[np.ndarray] = field(default_factory=list)
    source_frames: list[int] = field(default_factory=list)
    decoded: int = 0
    packets: int = 0

    def demux(self, container: av.container.InputContainer, stream: av.video.VideoStream):
        """Decoded frames of ``stream`` in presentation order, counting packets and frames on the way."""
        for packet in container.demux(stream):
            self.packets += packet.size > 0  # the demuxer ends with an empty flush packet
            for frame in packet.decode():
                self.decoded += 1
                yield frame


class _Fitter:
    """Scales a decoded frame so it covers (crop) or fits inside (pad) a ``size`` square, as RGB.

    One reformatter serves every frame of a video: it keeps FFmpeg's scaler
    set up between frames, where ``VideoFrame.reformat`` would build a new one
    per frame (four times slower on UCF-101-sized frames).
    """

    def __init__(self, size: int, fit: str):
        self.size = size
        self.fit = fit
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        w, h = frame.width, frame.height
        scale = self.size / (min(w, h) if self.fit == "crop" else max(w, h))
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        if self.fit == "crop":
            sw, sh = max(sw, self.size), max(sh, self.size)
        else:
            sw, sh = min(sw, self.size), min(sh, self.size)
        rgb = self.reformatter.reformat(frame, width=sw, height=sh, format="rgb24", interpolation="AREA").to_ndarray()
        if self.fit == "crop":
            top, left = (sh - self.size) // 2, (sw - self.size) // 2
            return np.ascontiguousarray(rgb[top : top + self.size, left : left + self.size])
        out = np.zeros((self.size, self.size, 3), np.uint8)
        top, left = (self.size - sh) // 2, (self.size - sw) // 2
        out[top : top + sh, left : left + sw] = rgb
        return out


def _open(path: str) -> av.container.InputContainer:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise VideoRejected(f"cannot read the file: {exc.strerror or exc}") from exc
    if size == 0:
        raise VideoRejected("empty file (0 bytes)")
    try:
        container = av.open(path, mode="r")
    except av.FFmpegError as exc:
        raise VideoRejected(f"not a readable video file: {exc}") from exc
    if not container.streams.video:
        container.close()
        raise VideoRejected("the file has no video stream")
    if container.streams.video[0].codec_context is None:
        container.close()
        raise VideoRejected("unreadable codec: no decoder for its video stream")
    return container


def resample(path: str, fps: float, size: int, fit: str, time_range: tuple[float, float] | None = None) -> ResampledVideo:
    """Decode ``path`` (or the ``time_range`` seconds of it) at ``fps`` frames per second, fitted to ``size``."""
    step = 1 / Fraction(fps).limit_denominator(_MAX_FPS_DENOMINATOR)
    fitter = _Fitter(size, fit)
    out = ResampledVideo()
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise VideoRejected("the video stream states no frame rate")
        tb = stream.time_base
        origin = Fraction(stream.start_time or 0) * tb
        t_next = t_end = None
        if time_range is not None:
            t_next, t_end = origin + Fraction(time_range[0]), origin + Fraction(time_range[1])
            if time_range[0] > 0:
                container.seek(int(t_next / tb), stream=stream, backward=True)
        prev = prev_rgb = prev_t = None

        def emit() -> None:
            nonlocal prev_rgb, t_next
            if prev_rgb is None:
                prev_rgb = fitter(prev)
            out.frames.append(prev_rgb)
            out.source_frames.append(round((prev_t - origin) * rate))
            t_next += step

        try:
            for i, frame in enumerate(out.demux(container, stream)):
                t = Fraction(frame.pts) * tb if frame.pts is not None else origin + i / Fraction(rate)
                if t_next is None:
                    t_next = t
                if prev is not None:
                    # Slots before the midpoint of two frames are nearer the earlier one.
                    while t_next < (prev_t + t) / 2 and (t_end is None or t_next < t_end):
                        emit()
                prev, prev_rgb, prev_t = frame, None, t
                if t_end is not None and t >= t_end:
                    break
            if prev is not None:
                # Slots up to half a source frame after the last frame are nearest to it.
                last = prev_t + 1 / Fraction(rate) / 2
                while t_next <= last and (t_end is None or t_next < t_end):
                    emit()
        except av.FFmpegError as exc:
            raise VideoRejected(f"truncated or corrupt: decoding failed after {out.decoded} frames: {exc}") from exc
        if time_range is None and prev is not None:
            _check_complete(out.packets, stream.frames, prev_t + 1 / Fraction(rate) - origin, container.duration)
    if not out.frames:
        where = "" if time_range is None else f" between {time_range[0]} s and {time_range[1]} s"
        raise VideoRejected(f"no decodable frames{where}")
    return out


def _check_complete(packets: int, listed: int, covered: Fraction, duration_us: int | None) -> None:
    """Reject a file that decoded cleanly but stopped short of what its container promises."""
    if listed and packets < listed * _MIN_DECODED_SHARE:
        raise VideoRejected(f"truncated or corrupt: read {packets} of the {listed} frames its container lists")
    stated = Fraction(duration_us, 1_000_000) if duration_us else None
    if not listed and stated and covered + _DURATION_SLACK_S < stated * _MIN_DECODED_SHARE:
        raise VideoRejected(f"truncated or corrupt: decoded {float(covered):.2f} s of the {float(stated):.2f} s "
                            "its container states")


def clip_starts(n: int, span: int, count: int, mode: str, seed: int) -> list[int]:
    """First slots of ``count`` clips of ``span`` slots in a video of ``n``: segment centres, or seeded draws."""
    room = n - span + 1
    if mode == "uniform":
        return [(2 * i + 1) * room // (2 * count) for i in range(count)]
    return sorted(np.random.default_rng(seed).integers(0, room, size=count).tolist())


def cut_clips(
    path: str, clip: ClipFormat, sampling: VideoSampling, seed: int, time_range: tuple[float, float] | None = None
) -> list[tuple[np.ndarray, int]]:
    """``sampling.clips_per_video`` clips of ``path`` as ``(uint8 (T, S, S, 3), source start frame)`` pairs."""
    video = resample(path, clip.fps, clip.size, sampling.fit, time_range)
    frames, numbers = video.frames, video.source_frames
    span = (clip.frames - 1) * sampling.stride + 1
    if len(frames) < span:
        if sampling.short_video == "skip":
            raise VideoRejected(
                f"shorter than one clip: {len(frames)} frames at {clip.fps:g} fps, a clip spans {span}"
            )
        # Looped just long enough for one clip, so every clip starts where the video does.
        repeats = math.ceil(span / len(frames))
        frames, numbers = (frames * repeats)[:span], (numbers * repeats)[:span]
    clips = []
    for start in clip_starts(len(frames), span, sampling.clips_per_video, sampling.mode, seed):
        picked = range(start, start + span, sampling.stride)
        clips.append((np.stack([frames[i] for i in picked]), numbers[start]))
    return clips


def sample_frames(path: str, size: int, count: int) -> np.ndarray:
    """About ``count`` frames spread evenly over the video at ``path``, each fitted to a ``size`` square (crop).

    Frames are fitted as they are decoded, so a long, large video costs memory for
    ``count`` small frames only. Raises :class:`VideoRejected` for an unreadable file.
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    fit = _Fitter(size, "crop")
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        step = max(1, (stream.frames or 0) // count)
        try:
            frames = [fit(frame) for i, frame in enumerate(container.decode(stream)) if i % step == 0]
        except av.FFmpegError as exc:
            raise VideoRejected(f"cannot decode: {exc}") from exc
    if not frames:
        raise VideoRejected("no decodable frames")
    keep = np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int)
    return np.stack([frames[i] for i in keep])
