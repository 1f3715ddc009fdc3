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
* **Two passes, bounded memory.** The first pass decodes and keeps only
  times: which decoded frame fills each slot (a few integers per slot). Clip
  starts need the slot count, so only then are they picked; the second pass
  decodes again up to the last frame a clip uses and keeps just those,
  fitted. Memory therefore follows the clips being cut, not the video's
  length (a 600 s source costs what a 60 s one does: docs/performance.md).
* **Fitting** happens per frame while decoding (FFmpeg's area scaler, then a
  centre crop or a centred black pad), and frames that no clip needs are
  never converted.
* **Start frames** are reported in the source's own numbering (frame ``n`` at
  ``n / source fps`` from the start of the file), so a clip can be found in
  the original video whatever the clip rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from pipelines.media.video_io import MAX_FPS_DENOMINATOR, VideoDecodeError, open_video
from schemas.config import ClipFormat, VideoSampling

# Fewer packets than this share of the frames a container lists means the
# file was cut short. Packets, not frames: XviD's placeholders for dropped
# frames (common in UCF-101 and HMDB-51) are packets that decode to nothing.
_MIN_DECODED_SHARE = 0.98
# Containers that list no frame count (Matroska, WebM) state a duration that
# may include a longer audio track; this much shortfall is forgiven.
_DURATION_SLACK_S = 1


class VideoRejected(ValueError):
    """A video that gives no clips; the message says why, for the quarantine report."""


@dataclass
class SlotPlan:
    """Which decoded frame fills each slot at the clip rate, and its source frame number; no pixels."""

    ordinals: list[int] = field(default_factory=list)
    """Per slot, the position of its frame among the decoded frames (from the start, or the seek point)."""
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


@dataclass
class ResampledVideo:
    """Frames at the clip rate, fitted to the square, and the source frame number of each."""

    frames: list[np.ndarray]
    source_frames: list[int]


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
    """:func:`~pipelines.media.video_io.open_video`, its failures turned into quarantine reasons."""
    try:
        return open_video(path)
    except OSError as exc:
        raise VideoRejected(f"cannot read the file: {exc.strerror or exc}") from exc
    except VideoDecodeError as exc:
        raise VideoRejected(exc.reason) from exc


def _seek(container: av.container.InputContainer, stream, time_range) -> tuple[Fraction, Fraction | None, Fraction | None]:
    """Origin of the stream's clock, and the start and end of ``time_range`` on it (seeked to); one rule for both passes."""
    tb = stream.time_base
    origin = Fraction(stream.start_time or 0) * tb
    if time_range is None:
        return origin, None, None
    start, end = origin + Fraction(time_range[0]), origin + Fraction(time_range[1])
    if time_range[0] > 0:
        container.seek(int(start / tb), stream=stream, backward=True)
    return origin, start, end


_DECODE_ERRORS = (av.FFmpegError, UnicodeDecodeError, OverflowError)


def plan_slots(path: str, fps: float, time_range: tuple[float, float] | None = None) -> SlotPlan:
    """The first pass: decode ``path`` (or ``time_range`` seconds of it) and map each slot at ``fps`` to a decoded frame."""
    step = 1 / Fraction(fps).limit_denominator(MAX_FPS_DENOMINATOR)
    out = SlotPlan()
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            raise VideoRejected("the video stream states no frame rate")
        tb = stream.time_base
        origin, t_next, t_end = _seek(container, stream, time_range)
        prev = prev_t = None

        def emit() -> None:
            nonlocal t_next
            out.ordinals.append(prev)
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
                prev, prev_t = i, t
                if t_end is not None and t >= t_end:
                    break
            if prev is not None:
                # Slots up to half a source frame after the last frame are nearest to it.
                last = prev_t + 1 / Fraction(rate) / 2
                while t_next <= last and (t_end is None or t_next < t_end):
                    emit()
        except _DECODE_ERRORS as exc:
            raise VideoRejected(f"truncated or corrupt: decoding failed after {out.decoded} frames: {exc}") from exc
        if time_range is None and prev is not None:
            _check_complete(out.packets, stream.frames, prev_t + 1 / Fraction(rate) - origin, container.duration)
    if not out.ordinals:
        where = "" if time_range is None else f" between {time_range[0]} s and {time_range[1]} s"
        raise VideoRejected(f"no decodable frames{where}")
    return out


def fetch_frames(path: str, ordinals: set[int], size: int, fit: str,
                 time_range: tuple[float, float] | None = None) -> dict[int, np.ndarray]:
    """The second pass: the decoded frames at ``ordinals`` (as :func:`plan_slots` numbered them), fitted to ``size``.

    Decoding stops after the last one wanted; nothing else is converted or kept.
    """
    fitter = _Fitter(size, fit)
    frames: dict[int, np.ndarray] = {}
    last = max(ordinals, default=-1)
    i = -1
    with _open(path) as container:
        stream = container.streams.video[0]
        _seek(container, stream, time_range)
        try:
            for i, frame in enumerate(SlotPlan().demux(container, stream)):
                if i in ordinals:
                    frames[i] = fitter(frame)
                if i >= last:
                    break
        except _DECODE_ERRORS as exc:
            raise VideoRejected(f"truncated or corrupt: decoding failed on the second pass after {i + 1} frames: {exc}") from exc
    if len(frames) != len(ordinals):
        raise VideoRejected(f"decoded {len(frames)} of the {len(ordinals)} frames the first pass found")
    return frames


def resample(path: str, fps: float, size: int, fit: str, time_range: tuple[float, float] | None = None) -> ResampledVideo:
    """Every slot of ``path`` (or the ``time_range`` seconds of it) at ``fps``, fitted to ``size``.

    Holds the whole resampled video: for looking at one. Cutting clips goes
    through :func:`cut_clips`, which holds only the clips' frames.
    """
    plan = plan_slots(path, fps, time_range)
    frames = fetch_frames(path, set(plan.ordinals), size, fit, time_range)
    return ResampledVideo([frames[o] for o in plan.ordinals], plan.source_frames)


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
    plan = plan_slots(path, clip.fps, time_range)
    slots = list(range(len(plan.ordinals)))
    span = (clip.frames - 1) * sampling.stride + 1
    if len(slots) < span:
        if sampling.short_video == "skip":
            raise VideoRejected(
                f"shorter than one clip: {len(slots)} frames at {clip.fps:g} fps, a clip spans {span}"
            )
        # Looped just long enough for one clip, so every clip starts where the video does.
        slots = (slots * math.ceil(span / len(slots)))[:span]
    picks = [[slots[i] for i in range(start, start + span, sampling.stride)]
             for start in clip_starts(len(slots), span, sampling.clips_per_video, sampling.mode, seed)]
    frames = fetch_frames(path, {plan.ordinals[s] for p in picks for s in p}, clip.size, sampling.fit, time_range)
    return [(np.stack([frames[plan.ordinals[s]] for s in p]), plan.source_frames[p[0]]) for p in picks]


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
