"""I3D features for a true FVD: the Inception-3D network, its loaders, and the resize rule.

FVD (Unterthiner et al. 2018, "Towards Accurate Generative Models of Video:
A New Metric & Challenges") is the Fréchet distance between real and generated
clips in the feature space of I3D (Carreira & Zisserman 2017, "Quo Vadis,
Action Recognition? A New Model and the Kinetics Dataset") trained on
Kinetics-400: its 400 logits, before the softmax, averaged over the clip.
Figures are comparable only with the same weights, resize rule, frame count
and sample count, so :class:`I3DFeatures` names all of them.

Nothing is downloaded. The user names a local file, either

* a **state dict** for :class:`InceptionI3d` (read with
  ``torch.load(weights_only=True)``: data, never code). Keys follow the layout
  of the widely used PyTorch port of the DeepMind release: one module per
  endpoint (``Conv3d_1a_7x7``, ``Conv3d_2b_1x1``, ``Conv3d_2c_3x3``,
  ``Mixed_3b`` ... ``Mixed_5c``, ``logits``); a unit holds ``conv3d.weight``
  and ``bn.{weight,bias,running_mean,running_var,num_batches_tracked}``
  (``logits`` holds ``conv3d.weight`` and ``conv3d.bias`` and no norm); an
  inception block holds the units ``b0``, ``b1a``, ``b1b``, ``b2a``, ``b2b``,
  ``b3b`` (e.g. ``Mixed_4c.b1b.conv3d.weight``). The class count is read from
  ``logits.conv3d.weight``; missing ``num_batches_tracked`` entries are
  accepted, anything else missing or extra is an error; or
* a **TorchScript** archive (``torch.jit.load``), called as ``model(x)`` on
  ``x`` float (B, 3, T, H, W) in [-1, 1] already resized, and returning (B, D)
  features. An archive whose ``forward`` takes ``return_features`` (the
  convention of the TorchScript I3D shipped with StyleGAN-V) is called with
  ``rescale=False, resize=False, return_features=True``. TorchScript is code
  in a restricted language: load only files you trust.

Resize rule (as in the reference FVD code): every frame is resized
bilinearly to ``size`` x ``size`` (224 by default), frames are passed as
they are (no temporal resampling), values in [-1, 1].
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generators.video import to_model

__all__ = ["I3DError", "I3DFeatures", "InceptionI3d", "load_i3d", "resize_rule"]

log = logging.getLogger(__name__)

STANDARD_SIZE = 224


class I3DError(ValueError):
    """An I3D file that cannot be used."""


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding of one axis: (before, after), the extra pixel after."""
    if size % stride == 0:
        pad = max(kernel - stride, 0)
    else:
        pad = max(kernel - size % stride, 0)
    return pad // 2, pad - pad // 2


def _pad_same(x: torch.Tensor, kernel: list[int], stride: list[int]) -> torch.Tensor:
    t = _same_padding(x.shape[2], kernel[0], stride[0])
    h = _same_padding(x.shape[3], kernel[1], stride[1])
    w = _same_padding(x.shape[4], kernel[2], stride[2])
    return F.pad(x, [w[0], w[1], h[0], h[1], t[0], t[1]])


