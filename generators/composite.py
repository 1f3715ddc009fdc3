"""Generated actors composited into a static camera scene, with a track per actor.

The two-stream generator makes each clip as a moving foreground, its mask and a
static background. For surveillance data the background is replaced by the
user's own camera view: each actor's foreground and mask are cut out (the box
that holds its mask over the whole clip), scaled to the size the scene's
ground plane gives at the spot where its feet are put, lit like the scene, and
blended in with its mask, far actors first so nearer ones cover them.

The ground-plane rule is a pinhole camera over flat ground: a person whose feet
are at image row ``y`` is ``k * (y - horizon)`` pixels tall, so people shrink
linearly towards the horizon and vanish on it. :class:`Perspective` sets the
horizon (as a share of the frame height) and the height of a person standing on
the bottom row; ``k`` follows.

Light is matched with one gain per actor: the mean luminance of the scene under
the actor's footprint divided by the mean luminance of the generator's own
background under the same footprint (clipped to [0.5, 2]). The generator lit
its actor for its own background, so the ratio carries it over to the scene's
light without flattening the actor's contrast, as matching its mean to the
background's would.

Labels per actor come from its placed mask (``> 0.5``): the box of its pixels
inside the frame, a visibility (share of its pixels inside the frame and not
covered by an actor in front), and the span of frames in which it moves. The
functions are plain numpy/torch and a pure function of their inputs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from schemas.labels import boxes_from_mask, event_span, visibility

__all__ = ["ActorLayer", "ActorTrack", "Composite", "Perspective", "Placement", "composite", "plan_actors"]

MASK_THRESHOLD = 0.5
LIGHT_GAIN_RANGE = (0.5, 2.0)
CHANGED_LEVEL = 8  # grey levels (of 255) a pixel must move by to count as changed by an actor
EDGE_MARGIN = 1  # pixels around a box in which a changed pixel still counts as inside (the mask's soft edge)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Perspective:
    """The ground plane of a scene: where the horizon lies and how tall a person on the bottom row is."""

    horizon: float = 0.3  # share of the frame height, from the top
    height_at_bottom: float = 0.5  # a person's height, as a share of the frame height, with feet on the bottom row
    nearest_feet: float = 1.0  # lowest feet row (share of the height); >1 lets actors stand partly below the frame
    farthest_feet: float = 0.55  # highest feet row, as a share of the way from the horizon to the bottom

    def __post_init__(self) -> None:
        if not 0 <= self.horizon < 1:
            raise ValueError(f"horizon must be in [0, 1), got {self.horizon}")
        if not 0 < self.height_at_bottom <= 2:
            raise ValueError(f"height_at_bottom must be in (0, 2], got {self.height_at_bottom}")
        if not 0 < self.farthest_feet <= 1:
            raise ValueError(f"farthest_feet must be in (0, 1], got {self.farthest_feet}")

    def actor_height(self, feet_row: float, frame_height: int) -> float:
        """Height in pixels of a person whose feet are at ``feet_row``: linear in the distance to the horizon."""
        horizon = self.horizon * frame_height
        k = self.height_at_bottom * frame_height / (frame_height - horizon)
        return max(0.0, k * (feet_row - horizon))

    def feet_rows(self, frame_height: int) -> tuple[float, float]:
        """The range of feet rows actors are placed at: from ``farthest_feet`` of the floor down to ``nearest_feet``."""
        horizon = self.horizon * frame_height
        return horizon + self.farthest_feet * (frame_height - horizon), self.nearest_feet * frame_height


@dataclass(frozen=True)
class Placement:
    """Where an actor goes: the scene pixel under the bottom centre of its footprint, and its height there."""

    x: int
    y: int
    height: float


@dataclass
class ActorLayer:
    """One generated actor: the generator's foreground, mask and (for light matching) its own background."""

    foreground: np.ndarray  # float32 (T, h, w, 3) in [0, 1]
    mask: np.ndarray  # float32 (T, h, w) in [0, 1]
    label: int
    label_name: str
    background: np.ndarray | None = None  # float32 (h, w, 3) in [0, 1]; None = no light matching


@dataclass
class ActorTrack:
    """One actor's labels in a composited clip; ``track_id`` is unique within the clip."""

    track_id: int
    label: int
    label_name: str
    boxes: np.ndarray  # float32 (T, 4): x0, y0, x1, y1; NaN where the actor is wholly off-frame
    visibility: np.ndarray  # float32 (T,) in [0, 1]
    event_start: int | None
    event_end: int | None

    def row(self) -> dict:
        """The index/JSON form (``schemas.index.ACTOR_TYPE``): a frame without a box is null."""
        return {
            "track_id": self.track_id,
            "label": self.label,
            "label_name": self.label_name,
            "boxes": [None if np.isnan(b).any() else [float(v) for v in b] for b in self.boxes],
            "visibility": [round(float(v), 4) for v in self.visibility],
            "event_start": self.event_start,
            "event_end": self.event_end,
        }


