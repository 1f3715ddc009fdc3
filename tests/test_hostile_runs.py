"""Careless runs: a bad --output-root, identical runs at once, and what kill -9 leaves behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness

from flows.augment import _retry_unless_bad_input, train_generator, train_judge
from flows.cli import main
from pipelines import candidate_dir, checksums, publish_version
from pipelines.release.candidate import published_by_identical_run
from pipelines.release.publish import candidate_lock, published_versions
from pipelines.release.verify import verify_version
from schemas.atomic import temporary_name
from schemas.config import AugmentConfig
from schemas.manifest import Manifest, Provenance, ValidationSummary
from tests.conftest import open_gate_options, tiny_config_dict
from tests.test_publish_verify import clips  # noqa: F401  (module fixture: a finished candidate's content)

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--clip-frames", "8", "--clip-size", "32", "--clip-fps", "8", "--source-classes", "walk_left,jump",
        "--source-clips-per-class", "6", "--source-seed", "1",
        "--train-steps", "3", "--train-batch-size", "4", "--train-checkpoint-every", "2",
        "--train-model-z-dim", "16", "--train-model-channels", "8", "--train-precision", "fp32",
        "--generate-clips-per-class", "5", "--generate-batch-size", "4", "--generate-shard-size", "4",
        "--publish-previews-per-class", "2", *open_gate_options()]


# --- point 8: --output-root is checked before anything runs, in one line ---------------------------

@pytest.mark.parametrize("make, says", [
    (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "is a file, not a folder"),
    (lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "below", "is a file, not a folder"),
    (lambda tmp: Path("/proc/vgan-not-writable"), "cannot write into /proc/vgan-not-writable"),
])
def test_an_output_root_that_cannot_be_written_is_one_line_before_anything_runs(tmp_path, capsys, make, says):
    out = make(tmp_path)
    assert main(["run", "augment-demo", "--output-root", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("invalid --output-root: ") and says in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_output_root_is_one_line(tmp_path, capsys):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    assert main(["run", "augment-demo", "--output-root", str(tmp_path / "ro")]) == 2
    assert "cannot write into" in capsys.readouterr().err


def test_a_tilde_in_the_output_root_means_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = AugmentConfig.model_validate(tiny_config_dict("~/datasets"))
    assert config.output_root == str(tmp_path / "datasets")
    assert AugmentConfig.model_validate(tiny_config_dict("gs://bucket/~x")).output_root == "gs://bucket/~x"


# --- point 9: what kill -9 leaves --------------------------------------------------------------------

def _run_manifest(config: AugmentConfig, candidate: Path, sha: str):
    index_entry, shard_entries = checksums(candidate)

    def make(version: str) -> Manifest:
        return Manifest(
            dataset=config.dataset, version=version, clips=8, class_names=["run", "wave"], counts={"run": 4, "wave": 4},
            clip_format={"frames": 8, "height": 32, "width": 32, "fps": 8.0, "codec": "h264"},
            index=index_entry, shards=shard_entries,
            provenance=Provenance(checkpoint_sha256=sha, real_index_sha256="0" * 64, config=config.model_dump(mode="json"),
                                  code_version="test", created_at="2026-01-01T00:00:00+00:00"),
            validation=ValidationSummary(success=True, evaluated=0, failed=[]),
        )  # fmt: skip

    return make


def _publish_run(clips: Path, config: AugmentConfig, sha: str, run_key: str = "k") -> Path:  # noqa: F811
    dataset = Path(config.output_root) / config.dataset
    candidate = candidate_dir(dataset, run_key)
    shutil.copytree(clips, candidate)
    return publish_version(candidate, dataset, _run_manifest(config, candidate, sha), lambda m: f"# {m.version}\n")


def test_a_stale_latest_temporary_is_removed_when_publishing(clips, tiny_config):  # noqa: F811
    dataset = Path(tiny_config.output_root) / tiny_config.dataset
    dataset.mkdir(parents=True)
    stale = temporary_name(dataset / "latest")
    stale.write_text("v0001\n")  # what a writer killed between write and rename leaves
    _publish_run(clips, tiny_config, "a" * 64)
    assert not stale.exists() and (dataset / "latest").read_text() == "v0001\n"


def test_a_publish_killed_before_latest_moved_is_finished_not_duplicated(clips, tiny_config):  # noqa: F811
    dataset = Path(tiny_config.output_root) / tiny_config.dataset
    first = _publish_run(clips, tiny_config, "a" * 64)
    before = published_versions(dataset)
    second = _publish_run(clips, tiny_config, "b" * 64)
    (dataset / "latest").write_text("v0001\n")  # the kill: v0002 renamed into place, latest not yet moved
    other = tiny_config.model_copy(update={"name": "other-run"})
    assert published_by_identical_run(other, "b" * 64, before) is None  # another configuration: not its run
    assert published_by_identical_run(tiny_config, "a" * 64, before) is None  # v0001 is not the unfinished one
    assert published_by_identical_run(tiny_config, "b" * 64, before) == second
    assert (dataset / "latest").read_text() == "v0002\n" and published_versions(dataset) == ["v0001", "v0002"]
    # latest names the newest now: a deliberate re-run of the same configuration publishes anew
    assert published_by_identical_run(tiny_config, "b" * 64, published_versions(dataset)) is None
    assert first.name == "v0001"


def test_bad_input_is_not_retried_by_the_training_tasks():
    from generators.checkpoint import CheckpointError

    for step in (train_generator, train_judge):
        assert step.retry_condition_fn is _retry_unless_bad_input

    class State:
        def __init__(self, result):
            self._result = result

        def result(self, raise_on_failure=False):
            return self._result

    assert not _retry_unless_bad_input(None, None, State(CheckpointError("pickled payload refused")))
    assert _retry_unless_bad_input(None, None, State(OSError("disk hiccup")))


# --- point 3: identical runs at once ------------------------------------------------------------------

def test_a_run_waiting_on_the_candidate_lock_takes_the_version_its_twin_published(clips, tiny_config):  # noqa: F811
    """The lock and the check after it, step by step: the twin holds the lock and publishes, the waiter takes that version."""
    dataset = Path(tiny_config.output_root) / tiny_config.dataset
    before = published_versions(dataset)
    holding, got = threading.Event(), []

    def twin():
        with candidate_lock(dataset, "k"):
            holding.set()
            time.sleep(0.5)
            _publish_run(clips, tiny_config, "c" * 64)

    def waiter():
        holding.wait()
        with candidate_lock(dataset, "k"):
            got.append(published_by_identical_run(tiny_config, "c" * 64, before))

    threads = [threading.Thread(target=twin), threading.Thread(target=waiter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got == [dataset / "v0001"] and published_versions(dataset) == ["v0001"]


def test_identical_concurrent_runs_both_succeed_with_one_version(tmp_path, capsys):
    """Two real `vgan run` processes, same configuration and output root, started together on warm caches.

    A first run trains the generator and judge (they are reused from disk), so both processes reach
    the candidate at about the same time: the situation in which the second used to fail.
    """
    out = tmp_path / "out"
    args = ["run", "augment-demo", "--output-root", str(out), *TINY]
    dataset = out / "procedural-actions"
    with prefect_test_harness(server_startup_timeout=300):
        assert main(args) == 0
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_API_URL": PREFECT_API_URL.value(), "DO_NOT_TRACK": "1",
               "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "GX_ANALYTICS_ENABLED": "false"}
        runs = [subprocess.Popen([sys.executable, "-m", "flows.cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [r.communicate(timeout=900) for r in runs]
    for r, (stdout, stderr) in zip(runs, results):
        assert r.returncode == 0, stderr[-3000:]
    published = {stdout.strip().splitlines()[-1] for stdout, _ in results}
    assert published == {f"published {dataset / 'v0002'}"}, published
    assert published_versions(dataset) == ["v0001", "v0002"] and (dataset / "latest").read_text() == "v0002\n"
    assert not any((dataset / ".candidates").iterdir())
    assert verify_version(dataset, decode_sample=2).ok
