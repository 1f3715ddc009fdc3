"""The procedural action set: shapes, determinism, and that each class moves the way its name says.

Motion checks read the per-frame actor boxes the renderer returns, over several
seeds per class, so a class that stopped moving like its name (or an action that
leaked into another class) fails here rather than in GAN training much later.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.sources.procedural import render_clip
from schemas.classes import PROCEDURAL_CLASSES

SEEDS = range(12)
T, H, W = 16, 64, 64


def _track(label: str, seed: int, frames: int = T, height: int = H, width: int = W) -> dict[str, np.ndarray]:
    """Box centre, size and bottom per frame, in pixels."""
    _, boxes = render_clip(label, seed, frames, height, width)
    x0, y0, x1, y1 = boxes.T
    return {"cx": (x0 + x1) / 2, "w": x1 - x0, "h": y1 - y0, "bottom": y1}


@pytest.mark.parametrize("label", PROCEDURAL_CLASSES)
@pytest.mark.parametrize("frames,height,width", [(8, 32, 32), (16, 64, 64), (12, 48, 96), (24, 96, 40), (64, 32, 32)])
def test_every_class_renders_any_size(label, frames, height, width):
    video, boxes = render_clip(label, 3, frames, height, width)
    assert video.shape == (frames, height, width, 3) and video.dtype == np.uint8
    assert boxes.shape == (frames, 4) and boxes.dtype == np.float32
    x0, y0, x1, y1 = boxes.T
    assert np.all((0 <= x0) & (x0 < x1) & (x1 <= width)), "box outside the image or empty"
    assert np.all((0 <= y0) & (y0 < y1) & (y1 <= height)), "box outside the image or empty"
    assert video.std() > 5, "frames are flat"


def test_same_arguments_give_identical_bytes_and_seeds_differ():
    first, first_boxes = render_clip("wave", 7, 16, 64, 48)
    again, again_boxes = render_clip("wave", 7, 16, 64, 48)
    assert first.tobytes() == again.tobytes() and first_boxes.tobytes() == again_boxes.tobytes()
    other, _ = render_clip("wave", 8, 16, 64, 48)
    assert np.abs(first.astype(int) - other).mean() > 5
    other_class, _ = render_clip("jump", 7, 16, 64, 48)
    assert not np.array_equal(first, other_class)


def test_global_numpy_random_state_is_neither_used_nor_changed():
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    video, _ = render_clip("run", 1, 8, 32, 32)
    assert np.array_equal(np.random.get_state()[1], state)
    np.random.seed(123)
    assert np.array_equal(render_clip("run", 1, 8, 32, 32)[0], video)


def test_background_is_static_away_from_the_actors():
    """A fixed camera: pixels that no actor (or its shadow) ever reaches change only by sensor noise."""
    for label in ("walk_right", "fall", "jump"):
        video, boxes = render_clip(label, 2, 16, 64, 64)
        far = np.ones((64, 64), bool)
        pad = 0.25 * (boxes[:, 3] - boxes[:, 1]).max()  # shadows spread a little beyond the body
        for x0, y0, x1, y1 in boxes:
            far[int(max(y0 - pad, 0)) : int(np.ceil(y1 + pad)), int(max(x0 - pad, 0)) : int(np.ceil(x1 + pad))] = False
        assert far.sum() > 500
        assert video[:, far].astype(float).std(axis=0).mean() < 8
        change = np.abs(np.diff(video.astype(float), axis=0)).mean(axis=-1)  # (T - 1, H, W)
        far_motion = change[:, far].mean()
        near_motion = []
        for t in range(len(change)):  # inside the box covering the actor in both frames of the pair
            x0, y0 = np.floor(np.minimum(boxes[t, :2], boxes[t + 1, :2])).astype(int)
            x1, y1 = np.ceil(np.maximum(boxes[t, 2:], boxes[t + 1, 2:])).astype(int)
            near_motion.append(change[t, y0:y1, x0:x1].mean())
        assert max(near_motion) > 3 * far_motion, "nothing moves where the actor is"


def test_walk_left_and_walk_right_translate_their_way():
    for seed in SEEDS:
        left, right = _track("walk_left", seed), _track("walk_right", seed)
        assert left["cx"][-1] - left["cx"][0] < -0.15 * W, seed
        assert right["cx"][-1] - right["cx"][0] > 0.15 * W, seed
        # Mostly monotonic: a walk, not a wander.
        assert np.mean(np.diff(left["cx"]) < 0) > 0.7 and np.mean(np.diff(right["cx"]) > 0) > 0.7


def test_run_covers_more_ground_than_walk_and_goes_both_ways():
    directions = set()
    for seed in SEEDS:
        run = _track("run", seed)
        shift = run["cx"][-1] - run["cx"][0]
        assert abs(shift) > 0.45 * W, seed
        directions.add(np.sign(shift))
    walked = [abs(np.ptp(_track(c, s)["cx"])) for c in ("walk_left", "walk_right") for s in SEEDS]
    assert max(walked) < 0.55 * W
    assert directions == {-1.0, 1.0}


def test_jump_leaves_the_ground_and_lands_nearly_in_place():
    for frames in (8, 16):
        for seed in SEEDS:
            track = _track("jump", seed, frames=frames)
            rise = track["bottom"][0] - track["bottom"].min()
            assert rise > 0.15 * track["h"].max(), (frames, seed)
            assert abs(track["bottom"][-1] - track["bottom"][0]) < 1.0, "did not land"
            assert abs(track["cx"][-1] - track["cx"][0]) < 0.1 * W


def test_fall_goes_from_standing_to_lying():
    for frames in (8, 16, 32):
        for seed in SEEDS:
            track = _track("fall", seed, frames=frames)
            # Pairs stand side by side, so the first box may be wide; lying down still flattens it.
            assert track["h"][-1] < 0.6 * track["h"][0], (frames, seed, "did not come down")
            assert track["w"][-1] > 1.5 * track["h"][-1], (frames, seed, "does not end lying")


def test_wave_stays_put_while_the_arm_moves():
    for seed in SEEDS:
        track = _track("wave", seed)
        size = track["h"].max()
        assert np.ptp(track["cx"]) < 0.15 * size, seed
        assert np.ptp(track["bottom"]) < 1.0
        # The raised arm makes the box taller than the standing figure at the start.
        assert track["h"][T // 2 :].mean() > 1.06 * track["h"][0], seed


def test_loiter_drifts_without_a_direction():
    for seed in SEEDS:
        cx = _track("loiter", seed)["cx"]
        assert np.ptp(cx) < 0.2 * W, seed
        assert abs(cx[-1] - cx[0]) < 0.15 * W
    drifts = [np.ptp(_track("loiter", s)["cx"]) for s in SEEDS]
    assert max(drifts) > 1.0, "loiter should not be frozen"


def test_turn_back_reverses_direction():
    quarter = T // 4
    for seed in SEEDS:
        cx = _track("turn_back", seed)["cx"]
        out, back = cx[quarter] - cx[0], cx[-1] - cx[-1 - quarter]
        assert np.sign(out) == -np.sign(back), seed
        assert min(abs(out), abs(back)) > 0.03 * W, seed


def test_actor_size_does_not_depend_on_the_class():
    """Size is nuisance: the typical standing height at the first frame matches across classes."""
    medians = {
        label: np.median([_track(label, seed, frames=8)["h"][0] for seed in range(20)]) for label in PROCEDURAL_CLASSES
    }
    overall = np.median(list(medians.values()))
    for label, median in medians.items():
        assert 0.75 * overall < median < 1.25 * overall, (label, medians)


@pytest.mark.parametrize(
    "args",
    [("dance", 0, 8, 32, 32), ("wave", -1, 8, 32, 32), ("wave", 0, 0, 32, 32), ("wave", 0, 8, 4, 32)],
)
def test_bad_arguments_raise_value_error(args):
    with pytest.raises(ValueError) as info:
        render_clip(*args)
    if args[0] == "dance":
        assert "dance" in str(info.value) and "walk_left" in str(info.value) and "turn_back" in str(info.value)
