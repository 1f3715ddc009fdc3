"""The judge: learns the procedural actions from real clips, is deterministic, and loads as data only."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from evaluation.judge import JudgeError, JudgeNet, load_judge, train_judge, validation_mask
from pipelines import ClipDataset
from schemas.config import ClipFormat, JudgeConfig
from tests.conftest import GATE_CLASSES, GATE_CLIP, GATE_JUDGE


def test_the_judge_tells_the_actions_apart_on_held_out_clips(gate_judge, gate_real):
    judge = load_judge(gate_judge)
    assert judge.class_names == GATE_CLASSES and judge.meta["n_test"] == 18
    # a fifth of each class's 18 training clips is held out for early stopping, never the test split
    assert judge.meta["n_train"] == 42 and judge.meta["n_validation"] == 12
    assert judge.meta["validation_accuracy"] is not None
    # chance is 1/3; the judge must be far above it to judge anything
    assert judge.meta["test_accuracy"] >= 0.8, judge.meta
    test = ClipDataset(gate_real, split="test")
    videos = np.stack([test.video(i) for i in range(len(test))])
    out = judge(videos)
    assert out.features.shape == (18, 4 * GATE_JUDGE["channels"]) and out.probs.shape == (18, 3)
    assert np.allclose(out.probs.sum(1), 1, atol=1e-3)
    assert np.mean(out.labels == np.array(test.labels)) == pytest.approx(judge.meta["test_accuracy"])
    assert judge.name == f"judge r2plus1d-small sha256:{judge.meta['sha256'][:12]}"


def test_training_is_deterministic_and_a_matching_judge_is_reused(gate_judge, gate_real, tmp_path):
    train, test = ClipDataset(gate_real, split="train"), ClipDataset(gate_real, split="test")
    config = JudgeConfig(**(GATE_JUDGE | {"steps": 4, "eval_every": 2}))
    a = train_judge(train, test, GATE_CLASSES, ClipFormat(**GATE_CLIP), config, tmp_path / "a.pt")
    b = train_judge(train, test, GATE_CLASSES, ClipFormat(**GATE_CLIP), config, tmp_path / "b.pt")
    sa, sb = load_judge(a).net.state_dict(), load_judge(b).net.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    before = a.stat().st_mtime_ns
    assert train_judge(train, test, GATE_CLASSES, ClipFormat(**GATE_CLIP), config, a) == a
    assert a.stat().st_mtime_ns == before
    with pytest.raises(JudgeError, match="other classes, clips or settings"):
        train_judge(train, test, GATE_CLASSES, ClipFormat(**GATE_CLIP), config.model_copy(update={"seed": 1}), a)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_judge_file_is_data_only_and_checked(gate_judge, tmp_path):
    bad = tmp_path / "code.pt"
    with open(bad, "wb") as f:
        pickle.dump(JudgeNet(3, 4, 8, 32), f)  # a pickled module: loading it would run code
    with pytest.raises(JudgeError, match="data-only"):
        load_judge(bad)
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(JudgeError, match="not a vgan-augment/judge"):
        load_judge(tmp_path / "other.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(gate_judge.read_bytes()[:1000])
    with pytest.raises(JudgeError):
        load_judge(truncated)


def test_the_validation_clips_are_the_last_of_each_class_and_leave_two_to_train_on():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 2)
    held = validation_mask(labels, 0.2)
    assert held.tolist() == [False] * 8 + [True] * 2 + [False] * 2 + [True] + [False] * 2
    assert not validation_mask(labels, 0.0).any()


@pytest.mark.parametrize("view", ["raw", "residual", "both"])
def test_each_input_view_sees_what_it_says(view):
    """A still clip has no residual: to a residual-only judge every still clip is the same clip."""
    net = JudgeNet(2, channels=4, frames=8, size=32, view=view).eval()
    dark, bright = torch.full((1, 3, 8, 32, 32), -0.5), torch.full((1, 3, 8, 32, 32), 0.5)
    with torch.no_grad():
        same = torch.allclose(net.features(dark), net.features(bright))
    assert same == (view == "residual")


def test_the_network_downsamples_to_four_by_four_for_any_clip_format():
    for frames, size in [(8, 32), (16, 64), (32, 128)]:
        net = JudgeNet(5, channels=4, frames=frames, size=size).eval()
        with torch.no_grad():
            assert net(torch.zeros(2, 3, frames, size, size)).shape == (2, 5)
        assert net.feature_dim == 16
