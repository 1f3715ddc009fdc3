"""Cutting clips out of one real video: resampling, clip starts, fitting, and a reason for every bad file."""

import numpy as np
import pytest

from pipelines.media.video_clips import VideoRejected, clip_starts, cut_clips, resample
from schemas.config import ClipFormat, VideoSampling
from tests.videos import frame_class, frame_numbers, garbage, truncate, unknown_codec, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    return {
        "avi25": write_video(d / "a.avi", 40, cls=2, fps=25),
        "mp4_30": write_video(d / "b.mp4", 45, cls=1, fps=30),
        "webm30": write_video(d / "c.webm", 30, cls=3, fps=30),
        "short": write_video(d / "short.avi", 10, fps=25),
        "truncated": truncate(write_video(d / "t.avi", 40, fps=25)),
        "truncated_mkv": truncate(write_video(d / "t.mkv", 100, fps=25), 0.5),  # Matroska lists no frame count
        "codec": unknown_codec(write_video(d / "u.avi", 20, fps=25)),
        "garbage": garbage(d / "g.avi"),
        "empty": d / "e.avi",
    }


@pytest.mark.parametrize("name, fps, expected", [
    ("avi25", 25, list(range(40))),
    ("avi25", 12.5, list(range(0, 40, 2))),
    ("mp4_30", 10, list(range(0, 45, 3))),
    ("webm30", 30, list(range(30))),  # millisecond timestamps: no frame doubled or dropped
    ("webm30", 15, list(range(0, 30, 2))),
])
def test_resampling_takes_the_nearest_source_frame(videos, name, fps, expected):
    video = resample(str(videos[name]), fps, 32, "crop")
    assert video.source_frames == expected
    assert frame_numbers(np.stack(video.frames)) == expected


def test_clips_have_the_format_the_label_colour_and_their_start_frame(videos):
    clip = ClipFormat(frames=8, size=32, fps=12.5)
    clips = cut_clips(str(videos["avi25"]), clip, VideoSampling(clips_per_video=3), seed=0)
    starts = [start for _, start in clips]
    assert starts == sorted(starts) and starts[0] >= 0 and starts[-1] + 14 <= 39 and len(set(starts)) == 3
    for video, start in clips:
        assert video.shape == (8, 32, 32, 3) and video.dtype == np.uint8
        assert frame_numbers(video) == [start + 2 * k for k in range(8)]
        assert frame_class(video) == 2


def test_stride_and_random_starts_are_seeded(videos):
    clip = ClipFormat(frames=8, size=32, fps=25)
    sampling = VideoSampling(clips_per_video=4, mode="random", stride=3, seed=0)
    first = cut_clips(str(videos["avi25"]), clip, sampling, seed=11)
    again = cut_clips(str(videos["avi25"]), clip, sampling, seed=11)
    assert [s for _, s in first] == [s for _, s in again]
    assert any([s for _, s in cut_clips(str(videos["avi25"]), clip, sampling, seed=s)] != [s for _, s in first]
               for s in range(12, 16))
    for video, start in first:
        assert frame_numbers(video) == [start + 3 * k for k in range(8)] and start + 21 <= 39


def test_uniform_starts_are_segment_centres():
    assert clip_starts(n=40, span=8, count=1, mode="uniform", seed=0) == [16]
    assert clip_starts(n=40, span=8, count=3, mode="uniform", seed=0) == [5, 16, 27]
    assert clip_starts(n=8, span=8, count=2, mode="uniform", seed=0) == [0, 0]


def test_crop_fills_the_square_and_pad_keeps_the_whole_frame(videos):
    cropped = resample(str(videos["avi25"]), 25, 32, "crop").frames[0]
    padded = resample(str(videos["avi25"]), 25, 32, "pad").frames[0]
    assert cropped.shape == padded.shape == (32, 32, 3)
    assert cropped.min() > 0  # a 64x48 frame scaled to 43x32 and cropped: no border
    rows = padded.max(axis=(1, 2))
    assert (rows[:4] == 0).all() and (rows[-4:] == 0).all() and (rows[4:-4] > 0).all()  # 64x48 -> 32x24, padded


def test_a_short_video_is_rejected_or_looped(videos):
    clip = ClipFormat(frames=8, size=32, fps=12.5)  # 10 frames at 25 fps give 5
    with pytest.raises(VideoRejected, match="shorter than one clip: 5 frames at 12.5 fps, a clip spans 8"):
        cut_clips(str(videos["short"]), clip, VideoSampling(), seed=0)
    looped = cut_clips(str(videos["short"]), clip, VideoSampling(short_video="loop", clips_per_video=2), seed=0)
    assert [(frame_numbers(video), start) for video, start in looped] == [([0, 2, 4, 6, 8, 0, 2, 4], 0)] * 2


@pytest.mark.parametrize("name, reason", [
    ("empty", "empty file"),
    ("truncated", "truncated or corrupt"),
    ("truncated_mkv", r"truncated or corrupt: decoded .* s of the 4.00 s its container states"),
    ("codec", "unreadable codec"),
    ("garbage", "not a readable video file"),
    ("missing", "cannot read the file"),
])
def test_bad_files_are_rejected_with_a_reason(videos, name, reason):
    path = videos.get(name, videos["avi25"].with_name("missing.avi"))
    if name == "empty":
        path.write_bytes(b"")
    with pytest.raises(VideoRejected, match=reason):
        cut_clips(str(path), ClipFormat(frames=8, size=32, fps=25), VideoSampling(), seed=0)


def test_a_time_range_cuts_the_segment_out_of_a_whole_video(tmp_path):
    whole = write_video(tmp_path / "whole.mp4", 60, cls=1, fps=10)  # 6 s
    video = resample(str(whole), 10, 32, "crop", time_range=(2.0, 4.0))
    assert video.source_frames == list(range(20, 40))
    assert frame_numbers(np.stack(video.frames)) == list(range(20, 40))
    with pytest.raises(VideoRejected, match="no decodable frames between 7.0 s and 9.0 s"):
        resample(str(whole), 10, 32, "crop", time_range=(7.0, 9.0))