class Unit3D(nn.Module):
    """Convolution with TF "SAME" padding, then batch norm (eps 1e-3) and ReLU, as in the DeepMind I3D."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1) -> None:
        super().__init__()
        self.kernel, self.stride = [kernel] * 3, [stride] * 3
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, bias=False)
        self.bn = nn.BatchNorm3d(cout, eps=1e-3, momentum=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv3d(_pad_same(x, self.kernel, self.stride))))


class _Logits(nn.Module):
    """The classifier: a 1x1x1 convolution with bias and no norm (a linear layer per position)."""

    def __init__(self, cin: int, classes: int) -> None:
        super().__init__()
        self.conv3d = nn.Conv3d(cin, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3d(x)


class _MaxPoolSame(nn.Module):
    """Max pooling with TF "SAME" padding (zeros: inputs are post-ReLU, so zero is the minimum)."""

    def __init__(self, kernel: list[int], stride: list[int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool3d(_pad_same(x, self.kernel, self.stride), self.kernel, self.stride)


class _Inception(nn.Module):
    """Inception block of I3D: 1x1x1 | 1x1x1 -> 3x3x3 | 1x1x1 -> 3x3x3 | max-pool -> 1x1x1, concatenated."""

    def __init__(self, cin: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.b0 = Unit3D(cin, widths[0])
        self.b1a = Unit3D(cin, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], 3)
        self.b2a = Unit3D(cin, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], 3)
        self.b3a = _MaxPoolSame([3, 3, 3], [1, 1, 1])
        self.b3b = Unit3D(cin, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], dim=1)


class InceptionI3d(nn.Module):
    """RGB I3D of Carreira & Zisserman 2017: Inception-v1 inflated to 3D, endpoints up to ``Mixed_5c`` and logits.

    ``forward(x)`` maps (B, 3, T, H, W) in [-1, 1] to logits (B, num_classes),
    averaged over the whole remaining volume. (The reference pools 2x7x7 with
    stride 1 and averages the logits over time, which is the same for the
    standard 224-pixel input and a linear head; global pooling also admits
    other sizes.)
    """

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.Conv3d_1a_7x7 = Unit3D(3, 64, 7, 2)
        self.MaxPool3d_2a_3x3 = _MaxPoolSame([1, 3, 3], [1, 2, 2])
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, 3)
        self.MaxPool3d_3a_3x3 = _MaxPoolSame([1, 3, 3], [1, 2, 2])
        self.Mixed_3b = _Inception(192, (64, 96, 128, 16, 32, 32))
        self.Mixed_3c = _Inception(256, (128, 128, 192, 32, 96, 64))
        self.MaxPool3d_4a_3x3 = _MaxPoolSame([3, 3, 3], [2, 2, 2])
        self.Mixed_4b = _Inception(480, (192, 96, 208, 16, 48, 64))
        self.Mixed_4c = _Inception(512, (160, 112, 224, 24, 64, 64))
        self.Mixed_4d = _Inception(512, (128, 128, 256, 24, 64, 64))
        self.Mixed_4e = _Inception(512, (112, 144, 288, 32, 64, 64))
        self.Mixed_4f = _Inception(528, (256, 160, 320, 32, 128, 128))
        self.MaxPool3d_5a_2x2 = _MaxPoolSame([2, 2, 2], [2, 2, 2])
        self.Mixed_5b = _Inception(832, (256, 160, 320, 32, 128, 128))
        self.Mixed_5c = _Inception(832, (384, 192, 384, 48, 128, 128))
        self.logits = _Logits(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(self.MaxPool3d_2a_3x3(self.Conv3d_1a_7x7(x))))
        x = self.Mixed_3c(self.Mixed_3b(self.MaxPool3d_3a_3x3(x)))
        x = self.MaxPool3d_4a_3x3(x)
        x = self.Mixed_4f(self.Mixed_4e(self.Mixed_4d(self.Mixed_4c(self.Mixed_4b(x)))))
        x = self.Mixed_5c(self.Mixed_5b(self.MaxPool3d_5a_2x2(x)))
        return self.logits(x.mean(dim=(2, 3, 4), keepdim=True)).flatten(1)


def resize_rule(size: int, frames: int) -> str:
    """The preprocessing, in words, to record beside every FVD figure."""
    return f"bilinear to {size}x{size}, {frames} frames as given, values in [-1, 1]"


class I3DFeatures:
    """A loaded I3D feature network: call it on uint8 clips (N, T, H, W, 3) to get float32 features (N, D)."""

    def __init__(self, net: Callable[[torch.Tensor], torch.Tensor], path: Path, kind: str, sha256: str, size: int):
        self.net, self.path, self.kind, self.sha256, self.size = net, path, kind, sha256, size

    @property
    def name(self) -> str:
        return f"i3d ({self.kind}) {self.path.name} sha256:{self.sha256[:12]}"

    @torch.inference_mode()
    def __call__(self, videos: np.ndarray, batch_size: int = 8) -> np.ndarray:
        out = []
        for start in range(0, len(videos), batch_size):
            x = to_model(videos[start : start + batch_size])
            b, c, t, h, w = x.shape
            frames = x.transpose(1, 2).reshape(b * t, c, h, w)
            frames = F.interpolate(frames, size=(self.size, self.size), mode="bilinear", align_corners=False)
            x = frames.reshape(b, t, c, self.size, self.size).transpose(1, 2).contiguous()
            feats = self.net(x)
            if not isinstance(feats, torch.Tensor) or feats.ndim != 2 or feats.shape[0] != b:
                raise I3DError(f"{self.path} returned {type(feats).__name__} {getattr(feats, 'shape', '')}, not (B, D) features")
            out.append(feats.float())
        return torch.cat(out).numpy()


def _is_torchscript(path: Path) -> bool:
    """TorchScript archives carry their code (``code/``) and ``constants.pkl``; ``torch.save`` files do not."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except zipfile.BadZipFile:
        return False
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def load_i3d(path: str | os.PathLike, size: int = STANDARD_SIZE) -> I3DFeatures:
    """Load an I3D from a local TorchScript or state-dict file (see the module docstring); never downloads."""
    path = Path(path)
    if not path.is_file():
        raise I3DError(f"no I3D file at {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if _is_torchscript(path):
        try:
            module = torch.jit.load(str(path), map_location="cpu").eval()
        except RuntimeError as e:
            raise I3DError(f"{path} is not a loadable TorchScript archive: {e}") from e
        args = [a.name for a in module.forward.schema.arguments]
        if "return_features" in args:
            net = lambda x: module(x, rescale=False, resize=False, return_features=True)  # noqa: E731
        else:
            net = module
        log.info("loaded TorchScript I3D %s", path)
        return I3DFeatures(net, path, "torchscript", digest, size)
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as e:
        raise I3DError(f"{path} is neither TorchScript nor a data-only state dict ({type(e).__name__}: {e})") from e
    if not isinstance(state, dict) or "logits.conv3d.weight" not in state:
        raise I3DError(f"{path} is not an I3D state dict (no 'logits.conv3d.weight'; see generators/i3d.py for the keys)")
    model = InceptionI3d(int(state["logits.conv3d.weight"].shape[0]))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a tensor of the wrong shape
        raise I3DError(f"{path} does not fit InceptionI3d: {e}") from e
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise I3DError(f"{path} does not fit InceptionI3d: missing {missing[:5]}, unexpected {unexpected[:5]}")
    log.info("loaded I3D state dict %s (%d classes)", path, model.num_classes)
    return I3DFeatures(model.eval(), path, "state_dict", digest, size)
