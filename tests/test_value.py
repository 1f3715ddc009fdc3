"""The value step and the mixing recipe: both arms and a gain, a set of wrong labels refused, weights, smoothing, rehearsal."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pytest
import torch

from evaluation.judge import JudgeNet
from evaluation.recognizer import RecognizerSpec, Stage, clip_losses, train_recognizer
from pipelines import ClipDataset, MixedClips, MixRecipe, prepare_procedural, read_index
from pipelines.dataset.index_io import write_index
from pipelines.dataset.mixing import ArrayClips, judge_weights
from pipelines.release.value import check_value, measure_value
from schemas.config import BeamConfig, ClipFormat, ProceduralSource, ValueConfig
from schemas.layout import INDEX

CLIP = ClipFormat(frames=8, size=32, fps=8)
CLASSES = ["walk_left", "jump"]


def _render(root, clips_per_class, seed, test_fraction=0.25):
    source = ProceduralSource(classes=CLASSES, clips_per_class=clips_per_class, test_fraction=test_fraction, seed=seed)
    return prepare_procedural(source, CLIP, root, BeamConfig()).parent


def _gated(root, swap_labels: bool, confidence: float = 0.9):
    """Fill the judge columns as the gate would (the judge agreeing with each label); optionally swap the two labels."""
    table = read_index(root / INDEX)
    labels = np.asarray(table["label"].to_pylist())
    if swap_labels:
        labels = 1 - labels
        names = pa.array([CLASSES[y] for y in labels], pa.string())
        table = table.set_column(table.schema.get_field_index("label_name"), table.schema.field("label_name"), names)
        table = table.set_column(table.schema.get_field_index("label"), table.schema.field("label"), pa.array(labels, pa.int32()))
    n = len(labels)
    for name, values in (("judge_label", pa.array(labels, pa.int32())),
                         ("judge_confidence", pa.array(np.full(n, confidence), pa.float32()))):  # fmt: skip
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), values)
    write_index(table, root / INDEX)
    return root


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """2 classes x 16 clips: 12 train and 4 test per class."""
    return _render(tmp_path_factory.mktemp("real"), 16, seed=1)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Clips of the right classes (another render), gated: as a good candidate would be."""
    return _gated(_render(tmp_path_factory.mktemp("synthetic"), 16, seed=2, test_fraction=0.5), swap_labels=False)


@pytest.fixture(scope="module")
def shuffled(tmp_path_factory):
    """The same kind of clips with every label swapped for the other class, and a judge that agrees with the labels."""
    return _gated(_render(tmp_path_factory.mktemp("shuffled"), 16, seed=2, test_fraction=0.5), swap_labels=True, confidence=1.0)


# Much synthetic data (fraction 0.75 at these 12 clips per class), no rehearsal: what the clips do shows plainly.
HEAVY = MixRecipe(fractions=((100, 0.75),), rehearsal=0.0, confidence="weight")
CFG = ValueConfig(seeds=[0, 1], steps=80, channels=4, batch_size=8, min_gain=-1.0, device="cpu")


def test_value_step_trains_both_arms_and_reports_a_gain(real, synthetic):
    value = measure_value(synthetic, real, CFG, "residual", HEAVY)
    assert value.seeds == [0, 1] and len(value.real_only) == len(value.with_synthetic) == len(value.gains) == 2
    for r, m, g in zip(value.real_only, value.with_synthetic, value.gains):
        assert 0 <= r <= 1 and 0 <= m <= 1 and g == pytest.approx(100 * (m - r), abs=0.02)
    assert value.gain_points == pytest.approx(np.mean(value.gains), abs=0.01)
    assert value.synthetic_fraction == 0.75 and value.real_clips_per_class == 12 and value.test_clips == 8
    assert "4 channels, residual input, 80 steps" in value.recognizer and "judge-confidence" in value.recipe


def test_value_step_refuses_clips_with_shuffled_labels(real, shuffled):
    value = measure_value(shuffled, real, CFG, "residual", HEAVY)
    checked, failed = check_value(shuffled, value)
    assert value.gain_points < 0, value  # trained partly on swapped labels, the recognizer learns them
    assert not checked.passed and len(failed) == 1 and "value_gain_points" in failed[0]
    assert (shuffled / "validation" / "value_results.json").is_file()


def test_judge_weights_come_from_the_gated_index(synthetic, tmp_path):
    data = ClipDataset(synthetic)
    assert np.allclose(judge_weights(data), 0.9)
    # a clip the judge gives to the other class weighs what is left of the probability
    table = read_index(synthetic / INDEX)
    wrong = pa.array([1 - y for y in table["label"].to_pylist()], pa.int32())
    other = tmp_path / "other"
    shutil.copytree(synthetic, other)
    write_index(table.set_column(table.schema.get_field_index("judge_label"), table.schema.field("judge_label"), wrong),
                other / INDEX)  # fmt: skip
    assert np.allclose(judge_weights(ClipDataset(other)), 0.1)


