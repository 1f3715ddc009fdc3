"""Generator families: each trains, resumes exactly, samples per seed, gives masks, and keeps to its checkpoints."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from generators.architectures import GENERATORS, build_generator
from generators.checkpoint import CheckpointError, load_checkpoint, load_generator, save_checkpoint
from generators.cmgan import ContentMotionGenerator
from generators.networks import VideoDiscriminator, VideoGenerator
from generators.sampling import sample
from generators.training import ResumeMismatchError, train
from schemas.config import ClipFormat, ModelConfig, TrainConfig
from schemas.labels import boxes_from_mask
from tests.test_training import CLASSES, CLIP, MovingBars  # one toy dataset for every training test

FAMILIES = sorted(GENERATORS)


def _config(architecture: str = "cmgan", **overrides) -> TrainConfig:
    base = {
        "steps": 4, "batch_size": 4, "precision": "fp32", "device": "cpu", "checkpoint_every": 2, "seed": 3,
        "model": ModelConfig(architecture=architecture, z_dim=16, channels=8),
    }  # fmt: skip
    return TrainConfig(**(base | overrides))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("architecture", FAMILIES)
@pytest.mark.parametrize(("frames", "size"), [(8, 32), (16, 64)])
def test_parts_have_the_shapes_and_ranges_the_pipeline_needs(architecture: str, frames: int, size: int) -> None:
    G = build_generator(ModelConfig(architecture=architecture, z_dim=16, channels=8), 3, ClipFormat(frames=frames, size=size))
    assert isinstance(G, GENERATORS[architecture])
    z, y = torch.randn(2, 16, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 2])
    parts = G.forward_parts(z, y)
    assert parts.video.shape == parts.foreground.shape == (2, 3, frames, size, size)
    assert parts.mask.shape == (2, 1, frames, size, size)
    assert parts.background.shape == (2, 3, size, size)
    assert parts.video.min() >= -1 and parts.video.max() <= 1
    assert parts.mask.min() >= 0 and parts.mask.max() <= 1
    # the clip is the mask's blend of foreground and static background, so the mask means "foreground"
    blend = parts.mask * parts.foreground + (1 - parts.mask) * parts.background.unsqueeze(2)
    torch.testing.assert_close(parts.video, blend, atol=1e-5, rtol=0)
    assert boxes_from_mask((parts.mask[0, 0] > 0).float().numpy()).shape == (frames, 4)
    # class-conditional: the same latent under another label is another clip
    assert not torch.allclose(G(z[:1], y[:1]), G(z[:1], torch.tensor([1])))


def test_content_motion_generator_moves_and_keeps_content() -> None:
    """Frames differ (the motion trajectory acts); changing only the motion code changes the clip but not the background."""
    torch.manual_seed(0)
    G = ContentMotionGenerator(3, z_dim=16, channels=8, frames=8, size=32)
    # a trained trajectory has amplitudes of order one; initial ones are small, so scale them up to see motion
    with torch.no_grad():
        G.trajectory.weight.mul_(20)
    z = torch.randn(1, 16)
    parts = G.forward_parts(z, torch.tensor([1]))
    assert (parts.video[:, :, 1:] - parts.video[:, :, :-1]).abs().mean() > 1e-3
    other_motion = z.clone()
    other_motion[:, G.z_content :] = torch.randn(1, G.z_motion)
    moved = G.forward_parts(other_motion, torch.tensor([1]))
    assert not torch.allclose(moved.video, parts.video)
    torch.testing.assert_close(moved.background, parts.background)


def test_rejects_bad_clip_shapes() -> None:
    with pytest.raises(ValueError, match="power of two"):
        ContentMotionGenerator(3, 16, 8, frames=12, size=32)
    with pytest.raises(ValueError, match="too small"):
        ContentMotionGenerator(3, 16, 8, frames=8, size=4)


def test_critic_with_frame_differences_sees_nine_channels() -> None:
    plain, diffs = VideoDiscriminator(3, 8, 8, 32), VideoDiscriminator(3, 8, 8, 32, frame_diffs=True)
    assert plain.body[0].weight.shape[1] == 6 and diffs.body[0].weight.shape[1] == 9
    video = torch.rand(2, 3, 8, 32, 32) * 2 - 1
    assert diffs(video, torch.tensor([0, 1])).shape == (2,)


@pytest.mark.parametrize(
    ("architecture", "switches"),
    [("cmgan", {}), ("cmgan", {"r1_gamma": 1.0, "r1_every": 2, "critic_frame_diffs": True}),
     ("vgan", {"r1_gamma": 1.0, "r1_every": 2, "critic_frame_diffs": True})],
)  # fmt: skip
def test_each_family_and_switch_trains_and_resumes_exactly(tmp_path: Path, architecture: str, switches: dict) -> None:
    data = MovingBars()
    straight = train(data, CLASSES, _config(architecture, **switches), CLIP, tmp_path / "straight.pt")
    resumed = tmp_path / "resumed.pt"
    train(data, CLASSES, _config(architecture, steps=3, **switches), CLIP, resumed)
    train(data, CLASSES, _config(architecture, **switches), CLIP, resumed)
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["step"] == b["step"] == 4
    # the family is recorded, except the default one, whose checkpoints keep the bytes they had before families
    assert a["config"]["model"].get("architecture", "vgan") == architecture
    assert ("architecture" in a["config"]["model"]) == (architecture != "vgan")
    for key in ("G", "G_ema", "D_video", "D_frame"):
        assert all(torch.isfinite(v).all() for v in a[key].values() if v.is_floating_point())
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name}"
    assert torch.equal(a["rng"], b["rng"])


def test_r1_changes_the_critic_update(tmp_path: Path) -> None:
    plain = load_checkpoint(train(MovingBars(), CLASSES, _config(steps=1), CLIP, tmp_path / "plain.pt"))
    r1 = load_checkpoint(train(MovingBars(), CLASSES, _config(steps=1, r1_gamma=10.0), CLIP, tmp_path / "r1.pt"))
    assert any(not torch.equal(plain["D_video"][k], r1["D_video"][k]) for k in plain["D_video"])


@pytest.mark.parametrize("switch", [{"mask_l1": 0.1}, {"mask_binary": 1.0}])
def test_mask_priors_change_the_generator_update(tmp_path: Path, switch: dict) -> None:
    """The mask priors' weights act on the generator step only, and a weight that is set is recorded."""
    plain = load_checkpoint(train(MovingBars(), CLASSES, _config("vgan", steps=1), CLIP, tmp_path / "plain.pt"))
    other = load_checkpoint(train(MovingBars(), CLASSES, _config("vgan", steps=1, **switch), CLIP, tmp_path / "other.pt"))
    assert all(torch.equal(plain["D_video"][k], other["D_video"][k]) for k in plain["D_video"]), "critic step unchanged"
    assert any(not torch.equal(plain["G"][k], other["G"][k]) for k in plain["G"])
    ((name, weight),) = switch.items()
    assert other["config"][name] == weight and name not in plain["config"]


