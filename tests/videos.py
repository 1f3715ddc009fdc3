"""Tiny real video datasets written with PyAV on the fly, in the layouts of the real releases.

Every frame is a flat colour that encodes the frame's number in red (low four
bits) and blue (high bits), and the class in green, coarsely enough to survive
lossy coding, so a test can tell from decoded pixels which source frame and
which class a clip came from.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

_STEP = 16
_GREEN_STEP = 60


def frame_pixels(n: int, cls: int, height: int, width: int) -> np.ndarray:
    frame = np.empty((height, width, 3), np.uint8)
    frame[..., 0] = _STEP * (n % 16) + 8
    frame[..., 1] = (_GREEN_STEP * cls + 20) % 256
    frame[..., 2] = _STEP * (n // 16) + 8
    return frame


def write_video(path: Path, frames: int, cls: int = 0, fps: int = 25, width: int = 64, height: int = 48,
                title: str | None = None) -> Path:
    """MPEG-4 part 2 tagged XVID in ``.avi`` (as UCF-101 and HMDB-51 ship), VP8 in ``.webm``, H.264 otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = {".avi": "mpeg4", ".webm": "libvpx"}.get(path.suffix, "libx264")
    with av.open(str(path), "w") as container:
        if title is not None:
            container.metadata["title"] = title
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "mpeg4":
            stream.codec_tag = "XVID"
            stream.codec_context.options = {"qmin": "1", "qmax": "2"}  # flat colours survive to within 3 levels
        elif codec == "libvpx":
            stream.codec_context.options = {"crf": "4", "b": "2M"}
        for n in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame_pixels(n, cls, height, width), format="rgb24")))
        container.mux(stream.encode(None))
    return path


def truncate(path: Path, share: float = 0.8) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])
    return path


def unknown_codec(path: Path) -> Path:
    """An AVI whose codec tag no decoder knows: the container opens, the video cannot be decoded."""
    path.write_bytes(path.read_bytes().replace(b"XVID", b"ZZZZ"))
    return path


def garbage(path: Path, size: int = 4096) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())
    return path


def _crlf(lines: list[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode()


def ucf_file_class(name: str) -> str:
    """The class part of the release's file names; one class is spelt differently from its folder."""
    return "HandStandPushups" if name == "HandstandPushups" else name


def write_ucf101(root: Path, classes: list[str], groups=(1, 8), clips=(1,), frames: int = 40) -> Path:
    """``root/UCF-101/<Class>/v_<Class>_gNN_cNN.avi`` and ``root/ucfTrainTestlist`` as the release has them.

    Groups 7k-6..7k are the test set of split k. Returns the folder of class folders.
    """
    videos = root / "UCF-101"
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "classInd.txt").write_bytes(_crlf([f"{i + 1} {c}" for i, c in enumerate(classes)]))
    names = {}
    for label, cls in enumerate(classes):
        for g in groups:
            for c in clips:
                rel = f"{cls}/v_{ucf_file_class(cls)}_g{g:02d}_c{c:02d}.avi"
                write_video(videos / rel, frames, label)
                names[rel] = g
    for k in (1, 2, 3):
        test_groups = range(7 * k - 6, 7 * k + 1)
        train = [f"{rel} {classes.index(rel.split('/')[0]) + 1}" for rel, g in names.items() if g not in test_groups]
        test = [rel for rel, g in names.items() if g in test_groups]
        (lists / f"trainlist{k:02d}.txt").write_bytes(_crlf(train))
        (lists / f"testlist{k:02d}.txt").write_bytes(_crlf(test))
    return videos


def append_to_list(path: Path, line: str) -> None:
    path.write_bytes(path.read_bytes() + _crlf([line]))


def write_hmdb51(root: Path, classes: dict[str, dict[str, int]], frames: int = 30) -> Path:
    """``root/hmdb51/<class>/<video>.avi`` and ``root/testTrainMulti_7030_splits/<class>_test_split<k>.txt``.

    ``classes`` maps a class to ``{video name: split flag}`` (1 train, 2 test, 0 unused) for every split.
    """
    videos = root / "hmdb51"
    splits = root / "testTrainMulti_7030_splits"
    splits.mkdir(parents=True, exist_ok=True)
    for label, (cls, flags) in enumerate(sorted(classes.items())):
        for name in flags:
            write_video(videos / cls / name, frames, label, fps=30)
        for k in (1, 2, 3):
            (splits / f"{cls}_test_split{k}.txt").write_text("".join(f"{n} {f} \n" for n, f in flags.items()))
    return videos


def write_kinetics(root: Path, rows: list[tuple[str, str, int, int, str]], full: set[str] = frozenset(), fps: int = 10) -> tuple[Path, Path]:
    """A Kinetics CSV and its videos: segments as ``<split>/<label>/<id>_<start>_<end>.mp4``, ids in ``full`` as whole videos.

    A whole video lasts until its segment's end plus a second, so the segment must be cut from it.
    """
    videos = root / "videos"
    labels = sorted({r[0] for r in rows})
    lines = ["label,youtube_id,time_start,time_end,split"]
    for label, yid, start, end, split in rows:
        lines.append(f"{label},{yid},{start},{end},{split}")
        cls = labels.index(label)
        if yid in full:
            write_video(videos / f"{yid}.mp4", (end + 1) * fps, cls, fps=fps)
        else:
            write_video(videos / split / label / f"{yid}_{start:06d}_{end:06d}.mp4", (end - start) * fps, cls, fps=fps)
    csv = root / "kinetics.csv"
    csv.write_text("\n".join(lines) + "\n")
    return csv, videos


def write_class_folders(root: Path, classes: dict[str, int], frames: int = 20, ext: str = ".mp4") -> Path:
    for label, (cls, n) in enumerate(sorted(classes.items())):
        for i in range(n):
            write_video(root / cls / f"clip{i:02d}{ext}", frames, label)
    return root


def frame_numbers(video: np.ndarray) -> list[int]:
    """The source frame number each decoded frame shows (inverse of :func:`frame_pixels`)."""
    means = video.reshape(len(video), -1, 3).mean(axis=1)
    low = np.rint((means[:, 0] - 8) / _STEP).astype(int)
    high = np.rint((means[:, 2] - 8) / _STEP).astype(int)
    return (high * 16 + low).tolist()


def frame_class(video: np.ndarray) -> int:
    return int(np.rint((video[..., 1].mean() - 20) / _GREEN_STEP))
