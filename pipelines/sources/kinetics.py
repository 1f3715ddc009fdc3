"""Kinetics-style datasets: an annotation CSV and videos named by YouTube id (and time range).

The CSV has the header ``label,youtube_id,time_start,time_end,split``. The
downloaders in common use write each annotated segment as
``<youtube_id>_<time_start:06d>_<time_end:06d>.mp4``, under ``<split>/<label>/``,
``<label>/`` or flat; such a file already is the segment. A file named by the id
alone is the whole video, and the segment is cut from it at the CSV's times.
Labels are sorted to fix the label order; they may contain spaces, which never
reach a clip key (keys are built from label numbers).
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path

from pipelines.sources.listing import LayoutError, Listing, QuarantineEntry, VideoItem, is_video, require_dir, select_classes
from schemas.config import KineticsSource

COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")
EXPECTED = (
    "a Kinetics-style CSV with the header label,youtube_id,time_start,time_end,split, and videos under root named "
    "<youtube_id>_<time_start:06d>_<time_end:06d>.<ext> (or <youtube_id>.<ext>), in <split>/<label>/, <label>/ or flat"
)
_SPLITS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
           "validation": "val", "test": "test", "testing": "test"}


def inputs(source: KineticsSource) -> list[Path]:
    """The CSV and the videos folder, for the ingest cache's fingerprint."""
    return [Path(source.csv).expanduser(), Path(source.root).expanduser()]


def _videos_by_stem(root: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = defaultdict(list)
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if is_video(name):
                found[os.path.splitext(name)[0]].append(Path(folder) / name)
    return found


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise LayoutError(f"Kinetics CSV {path} does not exist; expected {EXPECTED}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise LayoutError(f"{path} lacks the columns {missing} (its header: {reader.fieldnames}); expected {EXPECTED}")
            return [{k: (v or "").strip() for k, v in row.items() if k in COLUMNS} for row in reader]
    except UnicodeDecodeError as exc:
        raise LayoutError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); expected {EXPECTED}") from exc


def _pick(paths: list[Path], label: str) -> Path:
    """Among files of one name, the one filed under its label, else the first."""
    return next((p for p in paths if p.parent.name == label), paths[0])


def list_videos(source: KineticsSource) -> Listing:
    rows = _read_rows(Path(source.csv).expanduser())
    root = require_dir(Path(source.root).expanduser(), "Kinetics videos root", EXPECTED)
    videos = _videos_by_stem(root)
    if not videos:
        raise LayoutError(f"no video files under {root}; expected {EXPECTED}")
    all_classes = sorted({r["label"] for r in rows if r["label"]})
    if not all_classes:
        raise LayoutError(f"{source.csv} has no labelled rows; expected {EXPECTED}")
    classes = select_classes(all_classes, source.classes, f"Kinetics CSV {source.csv}")

    items, quarantined = [], []
    for row in rows:
        label_name, yid = row["label"], row["youtube_id"]
        if label_name not in classes:
            continue
        try:
            start, end = float(row["time_start"]), float(row["time_end"])
        except ValueError:
            quarantined.append(QuarantineEntry(str(root / yid), f"time range {row['time_start']!r}-{row['time_end']!r} is not numeric"))
            continue
        segment = f"{yid}_{int(start):06d}_{int(end):06d}"
        split = _SPLITS.get(row["split"].lower())
        if split is None or end <= start:
            problem = f"unknown split {row['split']!r}" if split is None else f"empty time range {start}-{end}"
            quarantined.append(QuarantineEntry(str(root / segment), problem))
            continue
        if segment in videos:
            path, time_range = _pick(videos[segment], label_name), None
        elif yid in videos:
            path, time_range = _pick(videos[yid], label_name), (start, end)
        else:
            quarantined.append(QuarantineEntry(str(root / segment), f"no video named {segment}.* or {yid}.* under {root}"))
            continue
        rel = path.relative_to(root).as_posix()
        items.append(VideoItem(str(path), rel, classes.index(label_name), label_name, split, time_range))
    # A segment listed twice (the CSVs of different releases overlap) is ingested once.
    unique = {(v.label, v.source_path, v.time_range or (0.0, 0.0)): v for v in items}
    return Listing(classes, [unique[k] for k in sorted(unique)], quarantined)
