"""The built-in procedural action set: surveillance-style clips rendered with numpy alone.

It exists so that the whole system (ingest, GAN training, generation, validation,
publishing) can run and be tested with no downloaded video. A static camera looks
at a room or yard: a wall with a smooth random texture, windows and doors, a
floor with a perspective gradient (sometimes tiled), and a few static props.
One actor, or sometimes a pair doing the same thing together, performs one of
:data:`schemas.classes.PROCEDURAL_CLASSES`:

* ``walk_left`` / ``walk_right`` -- walk across the scene with a walk cycle;
* ``run`` -- a faster crossing, either way, with a longer, bent-arm stride;
* ``jump`` -- crouch, rise and land, once or twice, nearly in place;
* ``fall`` -- stand, topple and end lying on the ground;
* ``wave`` -- stand still with one raised forearm swinging above the shoulder;
* ``loiter`` -- stand about: small drift without a direction, sway, shuffle;
* ``turn_back`` -- walk one way, turn round and walk back.

Actors are articulated 3-D stick figures (head, torso, two-segment arms and legs,
feet) posed per frame, turned by a yaw angle and projected orthographically, then
drawn as anti-aliased capsules, nearest part last. Every action is defined over
normalised clip time, so the whole action fits in the clip whatever its length.

Only motion tells the classes apart: actor size, clothing and skin colours, gait,
speed, start position, background, illumination and sensor noise are drawn from
the same distributions for every class. A clip is a pure function of
``(label, seed, frames, height, width)``: all randomness comes from a
``numpy.random.Generator`` seeded with ``(seed, class index)``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from schemas.classes import PROCEDURAL_CLASSES
from schemas.labels import event_span, visibility

# --- body model, in units of body height (feet to top of head) ------------------

_TORSO = 0.30  # pelvis to neck
_HEAD = 0.42  # pelvis to head centre, along the torso
_SHOULDER_HALF = 0.085
_HIP_HALF = 0.05
_UPPER_ARM = 0.18
_FOREARM = 0.19  # with the hand
_THIGH = 0.245
_SHIN = 0.235
_FOOT = 0.06

# Segment order of every skeleton: torso, head, then left/right pairs.
_TORSO_I, _HEAD_I = 0, 1
_UPPER_ARM_I, _FOREARM_I, _THIGH_I, _SHIN_I, _FOOT_I = 2, 4, 6, 8, 10
_N_SEGMENTS = 12
_RADIUS = np.array(
    [0.0, 0.07, 0.03, 0.03, 0.026, 0.026, 0.042, 0.042, 0.034, 0.034, 0.024, 0.024], np.float32
)
_SIDE = np.array([1.0, -1.0])  # left, right: sign of the lateral body axis

_MIN_RADIUS_PX = 0.6  # keeps limbs of small actors from vanishing between pixel centres


@dataclass
class _Pose:
    """Per-frame pose of one actor; angle arrays are (T,) or (T, 2) for (left, right) limbs.

    ``flex`` angles swing a limb forward (0 hangs straight down), ``abd`` angles
    lift it sideways, away from the body (pi points straight up). Forearm angles
    are absolute, not relative to the upper arm, so a raised arm can wave.
    """

    x: np.ndarray  # pelvis x in pixels
    yaw: np.ndarray  # 0 faces +x, pi faces -x, pi/2 faces the camera
    lift: np.ndarray  # height of the lowest body point above the ground, in body heights
    pitch: np.ndarray  # forward lean of the torso
    roll: np.ndarray  # sideways lean of the torso
    hip_flex: np.ndarray
    hip_abd: np.ndarray
    knee: np.ndarray  # knee bend; the shin folds backwards
    arm_flex: np.ndarray
    arm_abd: np.ndarray
    fore_flex: np.ndarray
    fore_abd: np.ndarray
    topple: np.ndarray  # rotation of the whole body in the image plane about the leading foot
    topple_dir: float = 1.0  # +1 topples towards +x


def _rest_pose(x: np.ndarray, yaw: np.ndarray | float) -> _Pose:
    """A relaxed standing pose at pelvis positions ``x``: arms hang a little away from the body."""
    frames = len(x)
    zeros = np.zeros(frames)
    pair = np.zeros((frames, 2))
    return _Pose(
        x=np.asarray(x, float),
        yaw=np.broadcast_to(np.asarray(yaw, float), (frames,)).copy(),
        lift=zeros.copy(),
        pitch=zeros.copy(),
        roll=zeros.copy(),
        hip_flex=pair.copy(),
        hip_abd=pair + 0.04,
        knee=pair + 0.05,
        arm_flex=pair.copy(),
        arm_abd=pair + 0.1,
        fore_flex=pair + 0.15,
        fore_abd=pair + 0.1,
        topple=zeros.copy(),
    )


@dataclass
class _Actor:
    """What varies between actors independently of the action (nuisance)."""

    height: float  # body height in pixels
    ground_y: float  # image row of the feet
    x_offset: float  # pixels; separates the second actor of a pair from the first
    phase: float  # gait phase at the start, in cycles
    gait: float  # scales leg swing
    arm_swing: float  # scales arm swing
    colours: np.ndarray = field(repr=False)  # (12, 3) base colour per segment, in [0, 1]


@dataclass
class _Scene:
    """The static part of a clip and the camera response applied on top of it."""

    background: np.ndarray  # (H, W, 3) float32 in [0, 1]
    horizon: float  # image row where wall meets floor
    light: np.ndarray  # (H, W, 3) float32 gain: exposure, light falloff, white balance, vignette
    noise: float  # sensor noise standard deviation, in 0..255 grey levels


# --- helpers ------------------------------------------------------------------


def _ramp(u: np.ndarray, start: float, end: float) -> np.ndarray:
    """Smoothstep from 0 at ``start`` to 1 at ``end``: eased changes look like motion, not jumps."""
    s = np.clip((u - start) / max(end - start, 1e-6), 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def _place(rng: np.random.Generator, rel: np.ndarray, width: int, margin: float) -> np.ndarray:
    """Shift a relative x path to a random start so the whole path stays ``margin`` inside the frame."""
    lo = margin - rel.min()
    hi = width - margin - rel.max()
    start = rng.uniform(lo, hi) if hi > lo else 0.5 * (lo + hi)
    return start + rel


def _cycles(distance: float, stride: float, frames: int, per_frame: float) -> float:
    """Gait cycles over the clip: one per stride, capped so a cycle spans at least 1/per_frame frames."""
    cap = max(per_frame * (frames - 1), 0.5)
    return float(np.clip(distance / stride, 0.5, cap))


def _gait(pose: _Pose, phase: np.ndarray, amount: np.ndarray, actor: _Actor, run: bool) -> None:
    """Drive legs and arms through a walk or run cycle; ``amount`` (0..1) fades it out when standing."""
    angle = 2.0 * np.pi * phase[:, None] + np.array([0.0, np.pi])  # legs in antiphase
    swing = np.sin(angle)
    forward = np.maximum(np.cos(angle), 0.0)  # leg is swinging forward: bend the knee
    a = amount[:, None]
    hip_amp, knee_amp, arm_amp, elbow = (0.75, 1.4, 0.9, 1.5) if run else (0.42, 0.65, 0.45, 0.25)
    pose.hip_flex = a * hip_amp * actor.gait * swing
    pose.knee = 0.05 + a * ((0.3 if run else 0.1) + knee_amp * forward)
    pose.arm_flex = -a * arm_amp * actor.arm_swing * swing  # arms swing against the legs
    pose.fore_flex = pose.arm_flex + 0.15 + a * elbow
    pose.pitch = amount * (0.22 if run else 0.04)
    if run:
        pose.lift = amount * 0.04 * np.maximum(np.sin(4.0 * np.pi * phase), 0.0)  # flight phase


def _facing(direction: float) -> float:
    """Yaw that faces image direction ``direction`` (+1 right, -1 left)."""
    return 0.0 if direction > 0 else np.pi


# --- actions: (script rng, normalised time, actor, frame width) -> pose -----------
# Both actors of a pair get a script rng with the same seed, so they share timing
# and direction; what differs between them comes from ``_Actor``.


def _walk(rng: np.random.Generator, u: np.ndarray, actor: _Actor, width: int, direction: float) -> _Pose:
    """Cross part of the scene at walking pace; legs cycle once per stride so feet barely slide."""
    distance = rng.uniform(0.3, 0.5) * width
    x = _place(rng, direction * distance * u, width, 0.3 * actor.height)
    pose = _rest_pose(x, _facing(direction))
    cycles = _cycles(distance, rng.uniform(0.9, 1.2) * actor.height, len(u), 0.2)
    _gait(pose, actor.phase + cycles * u, np.ones_like(u), actor, run=False)
    return pose


def _walk_left(rng, u, actor, width):
    """Walk towards -x."""
    return _walk(rng, u, actor, width, -1.0)


def _walk_right(rng, u, actor, width):
    """Walk towards +x."""
    return _walk(rng, u, actor, width, 1.0)


def _run(rng, u, actor, width):
    """Cross most of the frame, either way: direction is nuisance here, speed and gait are the class."""
    direction = rng.choice([-1.0, 1.0])
    distance = rng.uniform(0.62, 0.88) * width
    x = _place(rng, direction * distance * u, width, 0.2 * actor.height)
    pose = _rest_pose(x, _facing(direction))
    cycles = _cycles(distance, rng.uniform(1.5, 1.9) * actor.height, len(u), 0.25)
    _gait(pose, actor.phase + cycles * u, np.ones_like(u), actor, run=True)
    return pose


def _jump(rng, u, actor, width):
    """Crouch, fly and land once or twice, nearly in place, seen from the front or the side."""
    drift = rng.uniform(-0.04, 0.04) * width
    x = _place(rng, drift * u, width, 0.4 * actor.height)
    yaw = np.pi / 2 + rng.uniform(-0.35, 0.35) if rng.random() < 0.6 else _facing(rng.choice([-1.0, 1.0]))
    pose = _rest_pose(x, yaw)
    jumps = int(rng.integers(1, 3)) if len(u) >= 12 else 1  # short clips would miss a second flight
    edges = np.linspace(rng.uniform(0.03, 0.12), rng.uniform(0.88, 0.97), jumps + 1)
    crouch, arms, tuck = np.zeros_like(u), np.zeros_like(u), np.zeros_like(u)
    for start, end in zip(edges[:-1], edges[1:]):
        height = rng.uniform(0.25, 0.42)
        p = (u - start) / (end - start)  # local time within this jump; keys hold 0 outside it
        keys = [0.0, 0.2, 0.3, 0.5, 0.7, 0.8, 1.0]
        crouch += np.interp(p, keys, [0.0, 1.0, 0.0, 0.0, 0.0, 0.8, 0.0])
        arms += np.interp(p, keys, [0.0, -0.7, 1.6, 2.6, 1.2, -0.3, 0.0])
        tuck += np.interp(p, keys, [0.0, 0.0, 0.0, 0.6, 0.2, 0.0, 0.0])
        q = np.clip((p - 0.3) / 0.4, 0.0, 1.0)
        pose.lift += height * 4.0 * q * (1.0 - q)  # ballistic flight
    pose.hip_flex = (0.9 * crouch + 0.5 * tuck)[:, None] + np.zeros((1, 2))
    pose.knee = (0.05 + 1.8 * crouch + tuck)[:, None] + np.zeros((1, 2))
    pose.pitch = 0.45 * crouch
    pose.arm_flex = arms[:, None] + np.zeros((1, 2))
    pose.fore_flex = pose.arm_flex + 0.2
    return pose


def _fall(rng, u, actor, width):
    """Stand, stumble, topple about the leading foot and lie still for the last part of the clip."""
    yaw = np.pi / 2 + rng.uniform(-0.35, 0.35) if rng.random() < 0.5 else _facing(rng.choice([-1.0, 1.0]))
    x = _place(rng, rng.uniform(-0.03, 0.03) * width * u, width, 1.1 * actor.height)
    pose = _rest_pose(x, yaw)
    start = rng.uniform(0.12, 0.3)
    duration = rng.uniform(0.28, 0.42)
    s = np.clip((u - start) / duration, 0.0, 1.0)
    pose.topple = 0.5 * np.pi * s * s  # accelerates like a falling body
    pose.topple_dir = float(rng.choice([-1.0, 1.0]))
    flail = np.sin(np.pi * s)  # arms fly out while falling and settle when down
    pose.arm_abd = pose.arm_abd + (1.2 * flail + 0.2 * s)[:, None]
    pose.arm_flex = pose.arm_flex + (0.8 * flail)[:, None]
    pose.fore_flex = pose.arm_flex + 0.4
    pose.fore_abd = pose.arm_abd
    pose.knee = pose.knee + (0.5 * flail + 0.15 * s)[:, None]
    pose.pitch = -0.12 * _ramp(u, start - 0.1, start)  # a stumble before the fall
    return pose


def _wave(rng, u, actor, width):
    """Face the camera, raise one arm and swing the forearm above the shoulder."""
    x = _place(rng, np.zeros_like(u), width, 0.4 * actor.height)
    pose = _rest_pose(x, np.pi / 2 + rng.uniform(-0.4, 0.4))
    side = int(rng.integers(0, 2))
    raised = _ramp(u, 0.0, rng.uniform(0.08, 0.18))
    waves = min(rng.uniform(2.0, 4.0), max(0.25 * (len(u) - 1), 0.5))  # >= 4 frames per wave
    swing = 0.45 * np.sin(2.0 * np.pi * waves * u + rng.uniform(0, 2 * np.pi))
    pose.arm_abd[:, side] = 0.1 + raised * rng.uniform(2.0, 2.4)
    pose.fore_abd[:, side] = 0.1 + raised * (2.6 + swing)
    pose.fore_flex[:, side] = 0.15 * (1.0 - raised)
    pose.roll = 0.02 * np.sin(2.0 * np.pi * u + rng.uniform(0, 2 * np.pi))
    return pose


def _loiter(rng, u, actor, width):
    """Stand about: a drift too small and too wavering to read as walking, with sway and shuffling."""
    amplitude = min(rng.uniform(0.02, 0.045) * width, 0.2 * actor.height)
    rel = np.zeros_like(u)
    for _ in range(2):
        freq, phase = rng.uniform(0.5, 1.3), rng.uniform(0, 2 * np.pi)
        rel += amplitude * np.sin(2.0 * np.pi * freq * u + phase)
    rel -= rel[0]
    x = _place(rng, rel, width, 0.4 * actor.height)
    yaw = rng.uniform(0, 2 * np.pi) + 0.5 * np.sin(2.0 * np.pi * rng.uniform(0.3, 1.0) * u + rng.uniform(0, 2 * np.pi))
    pose = _rest_pose(x, yaw)
    speed = np.abs(np.gradient(rel, u)) if len(u) > 1 else np.zeros_like(u)
    travelled = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(rel)))])
    _gait(pose, actor.phase + travelled / (0.5 * actor.height), np.clip(speed / actor.height, 0.0, 0.35), actor, False)
    pose.roll = 0.05 * np.sin(2.0 * np.pi * rng.uniform(0.5, 1.5) * u + rng.uniform(0, 2 * np.pi))
    if rng.random() < 0.4:  # looking at a phone instead of letting the arms hang
        pose.arm_flex = np.full_like(pose.arm_flex, 0.45)
        pose.fore_flex = np.full_like(pose.fore_flex, 1.9)
        pose.arm_abd = np.full_like(pose.arm_abd, 0.15)
        pose.fore_abd = np.full_like(pose.fore_abd, -0.25)
    return pose


def _turn_back(rng, u, actor, width):
    """Walk one way, slow down, turn round through a frontal or back view, and walk back."""
    direction = rng.choice([-1.0, 1.0])
    turn = rng.uniform(0.4, 0.6)
    half = rng.uniform(0.05, 0.09)  # half the time spent turning
    fine = np.linspace(0.0, 1.0, 513)
    speed = np.clip(np.abs(fine - turn) / half, 0.0, 1.0)  # slows to a stop at the turn
    heading = np.where(fine < turn, direction, -direction)
    path = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(fine) * heading[1:])])
    outward = rng.uniform(0.25, 0.4) * width
    path *= outward / abs(np.interp(turn, fine, path))
    rel = np.interp(u, fine, path)
    x = _place(rng, rel, width, 0.3 * actor.height)
    turning = _ramp(u, turn - half, turn + half)
    yaw = _facing(direction) + rng.choice([-1.0, 1.0]) * np.pi * turning
    pose = _rest_pose(x, yaw)
    travelled = np.interp(u, fine, np.concatenate([[0.0], np.cumsum(np.abs(np.diff(path)))]))
    stride = rng.uniform(0.9, 1.2) * actor.height
    cycles = _cycles(travelled[-1], stride, len(u), 0.2)
    phase = actor.phase + cycles * travelled / max(travelled[-1], 1e-6)
    _gait(pose, phase, np.interp(u, fine, speed), actor, run=False)
    return pose


_ACTIONS: dict[str, Callable[[np.random.Generator, np.ndarray, _Actor, int], _Pose]] = {
    "walk_left": _walk_left,
    "walk_right": _walk_right,
    "run": _run,
    "jump": _jump,
    "fall": _fall,
    "wave": _wave,
    "loiter": _loiter,
    "turn_back": _turn_back,
}
assert set(_ACTIONS) == set(PROCEDURAL_CLASSES), "every procedural class needs an action"


# --- skeleton: pose -> capsules in pixels -----------------------------------------


def _direction(flex: np.ndarray, abd: np.ndarray) -> np.ndarray:
    """Unit limb vectors (forward, lateral, up) for (T, 2) limb angles; lateral points outwards."""
    cos_abd = np.cos(abd)
    return np.stack([np.sin(flex) * cos_abd, _SIDE * np.sin(abd), -np.cos(flex) * cos_abd], axis=-1)


def _skeleton(pose: _Pose) -> tuple[np.ndarray, np.ndarray]:
    """Segment end points in body coordinates: two (T, 12, 3) arrays (forward, lateral, up)."""
    frames = len(pose.x)
    torso = np.stack(
        [np.sin(pose.pitch) * np.cos(pose.roll), np.sin(pose.roll), np.cos(pose.pitch) * np.cos(pose.roll)], -1
    )
    pelvis = np.zeros((frames, 3))
    lateral = np.zeros((1, 2, 3))
    lateral[0, :, 1] = _SIDE
    shoulder = (_TORSO - 0.02) * torso[:, None] + _SHOULDER_HALF * lateral
    hip = _HIP_HALF * lateral + np.zeros((frames, 1, 1))
    elbow = shoulder + _UPPER_ARM * _direction(pose.arm_flex, pose.arm_abd)
    hand = elbow + _FOREARM * _direction(pose.fore_flex, pose.fore_abd)
    knee = hip + _THIGH * _direction(pose.hip_flex, pose.hip_abd)
    shin_flex = pose.hip_flex - pose.knee
    ankle = knee + _SHIN * _direction(shin_flex, pose.hip_abd)
    toe = ankle + _FOOT * _direction(shin_flex + 0.5 * np.pi, pose.hip_abd)
    head = _HEAD * torso
    start = np.concatenate([pelvis[:, None], head[:, None], shoulder, elbow, hip, knee, ankle], axis=1)
    end = np.concatenate([_TORSO * torso[:, None], head[:, None], elbow, hand, knee, ankle, toe], axis=1)
    return start, end


def _capsules(pose: _Pose, actor: _Actor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Project an actor into the image.

    Returns segment starts and ends (T, 12, 2) as pixel (x, y), radii (T, 12) in
    pixels, depth (T, 12) (larger is nearer the camera) and colours (T, 12, 3).
    """
    start, end = _skeleton(pose)
    cos_yaw, sin_yaw = np.cos(pose.yaw)[:, None, None], np.sin(pose.yaw)[:, None, None]
    points = np.stack([start, end], axis=2)  # (T, 12, 2, 3)
    forward, lateral, up = points[..., 0], points[..., 1], points[..., 2]
    across = forward * cos_yaw + lateral * sin_yaw
    depth = forward * sin_yaw - lateral * cos_yaw
    # The torso looks wider from the front than from the side.
    radius = np.broadcast_to(_RADIUS, (len(pose.x), _N_SEGMENTS)).copy()
    radius[:, _TORSO_I] = 0.055 + 0.025 * np.abs(np.sin(pose.yaw))

    angle = pose.topple[:, None, None]
    if np.any(angle):
        feet = across[:, _FOOT_I:, :].reshape(len(pose.x), -1)
        pivot = (pose.topple_dir * np.max(pose.topple_dir * feet, axis=1))[:, None, None]
        rel = across - pivot
        across = pivot + rel * np.cos(angle) + pose.topple_dir * up * np.sin(angle)
        up = up * np.cos(angle) - pose.topple_dir * rel * np.sin(angle)
    lowest = np.min(up - radius[:, :, None], axis=(1, 2))
    up = up + (pose.lift - lowest)[:, None, None]

    scale = actor.height
    px = pose.x[:, None, None] + actor.x_offset + scale * across
    py = actor.ground_y - scale * up
    xy = np.stack([px, py], axis=-1).astype(np.float32)  # (T, 12, 2, 2)
    radius_px = np.maximum(scale * radius, _MIN_RADIUS_PX).astype(np.float32)
    seg_depth = depth.mean(axis=2)
    seg_depth[:, _HEAD_I] += 0.02  # the face is in front of the neck end of the torso
    # Limbs on the far side of the body are in its shade.
    shade = 1.0 - 0.3 * np.clip(-seg_depth / 0.1, 0.0, 1.0)
    shade[:, :_UPPER_ARM_I] = 1.0
    colours = (actor.colours[None] * shade[..., None]).astype(np.float32)
    return xy[:, :, 0], xy[:, :, 1], radius_px, seg_depth, colours


