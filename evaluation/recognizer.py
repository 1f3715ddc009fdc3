"""A small action recognizer trained on given clips: the instrument that measures what synthetic clips are worth.

The augmentation-gain benchmarks and the flow's value step both ask one
question: does a recognizer trained with the synthetic clips beat the same
recognizer trained on the real clips alone, on held-out real clips? Both arms
must be trained identically but for the data, so the loop lives here once.

The network is the judge's R(2+1)D (:class:`evaluation.judge.JudgeNet`), fresh
and seeded, with an explicit input view (``RecognizerSpec.view``): the view
decides what a few-shot recognizer can learn, so it is part of every figure.
On the procedural set at 5 clips per class, where each clip has its own
background and only motion tells the classes apart, the residual view reached
68 % held-out accuracy and the frames-plus-residual view 21 %: it learnt the
40 backgrounds. Real footage needs the frames (docs/quality-gate.md).

Training is AdamW under one one-cycle schedule that spans all *stages*: each
stage is a source of batches and a number of steps, so "mix, then rehearse on
real clips only" is two stages of one run. Every batch carries a value per
clip in [0, 1] (1 for a real clip; for a synthetic one, how far its label can
be trusted), and the stage says how it enters the loss (:func:`clip_losses`):
as a loss weight, so a clip of 0.3 counts 0.3 of a real one, or as label
smoothing, so the lower a clip's value the more of its target is spread
evenly over all classes (the uncertainty-based smoothing of the CogVideoX
study of data-limited action recognition, arXiv 2505.19495). Training runs in
fp32: the recognizer is small, and bf16 on CPUs without native support is
many times slower.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from evaluation.judge import JudgeNet, embed
from evaluation.quality import accuracy
from generators.video import to_model

__all__ = ["CLIP_VALUE_USES", "RecognizerSpec", "Stage", "clip_losses", "spread", "top1", "train_recognizer"]

Batches = Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]
"""``epoch -> batches`` of (uint8 clips (B, T, H, W, 3), int64 labels (B,), float per-clip values (B,))."""

CLIP_VALUE_USES = ("weight", "smoothing")


@dataclass(frozen=True)
class RecognizerSpec:
    """The recognizer and its training: what a gain figure was measured with."""

    channels: int = 16
    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    view: str = "residual"  # JudgeNet input: "residual", "raw" or "both"; the recorded gain figures used "residual"

    def __post_init__(self) -> None:
        if self.channels < 4 or self.steps < 1 or self.batch_size < 2:
            raise ValueError(f"recognizer needs channels >= 4, steps >= 1 and batch_size >= 2, got {self}")

    def describe(self) -> str:
        return (f"R(2+1)D (evaluation.judge.JudgeNet) {self.channels} channels, {self.view} input, {self.steps} steps of batch "
                f"{self.batch_size}, AdamW lr {self.lr:g} one-cycle, weight decay {self.weight_decay:g}, "
                f"label smoothing {self.label_smoothing:g}, fp32")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Stage:
    """``steps`` updates on batches from ``batches``, epoch after epoch; ``values``: how the per-clip values enter the loss."""

    batches: Batches
    steps: int
    values: str = "weight"

    def __post_init__(self) -> None:
        if self.values not in CLIP_VALUE_USES:
            raise ValueError(f"a stage's per-clip values are used as one of {CLIP_VALUE_USES}, got {self.values!r}")


def clip_losses(logits: torch.Tensor, labels: torch.Tensor, values: torch.Tensor, use: str, smoothing: float) -> torch.Tensor:
    """Per-clip losses (B,) for per-clip values in [0, 1] used as ``"weight"`` or ``"smoothing"``.

    ``weight``: value x cross-entropy with label smoothing ``smoothing``.
    ``smoothing``: cross-entropy against a target that puts ``1 - e`` on the
    label and ``e`` spread evenly over all classes, ``e = smoothing + (1 -
    smoothing) (1 - value)``: a clip of value 1 is trained like a real one, a
    clip of value 0 towards the uniform distribution (it says "not sure", not
    "this class").
    """
    if use not in CLIP_VALUE_USES:
        raise ValueError(f"per-clip values are used as one of {CLIP_VALUE_USES}, got {use!r}")
    if use == "smoothing" and bool(((values < 0) | (values > 1)).any()):  # checked where the batch was made: no device sync
        raise ValueError("as label smoothing, per-clip values must lie in [0, 1] (a confidence)")
    values = values.to(logits.device, torch.float32)
    if use == "weight":
        return F.cross_entropy(logits, labels, label_smoothing=smoothing, reduction="none") * values
    log_p = F.log_softmax(logits.float(), dim=1)
    e = smoothing + (1 - smoothing) * (1 - values)
    return (1 - e) * -log_p.gather(1, labels[:, None]).squeeze(1) + e * -log_p.mean(dim=1)


def train_recognizer(
    stages: Sequence[Stage], num_classes: int, frames: int, size: int, spec: RecognizerSpec, seed: int,
    device: str | torch.device = "cpu",
) -> JudgeNet:  # fmt: skip
    """A fresh recognizer (seeded by ``seed``) trained through ``stages`` in order; returned in eval mode.

    The stages' steps should add up to ``spec.steps`` for figures to be
    comparable between runs; the one-cycle schedule spans their sum.
    """
    total = sum(s.steps for s in stages)
    if total < 1:
        raise ValueError("a recognizer needs at least one training step")
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = JudgeNet(num_classes, spec.channels, frames, size, spec.view)
    net.to(device).train()
    opt = torch.optim.AdamW(net.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=total)
    for stage in stages:
        step, epoch = 0, 0
        while step < stage.steps:
            seen = 0
            for videos, labels, values in stage.batches(epoch):
                if len(labels) < 2:  # batch norm cannot normalise a single clip
                    continue
                logits = net(to_model(videos, device=device))
                loss = clip_losses(logits, labels.to(device), values, stage.values, spec.label_smoothing).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
                if not math.isfinite(float(loss.detach())):
                    raise FloatingPointError(f"recognizer training diverged at step {step + 1}")
                step, seen = step + 1, seen + 1
                if step == stage.steps:
                    break
            if not seen:
                raise ValueError("a training stage gave no batch of two or more clips")
            epoch += 1
    return net.eval()


def top1(net: JudgeNet, videos: np.ndarray, labels: np.ndarray, device: str | torch.device = "cpu") -> float:
    """Top-1 accuracy (overall, not class-averaged) of ``net`` on uint8 clips, fp32."""
    device = torch.device(device)
    return accuracy(embed(net, videos, device, "fp32").labels, labels, net.num_classes)[0]


def spread(values: Sequence[float], digits: int = 4) -> dict:
    """Mean, sample standard deviation (0 for one value) and the runs themselves."""
    return {
        "mean": round(statistics.fmean(values), digits),
        "std": round(statistics.stdev(values), digits) if len(values) > 1 else 0.0,
        "runs": [round(v, digits) for v in values],
    }