def test_loss_weights_reach_the_loss(real):
    """Weighted items carry the synthetic weights, and clips of weight 0 teach nothing: the network stays as initialised."""
    clips = ArrayClips.decode(ClipDataset(real, split="train"))
    mixed = MixedClips(clips, [clips], 0.5, weights=True, synthetic_weights=[np.full(len(clips), 0.25)])
    seen = {w for _, _, w in mixed}
    assert seen == {1.0, 0.25}
    zero = MixedClips(clips, [clips], 0.5, weights=True, synthetic_weights=[np.zeros(len(clips))])

    def only_synthetic(epoch):  # the synthetic part of each batch, weights and all
        for videos, labels, weights in zero.batches(8)(epoch):
            keep = weights == 0
            if keep.sum() >= 2:
                yield videos[keep], labels[keep], weights[keep]

    spec = RecognizerSpec(channels=4, steps=3, batch_size=8, weight_decay=0.0)
    net = train_recognizer([Stage(only_synthetic, 3)], 2, CLIP.frames, CLIP.size, spec, seed=0)
    init = {k: v for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        start = JudgeNet(2, 4, CLIP.frames, CLIP.size, spec.view).state_dict()
    assert all(torch.equal(v, start[k]) for k, v in init.items())
    with pytest.raises(ValueError, match="non-negative"):
        MixedClips(clips, [clips], 0.5, weights=True, synthetic_weights=[np.full(len(clips), -1.0)])


def test_confidence_as_label_smoothing_trusts_a_clip_as_far_as_its_value():
    """Value 1 is the real clips' loss (cross-entropy with the spec's smoothing), value 0 a uniform target, between them a mix."""
    torch.manual_seed(0)
    logits, labels = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    log_p, s = torch.log_softmax(logits, 1), 0.1
    ones, zeros, half = torch.ones(6), torch.zeros(6), torch.full((6,), 0.5)
    real = torch.nn.functional.cross_entropy(logits, labels, label_smoothing=s, reduction="none")
    assert torch.allclose(clip_losses(logits, labels, ones, "smoothing", s), real)
    assert torch.allclose(clip_losses(logits, labels, ones, "weight", s), real)
    assert torch.allclose(clip_losses(logits, labels, zeros, "smoothing", s), -log_p.mean(1))  # says "not sure"
    assert torch.allclose(clip_losses(logits, labels, zeros, "weight", s), zeros)  # says nothing
    e = s + (1 - s) * 0.5
    hard = -log_p.gather(1, labels[:, None]).squeeze(1)
    assert torch.allclose(clip_losses(logits, labels, half, "smoothing", s), (1 - e) * hard + e * -log_p.mean(1))
    with pytest.raises(ValueError, match="weight"):
        Stage(lambda epoch: [], 1, "both")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        clip_losses(logits, labels, torch.full((6,), 1.5), "smoothing", s)
    with pytest.raises(ValueError, match="smoothing"):
        MixRecipe(confidence="yes")
    assert MixRecipe(confidence="smoothing").clip_values == "smoothing" and MixRecipe(confidence="off").clip_values == "weight"


def test_value_step_smooths_by_confidence_when_the_recipe_says_so(real, synthetic, monkeypatch):
    """The recipe's confidence use reaches the mixed stage, and only that stage; the manifest's recipe names it."""
    import pipelines.release.value as value_module

    seen: list[list[str]] = []
    real_train = value_module.train_recognizer

    def recording(stages, *args, **kwargs):
        seen.append([stage.values for stage in stages])
        return real_train(stages, *args, **kwargs)

    monkeypatch.setattr(value_module, "train_recognizer", recording)
    cfg = CFG.model_copy(update={"seeds": [0], "steps": 4})
    value = measure_value(synthetic, real, cfg, "residual", MixRecipe(fractions=((100, 0.75),), rehearsal=0.5, confidence="smoothing"))
    assert seen == [["weight"], ["smoothing", "weight"]]  # real only; mixed then real-only rehearsal
    assert "label smoothing by judge uncertainty" in value.recipe


def test_rehearsal_closes_training_on_real_clips_only(real, synthetic):
    recipe = MixRecipe(rehearsal=0.25)
    assert recipe.split_steps(300) == (225, 75) and MixRecipe(rehearsal=0.0).split_steps(40) == (40, 0)
    clips = ArrayClips.decode(ClipDataset(real, split="train"))
    synth = ArrayClips.decode(ClipDataset(synthetic))
    marked = np.full(len(synth), 0.5)  # synthetic clips recognisable by their weight
    mixed = MixedClips(clips, [synth], 0.5, weights=True, synthetic_weights=[marked])
    rehearse = MixedClips(clips, weights=True)
    drawn: list[tuple[str, set[float]]] = []

    def recording(name, data):
        def batches(epoch):
            for batch in data.batches(8)(epoch):
                drawn.append((name, set(batch[2].tolist())))
                yield batch

        return batches

    mixed_steps, rehearse_steps = MixRecipe(rehearsal=0.5).split_steps(4)
    spec = RecognizerSpec(channels=4, steps=4, batch_size=8)
    train_recognizer([Stage(recording("mix", mixed), mixed_steps), Stage(recording("real", rehearse), rehearse_steps)],
                     2, CLIP.frames, CLIP.size, spec, seed=0)  # fmt: skip
    assert [name for name, _ in drawn] == ["mix", "mix", "real", "real"]
    assert all(w == {1.0} for name, w in drawn if name == "real")
    assert any(0.5 in w for name, w in drawn if name == "mix")


def test_recipe_fraction_falls_with_real_clips_per_class():
    recipe = MixRecipe()
    assert recipe.synthetic_fraction(5) == 0.5 and recipe.synthetic_fraction(10) == 0.25
    assert recipe.synthetic_fraction(48) == recipe.f_beyond == 0.05
    with pytest.raises(ValueError, match="increasing"):
        MixRecipe(fractions=((10, 0.2), (5, 0.5)))
    with pytest.raises(ValueError, match="keeps real clips"):
        MixRecipe(f_beyond=1.0)
