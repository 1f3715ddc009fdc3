"""`vgan run augment-ucf101 --ucf101-root DIR` on a folder in the UCF-101 release layout, end to end."""

import json
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from flows.cli import main
from pipelines import read_index
from schemas.manifest import Manifest
from tests.conftest import open_gate_options
from tests.videos import append_to_list, write_ucf101

CLASSES = ["ApplyEyeMakeup", "HandstandPushups"]
TINY = ["--clip-frames", "8", "--clip-size", "32", "--clip-fps", "8",
        "--train-steps", "2", "--train-batch-size", "4", "--train-checkpoint-every", "2",
        "--train-model-z-dim", "16", "--train-model-channels", "8",
        "--generate-clips-per-class", "3", "--generate-batch-size", "4", "--generate-shard-size", "4",
        "--publish-previews-per-class", "2", "--source-sampling-clips-per-video", "2", *open_gate_options()]


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("downloads")
    videos = write_ucf101(root, CLASSES, groups=(1, 8, 9), frames=30)
    append_to_list(root / "ucfTrainTestlist" / "trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g10_c01.avi 1")
    return videos


def test_vgan_run_ingests_trains_generates_validates_and_publishes(ucf_root, tmp_path, capsys):
    out = tmp_path / "out"
    with prefect_test_harness(server_startup_timeout=120):
        code = main(["run", "augment-ucf101", "--ucf101-root", str(ucf_root), "--output-root", str(out), *TINY])
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            artifact = client.read_latest_artifacts()
    assert code == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("published "), last  # the run's last line says where the version is
    version = Path(last.removeprefix("published "))
    assert version == out / "ucf101-synthetic" / "v0001"
    manifest = Manifest.model_validate_json((version / "manifest.json").read_text())
    assert manifest.class_names == CLASSES and manifest.counts == {c: 3 for c in CLASSES}
    assert manifest.validation.success
    assert manifest.provenance.config["source"]["kind"] == "ucf101"

    [real] = (out / "ucf101-synthetic" / ".cache").glob("real-*/index.parquet")
    rows = read_index(real).to_pylist()
    assert len(rows) == 12 and {r["split"] for r in rows} == {"train", "test"}  # 6 videos, 2 clips each
    assert {(r["label"], r["label_name"]) for r in rows} == {(0, "ApplyEyeMakeup"), (1, "HandstandPushups")}
    quarantine = json.loads((real.parent / "quarantine.json").read_text())
    assert [q["reason"] for q in quarantine["quarantined"]] == ["listed in trainlist01.txt but not found"]
    tables = {a.key: a for a in artifact if a.type == "table"}
    assert "v_ApplyEyeMakeup_g10_c01.avi" in str(tables["augment-ucf101-quarantine"].data)
