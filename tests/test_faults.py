"""Kill a real generation process at several points, re-run it, and get the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generators import CheckpointError, train
from pipelines import ClipDataset, generate_dataset, prepare_procedural
from schemas.config import BeamConfig, ClipFormat, GenerateConfig, ModelConfig, ProceduralSource, TrainConfig

CLIP = ClipFormat(frames=8, size=32, fps=8)
CLASSES = ["walk_left", "fall"]
GEN = GenerateConfig(clips_per_class=16, batch_size=2, shard_size=2)  # 16 shards: room to kill mid-run

_CHILD = """
import json, sys
from pipelines import generate_dataset
from schemas.config import BeamConfig, GenerateConfig
a = json.loads(sys.argv[1])
generate_dataset(a["ckpt"], GenerateConfig.model_validate(a["gen"]), a["out"], BeamConfig())
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    source = ProceduralSource(classes=CLASSES, clips_per_class=4, seed=2)
    prepare_procedural(source, CLIP, root / "real", BeamConfig())
    config = TrainConfig(steps=2, batch_size=4, checkpoint_every=1, model=ModelConfig(z_dim=16, channels=8))
    return train(ClipDataset(root / "real", split="train"), CLASSES, config, CLIP, root / "g.pt")


@pytest.fixture(scope="module")
def reference(checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref")
    generate_dataset(checkpoint, GEN, out, BeamConfig())
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _start(checkpoint: Path, out: Path) -> subprocess.Popen:
    args = json.dumps({"ckpt": str(checkpoint), "classes": CLASSES, "gen": GEN.model_dump(), "fps": CLIP.fps, "out": str(out)})
    return subprocess.Popen([sys.executable, "-c", _CHILD, args], cwd=Path(__file__).parents[1],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("kill_after_shards", [0, 1, 5, 10])
def test_kill_9_then_rerun_gives_the_uninterrupted_dataset(checkpoint, reference, tmp_path, kill_after_shards):
    out = tmp_path / "run"
    proc = _start(checkpoint, out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "shards").glob("shard-*.tar"))) >= kill_after_shards:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    made = len(list((out / "shards").glob("shard-*.tar")))
    assert made < 16, "the run finished before it could be killed; the test proves nothing"

    generate_dataset(checkpoint, GEN, out, BeamConfig())
    assert _files(out) == _files(reference)
    keys = [r["key"] for r in ClipDataset(out).rows]
    assert len(keys) == len(set(keys)) == 32


def test_a_truncated_checkpoint_is_refused_and_writes_nothing(checkpoint, tmp_path):
    broken = tmp_path / "g.pt"
    broken.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=str(broken)):
        generate_dataset(broken, GEN, tmp_path / "out", BeamConfig())
    assert not list((tmp_path / "out").rglob("*.tar"))


def test_a_checkpoint_for_other_classes_is_refused(checkpoint, tmp_path):
    with pytest.raises(ValueError, match="run"):
        generate_dataset(checkpoint, GEN.model_copy(update={"counts": {"run": 2}}), tmp_path / "out", BeamConfig())
    assert not list((tmp_path / "out").rglob("*.tar"))


def test_an_unwritable_output_is_a_clear_error(checkpoint, tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc/vgan-cannot-write-here")
    else:
        target = tmp_path / "ro"
        target.mkdir(mode=0o500)
    with pytest.raises(Exception, match="vgan-cannot-write-here|Permission|denied|No such file"):
        generate_dataset(checkpoint, GEN, target, BeamConfig())