def _dark_rooms(count: int = 5) -> np.ndarray:
    """Empty scenes of the toy set: its flat dark backgrounds, without a bar."""
    return np.stack([np.full((CLIP.size, CLIP.size, 3), v, np.uint8) for v in np.linspace(0, 59, count).astype(int)])


@pytest.mark.parametrize("architecture", FAMILIES)
def test_scene_critic_trains_resumes_exactly_and_is_recorded(tmp_path: Path, architecture: str) -> None:
    data, rooms = MovingBars(), _dark_rooms()
    config = _config(architecture, scene_critic=0.5)
    straight = load_checkpoint(train(data, CLASSES, config, CLIP, tmp_path / "straight.pt", scenes=rooms))
    resumed = tmp_path / "resumed.pt"
    train(data, CLASSES, _config(architecture, steps=3, scene_critic=0.5), CLIP, resumed, scenes=rooms)
    resumed = load_checkpoint(train(data, CLASSES, config, CLIP, resumed, scenes=rooms))
    assert straight["config"]["scene_critic"] == 0.5 and straight["step"] == resumed["step"] == 4
    for key in ("G", "G_ema", "D_video", "D_frame", "D_scene"):
        for name in straight[key]:
            assert torch.equal(straight[key][name], resumed[key][name]), f"{key}.{name}"
    # a run without it has no scene critic, and its generator update differs
    plain = load_checkpoint(train(data, CLASSES, _config(architecture), CLIP, tmp_path / "plain.pt"))
    assert "D_scene" not in plain and "scene_critic" not in plain["config"]
    assert any(not torch.equal(plain["G"][k], straight["G"][k]) for k in plain["G"])


def test_scene_critic_refuses_missing_or_misfit_scenes(tmp_path: Path) -> None:
    on = _config("vgan", steps=1, scene_critic=1.0)
    with pytest.raises(ValueError, match="no empty scenes"):
        train(MovingBars(), CLASSES, on, CLIP, tmp_path / "a.pt")
    with pytest.raises(ValueError, match=r"uint8 \(N, 32, 32, 3\)"):
        train(MovingBars(), CLASSES, on, CLIP, tmp_path / "b.pt", scenes=np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="scene_critic is 0"):
        train(MovingBars(), CLASSES, _config("vgan", steps=1), CLIP, tmp_path / "c.pt", scenes=_dark_rooms())
    assert not any(tmp_path.iterdir()), "nothing written for a refused run"


