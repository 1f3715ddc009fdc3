"""Networks: a two-stream class-conditional video generator and two discriminators.

Generator
    The two-stream design of Vondrick et al. 2016 ("Generating Videos with Scene
    Dynamics", VGAN): a 3D transposed-convolution stream produces a moving
    foreground ``f`` and a mask ``m``, a 2D stream produces one static background
    image ``b``, and the clip is ``m * f + (1 - m) * b``. Separating a static
    background is a strong prior for action clips (camera mostly still, one
    actor moving) and the mask doubles as a per-frame foreground box later.

Discriminators
    Following DVD-GAN (Clark et al. 2019) the work is split in two: a
    :class:`VideoDiscriminator` (3D convolutions over the whole clip, judging
    motion) that sees the clip at reduced spatial resolution, and a
    :class:`FrameDiscriminator` (2D convolutions on a few randomly chosen frames,
    judging appearance) at full resolution. Both use spectral normalisation
    (Miyato et al. 2018, SNGAN) and the class projection of Miyato & Koyama 2018
    ("cGANs with Projection Discriminator").

CPU efficiency
    Upsampling is ``ConvTranspose`` with kernel 4 / stride 2 as in VGAN: per
    output voxel it costs 8 multiply-adds per channel pair, against 27 for
    nearest-upsample followed by a 3x3x3 convolution. The foreground stream's
    hidden layers stop at half the output resolution; only its last, 4-channel
    layer runs at full resolution. Activations are kept ``channels_last_3d``,
    which oneDNN runs several times faster than the default layout on CPU.

Depth follows from the clip format: every block doubles (generator) or halves
(discriminators) time and/or space, so frames and size must be powers of two.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["FrameDiscriminator", "VideoDiscriminator", "VideoGenerator", "VideoParts"]

_LOG2_MIN_SPATIAL = 2  # generators start and discriminators end at 4x4 ...
_LOG2_MIN_FRAMES = 1  # ... and at 2 frames (VGAN's 2x4x4 seed volume)
_MAX_WIDTH_FACTOR = 8  # widest layer is 8x the base width, as in DCGAN/VGAN


def _log2(n: int, what: str) -> int:
    if n <= 0 or n & (n - 1):
        raise ValueError(f"{what} must be a power of two, got {n}")
    return n.bit_length() - 1


def _width(base: int, level: int) -> int:
    """Channels at ``level`` resolution steps away from the finest hidden layer."""
    return base * min(2**level, _MAX_WIDTH_FACTOR)


def _schedule(steps_t: int, steps_s: int) -> list[tuple[bool, bool]]:
    """(change time?, change space?) per block, both axes finishing at the last block.

    Clips can be long and small (64 x 32x32) or short and large (8 x 256x256),
    so the two axes need different numbers of doublings; the axis with fewer
    doublings simply sits out the first blocks, where the volume is smallest.
    """
    n = max(steps_t, steps_s)
    return [(i >= n - steps_t, i >= n - steps_s) for i in range(n)]


def _geometry(change_t: bool, change_s: bool, dims: int) -> dict[str, tuple[int, ...]]:
    """Convolution kernel, stride and padding for one block, in 3D or (spatial only) 2D.

    An axis that changes resolution gets kernel 4 / stride 2 / padding 1 (exact
    doubling or halving, VGAN's choice); a spatial axis that keeps its size gets
    kernel 3 / padding 1. A time axis that keeps its size gets kernel 1: those
    blocks sit at the coarse end where temporal structure comes from the input
    projection, they cost a third as much, and it keeps clear of a oneDNN
    bug (torch 2.13 CPU) that returns garbage bf16 weight gradients for
    temporal kernel 3 over a 2-frame volume.
    """
    t = (4, 2, 1) if change_t else (1, 1, 0)
    s = (4, 2, 1) if change_s else (3, 1, 1)
    axes = ([t] if dims == 3 else []) + [s, s]
    return {name: tuple(a[i] for a in axes) for i, name in enumerate(("kernel_size", "stride", "padding"))}


class ConditionalGroupNorm(nn.Module):
    """GroupNorm whose per-channel gain and bias are linear functions of the conditioning vector.

    The conditioning vector is ``[z, class code]``, as in BigGAN's shared
    class embedding with skip-z connections (Brock et al. 2019), itself a form
    of conditional normalisation (de Vries et al. 2017; Miyato & Koyama 2018).
    Feeding ``z`` here matters: a per-sample normalisation erases whatever
    per-channel scale ``z`` gave a feature map, and with class-only gains the
    generator quickly learnt to ignore ``z`` (every clip of a class alike).
    Statistics are per sample, not per batch, so a clip does not depend on
    the other clips in its batch and the EMA generator needs no running
    statistics.
    """

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        groups = max(1, min(32, channels // 4))
        while channels % groups:
            groups -= 1
        self.norm = nn.GroupNorm(groups, channels, affine=False)
        self.affine = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)  # starts as plain GroupNorm
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shape = (x.shape[0], 2 * x.shape[1]) + (1,) * (x.ndim - 2)
        # cast to the activation dtype: under bf16 autocast an fp32 gain would
        # silently promote the whole activation to fp32
        gain, bias = self.affine(cond).to(x.dtype).view(shape).chunk(2, dim=1)
        return torch.addcmul(bias, self.norm(x), 1 + gain)


class _UpConv3d(nn.ConvTranspose3d):
    """Transposed 3D convolution whose time upsampling treats the first and last frame like the others.

    With zero padding, a kernel-4 / stride-2 transposed convolution gives the
    first and last output frame one kernel tap instead of two, and the
    generator's clips started and ended with a visibly different frame (about
    twice the frame-to-frame change, a saturated mask). This layer behaves as
    if the input's edge frames were replicated: transposed convolution maps
    input frame ``i`` through tap ``k`` to output frame ``2i + k - 1``, so the
    missing contribution is tap 3 of the first input frame to output frame 0
    and tap 0 of the last input frame to the last output frame. Adding those
    two single-frame products costs ``1/(2n)`` of the layer for an ``n``-frame
    input (6% at the output layer of a 16-frame clip), where padding the input
    and cropping the output would cost ``2/n`` (25%).
    """

    def __init__(self, cin: int, cout: int, up_t: bool, up_s: bool, bias: bool) -> None:
        super().__init__(cin, cout, **_geometry(up_t, up_s, dims=3), bias=bias)
        self.replicate_time = up_t

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = super().forward(x)
        if self.replicate_time:
            spatial = {"stride": (1,) + self.stride[1:], "padding": (0,) + self.padding[1:]}
            # in place is safe: a convolution's backward needs its input, not its output
            out[:, :, :1] += F.conv_transpose3d(x[:, :, :1], self.weight[:, :, 3:], **spatial)
            out[:, :, -1:] += F.conv_transpose3d(x[:, :, -1:], self.weight[:, :, :1], **spatial)
        return out


class _UpBlock(nn.Module):
    """Transposed convolution -> conditional GroupNorm -> ReLU, in 2D or 3D."""

    def __init__(self, dims: int, cin: int, cout: int, up_t: bool, up_s: bool, cond_dim: int) -> None:
        super().__init__()
        if dims == 3:
            self.conv: nn.Module = _UpConv3d(cin, cout, up_t, up_s, bias=False)
        else:
            self.conv = nn.ConvTranspose2d(cin, cout, **_geometry(up_t, up_s, dims), bias=False)
        self.norm = ConditionalGroupNorm(cout, cond_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x), cond))


class VideoParts(NamedTuple):
    """Everything the generator composes, each in model layout."""

    video: torch.Tensor  # (B, 3, T, H, W) in [-1, 1]
    mask: torch.Tensor  # (B, 1, T, H, W) in [0, 1]; 1 = foreground
    foreground: torch.Tensor  # (B, 3, T, H, W) in [-1, 1]
    background: torch.Tensor  # (B, 3, H, W) in [-1, 1]


class VideoGenerator(nn.Module):
    """Class-conditional two-stream video generator (VGAN, Vondrick et al. 2016).

    Conditioning: a learned class code is concatenated to ``z``; that vector
    feeds both streams' input projections and the gain and bias of every
    :class:`ConditionalGroupNorm`.

    Shapes: the foreground stream starts from a 2x4x4 volume, the background
    stream from 4x4, and each block doubles time and/or space (see
    :func:`_schedule`). ``channels`` is the width of the finest hidden layer;
    coarser layers are up to 8x wider.
    """

    def __init__(self, num_classes: int, z_dim: int = 128, channels: int = 32, frames: int = 16, size: int = 64) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        steps_s = _log2(size, "size") - _LOG2_MIN_SPATIAL
        steps_t = _log2(frames, "frames") - _LOG2_MIN_FRAMES
        if steps_s < 1 or steps_t < 1:
            raise ValueError(f"clip {frames} x {size}x{size} is too small (need frames >= 4, size >= 8)")
        self.num_classes, self.z_dim, self.frames, self.size = num_classes, z_dim, frames, size
        self.class_code = nn.Embedding(num_classes, z_dim)

        # foreground: 3D, last block emits RGB + mask logit at full resolution
        fg = _schedule(steps_t, steps_s)
        self._fg_seed = (_width(channels, len(fg) - 1), frames >> sum(t for t, _ in fg), size >> steps_s)
        self.fg_in = nn.Linear(2 * z_dim, self._fg_seed[0] * self._fg_seed[1] * self._fg_seed[2] ** 2)
        self.fg_in_norm = ConditionalGroupNorm(self._fg_seed[0], 2 * z_dim)
        self.fg_blocks = nn.ModuleList(
            _UpBlock(3, _width(channels, len(fg) - 1 - i), _width(channels, len(fg) - 2 - i), up_t, up_s, 2 * z_dim)
            for i, (up_t, up_s) in enumerate(fg[:-1])
        )
        self.fg_out = _UpConv3d(channels, 4, *fg[-1], bias=True)

        # background: 2D, one static image
        self._bg_seed = (_width(channels, steps_s - 1), size >> steps_s)
        self.bg_in = nn.Linear(2 * z_dim, self._bg_seed[0] * self._bg_seed[1] ** 2)
        self.bg_in_norm = ConditionalGroupNorm(self._bg_seed[0], 2 * z_dim)
        self.bg_blocks = nn.ModuleList(
            _UpBlock(2, _width(channels, steps_s - 1 - i), _width(channels, steps_s - 2 - i), False, True, 2 * z_dim)
            for i in range(steps_s - 1)
        )
        self.bg_out = nn.ConvTranspose2d(channels, 3, **_geometry(False, True, dims=2))

    def forward_parts(self, z: torch.Tensor, y: torch.Tensor) -> VideoParts:
        """Generate clips for latents ``z`` (B, z_dim) and integer labels ``y`` (B,), with their parts."""
        cond = torch.cat([z, self.class_code(y).to(z.dtype)], dim=1)
        b = z.shape[0]

        c, t, s = self._fg_seed
        x = self.fg_in(cond).view(b, c, t, s, s).contiguous(memory_format=torch.channels_last_3d)
        x = F.relu(self.fg_in_norm(x, cond))
        for block in self.fg_blocks:
            x = block(x, cond)
        # one tanh over all four channels, because elementwise kernels on channel
        # slices of a channels-last tensor are slow; (1 + tanh(a)) / 2 is
        # sigmoid(2a), i.e. the mask is still a sigmoid of a (rescaled) logit
        out = torch.tanh(self.fg_out(x))
        foreground, mask = out[:, :3], (1 + out[:, 3:]) / 2

        c, s = self._bg_seed
        x = self.bg_in(cond).view(b, c, s, s).contiguous(memory_format=torch.channels_last)
        x = F.relu(self.bg_in_norm(x, cond))
        for block in self.bg_blocks:
            x = block(x, cond)
        background = torch.tanh(self.bg_out(x))

        # m * f + (1 - m) * b in one kernel; a convex combination of tanh outputs stays in [-1, 1]
        video = torch.lerp(background.unsqueeze(2), foreground, mask)
        return VideoParts(video, mask, foreground, background)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Generate clips (B, 3, T, H, W) in [-1, 1]."""
        return self.forward_parts(z, y).video