def _boxes(start: np.ndarray, end: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Per-frame bounding box (T, 4) x0, y0, x1, y1 of a set of capsules, unclipped."""
    r = radius[..., None]
    low = np.minimum(start - r, end - r).min(axis=1)
    high = np.maximum(start + r, end + r).max(axis=1)
    return np.concatenate([low, high], axis=1)


# --- rasterisation -----------------------------------------------------------------


def _draw_actor(video: np.ndarray, start, end, radius, depth, colours, box: np.ndarray) -> None:
    """Paint capsules into ``video`` (T, H, W, 3) in place, far to near, with anti-aliased edges.

    Work is confined to one window per frame, sized to the largest per-frame
    box and slid to follow the actor, so its cost does not grow with the frame.
    """
    frames, height, width, _ = video.shape
    size = np.ceil(box[:, 2:] - box[:, :2]).max(axis=0).astype(int) + 2
    win_w, win_h = min(int(size[0]), width), min(int(size[1]), height)
    x0 = np.clip(np.floor(box[:, 0]).astype(int) - 1, 0, width - win_w)
    y0 = np.clip(np.floor(box[:, 1]).astype(int) - 1, 0, height - win_h)
    cols = x0[:, None] + np.arange(win_w)  # (T, win_w)
    rows = y0[:, None] + np.arange(win_h)  # (T, win_h)

    order = np.argsort(depth, axis=1, kind="stable")

    def by_depth(a: np.ndarray) -> np.ndarray:
        return np.take_along_axis(a, order.reshape(order.shape + (1,) * (a.ndim - 2)), axis=1)

    start, end, radius, colours = by_depth(start), by_depth(end), by_depth(radius), by_depth(colours)

    gx = (cols + 0.5).astype(np.float32)[:, None, None, :] - start[:, :, None, None, 0]
    gy = (rows + 0.5).astype(np.float32)[:, None, :, None] - start[:, :, None, None, 1]
    seg = end - start
    seg_x, seg_y = seg[:, :, None, None, 0], seg[:, :, None, None, 1]
    length2 = seg_x * seg_x + seg_y * seg_y + np.float32(1e-6)
    t = np.clip((gx * seg_x + gy * seg_y) / length2, 0.0, 1.0)
    dx = gx - t * seg_x
    dy = gy - t * seg_y
    coverage = np.clip(radius[:, :, None, None] + 0.5 - np.sqrt(dx * dx + dy * dy), 0.0, 1.0)

    index = (np.arange(frames)[:, None, None], rows[:, :, None], cols[:, None, :])
    patch = video[index]  # (T, win_h, win_w, 3)
    for s in range(start.shape[1]):
        alpha = coverage[:, s, :, :, None]
        patch += alpha * (colours[:, s, None, None, :] - patch)
    video[index] = patch


def _draw_shadow(video: np.ndarray, box: np.ndarray, actor: _Actor, lift: np.ndarray) -> None:
    """Darken a soft ellipse on the floor under an actor; it fades as the actor leaves the ground."""
    _, height, width, _ = video.shape
    centre = 0.5 * (box[:, 0] + box[:, 2])
    half = 0.5 * (box[:, 2] - box[:, 0]) + 0.08 * actor.height
    xs = (np.arange(width, dtype=np.float32) + 0.5)[None, None, :]
    ys = (np.arange(height, dtype=np.float32) + 0.5)[None, :, None]
    ex = (xs - centre[:, None, None]) / half[:, None, None]
    ey = (ys - actor.ground_y) / (0.05 * actor.height + 0.5)
    strength = (0.35 * np.exp(-4.0 * lift)).astype(np.float32)[:, None, None]
    video *= (1.0 - strength * np.exp(-(ex * ex) - ey * ey))[..., None]


# --- scene ------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """(H, W) smooth random texture, roughly in [-1, 1], with about ``cells`` blobs across."""
    cells_y = max(2, round(cells * height / max(height, width)) + 1)
    cells_x = max(2, round(cells * width / max(height, width)) + 1)
    grid = rng.standard_normal((cells_y, cells_x))

    def weights(n_out: int, n_in: int) -> np.ndarray:
        pos = (np.arange(n_out) + 0.5) / n_out * (n_in - 1)
        low = np.minimum(np.floor(pos).astype(int), n_in - 2)
        frac = pos - low
        frac = frac * frac * (3.0 - 2.0 * frac)
        out = np.zeros((n_out, n_in))
        out[np.arange(n_out), low] = 1.0 - frac
        out[np.arange(n_out), low + 1] = frac
        return out

    return weights(height, cells_y) @ grid @ weights(width, cells_x).T


def _muted(rng: np.random.Generator, low: float, high: float, tint: float = 0.08) -> np.ndarray:
    """A greyish colour: indoor and street scenes are mostly unsaturated."""
    return np.clip(rng.uniform(low, high) + rng.normal(0.0, tint, 3), 0.02, 0.98)


def _box_mask(xs, ys, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Anti-aliased coverage (H, W) of an axis-aligned rectangle."""
    cover_x = np.clip(np.minimum(xs - x0, x1 - xs) + 0.5, 0.0, 1.0)
    cover_y = np.clip(np.minimum(ys - y0, y1 - ys) + 0.5, 0.0, 1.0)
    return cover_y * cover_x


def _draw_scene(rng: np.random.Generator, height: int, width: int) -> _Scene:
    """Wall, floor and props under random materials and lighting."""
    ys = (np.arange(height) + 0.5)[:, None]
    xs = (np.arange(width) + 0.5)[None, :]
    horizon = height * rng.uniform(0.28, 0.48)
    wall = _muted(rng, 0.35, 0.8)
    floor = _muted(rng, 0.2, 0.6)
    texture = 0.1 * _smooth_noise(rng, height, width, 4) + 0.05 * _smooth_noise(rng, height, width, 12)
    depth = np.clip((ys - horizon) / (height - horizon), 0.0, 1.0)  # 0 far .. 1 near
    floor_shade = (0.75 + 0.3 * depth) * (1.0 + texture)
    if rng.random() < 0.6:  # tiled floor: seams run to a vanishing point on the horizon
        vanish = width * rng.uniform(0.2, 0.8)
        spacing = width * rng.uniform(0.15, 0.3)
        along = (xs - vanish) / np.maximum(depth, 1e-3) / spacing
        seam = np.abs(along - np.round(along)) * spacing * depth
        rows = np.abs(np.sin(np.pi * rng.uniform(2.0, 4.0) / np.maximum(depth, 0.15)))
        lines = np.clip(1.5 - seam, 0.0, 1.0) + np.clip(1.0 - rows * 4.0, 0.0, 1.0) * (depth > 0.15)
        floor_shade *= 1.0 - 0.12 * np.clip(lines, 0.0, 1.0)
    wall_shade = 1.0 + texture
    on_floor = np.clip(ys - horizon + 0.5, 0.0, 1.0)
    image = (on_floor * floor_shade)[..., None] * floor + ((1.0 - on_floor) * wall_shade)[..., None] * wall
    image *= 1.0 - 0.25 * np.clip(1.0 - np.abs(ys - horizon) / max(1.0, 0.02 * height), 0.0, 1.0)[..., None]

    for _ in range(int(rng.integers(0, 3))):  # windows and doors on the wall
        w = width * rng.uniform(0.08, 0.2)
        left = rng.uniform(0.0, width - w)
        top = horizon * rng.uniform(0.1, 0.5)
        bottom = horizon if rng.random() < 0.5 else top + (horizon - top) * rng.uniform(0.4, 0.7)
        mask = _box_mask(xs, ys, left, top, left + w, bottom)[..., None]
        image += mask * (_muted(rng, 0.1, 0.95, 0.1) - image)
    for _ in range(int(rng.integers(1, 4))):  # crates, bins, pillars standing behind the action
        base = horizon + (height - horizon) * rng.uniform(0.03, 0.35)
        tall = (base - horizon + 0.08 * height) * rng.uniform(0.4, 1.6)
        w = tall * rng.uniform(0.5, 1.4)
        left = rng.uniform(-0.5 * w, width - 0.5 * w)
        colour = _muted(rng, 0.1, 0.8, 0.15)
        body = _box_mask(xs, ys, left, base - tall, left + w, base)[..., None]
        lit = 1.0 + 0.25 * np.clip((xs - left) / max(w, 1.0), 0.0, 1.0)[..., None] * rng.choice([-1.0, 1.0])
        image += body * (colour * lit - image)
        cap = _box_mask(xs, ys, left, base - tall, left + w, base - tall + 0.15 * tall)[..., None]
        image += cap * (np.clip(colour * 1.25, 0.0, 1.0) - image)

    angle = rng.uniform(0, 2 * np.pi)
    nx, ny = xs / width - 0.5, ys / height - 0.5
    falloff = 1.0 + rng.uniform(0.0, 0.5) * (np.cos(angle) * nx + np.sin(angle) * ny)
    vignette = 1.0 - rng.uniform(0.0, 0.5) * (nx * nx + ny * ny)
    light = rng.uniform(0.65, 1.2) * falloff * vignette
    white = 1.0 + rng.normal(0.0, 0.05, 3)
    return _Scene(
        background=np.clip(image, 0.0, 1.0).astype(np.float32),
        horizon=float(horizon),
        light=(255.0 * light[..., None] * white).astype(np.float32),
        noise=float(rng.uniform(0.8, 5.0)),
    )


# --- actors -----------------------------------------------------------------------


def _clothing(rng: np.random.Generator) -> np.ndarray:
    """(12, 3) colours: shirt, skin, trousers and shoes, with long or short sleeves."""
    tone = rng.random()
    skin = (1.0 - tone) * np.array([0.93, 0.76, 0.64]) + tone * np.array([0.3, 0.19, 0.13])
    shirt = rng.uniform(0.05, 0.95, 3)
    trousers = _muted(rng, 0.05, 0.55, 0.1)
    shoes = _muted(rng, 0.03, 0.3, 0.03)
    sleeves = shirt if rng.random() < 0.5 else skin
    colours = np.empty((_N_SEGMENTS, 3))
    colours[_TORSO_I] = shirt
    colours[_HEAD_I] = skin
    colours[_UPPER_ARM_I : _UPPER_ARM_I + 2] = shirt
    colours[_FOREARM_I : _FOREARM_I + 2] = sleeves
    colours[_THIGH_I : _SHIN_I + 2] = trousers
    colours[_FOOT_I :] = shoes
    return colours


def _draw_actors(rng: np.random.Generator, scene: _Scene, height: int, width: int) -> list[_Actor]:
    """One actor, or a pair at about the same depth; far one first so the near one overlaps it."""
    floor = height - scene.horizon
    size = rng.uniform(0.32, 0.52) * min(height, 1.5 * width)
    # Perspective: feet sit lower in the image the taller the actor looks, as
    # seen by a camera mounted at about head height or a little above.
    ground = min(scene.horizon + size / rng.uniform(0.75, 1.05), 0.96 * height)
    ground = max(ground, scene.horizon + 0.45 * floor)
    actors = []
    for n in range(2 if rng.random() < 0.25 else 1):
        scale = 1.0 if n == 0 else rng.uniform(0.85, 1.12)
        gap = 0.0 if n == 0 else rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 0.7) * size
        depth = 0.0 if n == 0 else rng.uniform(-0.05, 0.05) * height
        actors.append(
            _Actor(
                height=size * scale,
                ground_y=float(np.clip(ground + depth, scene.horizon + 0.4 * floor, 0.97 * height)),
                x_offset=float(gap),
                phase=float(rng.random()),
                gait=float(rng.uniform(0.85, 1.15)),
                arm_swing=float(rng.uniform(0.7, 1.3)),
                colours=_clothing(rng),
            )
        )
    return sorted(actors, key=lambda a: a.ground_y)