def test_scene_and_matte_critics_put_the_whole_actor_into_a_crisp_mask(tmp_path: Path) -> None:
    """The toy set's "still" class is a bar that never moves, VGAN's blind spot, and the wave class's body.

    Without a critic of the split, 700 steps draw much of the standing bar in the background (on an AVX2
    CPU almost none of its pixels above mask 0.5, a third on one with AVX-512) and spread a faint mask over
    the room (a quarter of all pixels between 0.1 and 0.5), which composites as a ghost outside any box. The scene critic, whose empty scenes are the
    dark rooms alone, moves most of the bar into the foreground; the matte critic, which sees the bars'
    own mattes, moves much of it and clears the faint mask off the room.
    """
    data, shares, faint = MovingBars(per_class=8), {}, {}
    arms = (("plain", {}, {}), ("scene", {"scene_critic": 1.0}, {"scenes": _dark_rooms()}),
            ("matte", {"matte_critic": 1.0}, {"mattes": _bar_mattes(data)}))  # fmt: skip
    for arm, switch, inputs in arms:
        config = TrainConfig(steps=700, batch_size=8, precision="fp32", device="cpu", checkpoint_every=700, seed=1,
                             model=ModelConfig(z_dim=16, channels=8), **switch)  # fmt: skip
        G, _ = load_generator(train(data, CLASSES, config, CLIP, tmp_path / f"{arm}.pt", **inputs))
        still = sample(G, [CLASSES.index("still")] * 16, list(range(16)), precision="fp32")
        bar = still.videos.astype(np.float32).mean(axis=-1) > 110  # the bar is bright, the rooms dark
        shares[arm] = float((still.masks[bar] > 0.5).mean())
        faint[arm] = float(((still.masks > 0.1) & (still.masks < 0.5)).mean())
    # relative to the plain arm: its share is 0.01 on an AVX2 CPU and 0.34 on one with AVX-512 (fp32 kernels differ
    # between CPU kinds, and 700 GAN steps amplify the difference), while the critics' effects hold on both
    assert shares["scene"] > max(0.5, shares["plain"] + 0.2), (shares, faint)
    assert shares["matte"] > max(0.3, shares["plain"]), (shares, faint)
    assert faint["matte"] < 0.5 * faint["plain"], (shares, faint)


def _bar_mattes(data: MovingBars) -> np.ndarray:
    """The toy set's actor mattes: its bars are bright, its rooms dark."""
    return np.stack([np.where(np.asarray(v).mean(axis=-1) > 100, 255, 0).astype(np.uint8) for v, _ in data.items])


@pytest.mark.parametrize("architecture", FAMILIES)
def test_matte_critic_trains_resumes_exactly_and_is_recorded(tmp_path: Path, architecture: str) -> None:
    data = MovingBars()
    mattes = _bar_mattes(data)
    config = _config(architecture, matte_critic=0.5, critic_frame_diffs=True)
    straight = load_checkpoint(train(data, CLASSES, config, CLIP, tmp_path / "straight.pt", mattes=mattes))
    resumed = tmp_path / "resumed.pt"
    train(data, CLASSES, config.model_copy(update={"steps": 3}), CLIP, resumed, mattes=mattes)
    resumed = load_checkpoint(train(data, CLASSES, config, CLIP, resumed, mattes=mattes))
    assert straight["config"]["matte_critic"] == 0.5 and straight["step"] == resumed["step"] == 4
    for key in ("G", "G_ema", "D_video", "D_frame", "D_matte"):
        for name in straight[key]:
            assert torch.equal(straight[key][name], resumed[key][name]), f"{key}.{name}"
    # the matte critic sees mask + masked foreground, with frame differences like the video critic: 12 channels
    assert straight["D_matte"]["body.0.parametrizations.weight.original"].shape[1] == 12
    plain = load_checkpoint(train(data, CLASSES, _config(architecture, critic_frame_diffs=True), CLIP, tmp_path / "p.pt"))
    assert "D_matte" not in plain and "matte_critic" not in plain["config"]
    assert any(not torch.equal(plain["G"][k], straight["G"][k]) for k in plain["G"])