class _ProjectionHead(nn.Module):
    """Sum-pool features, then ``linear(h) + <embed(y), h>`` (Miyato & Koyama 2018).

    The inner product with a class embedding is what makes the critic
    class-aware: it scores how well the features match the claimed class, not
    only how real they look.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.linear = spectral_norm(nn.Linear(channels, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, channels))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.relu(x).float().sum(dim=tuple(range(2, x.ndim)))
        return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(dim=1)


def _down_stack(dims: int, channels: int, steps_t: int, steps_s: int, cin: int = 3) -> tuple[nn.Sequential, int]:
    """Spectrally normalised strided convolutions with LeakyReLU; returns the stack and its output width."""
    conv = nn.Conv3d if dims == 3 else nn.Conv2d
    layers: list[nn.Module] = []
    # mirror of the generator schedule: both axes shrink from the first block on
    for i, (down_t, down_s) in enumerate(reversed(_schedule(steps_t, steps_s))):
        cout = _width(channels, i)
        layers += [spectral_norm(conv(cin, cout, **_geometry(down_t, down_s, dims))), nn.LeakyReLU(0.2)]
        cin = cout
    # one more layer at the coarsest resolution, so the last strided layer is
    # not also the last feature; in 3D it spans the remaining two frames
    # (no temporal padding: see _geometry for the bug this avoids)
    last = {"kernel_size": (2, 3, 3), "padding": (0, 1, 1)} if dims == 3 else {"kernel_size": 3, "padding": 1}
    layers.append(spectral_norm(conv(cin, cin, **last)))
    return nn.Sequential(*layers), cin


class VideoDiscriminator(nn.Module):
    """3D-convolutional critic of the whole clip: judges motion and its consistency with the class.

    As in DVD-GAN's temporal discriminator, clips of 64 pixels and more are
    average-pooled to half resolution first (never below 32): motion is visible
    at half resolution, fine appearance is the frame critic's job, and 3D
    convolutions are the expensive part of training on CPU.

    Besides the clip it sees the clip minus its per-pixel temporal mean (three
    more input channels): the moving part alone, as background subtraction
    gives it for a static camera. Without it the critic told real from fake
    by background texture and the generator's actors barely moved: on the
    procedural set, after 2000 steps, synthetic motion was a third of the
    real clips' and the judge put every class's clips into one, mostly wrong,
    class (label fidelity 0.15).
    With ``frame_diffs`` it also sees the differences between consecutive
    frames (three more channels, the first frame's set to zero): where the
    temporal-mean residual shows what moves, differences show how fast and
    expose frame-to-frame flicker that a smooth mean hides.
    Returns one logit per clip, shape (B,).
    ``in_channels`` other than RGB's 3 make it a critic of other clips alike:
    the matte critic's actor cut-outs (mask and masked foreground, 4).
    """

    def __init__(
        self,
        num_classes: int,
        channels: int = 32,
        frames: int = 16,
        size: int = 64,
        frame_diffs: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.frame_diffs = frame_diffs
        _log2(size, "size")
        pool = 2 if size >= 64 else 1
        # average pooling as a fixed depthwise convolution: CPU avg_pool3d has
        # no bf16 kernel, and oneDNN runs this in bf16 without casts
        self.register_buffer("pool", torch.full((in_channels, 1, 1, pool, pool), 1.0 / pool**2), persistent=False)
        steps_s = _log2(size // pool, "size") - _LOG2_MIN_SPATIAL
        steps_t = _log2(frames, "frames") - _LOG2_MIN_FRAMES
        self.body, width = _down_stack(3, channels, steps_t, steps_s, cin=in_channels * (3 if frame_diffs else 2))
        self.head = _ProjectionHead(width, num_classes)

    def forward(self, video: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.pool.shape[-1] > 1:
            video = F.conv3d(video, self.pool.to(video.dtype), stride=self.pool.shape[2:], groups=self.pool.shape[0])
        inputs = [video, video - video.mean(dim=2, keepdim=True)]
        if self.frame_diffs:
            inputs.append(F.pad(video.diff(dim=2), (0, 0, 0, 0, 1, 0)))
        x = torch.cat(inputs, dim=1).contiguous(memory_format=torch.channels_last_3d)
        return self.head(self.body(x), y)


class FrameDiscriminator(nn.Module):
    """2D-convolutional critic of single frames at full resolution (DVD-GAN's spatial discriminator).

    Each call looks at ``frames_per_clip`` distinct frames drawn at random from
    every clip; drawing them from an explicit ``generator`` keeps training
    reproducible. Returns logits of shape (B, frames_per_clip), one per frame.
    """

    def __init__(self, num_classes: int, channels: int = 32, size: int = 64, frames_per_clip: int = 4) -> None:
        super().__init__()
        self.frames_per_clip = frames_per_clip
        self.body, width = _down_stack(2, channels, 0, _log2(size, "size") - _LOG2_MIN_SPATIAL)
        self.head = _ProjectionHead(width, num_classes)

    def forward(self, video: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b, c, t, h, w = video.shape
        k = min(self.frames_per_clip, t)
        # k distinct frames per clip; drawn on the CPU so the stream is device-independent
        idx = torch.rand(b, t, generator=generator).argsort(dim=1)[:, :k].to(video.device)
        frames = video.transpose(1, 2)[torch.arange(b, device=video.device).unsqueeze(1), idx]
        frames = frames.reshape(b * k, c, h, w).contiguous(memory_format=torch.channels_last)
        return self.head(self.body(frames), y.repeat_interleave(k)).view(b, k)