# --- public API --------------------------------------------------------------------


def _check_request(label_name: str, seed: int, frames: int, height: int, width: int) -> int:
    """Validate the arguments of :func:`render_clip` and return the class index."""
    if label_name not in PROCEDURAL_CLASSES:
        raise ValueError(f"unknown procedural class {label_name!r}; known classes: {', '.join(PROCEDURAL_CLASSES)}")
    for name, value, low in (("seed", seed, 0), ("frames", frames, 1), ("height", height, 8), ("width", width, 8)):
        if isinstance(value, bool) or operator.index(value) < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return PROCEDURAL_CLASSES.index(label_name)


def render_clip(label_name: str, seed: int, frames: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Render one clip of a procedural class.

    Returns ``(video, boxes)``: ``video`` is uint8 ``(frames, height, width, 3)``
    RGB; ``boxes`` is float32 ``(frames, 4)`` holding ``x0, y0, x1, y1`` in pixel
    coordinates (pixel ``i`` spans ``[i, i + 1)``) of the union of all actors in
    each frame, clipped to the image. The same arguments always give the same bytes.
    """
    video, boxes, _ = _render(label_name, seed, frames, height, width, tracks=False)
    return video, boxes


def render_clip_tracks(label_name: str, seed: int, frames: int, height: int, width: int):
    """:func:`render_clip` plus exact per-actor labels: ``(video, union boxes, tracks)``.

    ``tracks`` holds one dict per actor in the index's actor form
    (``schemas.index.ACTOR_TYPE``): its capsules' box clipped to the frame (null
    where it is wholly off-frame), its visibility (share of its rendered pixels,
    coverage > 0.5, that are in the frame and not under an actor drawn in front),
    and the span of frames in which it moves (:func:`schemas.labels.event_span`
    on its pixels before the frame cuts them). Video and union boxes are the
    bytes :func:`render_clip` gives.
    """
    return _render(label_name, seed, frames, height, width, tracks=True)


def render_matte(label_name: str, seed: int, frames: int, height: int, width: int) -> np.ndarray:
    """The actors' matte of :func:`render_clip`'s clip: float32 ``(frames, height, width)`` in [0, 1].

    Each pixel's share covered by some actor, anti-aliased edges included (the
    coverage the colours were blended with); shadows are not in it, since they
    darken the scene rather than draw a person. What a two-stream generator's
    mask should be for the same clip, exactly.
    """
    label = _check_request(label_name, seed, frames, height, width)
    _, posed = _layout(label_name, label, seed, frames, height, width)
    matte = np.zeros((frames, height, width, 1), np.float32)
    for (start, end, radius, depth, colours), box, _, _ in posed:
        _draw_actor(matte, start, end, radius, depth, np.ones_like(colours[..., :1]), box)
    return matte[..., 0]


def source_path(label_name: str, seed: int) -> str:
    """What a procedural clip's index row names as its source: enough to render it again."""
    return f"procedural:{label_name}?seed={seed}"