@dataclass
class Composite:
    video: np.ndarray  # uint8 (T, H, W, 3)
    tracks: list[ActorTrack]
    box_coverage: float | None  # share of the pixels the actors changed that lie inside their boxes

    @property
    def union_boxes(self) -> np.ndarray:
        """Per-frame box around every actor's box (NaN where no actor is in the frame), the index's ``boxes``."""
        return union_boxes([t.boxes for t in self.tracks], len(self.video))


def union_boxes(boxes: list[np.ndarray], frames: int) -> np.ndarray:
    """Per-frame box around the given per-actor boxes (T, 4); NaN in frames where none has a box."""
    out = np.full((frames, 4), np.nan, np.float32)
    if boxes:
        b = np.stack(boxes)
        with warnings.catch_warnings():  # nanmin warns on frames without any box; those rightly stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.concatenate([np.nanmin(b[:, :, :2], axis=0), np.nanmax(b[:, :, 2:], axis=0)], axis=1)
    return out.astype(np.float32)


def plan_actors(seed: int, label: int, classes: list[int], frame_height: int, frame_width: int,
                perspective: Perspective, actors: tuple[int, int]) -> list[tuple[int, int, Placement]]:
    """(label, seed, placement) of each actor of a clip, drawn from the clip's seed alone.

    The first actor performs the clip's ``label``; the others draw theirs from
    ``classes``. Feet rows are uniform over the perspective's range and columns
    over the whole width, so some actors stand at the edge and leave the frame.
    """
    lo, hi = actors
    if not 1 <= lo <= hi:
        raise ValueError(f"actors per clip must be 1 <= min <= max, got {actors}")
    rng = np.random.default_rng([int(seed), 0x5EC])
    out = []
    for k in range(int(rng.integers(lo, hi + 1))):
        y_lo, y_hi = perspective.feet_rows(frame_height)
        y = int(round(rng.uniform(y_lo, y_hi)))
        x = int(round(rng.uniform(0, frame_width)))
        actor_label = label if k == 0 else int(rng.choice(classes))
        actor_seed = int(rng.integers(2**62))
        out.append((actor_label, actor_seed, Placement(x, y, perspective.actor_height(y, frame_height))))
    return out


def composite(scene: np.ndarray, actors: list[ActorLayer], placements: list[Placement]) -> Composite:
    """Blend ``actors`` into ``scene`` (uint8 (H, W, 3)) at ``placements``; return the clip and a track per actor.

    Actors are drawn far (smaller feet row) to near; track ids follow the order
    of ``actors`` (1, 2, ...), whatever the drawing order.
    """
    scene = np.asarray(scene)
    if scene.dtype != np.uint8 or scene.ndim != 3 or scene.shape[2] != 3:
        raise ValueError(f"scene must be uint8 (H, W, 3), got {scene.dtype} {scene.shape}")
    if len(actors) != len(placements):
        raise ValueError(f"got {len(actors)} actors but {len(placements)} placements")
    if not actors:
        raise ValueError("a composited clip needs at least one actor")
    frames = actors[0].mask.shape[0]
    height, width = scene.shape[:2]
    base = scene.astype(np.float32) / 255.0
    video = np.broadcast_to(base, (frames, height, width, 3)).copy()

    placed = [_place(a, p, frames) for a, p in zip(actors, placements)]
    order = sorted(range(len(actors)), key=lambda i: placements[i].y)  # stable: ties keep the given order
    in_frame = np.zeros((len(actors), frames, height, width), bool)
    for i in order:
        layer = placed[i]
        if layer is None:
            continue
        fg, alpha, top, left, crop = layer
        gain = _light_gain(base, actors[i], crop, top, left, fg.shape[1:3])
        (dy0, dy1, dx0, dx1), (sy0, sy1, sx0, sx1) = _overlap(top, left, alpha.shape[1:], (height, width))
        if dy1 <= dy0 or dx1 <= dx0:
            continue
        a = alpha[:, sy0:sy1, sx0:sx1, None]
        target = video[:, dy0:dy1, dx0:dx1]
        target += a * (np.clip(fg[:, sy0:sy1, sx0:sx1] * gain, 0.0, 1.0) - target)
        in_frame[i, :, dy0:dy1, dx0:dx1] = alpha[:, sy0:sy1, sx0:sx1] > MASK_THRESHOLD

    tracks = []
    for rank, i in enumerate(order):
        front = in_frame[order[rank + 1:]].any(axis=0) if rank + 1 < len(order) else None
        layer = placed[i]
        area = np.zeros(frames) if layer is None else (layer[1] > MASK_THRESHOLD).sum(axis=(1, 2))
        vis = visibility(in_frame[i], area, front)
        boxes = boxes_from_mask(in_frame[i].astype(np.float32))
        span = (None, None) if layer is None else event_span(layer[1] > MASK_THRESHOLD)
        tracks.append(ActorTrack(i + 1, actors[i].label, actors[i].label_name, boxes, vis, *span))
    tracks.sort(key=lambda t: t.track_id)
    out = np.rint(video * 255.0).astype(np.uint8)
    return Composite(out, tracks, box_coverage(out, scene, [t.boxes for t in tracks]))


