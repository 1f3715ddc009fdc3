"""Training loop: hinge-loss class-conditional video GAN with an EMA generator and exact resume.

One iteration is one discriminator update followed by one generator update.

* Loss: the hinge loss of Lim & Ye 2017 / SAGAN / BigGAN for both critics,
  summed. The frame critic's loss is averaged over its per-frame logits, so
  every sampled frame must look real on its own.
* Mask prior: as in VGAN (Vondrick et al. 2016) an L1 penalty on the
  foreground mask pushes static content into the background stream, which is
  what makes the mask useful as a foreground box. Its weight
  (``train.mask_l1``, 0.5) was chosen on moving-square clips: 0.05 left the
  mask at ~0.85 everywhere.
* EMA: samples come from an exponential moving average of the generator
  (Karras et al. 2018; Yazici et al. 2019). The decay ramps up as
  ``min(ema_decay, (1 + step) / (10 + step))`` (the ``num_updates`` rule of
  TensorFlow's ``ExponentialMovingAverage``): with the few hundred steps a CPU
  run affords, a fixed 0.999 would still carry most of the random
  initialisation.
* Precision: with ``precision="bf16"`` forward passes run under
  ``torch.autocast(dtype=torch.bfloat16)`` on CPU or CUDA; parameters,
  optimizer state and losses stay fp32, so no loss scaling is needed.
* Determinism: network initialisation is seeded from ``config.seed``; every
  random draw of the loop (batch indices, latents, the frame critic's frames)
  comes from one explicit CPU ``torch.Generator`` whose state is checkpointed.
  Training N steps straight, or k steps and then resuming, gives identical
  weights on CPU.
* Augmentation: every clip either critic sees, real or fake, in both
  updates, goes through ``config.augment`` (DiffAugment, Zhao et al. 2020;
  generators/diffaugment.py), so critics trained on a few hundred clips do not
  memorise them. Never flips: a mirrored ``walk_left`` is a ``walk_right``.
* Generator family: ``config.model.architecture`` picks it from
  generators/architectures.py; the critics and the loop are the same for all.
* Optional, off by default (so a default run is the run it always was):
  lazy R1 (``r1_gamma``, ``r1_every``; Mescheder et al. 2018, lazy form of
  StyleGAN2): every ``r1_every`` critic steps, ``r1_gamma / 2`` times the
  squared gradient of both critics' logits on the (augmented) real clips,
  scaled by ``r1_every`` so the average strength does not depend on it. It
  keeps the critic smooth around the real clips, which is what lets a
  generator converge instead of circling. ``critic_frame_diffs`` shows the
  video critic frame differences besides the clip (see
  :class:`VideoDiscriminator`).
* Scene critic (``scene_critic``, off by default): a third critic, a 2D one
  without class, tells the generator's background from empty scenes of the
  real set (the caller's ``scenes``). The two-stream split otherwise puts
  whatever stands still into the background, a waving actor's body included,
  and the mask prior keeps it there: composited into another camera's scene
  such an actor has no body, and its box holds only the arm. With
  backgrounds that must look empty, the actor has to come from the foreground.
* Matte critic (``matte_critic``, off by default): a fourth critic, a
  class-conditional video critic like the first, sees actors cut out of
  their clips: for a generated clip its mask and its foreground times the
  mask, for a real clip the actors' matte (the caller's ``mattes``, which
  only a renderer knows) and the clip times the matte. The adversarial loss
  of the composed clip says nothing about how the clip is split into
  foreground and mask, and a half-on mask over a blurred blob composes as
  well as a sharp person; compositing and boxes need the sharp person, and
  this critic asks for it. Its inputs get the geometric augmentations only:
  a colour shift of a matte has no meaning.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from generators.diffaugment import diffaugment
from generators.device import autocast, resolve_device, resolve_precision
from generators.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from generators.architectures import build_generator
from generators.networks import FrameDiscriminator, VideoDiscriminator
from generators.video import ClipSource, to_model
from schemas.config import ClipFormat, TrainConfig

__all__ = ["ResumeMismatchError", "describe_progress", "train"]

log = logging.getLogger(__name__)

LOG_EVERY = 20  # steps between log lines and progress callbacks
FRAMES_PER_CLIP = 4  # frames the frame critic sees per clip (DVD-GAN uses 8 of 48)

# Fields that may differ between the run that wrote a checkpoint and the run
# resuming it: they change how long or where training runs, not its trajectory.
_RESUMABLE_CHANGES = frozenset({"steps", "checkpoint_every", "device"})


class ResumeMismatchError(CheckpointError):
    """The checkpoint at the training path belongs to a different run; it is left untouched."""




class _Run:
    """Networks, optimizers and RNG of one training run, and their (de)serialisation."""

    def __init__(self, num_classes: int, config: TrainConfig, clip: ClipFormat, device: torch.device) -> None:
        m = config.model
        # seed initialisation (including spectral-norm power-iteration vectors)
        # without disturbing the caller's global RNG
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.G = build_generator(m, num_classes, clip)
            self.D_video = VideoDiscriminator(num_classes, m.channels, clip.frames, clip.size, config.critic_frame_diffs)
            self.D_frame = FrameDiscriminator(num_classes, m.channels, clip.size, FRAMES_PER_CLIP)
            # one "class" and one frame: an unconditional critic of still images
            self.D_scene = FrameDiscriminator(1, m.channels, clip.size, 1) if config.scene_critic > 0 else None
            # mask + masked foreground: the actor alone, as compositing cuts it out
            self.D_matte = (
                VideoDiscriminator(num_classes, m.channels, clip.frames, clip.size, config.critic_frame_diffs, 4)
                if config.matte_critic > 0
                else None
            )
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        for net in (self.G, self.G_ema, *self.critics().values()):
            net.to(device)
        betas = (config.beta1, config.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=config.lr_g, betas=betas)
        d_params = [p for net in self.critics().values() for p in net.parameters()]
        self.opt_D = torch.optim.Adam(d_params, lr=config.lr_d, betas=betas)
        self.rng = torch.Generator().manual_seed(config.seed)
        self.step = 0

    def critics(self) -> dict[str, torch.nn.Module]:
        """The critics of this run by checkpoint key; the scene and matte critics only where they are on."""
        nets = {"D_video": self.D_video, "D_frame": self.D_frame, "D_scene": self.D_scene, "D_matte": self.D_matte}
        return {key: net for key, net in nets.items() if net is not None}

    def state(self, config: TrainConfig, clip: ClipFormat, class_names: list[str]) -> dict[str, Any]:
        return {
            "config": config.model_dump(mode="json"),
            "clip": clip.model_dump(mode="json"),
            "class_names": list(class_names),
            "step": self.step,
            "G": self.G.state_dict(),
            "G_ema": self.G_ema.state_dict(),
            **{key: net.state_dict() for key, net in self.critics().items()},
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "rng": self.rng.get_state(),
        }

    def restore(self, ckpt: dict[str, Any]) -> None:
        self.G.load_state_dict(ckpt["G"])
        self.G_ema.load_state_dict(ckpt["G_ema"])
        for key, net in self.critics().items():
            net.load_state_dict(ckpt[key])
        self.opt_G.load_state_dict(ckpt["opt_G"])
        self.opt_D.load_state_dict(ckpt["opt_D"])
        self.rng.set_state(ckpt["rng"].cpu())
        self.step = int(ckpt["step"])


def _check_resumable(
    ckpt: dict[str, Any], path: Path, config: TrainConfig, clip: ClipFormat, class_names: list[str]
) -> None:
    problems = []
    if list(ckpt["class_names"]) != class_names:
        problems.append(f"class_names {list(ckpt['class_names'])} != {class_names}")
    if ckpt["clip"] != clip.model_dump(mode="json"):
        problems.append(f"clip {ckpt['clip']} != {clip.model_dump(mode='json')}")
    old, new = ckpt["config"], config.model_dump(mode="json")
    for key in sorted((old.keys() | new.keys()) - _RESUMABLE_CHANGES):
        if old.get(key) != new.get(key):
            problems.append(f"train.{key} {old.get(key)!r} != {new.get(key)!r}")
    if problems:
        raise ResumeMismatchError(
            f"{path} holds a different training run ({'; '.join(problems)}); "
            "choose another checkpoint path or delete this one"
        )


#: Decoded training clips kept in memory (bytes). Reading a clip from a clip dataset means a seek, a
#: checksum and an H.264 decode: 14 ms of CPU per 32x32x16 clip, measured here, so 0.22 s of every
#: 0.7 s demo step on 2 cores went to decoding the same 288 clips again. 2 GiB holds a UCF-101-sized
#: split at 64x64x16 (~9,500 clips); past it, clips are decoded on each use as before.
CLIP_CACHE_BYTES = 2 << 30


class _DecodedClips:
    """``dataset`` with each clip kept after its first read, up to ``budget`` bytes.

    The clips and their order are the dataset's, so training draws the same
    batches (and writes the same checkpoints) with or without it.
    """

    def __init__(self, dataset: ClipSource, budget: int | None = None) -> None:
        self.dataset, self.used = dataset, 0
        self.budget = CLIP_CACHE_BYTES if budget is None else budget
        self.kept: dict[int, tuple[np.ndarray, int]] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        if i in self.kept:
            return self.kept[i]
        video, label = self.dataset[i]
        item = (np.asarray(video), int(label))
        if self.used + item[0].nbytes <= self.budget:
            self.kept[i] = item
            self.used += item[0].nbytes
        return item


def _draw_batch(
    dataset: ClipSource, rng: torch.Generator, batch_size: int, clip: ClipFormat, num_classes: int
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """``batch_size`` clips drawn uniformly with replacement (so a dataset smaller than a batch works), and their indices."""
    idx = torch.randint(len(dataset), (batch_size,), generator=rng).tolist()
    items = [dataset[i] for i in idx]
    videos = np.stack([np.asarray(v) for v, _ in items])
    expected = (batch_size, clip.frames, clip.size, clip.size, 3)
    if videos.shape != expected or videos.dtype != np.uint8:
        raise ValueError(
            f"dataset clips must be uint8 {expected[1:]} to match the clip format, got {videos.dtype} {videos.shape[1:]}"
        )
    labels = torch.tensor([int(y) for _, y in items], dtype=torch.long)
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"dataset labels must lie in [0, {num_classes}), got {labels.tolist()}")
    return torch.from_numpy(videos), labels, idx


def _mode_seeking(a: torch.Tensor, b: torch.Tensor, za: torch.Tensor, zb: torch.Tensor) -> torch.Tensor:
    """MSGAN's term (Mao et al. 2019): the inverse of how far clips move apart per unit of latent distance.

    ``a[i]`` and ``b[i]`` share a class. Without it the generator drew every
    clip of a class from a few modes: after 2000 steps on the procedural demo
    set, run, loiter and turn_back clips were less than 0.4 times as varied
    (mean pairwise judge-feature distance) as the real ones.
    """
    ratio = (a.float() - b.float()).abs().mean() / (za - zb).abs().mean()
    return 1 / (ratio + 1e-5)


def _r1_penalty(run: _Run, real: torch.Tensor, y: torch.Tensor, config: TrainConfig, device: torch.device) -> torch.Tensor:
    """Mean over clips of the squared gradient norm of both critics' summed logits at the real clips."""
    real = real.detach().float().requires_grad_(True)
    with autocast(device, config.precision):
        seen = diffaugment(real, config.augment, run.rng)
        logits = run.D_video(seen, y).float().sum() + run.D_frame(seen, y, generator=run.rng).float().sum()
    (grad,) = torch.autograd.grad(logits, real, create_graph=True)
    return grad.square().sum(dim=tuple(range(1, grad.ndim))).mean()


