"""The recipe bench keeps what it measured: a write after every seed, mergeable partial files, arms it was told to skip."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import bench.augmentation_gain_recipe as recipe_bench


@pytest.fixture(scope="module")
def real_npz(tmp_path_factory):
    """Two classes of random 16x32x32 clips, 4 training and 2 test clips each: the bench's data format, not its data."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("recipe") / "real.npz"
    clips = lambda n: rng.integers(0, 256, (n, recipe_bench.FRAMES, recipe_bench.SIZE, recipe_bench.SIZE, 3), np.uint8)  # noqa: E731
    np.savez(path, train_videos=clips(8), train_labels=np.repeat([0, 1], 4), test_videos=clips(4),
             test_labels=np.repeat([0, 1], 2), class_names=np.array(["walk_left", "jump"]))  # fmt: skip
    return path


def _run(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["augmentation_gain_recipe", *argv])
    recipe_bench.main()


def test_each_seed_is_written_and_the_partial_file_merges(real_npz, tmp_path, monkeypatch):
    writes = []
    atomic_open = recipe_bench.atomic_open

    def counting(path, mode):
        writes.append(path)
        return atomic_open(path, mode)

    monkeypatch.setattr(recipe_bench, "atomic_open", counting)
    out = tmp_path / "part.json"
    _run(monkeypatch, "--real-npz", str(real_npz), "--regimes", "2", "--seeds", "0", "1", "--candidates", "plain", "conf_f05",
         "curr_f05", "--synthetic-per-class", "2", "4", "--skip", "plain x4", "--generator-steps", "2", "--recognizer-steps", "2",
         "--generator", '{"model": {"z_dim": 16, "channels": 8}}',
         "--recognizer-channels", "4", "--workdir", str(tmp_path / "work"), "--out", str(out))  # fmt: skip
    assert len(writes) == 3  # after seed 0, after seed 1, and the regime's end
    (regime,) = json.loads(out.read_text())["regimes"]
    assert regime["seeds_done"] == 2 and sorted(regime["candidates"]) == ["conf_f05 x2", "conf_f05 x4", "curr_f05 x2", "curr_f05 x4", "plain x2"]
    assert all(len(c["gain_points"]["runs"]) == 2 for c in regime["candidates"].values())
    assert 0 <= regime["synthetic_look"]["memorised_fraction"] <= 1 and (tmp_path / "part.k2.png").is_file()
    monkeypatch.setattr(recipe_bench, "plot", lambda result, path: None)  # matplotlib is a bench extra, not a test one
    recipe_bench.merge([str(out)], str(tmp_path / "merged"))
    assert json.loads((tmp_path / "merged.json").read_text())["regimes"][0]["k"] == 2


def test_a_skip_that_names_no_arm_is_refused_before_training(real_npz, tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="names no arm"):
        _run(monkeypatch, "--real-npz", str(real_npz), "--regimes", "2", "--seeds", "0", "--candidates", "plain",
             "--skip", "plain x64", "--generator-steps", "1", "--workdir", str(tmp_path / "work"),
             "--out", str(tmp_path / "part.json"))  # fmt: skip
    assert not (tmp_path / "part.json").exists()
