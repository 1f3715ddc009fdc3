"""Content-motion generator: one latent for what a clip shows, a trajectory for how it moves.

Why a second family
    The two-stream VGAN (generators/networks.py) synthesises the whole clip with
    one stack of 3D transposed convolutions. On the procedural set its clips
    are blurred scenes with a smudge for the actor. The video-GAN literature
    that followed found sharper, steadier clips by separating content from
    motion and drawing every frame with one shared 2D generator:

    * MoCoGAN (Tulyakov et al. 2018): a per-clip content code and a per-frame
      motion code, frames made by an image generator;
    * StyleGAN-V (Skorokhodov et al. 2022): motion as a continuous trajectory
      of sinusoids with random phases, fed through style modulation
      (StyleGAN2, Karras et al. 2020: modulated and demodulated convolutions).

Layout of the latent
    ``z`` (B, z_dim) is split: the first ``z_dim - z_dim // 4`` entries are the
    content code, the rest the motion code. Sampling therefore stays a pure
    function of one latent vector per clip (generators/sampling.py draws it
    from the clip's seed), exactly as for VGAN.

Motion
    The motion code and the class code give, per motion channel, a linear
    drift plus :data:`FREQUENCIES` sinusoids with their own amplitude and
    phase. A drift is what walking across the frame needs; sinusoids are what
    waving, running and loitering need. Evaluated at each frame's time in
    [0, 1] it gives one motion vector per frame, continuous in time, so
    neighbouring frames are similar by construction.

Frames
    Each frame's style is the content style plus a learned function of its
    motion vector. A 2D stack (4x4 -> half size, one modulated 3x3 convolution
    per resolution, then a modulated transposed convolution to full size) runs on all B*T frames as one batch and emits RGB and a
    mask logit; its 4x4 input is a learned constant plus a map of the motion
    vector, so where things are can change from frame to frame, not only how
    they look. A second, smaller 2D stack driven by the content style alone
    draws one static background per clip; ``m * f + (1 - m) * b`` composes
    them as in VGAN, so the mask (and the boxes made from it) keep their
    meaning.

Modulation is the non-fused form of StyleGAN2 (scale the input channels,
convolve with the shared weight, scale the output channels by the
demodulation factor): one ordinary convolution for the whole batch, which on
CPU is far faster than a grouped convolution with one group per frame. No
layer has batch statistics or noise inputs, so a clip depends on its latent
and label only.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from generators.networks import _LOG2_MIN_SPATIAL, VideoParts, _log2, _width

__all__ = ["ContentMotionGenerator", "FREQUENCIES"]

FREQUENCIES = 4  # sinusoids per motion channel: 0.5, 1, 2 and 4 cycles per clip
_MOTION_DIM = 32  # motion channels of the trajectory


class _ModConv(nn.Module):
    """Style-modulated 2D convolution (StyleGAN2), written as scale -> conv -> scale.

    ``up=True`` makes it a kernel-4 / stride-2 transposed convolution that
    doubles the resolution, without demodulation: the output layer, so that
    only its few channels are computed at full resolution (as in VGAN's
    foreground stream; the 3x3 layers stop at half resolution).
    """

    def __init__(self, cin: int, cout: int, w_dim: int, up: bool = False) -> None:
        super().__init__()
        kernel = 4 if up else 3
        # equalised learning rate: unit-variance weights, scaled at run time (Karras et al. 2018)
        shape = (cin, cout, kernel, kernel) if up else (cout, cin, kernel, kernel)
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.scale = 1 / math.sqrt(cin * (kernel // 2 if up else kernel) ** 2)
        self.affine = nn.Linear(w_dim, cin)
        nn.init.ones_(self.affine.bias)  # every style starts as the identity
        self.up = up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        style = self.affine(w)  # (N, cin)
        weight = self.weight * self.scale
        x = x * style.to(x.dtype)[:, :, None, None]
        bias = self.bias.to(x.dtype)[None, :, None, None]
        if self.up:
            return F.conv_transpose2d(x, weight.to(x.dtype), stride=2, padding=1) + bias
        x = F.conv2d(x, weight.to(x.dtype), padding=1)
        # demodulation, 1 / ||w * s|| per output channel, computed in fp32 whatever the autocast precision
        power = (weight.float().square().sum(dim=(2, 3))[None] * style.float().square()[:, None]).sum(dim=2)
        return torch.addcmul(bias, x, torch.rsqrt(power + 1e-8).to(x.dtype)[:, :, None, None])


class _Synthesis(nn.Module):
    """4x4 input -> one modulated 3x3 convolution per resolution up to half size -> ``cout`` channels at ``size``."""

    def __init__(self, channels: int, size: int, w_dim: int, cout: int, width_cap: int | None = None) -> None:
        super().__init__()
        steps = _log2(size, "size") - _LOG2_MIN_SPATIAL
        widths = [_width(channels, steps - 1 - i) for i in range(steps)]  # 4x4 ... half size
        if width_cap is not None:
            widths = [min(c, width_cap) for c in widths]
        self.in_channels = widths[0]
        self.convs = nn.ModuleList(_ModConv(widths[max(i - 1, 0)], widths[i], w_dim) for i in range(steps))
        self.out = _ModConv(widths[-1], cout, w_dim, up=True)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            if i:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.leaky_relu(conv(x, w), 0.2)
        return self.out(x, w)


def _mlp(cin: int, width: int, layers: int) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(cin if i == 0 else width, width), nn.LeakyReLU(0.2)]
    return nn.Sequential(*mods)


class ContentMotionGenerator(nn.Module):
    """Class-conditional content/motion video generator; same interface as :class:`VideoGenerator`.

    ``G.forward_parts(z, y)`` returns :class:`VideoParts` (video, mask,
    foreground, background) of shape (B, 3 or 1, T, H, W) and (B, 3, H, W).
    ``channels`` is the width at full resolution; coarser layers are up to 8x
    wider, as in the VGAN family, so one ``ModelConfig`` sizes either family.
    """

    def __init__(self, num_classes: int, z_dim: int = 128, channels: int = 32, frames: int = 16, size: int = 64) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        _log2(frames, "frames")
        if _log2(size, "size") - _LOG2_MIN_SPATIAL < 1 or frames < 4:
            raise ValueError(f"clip {frames} x {size}x{size} is too small (need frames >= 4, size >= 8)")
        self.num_classes, self.z_dim, self.frames, self.size = num_classes, z_dim, frames, size
        self.z_motion = z_dim // 4
        self.z_content = z_dim - self.z_motion
        w_dim = z_dim
        self.class_code = nn.Embedding(num_classes, w_dim)
        self.mapping = _mlp(self.z_content + w_dim, w_dim, 2)

        # trajectory: per motion channel a drift and FREQUENCIES (amplitude, phase) pairs
        self.trajectory = nn.Linear(self.z_motion + w_dim, _MOTION_DIM * (1 + 2 * FREQUENCIES))
        self.register_buffer(
            "omega", 2 * math.pi * 2.0 ** torch.arange(-1, FREQUENCIES - 1, dtype=torch.float32), persistent=False
        )
        self.register_buffer("times", torch.linspace(0, 1, frames), persistent=False)
        self.motion_style = _mlp(_MOTION_DIM, w_dim, 1)

        self.fg = _Synthesis(channels, size, w_dim, 4)
        self.fg_const = nn.Parameter(torch.randn(self.fg.in_channels, 4, 4))
        self.fg_layout = nn.Linear(_MOTION_DIM + w_dim, self.fg.in_channels * 16)
        # the background is one image per clip: half as wide, at most 4x the base width
        self.bg = _Synthesis(max(8, channels // 2), size, w_dim, 3, width_cap=4 * channels)
        self.bg_const = nn.Parameter(torch.randn(self.bg.in_channels, 4, 4))

    def motion(self, z_motion: torch.Tensor, class_code: torch.Tensor) -> torch.Tensor:
        """Motion vectors (B, T, motion channels) of each frame, from the motion code and the class code."""
        coef = self.trajectory(torch.cat([z_motion, class_code], dim=1)).float()
        coef = coef.view(-1, _MOTION_DIM, 1 + 2 * FREQUENCIES)
        drift, amp, phase = coef[..., 0], coef[..., 1 : 1 + FREQUENCIES], coef[..., 1 + FREQUENCIES :]
        t = self.times.float()
        angle = self.omega[None, None, None, :] * t[None, :, None, None] + phase[:, None]  # (B, T, D, K)
        return drift[:, None] * t[None, :, None] + (amp[:, None] * torch.sin(angle)).sum(-1)

    def forward_parts(self, z: torch.Tensor, y: torch.Tensor) -> VideoParts:
        """Generate clips for latents ``z`` (B, z_dim) and integer labels ``y`` (B,), with their parts."""
        b, t, s = z.shape[0], self.frames, self.size
        code = self.class_code(y).to(z.dtype)
        w = self.mapping(torch.cat([z[:, : self.z_content], code], dim=1))  # (B, w_dim)
        m = self.motion(z[:, self.z_content :], code).to(w.dtype)  # (B, T, D)

        w_frames = (w[:, None] + self.motion_style(m)).flatten(0, 1)  # (B*T, w_dim)
        layout = self.fg_layout(torch.cat([m, w[:, None].expand(-1, t, -1)], dim=2)).flatten(0, 1)
        x = (self.fg_const[None].to(layout.dtype) + layout.view(b * t, -1, 4, 4)).contiguous(
            memory_format=torch.channels_last
        )
        out = torch.tanh(self.fg(x, w_frames))  # (B*T, 4, H, W); mask = sigmoid(2a) as in VGAN
        out = out.view(b, t, 4, s, s).transpose(1, 2)  # (B, 4, T, H, W)
        foreground, mask = out[:, :3], (1 + out[:, 3:]) / 2

        x = self.bg_const[None].expand(b, -1, -1, -1).to(w.dtype).contiguous(memory_format=torch.channels_last)
        background = torch.tanh(self.bg(x, w))
        video = torch.lerp(background.unsqueeze(2).to(foreground.dtype), foreground, mask)
        return VideoParts(video, mask, foreground, background)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Generate clips (B, 3, T, H, W) in [-1, 1]."""
        return self.forward_parts(z, y).video