def _hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real.float()).mean() + F.relu(1 + fake.float()).mean()


@torch.no_grad()
def _update_ema(ema: torch.nn.Module, net: torch.nn.Module, step: int, max_decay: float) -> None:
    decay = min(max_decay, (1 + step) / (10 + step))
    ema_params, params = list(ema.parameters()), list(net.parameters())
    torch._foreach_lerp_(ema_params, params, 1.0 - decay)


def _scene_logits(run: _Run, images: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """The scene critic's logits (B, 1) for still images (B, 3, H, W), augmented like every clip a critic sees."""
    seen = diffaugment(images.unsqueeze(2), config.augment, run.rng)
    return run.D_scene(seen, torch.zeros(len(images), dtype=torch.long, device=images.device), generator=run.rng)


def _matte_logits(run: _Run, matte: torch.Tensor, actor: torch.Tensor, y: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    """The matte critic's logits (B,) for actors cut out: ``matte`` (B, 1, T, H, W) in [0, 1] over ``actor`` (B, 3, T, H, W).

    Zero outside the matte in every channel, so a translation's zero padding is
    empty ground and a cutout an occluder, as for the clips.
    """
    cutout = torch.cat([matte, matte * actor], dim=1)
    seen = diffaugment(cutout, [a for a in config.augment if a != "color"], run.rng)
    return run.D_matte(seen, y)


def _iteration(
    run: _Run,
    dataset: ClipSource,
    config: TrainConfig,
    clip: ClipFormat,
    num_classes: int,
    device: torch.device,
    scenes: torch.Tensor | None = None,
    mattes: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """One discriminator update and one generator update; returns detached scalars for logging.

    ``scenes`` (N, 3, H, W) in [-1, 1] are the empty scenes the scene critic
    takes for real; needed exactly when ``config.scene_critic`` is on.
    ``mattes`` (len(dataset), 1, T, H, W) uint8 are the real clips' actor
    mattes; needed exactly when ``config.matte_critic`` is on.
    """
    b, z_dim = config.batch_size, config.model.z_dim
    G, Dv, Df, rng = run.G, run.D_video, run.D_frame, run.rng

    real_u8, y, idx = _draw_batch(dataset, rng, b, clip, num_classes)
    # under bf16 the critics' first convolution would cast real clips anyway; converting once saves copies
    dtype = torch.bfloat16 if resolve_precision(config.precision, device) == "bf16" else torch.float32
    real = to_model(real_u8, device=device, dtype=dtype, memory_format=torch.channels_last_3d)
    y = y.to(device)

    # discriminators: real and fake in one batch, so each critic runs (and power-iterates) once
    z = torch.randn(b, z_dim, generator=rng).to(device)
    with torch.no_grad(), autocast(device, config.precision):
        fake_parts = G.forward_parts(z, y)
    both, yy = torch.cat([real, fake_parts.video.to(real.dtype)]), torch.cat([y, y])
    with autocast(device, config.precision):
        both = diffaugment(both, config.augment, rng)
        lv = Dv(both, yy)
        lf = Df(both, yy, generator=rng)
    loss_d = _hinge_d(lv[:b], lv[b:]) + _hinge_d(lf[:b], lf[b:])
    if run.D_scene is not None:
        empty = scenes[torch.randint(len(scenes), (b,), generator=rng).to(scenes.device)]
        with autocast(device, config.precision):
            ls = _scene_logits(run, torch.cat([empty.to(real.dtype), fake_parts.background.to(real.dtype)]), config)
        loss_d = loss_d + _hinge_d(ls[:b], ls[b:])
    if run.D_matte is not None:
        real_matte = mattes[torch.tensor(idx, device=mattes.device)].to(real.dtype) / 255
        with autocast(device, config.precision):
            lm = _matte_logits(run, torch.cat([real_matte, fake_parts.mask.to(real.dtype)]),
                               torch.cat([real, fake_parts.foreground.to(real.dtype)]), yy, config)
        loss_d = loss_d + _hinge_d(lm[:b], lm[b:])
    run.opt_D.zero_grad(set_to_none=True)
    loss_d.backward()
    if config.r1_gamma > 0 and run.step % config.r1_every == 0:
        # a separate backward, accumulated into the same gradients: the penalty needs its own pass over the reals
        (_r1_penalty(run, real, y, config, device) * (config.r1_gamma / 2 * config.r1_every)).backward()
    run.opt_D.step()

    # generator: same labels, fresh latents; critics frozen so no weight gradients are computed
    for net in run.critics().values():
        net.requires_grad_(False)
    z = torch.randn(b, z_dim, generator=rng).to(device)
    half = b // 2 if config.mode_seeking > 0 else 0  # pairs (i, i + half) share a label, for the mode-seeking term
    y = torch.cat([y[:half], y[:half], y[2 * half :]])
    with autocast(device, config.precision):
        parts = G.forward_parts(z, y)
        seen = diffaugment(parts.video, config.augment, rng)
        gv = Dv(seen, y)
        gf = Df(seen, y, generator=rng)
        gs = _scene_logits(run, parts.background, config) if run.D_scene is not None else None
        gm = _matte_logits(run, parts.mask, parts.foreground, y, config) if run.D_matte is not None else None
    mask_mean = parts.mask.float().mean()
    loss_g = -gv.float().mean() - gf.float().mean() + config.mask_l1 * mask_mean
    if gs is not None:
        loss_g = loss_g - config.scene_critic * gs.float().mean()
    if gm is not None:
        loss_g = loss_g - config.matte_critic * gm.float().mean()
    if config.mask_binary > 0:
        # a half-on mask blends a faint actor into the background: its motion falls under what the gate
        # counts as moving, and no pixel crosses the 0.5 a box is cut at
        loss_g = loss_g + config.mask_binary * torch.minimum(parts.mask, 1 - parts.mask).float().mean()
    if half:
        loss_g = loss_g + config.mode_seeking * _mode_seeking(parts.video[:half], parts.video[half : 2 * half],
                                                              z[:half], z[half : 2 * half])
    run.opt_G.zero_grad(set_to_none=True)
    loss_g.backward()
    run.opt_G.step()
    for net in run.critics().values():
        net.requires_grad_(True)

    run.step += 1
    _update_ema(run.G_ema, G, run.step, config.ema_decay)
    return {
        "loss_d": loss_d.detach(),
        "loss_g": loss_g.detach(),
        "d_real": (lv[:b].float().mean() + lf[:b].float().mean()).detach() / 2,
        "d_fake": (lv[b:].float().mean() + lf[b:].float().mean()).detach() / 2,
        "mask": mask_mean.detach(),
    }


def _scenes_tensor(
    scenes: np.ndarray | None, config: TrainConfig, clip: ClipFormat, device: torch.device
) -> torch.Tensor | None:
    """``scenes`` checked against the configuration and the clip size, in model layout (N, 3, H, W)."""
    if config.scene_critic <= 0:
        if scenes is not None:
            raise ValueError("scenes were given but train.scene_critic is 0: set a weight to train with them")
        return None
    if scenes is None or len(scenes) == 0:
        raise ValueError("train.scene_critic is on but no empty scenes were given to train it with")
    scenes = np.asarray(scenes)
    if scenes.dtype != np.uint8 or scenes.shape[1:] != (clip.size, clip.size, 3):
        raise ValueError(f"scenes must be uint8 (N, {clip.size}, {clip.size}, 3), got {scenes.dtype} {scenes.shape}")
    return to_model(scenes[:, None], device=device)[:, :, 0]


def _mattes_tensor(
    mattes: np.ndarray | None, config: TrainConfig, clip: ClipFormat, clips: int, device: torch.device
) -> torch.Tensor | None:
    """``mattes`` checked against the configuration, the clip format and the dataset, as uint8 (N, 1, T, H, W)."""
    if config.matte_critic <= 0:
        if mattes is not None:
            raise ValueError("mattes were given but train.matte_critic is 0: set a weight to train with them")
        return None
    if mattes is None:
        raise ValueError("train.matte_critic is on but no actor mattes of the real clips were given to train it with")
    mattes = np.asarray(mattes)
    expected = (clips, clip.frames, clip.size, clip.size)
    if mattes.dtype != np.uint8 or mattes.shape != expected:
        raise ValueError(f"mattes must be uint8 {expected}, one per training clip, got {mattes.dtype} {mattes.shape}")
    return torch.from_numpy(mattes).unsqueeze(1).to(device)


def describe_progress(step: int, steps: int, stats: dict[str, float]) -> str:
    """One line of training progress: where it is, how fast, how long is left, and the critics' view."""
    eta = stats["eta_s"]
    left = f"{int(eta // 60)}:{int(eta % 60):02d} left" if math.isfinite(eta) else "time left unknown"
    return (
        f"step {step}/{steps}  {stats['steps_per_s']:.2f} steps/s  {left}  "
        f"loss_d {stats['loss_d']:.3f}  loss_g {stats['loss_g']:.3f}  "
        f"D(real) {stats['d_real']:.2f}  D(fake) {stats['d_fake']:.2f}  mask {stats['mask']:.2f}"
    )


def train(
    dataset: ClipSource,
    class_names: Sequence[str],
    config: TrainConfig,
    clip: ClipFormat,
    checkpoint_path: str | os.PathLike,
    *,
    progress: Callable[[int, dict[str, float]], None] | None = None,
    scenes: np.ndarray | None = None,
    mattes: np.ndarray | None = None,
) -> Path:
    """Train (or resume training) a class-conditional video GAN; returns the checkpoint path.

    ``dataset[i]`` is ``(uint8 clip (T, H, W, 3) as numpy or tensor, label)``
    with ``T, H, W`` matching ``clip`` and ``0 <= label < len(class_names)``.

    If ``checkpoint_path`` exists, training continues from its step provided
    its class names, clip format and training configuration match (``steps``,
    ``checkpoint_every`` and ``device`` may differ); otherwise
    :class:`ResumeMismatchError` is raised and the file is left alone. A
    checkpoint is written every ``config.checkpoint_every`` steps and at the end.

    ``progress(step, stats)`` is called every :data:`LOG_EVERY` steps and after
    the last one; ``stats`` holds window averages of ``loss_d``, ``loss_g``,
    ``d_real``, ``d_fake``, ``mask`` (mean mask value), ``steps_per_s`` and
    ``eta_s`` (seconds left at that rate). A caller that passes ``progress``
    reports it (:func:`describe_progress` gives the line); without one, this
    module logs the line itself, so a run never prints each report twice.

    ``scenes`` (uint8 ``(N, H, W, 3)``, the clip size) are empty scenes of the
    real set, what the scene critic takes for real; they are required when
    ``config.scene_critic`` is on and refused when it is off, so a caller never
    believes it trained with them when it did not.

    ``mattes`` (uint8 ``(len(dataset), T, H, W)``, 255 = actor) are the actors'
    mattes of the training clips, in the dataset's order, what the matte
    critic takes for real; required when ``config.matte_critic`` is on and
    refused when it is off.
    """
    class_names = [str(c) for c in class_names]
    if len(class_names) < 1 or len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must be distinct and non-empty, got {class_names}")
    if len(dataset) == 0:
        raise ValueError("cannot train on an empty dataset")
    path = Path(checkpoint_path)
    device = resolve_device(config.device)
    scene_batch = _scenes_tensor(scenes, config, clip, device)
    matte_set = _mattes_tensor(mattes, config, clip, len(dataset), device)
    run = _Run(len(class_names), config, clip, device)

    if path.exists():
        ckpt = load_checkpoint(path)
        _check_resumable(ckpt, path, config, clip, class_names)
        run.restore(ckpt)
        log.info("resuming %s from step %d of %d", path, run.step, config.steps)
        if run.step >= config.steps:
            return path
    else:
        log.info(
            "training %d steps: %d classes, clip %dx%dx%d, batch %d, channels %d, %s on %s",
            config.steps, len(class_names), clip.frames, clip.size, clip.size,
            config.batch_size, config.model.channels, resolve_precision(config.precision, device), device,
        )  # fmt: skip

    dataset = _DecodedClips(dataset)
    window: dict[str, torch.Tensor] = {}
    window_start, window_steps = time.perf_counter(), 0
    while run.step < config.steps:
        stats = _iteration(run, dataset, config, clip, len(class_names), device, scene_batch, matte_set)
        for k, v in stats.items():
            window[k] = window[k] + v if k in window else v
        window_steps += 1
        save_now = run.step % config.checkpoint_every == 0 or run.step == config.steps
        log_now = run.step % LOG_EVERY == 0 or run.step == config.steps
        if not (save_now or log_now):
            continue  # no host sync between log points

        report = {k: float(v) / window_steps for k, v in window.items()}
        if not (math.isfinite(report["loss_d"]) and math.isfinite(report["loss_g"])):
            raise FloatingPointError(f"training diverged before step {run.step} ({report}); last good checkpoint kept")
        if save_now:
            save_checkpoint(path, run.state(config, clip, class_names))
        if log_now:
            elapsed = time.perf_counter() - window_start
            report["steps_per_s"] = window_steps / elapsed if elapsed > 0 else float("inf")
            report["eta_s"] = (config.steps - run.step) / report["steps_per_s"]
            if progress is None:
                log.info("%s", describe_progress(run.step, config.steps, report))
            else:
                progress(run.step, report)
            window, window_start, window_steps = {}, time.perf_counter(), 0
    return path
