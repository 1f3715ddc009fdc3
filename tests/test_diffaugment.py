"""DiffAugment for clips: seeded, differentiable, the same for every frame, never a flip."""

from __future__ import annotations

import pytest
import torch

from generators.diffaugment import AUGMENTATIONS, diffaugment


def _clips(n: int = 6, t: int = 8, size: int = 16) -> torch.Tensor:
    return torch.rand(n, 3, t, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1


@pytest.mark.parametrize("policy", [[name] for name in AUGMENTATIONS] + [list(AUGMENTATIONS)])
def test_same_seed_same_clips_and_gradients_flow(policy: list[str]) -> None:
    x = _clips().requires_grad_()
    a = diffaugment(x, policy, torch.Generator().manual_seed(0))
    b = diffaugment(x, policy, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    assert not torch.equal(a, diffaugment(x, policy, torch.Generator().manual_seed(1)))
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_every_frame_of_a_clip_is_transformed_alike(name: str) -> None:
    """A clip whose frames are all equal stays so: the augmentation adds no motion."""
    still = _clips(t=1).expand(-1, -1, 8, -1, -1)
    out = diffaugment(still, [name], torch.Generator().manual_seed(0))
    assert torch.allclose(out, out[:, :, :1].expand_as(out))


def test_translation_moves_content_without_mirroring_it() -> None:
    """A bright dot ends up displaced by at most 1/8 of the side, never at its mirror position."""
    x = torch.full((64, 3, 2, 32, 32), -1.0)
    x[:, :, :, 10, 4] = 1.0  # near the left edge: a flip would move it beyond the shift range
    out = diffaugment(x, ["translation"], torch.Generator().manual_seed(0))
    for clip in out:
        ys, xs = torch.nonzero(clip[0, 0] == 1.0, as_tuple=True)
        assert len(ys) <= 1
        if len(ys):
            assert abs(int(ys[0]) - 10) <= 4 and abs(int(xs[0]) - 4) <= 4


def test_cutout_zeroes_one_square_in_every_frame() -> None:
    x = torch.ones(8, 3, 4, 32, 32)
    out = diffaugment(x, ["cutout"], torch.Generator().manual_seed(0))
    zeroed = out == 0
    assert zeroed.any() and torch.equal(zeroed, zeroed[:, :1, :1].expand_as(zeroed))
    assert float(zeroed[:, 0, 0].float().mean(dim=(1, 2)).max()) <= (17 / 32) ** 2


def test_empty_policy_is_the_identity_and_unknown_names_are_refused() -> None:
    x = _clips()
    assert diffaugment(x, [], torch.Generator()) is x
    with pytest.raises(ValueError, match="flip"):
        diffaugment(x, ["flip"], torch.Generator())
