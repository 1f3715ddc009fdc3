"""The whole augment flow, end to end, as a real Prefect flow run on a temporary Prefect server."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from PIL import Image
from prefect.testing.utilities import prefect_test_harness

from flows.augment import ValidationFailed, augment
from pipelines import ClipDataset, ClipIntegrityError
from pipelines.media.video_io import decode_video, probe
from schemas.manifest import Manifest


@pytest.fixture(scope="module")
def prefect_server():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def published(prefect_server, tmp_path_factory):
    from tests.conftest import tiny_config_dict
    from schemas.config import AugmentConfig

    config = AugmentConfig.model_validate(tiny_config_dict(tmp_path_factory.mktemp("flow") / "out"))
    return config, Path(augment(config))


def test_flow_publishes_a_complete_version(published):
    config, version = published
    dataset = Path(config.output_root) / config.dataset
    assert version == dataset / "v0001"
    assert (dataset / "latest").read_text().strip() == "v0001"
    manifest = Manifest.model_validate_json((version / "manifest.json").read_text())
    assert manifest.counts == {"walk_left": 5, "jump": 5} and manifest.clips == 10
    assert manifest.class_names == ["walk_left", "jump"]
    assert manifest.validation.success and manifest.validation.failed == []
    for entry in [manifest.index, *manifest.shards]:
        data = (version / entry.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.bytes
    assert len(manifest.shards) == 3  # 10 clips, 4 per shard
    assert manifest.provenance.flow_run_id and manifest.provenance.config["train"]["steps"] == 3
    assert (version / manifest.validation.data_docs).is_file()
    assert (version / "validation" / "results.json").is_file()
    card = (version / "README.md").read_text()
    assert "walk_left" in card and manifest.provenance.checkpoint_sha256 in card
    # the value step: both arms of its one seed, the gain, the recipe; in the card and the validation folder too
    value = manifest.value
    assert value.passed and value.seeds == [0] and len(value.real_only) == len(value.with_synthetic) == 1
    assert value.gains[0] == pytest.approx(100 * (value.with_synthetic[0] - value.real_only[0]), abs=0.02)
    assert "Value to a recognizer" in card and (version / "validation" / "value_results.json").is_file()
    # the quality gate's figures: in the manifest, the card, the validation folder and, per clip, the index
    quality = manifest.quality
    assert quality.passed and quality.judge.name.startswith("judge r2plus1d-small") and quality.i3d is None
    figures = {f.name: f for f in quality.figures}
    assert {"judge_accuracy", "frechet_distance", "label_fidelity", "label_fidelity__jump", "diversity_ratio__jump",
            "near_duplicate_fraction", "frozen_fraction", "memorised_fraction"} <= set(figures)
    assert figures["frechet_distance"].samples == {"synthetic": 10, "real_train": 8}
    assert figures["label_fidelity"].passed and figures["label_fidelity"].threshold == 0.0
    assert "## Quality gate" in card and "label_fidelity__walk_left" in card
    assert (version / "validation" / "quality_results.json").is_file()
    index = pq.read_table(version / "index.parquet").to_pandas()
    assert index[["judge_label", "judge_confidence", "nn_distance"]].notna().all().all()
    assert index.judge_label.isin([0, 1]).all() and (index.nn_distance > 0).all()
    for name in ("000-walk_left", "001-jump"):
        sheet = Image.open(version / "preview" / f"{name}.png")
        assert sheet.width > 32 * 8 and sheet.height > 2 * 32
        assert (version / "preview" / f"{name}.gif").is_file()
    assert not (version / "_parts").exists()
    assert not any((dataset / ".candidates").iterdir())


def test_readers_need_no_code_of_ours(published):
    _, version = published
    table = pq.read_table(version / "index.parquet")
    assert table.schema.metadata[b"vgan.schema_version"]
    counts = dict(duckdb.sql(f"select label_name, count(*) from '{version / 'index.parquet'}' group by 1").fetchall())
    assert counts == {"walk_left": 5, "jump": 5}
    rows = {r["key"]: r for r in table.to_pylist()}
    seen = 0
    for shard in sorted((version / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:  # the WebDataset view: members grouped by key
            members = tar.getmembers()
            for mp4, sidecar in zip(members[::2], members[1::2]):
                key = mp4.name.split(".", 1)[0]
                assert sidecar.name == f"{key}.json"
                payload = tar.extractfile(mp4).read()
                meta = json.load(tar.extractfile(sidecar))
                row = rows[key]
                assert hashlib.sha256(payload).hexdigest() == row["sha256"] == meta["sha256"]
                assert mp4.offset_data == row["offset"] and mp4.size == row["size"]
                assert meta["label"] == row["label"] and meta["seed"] == row["seed"]
                info = probe(io.BytesIO(payload).getvalue())
                assert (info.frames, info.height, info.width, info.codec) == (8, 32, 32, "h264")
                seen += 1
    assert seen == 10
    assert all(r["origin"] == "synthetic" and r["generator"] and r["checkpoint_sha256"] for r in rows.values())


def test_torch_dataset_reads_by_seeking_and_checks_bytes(published, tmp_path):
    import shutil

    config, version = published
    data = ClipDataset(Path(config.output_root) / config.dataset)  # follows `latest`
    video, label = data[3]
    assert tuple(video.shape) == (8, 32, 32, 3) and label in (0, 1)
    assert (video.numpy() == decode_video(data.read_bytes(3))).all()

    copy = tmp_path / "v"
    shutil.copytree(version, copy)
    row = data.rows[0]
    with open(copy / row["shard"], "r+b") as f:  # flip one byte inside the first clip
        f.seek(row["offset"] + row["size"] // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ClipIntegrityError, match=row["key"]):
        ClipDataset(copy)[0]


def test_rerun_reuses_the_checkpoint_and_publishes_the_next_version(published):
    config, first = published
    checkpoints = list((Path(config.output_root) / config.dataset / ".cache").glob("generator-*/generator.pt"))
    assert len(checkpoints) == 1
    before = checkpoints[0].stat().st_mtime_ns
    second = Path(augment(config))
    assert second.name == "v0002"
    assert checkpoints[0].stat().st_mtime_ns == before
    assert (second / "index.parquet").read_bytes() == (first / "index.parquet").read_bytes()
    assert (Path(config.output_root) / config.dataset / "latest").read_text().strip() == "v0002"


def test_a_failed_gate_publishes_nothing_and_names_the_failure(prefect_server, tmp_path, monkeypatch):
    from pipelines.jobs import generate
    from schemas.config import AugmentConfig
    from tests.conftest import tiny_config_dict

    produce = generate.GeneratorProducer.__call__

    def one_frame_short(self, shard):
        for clip in produce(self, shard):
            clip.video = clip.video[:-1]
            yield clip

    monkeypatch.setattr(generate.GeneratorProducer, "__call__", one_frame_short)
    config = AugmentConfig.model_validate(tiny_config_dict(tmp_path / "out"))
    with pytest.raises(ValidationFailed, match="frames"):
        augment(config)
    dataset = tmp_path / "out" / config.dataset
    assert not (dataset / "latest").exists()
    assert not list(dataset.glob("v*"))
    candidates = list((dataset / ".candidates").iterdir())
    assert len(candidates) == 1 and (candidates[0] / "validation" / "results.json").is_file()


def test_a_failed_quality_gate_keeps_the_candidate_and_its_report(prefect_server, tmp_path, monkeypatch):
    """Frozen clips (every frame the first one) against a gate that allows none: the failure names the figure."""
    from pipelines.jobs import generate
    from schemas.config import AugmentConfig
    from tests.conftest import tiny_config_dict

    produce = generate.GeneratorProducer.__call__

    def frozen(self, shard):
        for clip in produce(self, shard):
            clip.video = clip.video[:1].repeat(len(clip.video), axis=0)
            yield clip

    monkeypatch.setattr(generate.GeneratorProducer, "__call__", frozen)
    data = tiny_config_dict(tmp_path / "out")
    data["quality"]["max_frozen_fraction"] = 0.0
    config = AugmentConfig.model_validate(data)
    with pytest.raises(ValidationFailed, match=r"column=frozen_fraction.*at most 0.*observed 1\.0"):
        augment(config)
    dataset = tmp_path / "out" / config.dataset
    assert not (dataset / "latest").exists() and not list(dataset.glob("v*"))
    (candidate,) = (dataset / ".candidates").iterdir()
    assert (candidate / "validation" / "quality_results.json").is_file()
    assert (candidate / "validation" / "data_docs" / "index.html").is_file()
    assert (candidate / "preview" / "001-jump.png").is_file()
    # the run shows the metrics table and the preview as artifacts, also when the gate fails
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    keys = [f"{config.name}-quality", f"{config.name}-preview"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys)), sort=ArtifactSort.CREATED_DESC
        )
    by_key = {a.key: a for a in reversed(artifacts)}  # this run's, the newest, last
    assert set(by_key) == set(keys)
    table = json.loads(by_key[keys[0]].data) if isinstance(by_key[keys[0]].data, str) else by_key[keys[0]].data
    frozen_row = next(r for r in table if r["figure"] == "frozen_fraction")
    assert frozen_row["value"] == "1" and frozen_row["passed"] == "NO"


def test_the_shards_json_carries_what_is_known_when_the_shard_is_written(published):
    """A WebDataset user sees the label, provenance, motion, flicker and boxes without the index."""
    import math

    import webdataset as wds

    _, version = published
    rows = {r["key"]: r for r in pq.read_table(version / "index.parquet").to_pylist()}
    shards = [str(p) for p in sorted((version / "shards").glob("*.tar"))]
    samples = list(wds.WebDataset(shards, shardshuffle=False).decode())
    assert len(samples) == 10
    for sample in samples:
        meta, row = sample["json"], rows[sample["__key__"]]
        assert isinstance(sample["mp4"], bytes) and hashlib.sha256(sample["mp4"]).hexdigest() == row["sha256"]
        assert meta["label"] == row["label"] and meta["label_name"] == row["label_name"]
        assert math.isclose(meta["motion"], row["motion"], rel_tol=1e-6)
        assert math.isclose(meta["flicker"], row["flicker"], rel_tol=1e-6)
        assert len(meta["boxes"]) == len(row["boxes"]) == 8
        for box, indexed in zip(meta["boxes"], row["boxes"]):
            if box is None:  # a frame with no foreground: NaN in the index, null in JSON
                assert all(math.isnan(v) for v in indexed)
            else:  # x0, y0, x1, y1 with exclusive right/bottom edges
                assert box == pytest.approx(indexed) and box[0] < box[2] <= 32 and box[1] < box[3] <= 32
        assert "judge_label" not in meta  # filled by the gate after the shard is written: index only


def test_hugging_face_datasets_reads_the_shards_and_the_index(published, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="Hugging Face datasets is a test extra")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _, version = published
    shards = [str(p) for p in sorted((version / "shards").glob("*.tar"))]
    clips = datasets.load_dataset("webdataset", data_files={"train": shards}, split="train", cache_dir=str(tmp_path))
    # mp4 is typed Video, whose decoding needs torchcodec; raw bytes need no decoder (docs/dataset-format.md).
    clips = clips.cast_column("mp4", datasets.Video(decode=False))
    assert clips.num_rows == 10
    first = clips[0]
    assert hashlib.sha256(first["mp4"]["bytes"]).hexdigest() == first["json"]["sha256"]
    assert first["json"]["label_name"] in ("walk_left", "jump")
    index = datasets.load_dataset("parquet", data_files=str(version / "index.parquet"), split="train",
                                  cache_dir=str(tmp_path))
    assert index.num_rows == 10 and sorted(set(index["label_name"])) == ["jump", "walk_left"]
    assert index.features["offset"].dtype == "int64"


def test_duckdb_reads_offset_when_quoted(published):
    """``offset`` is a reserved word in SQL: a bare ``offset`` is a parser error, ``"offset"`` reads the column."""
    _, version = published
    index = version / "index.parquet"
    with pytest.raises(duckdb.ParserException):
        duckdb.sql(f"select key, offset, size from '{index}'")
    rows = duckdb.sql(f"""select key, shard, "offset", size from '{index}' order by key""").fetchall()
    expected = sorted((r["key"], r["shard"], r["offset"], r["size"]) for r in pq.read_table(index).to_pylist())
    assert rows == expected


def test_the_card_opens_with_a_hub_header_and_the_verdict_and_shows_real_beside_synthetic(published):
    import yaml

    _, version = published
    card = (version / "README.md").read_text()
    assert card.startswith("---\n")
    header, body = card[4:].split("\n---\n", 1)
    meta = yaml.safe_load(header)
    assert meta["license"] == "cc-by-4.0" and meta["task_categories"] == ["video-classification"]
    assert meta["size_categories"] == ["n<1K"]
    assert [c["data_files"][0]["path"] for c in meta["configs"]] == ["shards/*.tar", "index.parquet"]
    hub = pytest.importorskip("huggingface_hub", reason="comes with the datasets test extra")
    assert hub.DatasetCard(card).data.to_dict() == meta  # the Hub's own parser reads the same header
    title, _, verdict = body.lstrip("\n").splitlines()[:3]
    assert title == "# tiny v0001" and verdict.startswith("**Quality gate: PASSED**")
    for label, name in enumerate(("walk_left", "jump")):
        assert f"![{name}](preview/{label:03d}-{name}.png)" in card
        with Image.open(version / "preview" / f"{label:03d}-{name}.png") as sheet:
            # 2 real rows above 2 synthetic rows of 32-px frames, enlarged to at least 640 px
            assert sheet.width >= 640 and sheet.height >= 3 * 4 * 32