def parse_source_path(path: str) -> tuple[str, int]:
    """``(label_name, seed)`` of a :func:`source_path`; a ValueError for anything else."""
    match = re.fullmatch(r"procedural:([A-Za-z0-9_]+)\?seed=([0-9]+)", path or "")
    if match is None:
        raise ValueError(f"{path!r} does not name a procedural clip (procedural:<class>?seed=<n>)")
    return match.group(1), int(match.group(2))


def render_scene(seed: int, height: int, width: int) -> tuple[np.ndarray, float]:
    """An empty scene of the procedural set, lit and without noise: ``(uint8 (H, W, 3), horizon share)``.

    The built-in camera views of surveillance compositing; the horizon (where
    the wall meets the floor, as a share of the height) is where people vanish.
    """
    _check_request(PROCEDURAL_CLASSES[0], seed, 1, height, width)
    scene = _draw_scene(np.random.default_rng([operator.index(seed), 0x5CE]), height, width)
    image = np.clip(scene.background * scene.light, 0.0, 255.0)
    return np.rint(image).astype(np.uint8), scene.horizon / height


def _layout(label_name: str, label: int, seed: int, frames: int, height: int, width: int):
    """The clip's scene and random stream, and its actors posed per frame: ``(rng, scene), [(capsules, box)]``.

    Shared by the clip and its matte, so both see the same actors in the same places.
    """
    rng = np.random.default_rng([operator.index(seed), label])
    scene = _draw_scene(rng, height, width)
    actors = _draw_actors(rng, scene, height, width)
    script_seed = int(rng.integers(2**63))
    u = np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)
    action = _ACTIONS[label_name]
    drawn = []
    for actor in actors:
        pose = action(np.random.default_rng(script_seed), u, actor, width)
        capsules = _capsules(pose, actor)
        drawn.append((capsules, _boxes(*capsules[:3]), actor, pose.lift))
    return (rng, scene), drawn


