"""What the optional critics of generator training take for real, from the real training clips.

:func:`generators.train` learns from the clips alone unless a critic that needs
more is switched on:

* the scene critic (``train.scene_critic``) compares the generator's
  backgrounds with empty scenes of the real set
  (:func:`pipelines.sources.scenes.empty_scenes`);
* the matte critic (``train.matte_critic``) compares the generator's actors,
  cut out by its mask, with the real actors cut out by their mattes
  (:func:`actor_mattes`). Only a renderer knows a clip's matte, so this needs
  the procedural source.

:func:`critic_inputs` is the one place that reads the configuration and hands
``train`` what it needs, so the flow and the benches train alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipelines.sources.procedural import parse_source_path, render_clip, render_matte
from pipelines.sources.scenes import empty_scenes
from schemas.config import ClipFormat, Source, TrainConfig

__all__ = ["actor_mattes", "critic_inputs"]

#: Mean absolute difference (grey levels) above which a decoded real clip is not what its row renders: H.264 at
#: the ingest's quality leaves 1-3; another renderer version or clip format leaves tens.
_RENDER_MISMATCH = 8.0


def actor_mattes(source: Source, clips: Any, clip: ClipFormat) -> np.ndarray:
    """The actors' mattes of the real training clips, uint8 ``(len(clips), T, H, W)`` (255 = actor), in their order.

    ``clips`` is a :class:`~pipelines.dataset.reader.ClipDataset` of the
    procedural set: each row's ``source_path`` names the (class, seed) that
    renders it again (:func:`~pipelines.sources.procedural.render_matte`). The
    first clip is decoded and compared with its rendering, so mattes of a
    dataset made by another renderer or in another format are refused, not
    trained on out of register.
    """
    if source.kind != "procedural":
        raise ValueError(
            f"train.matte_critic needs the actors' mattes of the real clips, which only the procedural source "
            f"renders; a {source.kind!r} source has none: set train.matte_critic to 0"
        )
    rows: Sequence[dict] | None = getattr(clips, "rows", None)
    if not rows:
        raise ValueError("no training clips with index rows to take actor mattes from")
    renders = []
    for row in rows:
        try:
            label_name, seed = parse_source_path(row.get("source_path"))
        except ValueError as exc:
            raise ValueError(f"clip {row['key']}: {exc}") from None
        if label_name != row["label_name"]:
            raise ValueError(f"clip {row['key']} is labelled {row['label_name']!r} but renders {label_name!r}")
        renders.append((label_name, seed))
    _check_register(clips, rows[0], renders[0], clip)
    mattes = np.empty((len(rows), clip.frames, clip.size, clip.size), np.uint8)
    for i, (label_name, seed) in enumerate(renders):
        mattes[i] = np.rint(render_matte(label_name, seed, clip.frames, clip.size, clip.size) * 255).astype(np.uint8)
    return mattes


def _check_register(clips: Any, row: dict, render: tuple[str, int], clip: ClipFormat) -> None:
    """The first clip as decoded against what its row renders: a set made by another renderer is refused."""
    rendered, _ = render_clip(*render, clip.frames, clip.size, clip.size)
    decoded = np.asarray(clips.video(0))
    if decoded.shape != rendered.shape:
        raise ValueError(f"clip {row['key']} is {decoded.shape}, its rendering {rendered.shape}: not the clip format")
    gap = float(np.abs(decoded.astype(np.int16) - rendered.astype(np.int16)).mean())
    if gap > _RENDER_MISMATCH:
        raise ValueError(
            f"clip {row['key']} differs from what {row['source_path']} renders by {gap:.1f} grey levels on average: "
            "the dataset was made by another renderer; prepare it again"
        )


def critic_inputs(source: Source, train: TrainConfig, clip: ClipFormat, clips: Any) -> dict[str, np.ndarray]:
    """Keyword arguments for :func:`generators.train` beyond the clips: ``scenes`` and ``mattes`` where on."""
    inputs: dict[str, np.ndarray] = {}
    if train.scene_critic > 0:
        inputs["scenes"] = empty_scenes(source, clips, clip.size)
    if train.matte_critic > 0:
        inputs["mattes"] = actor_mattes(source, clips, clip)
    return inputs
