"""Surveillance labels in the formats detector and tracker training reads: MOTChallenge and COCO-style video.

Written per version into ``exports/`` (paths in :mod:`schemas.layout`), from the
index's ``actors`` column, for every clip that has actors:

* **MOTChallenge** (``exports/mot/<key>/``): ``seqinfo.ini``, ``img1/000001.jpg``...
  (the clip's decoded frames) and ``gt/gt.txt`` with one line per actor and
  frame in which it has a box: ``frame, id, bb_left, bb_top, bb_width,
  bb_height, conf, class, visibility``. Frames count from 1 and box corners are
  1-based, as in the MOT17 ground truth; ``conf`` is 1 (the box counts), class
  1 (pedestrian) and visibility the actor's visible share. Frames where an actor
  is wholly off-frame have no line.
* **COCO-style video JSON** (``exports/coco-video.json``), as used by TAO,
  YouTube-VIS-style and OVIS-style loaders: ``videos``, ``images`` (one per
  frame, with ``video_id`` and ``frame_id`` counted from 0, pointing at the MOT
  frame files), ``annotations`` (``bbox`` as 0-based ``[x, y, w, h]``,
  ``track_id`` unique over the whole file, the clip's own ``clip_track_id``,
  ``category_id`` the actor's action, ``visibility``, event span) and
  ``categories`` (one per action class, ids from 1).
"""

from __future__ import annotations

import configparser
import io
import json
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from pipelines.dataset.index_io import read_index
from pipelines.dataset.reader import ClipDataset
from schemas.atomic import atomic_open
from schemas.layout import COCO_VIDEO, INDEX, mot_sequence

MOT_PEDESTRIAN = 1


@dataclass
class ExportReport:
    clips: int
    tracks: int
    boxes: int
    coco_path: Path | None
    mot_dir: Path | None


def write_exports(version_dir: str | Path, class_names: list[str], jpeg_quality: int = 95) -> ExportReport:
    """Write the MOTChallenge sequences and the COCO-style video JSON of the version at ``version_dir``.

    Clips without actors (an index of an older schema, or plain clips) are left
    out; a version without any actor gets no exports and a report of zero clips.
    """
    root = Path(version_dir)
    rows = [r for r in read_index(root / INDEX).to_pylist() if r.get("actors")]
    if not rows:
        return ExportReport(0, 0, 0, None, None)
    data = ClipDataset(root)
    position = {key: i for i, key in enumerate(r["key"] for r in data.rows)}
    coco = {
        "info": {"description": f"{root.name}: per-actor boxes and tracks", "version": root.name},
        "videos": [], "images": [], "annotations": [],
        "categories": [{"id": i + 1, "name": name, "supercategory": "person"} for i, name in enumerate(class_names)],
    }  # fmt: skip
    tracks = boxes = 0
    for video_id, row in enumerate(rows, start=1):
        key, frames, h, w = row["key"], row["frames"], row["height"], row["width"]
        seq = root / mot_sequence(key)
        video = data.video(position[key])
        _write_frames(seq, video, jpeg_quality)
        _write_seqinfo(seq, key, row)
        coco["videos"].append({"id": video_id, "name": key, "width": w, "height": h, "length": frames,
                               "fps": row["fps"], "label_name": row["label_name"], "scene": row.get("scene")})
        first_image = len(coco["images"]) + 1
        for t in range(frames):
            coco["images"].append({"id": first_image + t, "video_id": video_id, "frame_id": t, "width": w, "height": h,
                                   "file_name": f"{mot_sequence(key)}/img1/{t + 1:06d}.jpg"})
        lines = []
        for actor in row["actors"]:
            tracks += 1
            for t, (box, vis) in enumerate(zip(actor["boxes"], actor["visibility"])):
                if box is None:
                    continue
                x0, y0, x1, y1 = box
                lines.append(f"{t + 1},{actor['track_id']},{x0 + 1:.2f},{y0 + 1:.2f},{x1 - x0:.2f},{y1 - y0:.2f},"
                             f"1,{MOT_PEDESTRIAN},{vis:.4f}")
                coco["annotations"].append({
                    "id": len(coco["annotations"]) + 1, "image_id": first_image + t, "video_id": video_id,
                    "track_id": tracks, "clip_track_id": actor["track_id"], "category_id": actor["label"] + 1,
                    "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0,
                    "visibility": vis, "event_start": actor["event_start"], "event_end": actor["event_end"],
                })  # fmt: skip
                boxes += 1
        lines.sort(key=lambda s: tuple(int(v) for v in s.split(",")[:2]))  # by frame, then track, as MOT files are
        with atomic_open(seq / "gt" / "gt.txt", "w") as f:
            f.write("".join(line + "\n" for line in lines))
    with atomic_open(root / COCO_VIDEO, "w") as f:
        json.dump(coco, f)
    return ExportReport(len(rows), tracks, boxes, root / COCO_VIDEO, root / mot_sequence(""))


def _write_seqinfo(seq: Path, key: str, row: dict) -> None:
    ini = configparser.ConfigParser()
    ini.optionxform = str  # MOTChallenge keys are camelCase
    ini["Sequence"] = {"name": key, "imDir": "img1", "frameRate": f"{row['fps']:g}", "seqLength": str(row["frames"]),
                       "imWidth": str(row["width"]), "imHeight": str(row["height"]), "imExt": ".jpg"}
    buffer = io.StringIO()
    ini.write(buffer, space_around_delimiters=False)
    with atomic_open(seq / "seqinfo.ini", "w") as f:
        f.write(buffer.getvalue())


def _write_frames(seq: Path, video, quality: int) -> None:
    for t, frame in enumerate(video):
        with atomic_open(seq / "img1" / f"{t + 1:06d}.jpg") as f:
            Image.fromarray(frame).save(f, format="JPEG", quality=quality)
