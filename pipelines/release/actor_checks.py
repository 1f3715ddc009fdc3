"""Per-clip facts about the ``actors`` column that the Great Expectations suite checks.

GX checks columns of scalars, and ``actors`` is a list of structs per clip, so
the index suite validates these derived columns instead (one row per clip,
null where a clip has no actors). Each names one promise of the labels:

* ``actor_count``: how many actors the clip has;
* ``actor_boxes_inside``: every box has four values, lies inside the frame and is not empty, and
  every actor has one box slot and one visibility per frame;
* ``actor_track_ids_unique``: no two actors of the clip share a track id;
* ``actor_spans_inside``: each event span is null or ``0 <= start <= end < frames``;
* ``actor_visibility_valid``: visibilities lie in [0, 1], and are 0 where there is no box.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.expectations import ACTOR_CHECK_COLUMNS
from schemas.manifest import QualityFigure



def actor_check_columns(table: pa.Table) -> dict[str, list]:
    """The derived columns of :data:`ACTOR_CHECK_COLUMNS` for every row of an index table."""
    columns = ["actors", "frames", "height", "width"]
    if "actors" not in table.column_names:
        return {name: [None] * table.num_rows for name in ACTOR_CHECK_COLUMNS}
    out: dict[str, list] = {name: [] for name in ACTOR_CHECK_COLUMNS}
    for row in table.select(columns).to_pylist():
        facts = _facts(row["actors"], row["frames"], row["height"], row["width"])
        for name in ACTOR_CHECK_COLUMNS:
            out[name].append(facts[name] if facts else None)
    return out


def _facts(actors: list[dict] | None, frames: int, height: int, width: int) -> dict | None:
    if not actors:
        return None
    boxes_inside = spans_inside = visibility_valid = True
    for a in actors:
        if len(a["boxes"]) != frames or len(a["visibility"]) != frames:
            boxes_inside = visibility_valid = False
            continue
        for box, vis in zip(a["boxes"], a["visibility"]):
            if box is not None:
                boxes_inside &= len(box) == 4 and 0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height
            visibility_valid &= vis is not None and 0 <= vis <= 1 and (box is not None or vis == 0)
        start, end = a["event_start"], a["event_end"]
        spans_inside &= (start is None and end is None) or (
            start is not None and end is not None and 0 <= start <= end < frames)
    ids = [a["track_id"] for a in actors]
    return {
        "actor_count": len(actors),
        "actor_boxes_inside": boxes_inside,
        "actor_track_ids_unique": len(set(ids)) == len(ids),
        "actor_spans_inside": spans_inside,
        "actor_visibility_valid": visibility_valid,
    }


def box_coverage_figure(table: pa.Table, threshold: float | None) -> QualityFigure:
    """The gate's box quality figure: the mean over clips of the share of actor-changed pixels inside their boxes.

    Each clip's share (``box_coverage``) is measured by the compositor on the raw
    pixels against the empty scene (:func:`generators.composite.box_coverage`);
    clips where no pixel changed have none and do not count.
    """
    values = [v for v in table.column("box_coverage").to_pylist() if v is not None]
    return QualityFigure(
        name="box_coverage", value=sum(values) / len(values) if values else None, reference=1.0, bound="min",
        threshold=threshold, samples={"synthetic": len(values)},
        description="mean share of the pixels the actors changed (raw, against the empty scene) that lie inside their boxes",
    )  # fmt: skip