def box_coverage(video: np.ndarray, scene: np.ndarray, boxes: list[np.ndarray], margin: int = EDGE_MARGIN) -> float | None:
    """Share of the pixels that differ from ``scene`` by more than :data:`CHANGED_LEVEL` that lie in some box.

    The actors are the only thing that changes a composited clip, so this is how
    much of what they drew their boxes hold. A changed pixel within ``margin``
    pixels of a box counts as inside: a box is cut at mask 0.5, and resizing
    leaves a pixel of softer mask around every edge, which is no miss. What the
    figure does catch are parts of an actor its mask holds below 0.5 (a faint
    limb, a blurred blob), which a detector trained on the box would never see
    as the actor. None when no pixel changed.
    """
    changed = (np.abs(video.astype(np.int16) - scene.astype(np.int16)) > CHANGED_LEVEL).any(axis=-1)
    total = int(changed.sum())
    if total == 0:
        return None
    inside = np.zeros_like(changed)
    for b in boxes:
        for t in np.flatnonzero(~np.isnan(b).any(axis=1)):
            x0, y0, x1, y1 = (int(v) for v in b[t])
            inside[t, max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = True
    return float((changed & inside).sum() / total)


def _place(actor: ActorLayer, p: Placement, frames: int):
    """(foreground, alpha, top, left, crop) of the actor scaled to ``p.height``, or None if its mask is empty.

    ``crop`` (y0, y1, x0, x1) is the actor's footprint in the generator's frame.
    """
    mask = np.asarray(actor.mask, np.float32)
    if mask.ndim != 3 or mask.shape[0] != frames or actor.foreground.shape != mask.shape + (3,):
        raise ValueError(f"actor {actor.label_name!r}: foreground {actor.foreground.shape} and mask {mask.shape} "
                         f"must be (T, h, w, 3) and (T, h, w) with T = {frames}")
    fg_pixels = mask > MASK_THRESHOLD
    if not fg_pixels.any() or p.height < 1:
        return None
    rows, cols = np.flatnonzero(fg_pixels.any(axis=(0, 2))), np.flatnonzero(fg_pixels.any(axis=(0, 1)))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    fg, alpha = actor.foreground[:, y0:y1, x0:x1], mask[:, y0:y1, x0:x1]
    per_frame = boxes_from_mask(alpha)
    tallest = float(np.nanmax(per_frame[:, 3] - per_frame[:, 1]))
    scale = p.height / tallest
    h, w = max(1, round(alpha.shape[1] * scale)), max(1, round(alpha.shape[2] * scale))
    if (h, w) != alpha.shape[1:]:
        fg, alpha = _resize(fg, (h, w)), _resize(alpha[..., None], (h, w))[..., 0]
    return fg, np.clip(alpha, 0.0, 1.0), p.y - h, p.x - w // 2, (y0, y1, x0, x1)


def _resize(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (T, h, w, C), antialiased when shrinking so thin limbs do not alias away."""
    t = torch.from_numpy(np.ascontiguousarray(x, np.float32)).permute(0, 3, 1, 2)
    shrink = size[0] < t.shape[2] or size[1] < t.shape[3]
    out = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=shrink)
    return out.permute(0, 2, 3, 1).numpy()


def _overlap(top: int, left: int, shape: tuple[int, int], frame: tuple[int, int]):
    """Destination and source slices where a ``shape`` layer at (top, left) meets the frame."""
    dy0, dx0 = max(top, 0), max(left, 0)
    dy1, dx1 = min(top + shape[0], frame[0]), min(left + shape[1], frame[1])
    return (dy0, dy1, dx0, dx1), (dy0 - top, dy1 - top, dx0 - left, dx1 - left)


def _light_gain(scene: np.ndarray, actor: ActorLayer, crop, top: int, left: int, size) -> float:
    """Scene luminance under the actor's footprint over the generator's own background's (see module doc)."""
    if actor.background is None:
        return 1.0
    (dy0, dy1, dx0, dx1), _ = _overlap(top, left, size, scene.shape[:2])
    if dy1 <= dy0 or dx1 <= dx0:
        return 1.0
    here = float((scene[dy0:dy1, dx0:dx1] @ _LUMA).mean())
    y0, y1, x0, x1 = crop
    own = float((np.asarray(actor.background, np.float32)[y0:y1, x0:x1] @ _LUMA).mean())
    return float(np.clip(here / max(own, 1e-3), *LIGHT_GAIN_RANGE))
