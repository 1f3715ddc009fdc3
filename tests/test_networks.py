"""Networks and the I/O <-> model conversion: shapes, ranges, conditioning, spectral norm."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import parametrize

from generators.networks import FrameDiscriminator, VideoDiscriminator, VideoGenerator, _UpConv3d
from generators.video import to_model, to_uint8

NUM_CLASSES = 3
Z_DIM = 16


def _inputs(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, Z_DIM, generator=g), torch.arange(batch) % NUM_CLASSES


@pytest.mark.parametrize(("frames", "size"), [(8, 32), (16, 32), (8, 64), (32, 32), (16, 64)])
def test_shapes_and_ranges(frames: int, size: int) -> None:
    torch.manual_seed(0)
    G = VideoGenerator(NUM_CLASSES, Z_DIM, 8, frames, size)
    z, y = _inputs(3)
    with torch.no_grad():
        parts = G.forward_parts(z, y)
        video = G(z, y)
    assert parts.video.shape == (3, 3, frames, size, size)
    assert parts.mask.shape == (3, 1, frames, size, size)
    assert parts.foreground.shape == (3, 3, frames, size, size)
    assert parts.background.shape == (3, 3, size, size)
    torch.testing.assert_close(video, parts.video)
    assert parts.mask.min() >= 0 and parts.mask.max() <= 1
    assert parts.video.min() >= -1 and parts.video.max() <= 1
    # the clip is the mask-weighted mix of a moving foreground and a static background
    mixed = parts.mask * parts.foreground + (1 - parts.mask) * parts.background.unsqueeze(2)
    torch.testing.assert_close(parts.video, mixed)

    Dv = VideoDiscriminator(NUM_CLASSES, 8, frames, size)
    Df = FrameDiscriminator(NUM_CLASSES, 8, size, frames_per_clip=4)
    assert Dv(video, y).shape == (3,)
    assert Df(video, y).shape == (3, 4)


def test_output_stays_in_range_with_large_weights() -> None:
    torch.manual_seed(1)
    G = VideoGenerator(NUM_CLASSES, Z_DIM, 8, 8, 32)
    with torch.no_grad():
        for p in G.parameters():
            p.mul_(50)
        parts = G.forward_parts(*_inputs(4))
    assert parts.video.min() >= -1 and parts.video.max() <= 1
    assert parts.mask.min() >= 0 and parts.mask.max() <= 1


def test_generator_is_class_conditional() -> None:
    torch.manual_seed(0)
    G = VideoGenerator(NUM_CLASSES, Z_DIM, 8, 8, 32)
    z, _ = _inputs(1)
    with torch.no_grad():
        a = G(z, torch.tensor([0]))
        b = G(z, torch.tensor([1]))
    assert not torch.allclose(a, b)


def test_time_upsampling_treats_edge_frames_like_the_others() -> None:
    torch.manual_seed(0)
    conv = _UpConv3d(4, 4, up_t=True, up_s=True, bias=False)
    still = torch.randn(2, 4, 1, 4, 4).expand(-1, -1, 5, -1, -1)
    with torch.no_grad():
        out = conv(still)
    assert out.shape == (2, 4, 10, 8, 8)
    # a still input gives a period-2 output (even and odd frames use different taps), edges included
    torch.testing.assert_close(out[:, :, 0], out[:, :, 2])
    torch.testing.assert_close(out[:, :, -1], out[:, :, -3])


def test_rejects_non_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of two"):
        VideoGenerator(NUM_CLASSES, Z_DIM, 8, 12, 32)
    with pytest.raises(ValueError, match="power of two"):
        VideoDiscriminator(NUM_CLASSES, 8, 8, 48)


@pytest.mark.parametrize("make", [lambda: VideoDiscriminator(NUM_CLASSES, 8, 8, 32), lambda: FrameDiscriminator(NUM_CLASSES, 8, 32)])
def test_discriminator_weights_are_spectrally_normalised(make) -> None:
    D = make()
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear, torch.nn.Embedding))]
    assert len(layers) >= 4
    for m in layers:
        assert parametrize.is_parametrized(m, "weight"), m
        assert any("SpectralNorm" in type(p).__name__ for p in m.parametrizations.weight)
    # after a few power iterations the largest singular value of a weight is ~1
    conv = layers[1]
    for _ in range(30):
        D(torch.zeros(1, 3, 8, 32, 32), torch.zeros(1, dtype=torch.long))
    D.eval()
    with torch.no_grad():
        sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2).item()
    assert sigma == pytest.approx(1.0, rel=0.05)


def test_projection_makes_discriminators_class_aware() -> None:
    torch.manual_seed(0)
    video = torch.rand(2, 3, 8, 32, 32) * 2 - 1
    Dv = VideoDiscriminator(NUM_CLASSES, 8, 8, 32).eval()
    Df = FrameDiscriminator(NUM_CLASSES, 8, 32).eval()
    y0, y1 = torch.zeros(2, dtype=torch.long), torch.ones(2, dtype=torch.long)
    with torch.no_grad():
        assert not torch.allclose(Dv(video, y0), Dv(video, y1))
        f0 = Df(video, y0, generator=torch.Generator().manual_seed(3))
        f1 = Df(video, y1, generator=torch.Generator().manual_seed(3))
    assert not torch.allclose(f0, f1)


def test_frame_discriminator_draws_frames_from_its_generator() -> None:
    torch.manual_seed(0)
    Df = FrameDiscriminator(NUM_CLASSES, 8, 32, frames_per_clip=2).eval()
    video, y = torch.rand(2, 3, 8, 32, 32) * 2 - 1, torch.zeros(2, dtype=torch.long)
    with torch.no_grad():
        a = Df(video, y, generator=torch.Generator().manual_seed(5))
        b = Df(video, y, generator=torch.Generator().manual_seed(5))
        # a clip whose frames are all equal scores the same whichever frames are drawn
        still = video[:, :, :1].expand(-1, -1, 8, -1, -1)
        c = Df(still, y, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(c[:, 0], c[:, 1])


def test_bf16_gradients_match_fp32() -> None:
    """Guards against silent oneDNN bf16 convolution bugs at the shapes these networks use."""
    torch.manual_seed(0)
    nets = [VideoGenerator(NUM_CLASSES, Z_DIM, 8, 8, 32), VideoDiscriminator(NUM_CLASSES, 8, 8, 32), FrameDiscriminator(NUM_CLASSES, 8, 32)]
    z, y = _inputs(4)
    video = (torch.rand(4, 3, 8, 32, 32) * 2 - 1).contiguous(memory_format=torch.channels_last_3d)
    for net in nets:
        net.eval()  # no power iteration, so both passes see the same weights
        grads = []
        for bf16 in (False, True):
            net.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                if isinstance(net, VideoGenerator):
                    out = net(z, y)
                elif isinstance(net, FrameDiscriminator):
                    out = net(video, y, generator=torch.Generator().manual_seed(0))
                else:
                    out = net(video, y)
            out.float().square().mean().backward()
            grads.append([p.grad.clone() for p in net.parameters()])
        for (name, _), g32, g16 in zip(net.named_parameters(), *grads):
            assert torch.isfinite(g16).all(), name
            # bf16 rounding gives a few percent; the bug this guards against gave 1e35 or NaN
            assert (g16 - g32).norm() <= 0.25 * g32.norm() + 1e-8, name


def test_video_conversion_round_trip() -> None:
    rng = np.random.default_rng(0)
    clips = rng.integers(0, 256, (2, 8, 16, 16, 3), dtype=np.uint8)
    x = to_model(clips)
    assert x.shape == (2, 3, 8, 16, 16) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert to_model(clips[0]).shape == (3, 8, 16, 16)
    np.testing.assert_array_equal(to_uint8(x), clips)
    np.testing.assert_array_equal(to_uint8(x[0]), clips[0])
    # channels-last in model layout is the I/O layout, so it comes without a copy
    cl = to_model(torch.from_numpy(clips), memory_format=torch.channels_last_3d)
    assert cl.is_contiguous(memory_format=torch.channels_last_3d)
    np.testing.assert_array_equal(to_uint8(cl), clips)
    # bf16 is exact on uint8 levels too
    np.testing.assert_array_equal(to_uint8(to_model(clips, dtype=torch.bfloat16)), clips)
    # out-of-range model output is clipped, not wrapped
    assert to_uint8(torch.full((3, 1, 2, 2), 3.0)).max() == 255
    assert to_uint8(torch.full((3, 1, 2, 2), -3.0)).min() == 0


def test_video_conversion_rejects_wrong_input() -> None:
    with pytest.raises(TypeError):
        to_model(np.zeros((8, 16, 16, 3), np.float32))
    with pytest.raises(ValueError):
        to_model(np.zeros((8, 16, 16), np.uint8))
    with pytest.raises(ValueError):
        to_uint8(torch.zeros(2, 4, 8, 16, 16))