def _render(label_name: str, seed: int, frames: int, height: int, width: int, tracks: bool):
    label = _check_request(label_name, seed, frames, height, width)
    (rng, scene), posed = _layout(label_name, label, seed, frames, height, width)
    video = np.broadcast_to(scene.background, (frames, height, width, 3)).copy()
    for _, box, actor, lift in posed:
        _draw_shadow(video, box, actor, lift)
    drawn = [(capsules, box) for capsules, box, _, _ in posed]
    for capsules, box in drawn:
        _draw_actor(video, *capsules, box)

    video *= scene.light
    video += rng.standard_normal((frames, height, width, 1), dtype=np.float32) * np.float32(scene.noise)
    np.clip(video, 0.0, 255.0, out=video)
    boxes = np.stack([b for _, b in drawn])
    union = np.concatenate([boxes[:, :, :2].min(axis=0), boxes[:, :, 2:].max(axis=0)], axis=1)
    union = np.clip(union, 0.0, [width, height, width, height])
    labels = _tracks(drawn, label, label_name, frames, height, width) if tracks else None
    return np.rint(video).astype(np.uint8), union.astype(np.float32), labels


def _tracks(drawn, label: int, label_name: str, frames: int, height: int, width: int) -> list[dict]:
    """Per-actor labels of a rendered clip, from each actor's own coverage on a canvas padded past the frame."""
    own, full = [], []
    for (start, end, radius, depth, colours), box in drawn:
        pad = int(np.ceil(max(0.0, -box[:, :2].min(), (box[:, 2] - width).max(), (box[:, 3] - height).max()))) + 2
        canvas = np.zeros((frames, height + 2 * pad, width + 2 * pad, 1), np.float32)
        _draw_actor(canvas, start + pad, end + pad, radius, depth, np.ones_like(colours[..., :1]), box + pad)
        pixels = canvas[..., 0] > 0.5
        full.append(pixels)
        own.append(pixels[:, pad : pad + height, pad : pad + width])
    out = []
    for i, ((_, box), pixels) in enumerate(zip(drawn, full)):
        front = np.any(own[i + 1 :], axis=0) if i + 1 < len(own) else None  # drawn in order, far to near
        vis = visibility(own[i], pixels.sum(axis=(1, 2)), front)
        clipped = np.clip(box, 0.0, [width, height, width, height])
        in_frame = own[i].any(axis=(1, 2))
        start_f, end_f = event_span(pixels)
        out.append({
            "track_id": i + 1, "label": label, "label_name": label_name,
            "boxes": [[float(v) for v in b] if seen else None for b, seen in zip(clipped, in_frame)],
            "visibility": [round(float(v), 4) for v in vis],
            "event_start": start_f, "event_end": end_f,
        })  # fmt: skip
    return out
