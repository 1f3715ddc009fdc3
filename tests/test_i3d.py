"""True FVD through the I3D loaders, tested with a randomly initialised I3D saved to a file (nothing downloaded)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from evaluation.i3d import I3DError, InceptionI3d, load_i3d, resize_rule
from evaluation.quality import frechet_distance

SIZE = 32  # resize target for speed; real FVD uses 224 (the default), the code path is the same


@pytest.fixture(scope="module")
def i3d_files(tmp_path_factory):
    """A random I3D in both formats; He-initialised so that its logits differ from clip to clip."""
    torch.manual_seed(0)
    net = InceptionI3d(num_classes=400).eval()
    for m in net.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    folder = tmp_path_factory.mktemp("i3d")
    torch.save(net.state_dict(), folder / "i3d_state.pt")
    torch.jit.script(net).save(str(folder / "i3d_script.pt"))
    return folder / "i3d_state.pt", folder / "i3d_script.pt"


def _clips(seed: int, n: int = 6, moving: bool = True) -> np.ndarray:
    """Noise clips; ``moving`` ones drift a bright square across the frame."""
    rng = np.random.default_rng(seed)
    clips = rng.integers(0, 60, (n, 8, 32, 32, 3), dtype=np.uint8)
    for i in range(n):
        x0 = int(rng.integers(0, 8))
        for t in range(8):
            x = x0 + (3 * t if moving else 0)
            clips[i, t, 10:20, x : x + 8] = 230
    return clips


def test_state_dict_and_torchscript_give_the_same_fvd(i3d_files):
    state, script = (load_i3d(p, size=SIZE) for p in i3d_files)
    assert (state.kind, script.kind) == ("state_dict", "torchscript")
    real, fake = _clips(0), _clips(1, moving=False)
    fvds = []
    for net in (state, script):
        f_real, f_fake = net(real), net(fake)
        assert f_real.shape == (6, 400) and np.isfinite(f_real).all()
        fvds.append(frechet_distance(f_real, f_fake))
    assert fvds[0] == pytest.approx(fvds[1], rel=1e-4)
    # The same clips give 0; clips of another kind are further away than fresh clips of the same kind.
    assert frechet_distance(state(real), state(real)) == pytest.approx(0, abs=1e-6)
    assert fvds[0] > frechet_distance(state(real), state(_clips(2)))


def test_the_report_names_weights_and_resize_rule(i3d_files):
    net = load_i3d(i3d_files[0])
    assert net.size == 224
    assert net.name == f"i3d (state_dict) i3d_state.pt sha256:{net.sha256[:12]}"
    assert resize_rule(224, 16) == "bilinear to 224x224, 16 frames as given, values in [-1, 1]"


def test_torchscript_with_the_stylegan_v_signature_is_asked_for_features(tmp_path):
    class FeaturesOnRequest(nn.Module):
        def forward(self, x: torch.Tensor, rescale: bool = True, resize: bool = True, return_features: bool = False):
            if rescale or resize or not return_features:
                return torch.zeros(x.shape[0], 1)
            return x.mean(dim=(2, 3, 4))

    path = tmp_path / "detector.pt"
    torch.jit.script(FeaturesOnRequest()).save(str(path))
    feats = load_i3d(path, size=SIZE)(_clips(0, n=3))
    assert feats.shape == (3, 3) and np.abs(feats).sum() > 0


def test_files_that_are_not_an_i3d_are_refused(tmp_path):
    with pytest.raises(I3DError, match="no I3D file"):
        load_i3d(tmp_path / "missing.pt")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(I3DError, match="logits.conv3d.weight"):
        load_i3d(tmp_path / "other.pt")
    partial = {k: v for k, v in InceptionI3d(10).state_dict().items() if not k.startswith("Mixed_5c")}
    torch.save(partial, tmp_path / "partial.pt")
    with pytest.raises(I3DError, match="Mixed_5c"):
        load_i3d(tmp_path / "partial.pt")
    (tmp_path / "text.pt").write_text("not a checkpoint")
    with pytest.raises(I3DError, match="neither TorchScript nor"):
        load_i3d(tmp_path / "text.pt")