def test_matte_critic_refuses_missing_or_misfit_mattes(tmp_path: Path) -> None:
    data = MovingBars()
    on, mattes = _config("vgan", steps=1, matte_critic=1.0), _bar_mattes(data)
    with pytest.raises(ValueError, match="no actor mattes"):
        train(data, CLASSES, on, CLIP, tmp_path / "a.pt")
    with pytest.raises(ValueError, match=r"one per training clip"):
        train(data, CLASSES, on, CLIP, tmp_path / "b.pt", mattes=mattes[:-1])
    with pytest.raises(ValueError, match=r"one per training clip"):
        train(data, CLASSES, on, CLIP, tmp_path / "c.pt", mattes=mattes.astype(np.float32) / 255)
    with pytest.raises(ValueError, match="matte_critic is 0"):
        train(data, CLASSES, _config("vgan", steps=1), CLIP, tmp_path / "d.pt", mattes=mattes)
    assert not any(tmp_path.iterdir()), "nothing written for a refused run"


def test_content_motion_trains_in_bf16(tmp_path: Path) -> None:
    path = train(MovingBars(), CLASSES, _config(steps=2, precision="bf16"), CLIP, tmp_path / "bf16.pt")
    ckpt = load_checkpoint(path)
    assert all(v.dtype == torch.float32 for v in ckpt["G"].values() if v.is_floating_point()), "master weights stay fp32"
    G, _ = load_generator(path)
    batch = sample(G, [0, 1], [1, 2], precision="bf16")
    assert batch.videos.dtype == np.uint8 and np.isfinite(batch.masks).all()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("families")
    return {a: train(MovingBars(), CLASSES, _config(a, steps=2), CLIP, folder / f"{a}.pt") for a in FAMILIES}


@pytest.mark.parametrize("architecture", FAMILIES)
def test_weights_only_load_and_sampling_per_seed(checkpoints: dict[str, Path], architecture: str) -> None:
    G, info = load_generator(checkpoints[architecture], architecture=architecture)
    assert type(G) is GENERATORS[architecture] and not G.training
    assert info.config.model.architecture == architecture
    ema = load_checkpoint(checkpoints[architecture])["G_ema"]
    assert all(torch.equal(v, ema[k]) for k, v in G.state_dict().items())
    # a clip is a function of (checkpoint, label, seed): batch, position and reloading do not matter
    alone = sample(G, [2], [7], precision="fp32")
    G2, _ = load_generator(checkpoints[architecture])
    among = sample(G2, [0, 2, 1], [3, 7, 9], precision="fp32")
    np.testing.assert_array_equal(alone.videos[0], among.videos[1])
    np.testing.assert_array_equal(alone.masks[0], among.masks[1])
    assert alone.masks.shape == (1, CLIP.frames, CLIP.size, CLIP.size)
    assert not np.array_equal(among.videos[0], sample(G, [0], [4], precision="fp32").videos[0])


def test_a_checkpoint_cannot_be_loaded_as_another_family(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    for architecture, other in zip(FAMILIES, FAMILIES[::-1]):
        with pytest.raises(CheckpointError, match=f"holds a '{architecture}' generator, not the '{other}'"):
            load_generator(checkpoints[architecture], architecture=other)
    # a checkpoint whose configuration claims the other family: its weights do not fit that network
    ckpt = load_checkpoint(checkpoints["cmgan"])
    ckpt["config"]["model"].pop("architecture")
    state = {k: v for k, v in ckpt.items() if k not in ("format", "version")}
    with pytest.raises(CheckpointError, match="relabelled.pt"):
        load_generator(save_checkpoint(tmp_path / "relabelled.pt", state))


def test_resuming_a_run_as_another_family_is_refused(tmp_path: Path) -> None:
    path = train(MovingBars(), CLASSES, _config("cmgan", steps=1), CLIP, tmp_path / "ckpt.pt")
    digest = _sha(path)
    with pytest.raises(ResumeMismatchError, match="model"):
        train(MovingBars(), CLASSES, _config("vgan", steps=2), CLIP, path)
    assert _sha(path) == digest


def test_default_configuration_dumps_as_before_the_families() -> None:
    """The saved configuration of a default (vgan) run holds no new keys, so its checkpoints keep their bytes."""
    dumped = TrainConfig().model_dump(mode="json")
    assert not {"r1_gamma", "r1_every", "critic_frame_diffs", "mask_l1", "mask_binary", "scene_critic",
                "matte_critic"} & dumped.keys()
    assert dumped["model"] == {"z_dim": 128, "channels": 32}
    chosen = TrainConfig(r1_gamma=1.0, model=ModelConfig(architecture="cmgan")).model_dump(mode="json")
    assert chosen["r1_gamma"] == 1.0 and chosen["model"]["architecture"] == "cmgan"
    assert TrainConfig.model_validate(chosen) == TrainConfig(r1_gamma=1.0, model=ModelConfig(architecture="cmgan"))
    assert TrainConfig.model_validate(dumped).model.architecture == "vgan"
    assert isinstance(build_generator(ModelConfig(z_dim=16, channels=8), 2, CLIP), VideoGenerator)
